// Rendering: state in, DOM out. Handlers for buttons come in as `actions`.
import { $, $$, clock, fill, h } from "./dom.js";
import { compare, money, pnl, price, quantity, sum, units } from "./decimal.js";

const pnlClass = (value) => (value === null || value === 0n ? "" : value > 0n ? "gain" : "loss");

/** The watchlist: symbol, price (flashing when it moves), stale marker. */
export function renderWatchlist(state, actions) {
  fill($("#watchlist"), state.watchlist.map((symbol) => {
    const quote = state.quotes.get(symbol);
    return h("tr", { dataset: { symbol }, class: symbol === state.selected ? "selected" : "",
                     onclick: () => actions.select(symbol) },
      h("td", { title: symbol }, symbol,
        h("span", { class: "stale-dot", dataset: { stale: symbol }, hidden: !(quote?.stale ?? true),
          role: "img", "aria-label": "stale price", title: "Stale: no fresh price" }, "●")),
      h("td", { class: "num price", dataset: { quote: symbol } }, price(quote?.price, symbol)),
      h("td", { class: "remove" }, h("button", { type: "button", class: "icon", title: `Remove ${symbol}`,
        onclick: (event) => { event.stopPropagation(); actions.unwatch(symbol); } }, "×")));
  }));
  const addable = state.symbols.filter((s) => !state.watchlist.includes(s));
  fill($("#watch-symbol"), addable.map((s) => h("option", { value: s }, s)));
  $("#watch-form").hidden = addable.length === 0;
}

/** Update one symbol's price everywhere it shows, flashing up or down. */
export function showQuote(state, quote, previous) {
  for (const cell of $$(`[data-quote="${CSS.escape(quote.symbol)}"]`)) {
    cell.textContent = price(quote.price, quote.symbol);
    const move = previous?.price ? compare(quote.price, previous.price) : 0;
    if (move !== 0) {
      cell.classList.remove("flash-up", "flash-down");
      void cell.offsetWidth; // restart the animation
      cell.classList.add(move > 0 ? "flash-up" : "flash-down");
    }
  }
  for (const badge of $$(`[data-stale="${CSS.escape(quote.symbol)}"]`)) badge.hidden = !quote.stale;
  if (quote.symbol === state.selected) $("#chart-price").textContent = price(quote.price, quote.symbol);
  return showMarks(state);
}

/** Unrealized P&L of the open trades and the equity, at the latest prices; return the
 * equity in units (null before the account is known). */
export function showMarks(state) {
  const open = [...state.trades.values()].filter((t) => t.status === "open");
  const values = open.map((trade) => {
    const last = state.quotes.get(trade.symbol)?.price ?? null;
    const value = pnl(trade.side, trade.entry_price, last, trade.quantity);
    const cell = $(`[data-pnl="${trade.id}"]`);
    if (cell) {
      cell.textContent = money(value);
      cell.className = `num ${pnlClass(value)}`;
    }
    return value;
  });
  const unrealized = sum(values);
  const cash = units(state.account.cash);
  setTerm("unrealized", money(unrealized), pnlClass(unrealized));
  if (cash === null) return null;
  setTerm("equity", money(cash + unrealized));
  return cash + unrealized;
}

function setTerm(name, text, className = "") {
  const cell = $(`#account [data-term="${name}"]`);
  if (cell) {
    cell.textContent = text;
    cell.className = `num ${className}`;
  }
}

/** The account summary. */
export function renderAccount(state) {
  const a = state.account;
  const terms = [["cash", "Cash", money(a.cash)], ["equity", "Equity", "–"],
    ["available", "Available", money(a.available)], ["margin_used", "Margin used", money(a.margin_used)],
    ["reserved", "Reserved", money(a.reserved)], ["realized_pnl", "Realized P&L", money(a.realized_pnl)],
    ["unrealized", "Unrealized P&L", "–"]];
  fill($("#account"), terms.flatMap(([key, label, text]) => [
    h("dt", {}, label), h("dd", { class: "num", dataset: { term: key } }, text)]));
  setTerm("realized_pnl", money(a.realized_pnl), pnlClass(units(a.realized_pnl)));
  showMarks(state);
}

/** Open trades (editable) and closed trades. */
export function renderTrades(state, actions) {
  const trades = [...state.trades.values()];
  const open = trades.filter((t) => t.status === "open").sort((a, b) => b.opened_at.localeCompare(a.opened_at));
  const closed = trades.filter((t) => t.status === "closed")
    .sort((a, b) => (b.closed_at ?? "").localeCompare(a.closed_at ?? "")).slice(0, 100);
  $("#open-count").textContent = open.length ? `(${open.length})` : "";
  fill($("#open-trades"), open.length ? open.map((t) => openRow(t, actions))
    : [h("tr", {}, h("td", { colspan: 9, class: "muted" }, "No open trades."))]);
  $("#exit-all").disabled = open.length === 0;
  fill($("#closed-trades"), closed.map((t) => h("tr", { dataset: { trade: t.id } },
    h("td", {}, clock(t.closed_at)), h("td", {}, t.symbol), h("td", { class: t.side }, t.side),
    h("td", { class: "num" }, quantity(t.initial_quantity)), h("td", { class: "num" }, price(t.entry_price, t.symbol)),
    h("td", { class: "num" }, price(t.close_price, t.symbol)), h("td", {}, t.close_reason ?? ""),
    h("td", { class: `num ${pnlClass(units(t.realized_pnl))}` }, money(t.realized_pnl)))));
  showMarks(state);
}

function openRow(trade, actions) {
  const level = (name) => h("input", { name, value: trade[name] ?? "", inputmode: "decimal", size: 9,
    placeholder: "none", "aria-label": `${name} of ${trade.symbol}` });
  const form = h("form", { id: `edit-${trade.id}`, onsubmit: (event) => {
    event.preventDefault();
    actions.modify(trade.id, event.target);
  } });
  return h("tr", { dataset: { trade: trade.id } },
    h("td", {}, trade.symbol), h("td", { class: trade.side }, trade.side),
    h("td", { class: "num" }, quantity(trade.quantity)), h("td", { class: "num" }, price(trade.entry_price, trade.symbol)),
    h("td", {}, withForm(level("stop_loss"), form)), h("td", {}, withForm(level("target_price"), form)),
    h("td", { class: "num", dataset: { quote: trade.symbol } }, price(actions.last(trade.symbol), trade.symbol)),
    h("td", { class: "num", dataset: { pnl: trade.id } }, "–"),
    h("td", { class: "actions" }, form,
      h("button", { type: "submit", form: form.id, class: "secondary" }, "Save"),
      h("button", { type: "button", class: "danger", onclick: () => actions.exit(trade.id) }, "Exit")));
}

function withForm(input, form) {
  input.setAttribute("form", form.id);
  return input;
}

/** Alerts: active first. */
export function renderAlerts(state, actions) {
  const alerts = [...state.alerts.values()].sort((a, b) =>
    (a.status === "active" ? 0 : 1) - (b.status === "active" ? 0 : 1) || b.created_at.localeCompare(a.created_at));
  fill($("#alerts"), alerts.map((a) => h("tr", { dataset: { alert: a.id } },
    h("td", {}, a.symbol), h("td", {}, a.condition), h("td", { class: "num" }, price(a.price, a.symbol)),
    h("td", {}, a.note ?? ""),
    h("td", {}, a.status, a.triggered_price ? ` at ${price(a.triggered_price, a.symbol)}` : ""),
    h("td", {}, a.status === "active"
      ? h("button", { type: "button", class: "secondary", onclick: () => actions.deleteAlert(a.id) }, "Delete") : ""))));
}

/** The in-app notifications and the unread badge. */
export function renderInbox(state) {
  const badge = $("#unread");
  badge.textContent = String(state.unread);
  badge.hidden = state.unread === 0;
  fill($("#inbox"), state.notifications.map((n) => h("li", { class: n.read ? "read" : "unread" },
    h("strong", {}, n.title), h("span", { class: "muted" }, ` ${clock(n.created_at)}`), h("div", {}, n.body))));
}

/** One line in the activity log (events as they arrive, newest first). */
export function logActivity(text) {
  const list = $("#activity");
  list.prepend(h("li", {}, h("span", { class: "muted" }, clock(new Date().toISOString())), " ", text));
  while (list.children.length > 200) list.lastElementChild.remove();
}
