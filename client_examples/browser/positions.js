// The Positions panel: one net position per symbol (GET /positions), marked to the
// latest price in exact decimal units, with full and partial closes.
import { $, $$, coalesced, fill, formFields, h, keepingFocus, toast } from "./dom.js";
import { compare, money, percent, price, product, quantity, scale, units } from "./decimal.js";

const pnlClass = (value) => (value === null || value === 0n ? "" : value > 0n ? "gain" : "loss");

/** A position as the server sends it, plus its cost basis in units, so that marking it
 * to a new price gives the server's unrealized P&L (the sum over its lots) exactly. A
 * position in another quote currency keeps its cost in that currency, and the
 * account-currency amounts follow at the rate the server's market values imply. */
export function fromServer(position) {
  const foreign = Boolean(position.fx_rate);
  const value = product(position.market_price, position.quantity);
  const unrealized = units(foreign ? position.unrealized_pnl_quote : position.unrealized_pnl);
  const cost = value !== null && unrealized !== null
    ? (position.side === "buy" ? value - unrealized : value + unrealized)
    : product(position.average_entry, position.quantity);
  return { ...position, cost, foreign };
}

/** Market value, unrealized P&L and its percentage of the cost, at price (units), in the
 * account currency; for a foreign position also valueQuote and pnlQuote. */
export function marks(position, last) {
  const valueQuote = product(last, position.quantity);
  const pnlQuote = valueQuote === null || position.cost === null ? null
    : position.side === "buy" ? valueQuote - position.cost : position.cost - valueQuote;
  const pct = pnlQuote === null ? null : percent(pnlQuote, position.cost);
  if (!position.foreign) return { value: valueQuote, pnl: pnlQuote, pct };
  if (compare(last, position.market_price) === 0) { // the server's own conversion, exactly
    return { value: units(position.market_value), pnl: units(position.unrealized_pnl), pct, valueQuote, pnlQuote };
  }
  const toAccount = (amount) => scale(amount, position.market_value, position.market_value_quote);
  return { value: toAccount(valueQuote), pnl: toAccount(pnlQuote), pct, valueQuote, pnlQuote };
}

/** The positions in `state.positions`: loaded, read again when trades change, closed. */
export class Positions {
  /** `placed(order)` shows an order the panel sent; `actions.closePosition` is its buttons'. */
  constructor(api, state, actions, placed) {
    Object.assign(this, { api, state, actions, placed });
    /** Read the positions again; calls made while a read is under way share one more. */
    this.refresh = coalesced("positions",
      async () => this.show((await this.api.get("/positions")).positions));
  }

  show(positions) {
    this.state.positions = new Map(positions.map((p) => [p.symbol, fromServer(p)]));
    renderPositions(this.state, this.actions);
  }

  /** A position_update: the position after an order of the other side closed lots. */
  changed({ symbol, position }) {
    if (position) this.state.positions.set(symbol, fromServer(position));
    else this.state.positions.delete(symbol);
    renderPositions(this.state, this.actions);
    this.refresh(); // lots the same order opened come in their own event
  }

  /** Close all of a position, or the quantity or percentage its close form asks for. */
  async close(symbol, form = null) {
    let query = "";
    if (form) {
      const { amount, unit } = formFields(form);
      query = `?${unit === "qty" ? "qty" : "percentage"}=${encodeURIComponent(amount)}`;
    }
    const { order } = await this.api.delete(`/positions/${encodeURIComponent(symbol)}${query}`);
    this.placed(order);
    form?.reset();
    toast(`Closing ${quantity(order.quantity)} ${symbol}`, `${order.side} at the market · ${order.status}`);
    await this.refresh();
  }

  /** Close every position at the market, cancelling every open order first. */
  async closeAll() {
    const { closed, orders_cancelled: cancelled } = await this.api.delete("/positions?cancel_orders=true");
    closed.forEach((c) => c.order && this.placed(c.order));
    const failed = closed.filter((c) => c.status === "failed");
    toast(`Closed ${closed.length - failed.length} of ${closed.length} positions`,
      `${cancelled} orders cancelled${failed.map((f) => ` · ${f.symbol}: ${f.error.message}`).join("")}`,
      failed.length ? "error" : "info");
    await this.refresh();
  }
}

const lastPrice = (state, position) => state.quotes.get(position.symbol)?.price ?? position.market_price;

/** The positions table, the tab's count and the Close-all button. */
export function renderPositions(state, actions) {
  const drafts = new Map($$("#positions form.close-part").map((form) =>
    [form.dataset.symbol, [form.elements.amount.value, form.elements.unit.value]]));
  const positions = [...state.positions.values()].sort((a, b) => a.symbol.localeCompare(b.symbol));
  $("#position-count").textContent = positions.length ? `(${positions.length})` : "";
  $("#close-all").disabled = positions.length === 0;
  const partForm = (symbol) => $(`#positions form.close-part[data-symbol="${CSS.escape(symbol)}"]`);
  keepingFocus($("#positions"), () => {
    fill($("#positions"), positions.length ? positions.map((p) => positionRow(state, p, actions))
      : [h("tr", {}, h("td", { colspan: 9, class: "muted" }, "No open positions."))]);
    for (const [symbol, [amount, unit]] of drafts) { // what was being typed survives a refresh
      const form = partForm(symbol);
      if (!form) continue;
      form.elements.amount.value = amount;
      form.elements.unit.value = unit;
    }
  }, (old) => {
    const form = old.form ? partForm(old.form.dataset.symbol ?? "") : null;
    return form && old.name ? form.elements[old.name] : null;
  });
  markPositions(state);
}

function positionRow(state, position, actions) {
  const { symbol } = position;
  const cell = (name) => h("td", { class: "num", dataset: { position: name } }, "–");
  const part = h("form", { class: "close-part", dataset: { symbol }, "aria-label": `Close part of ${symbol}`,
    onsubmit: (event) => { event.preventDefault(); actions.closePosition(symbol, event.target); } },
  h("input", { name: "amount", inputmode: "decimal", size: 5, required: true, placeholder: "amount",
    "aria-label": `Amount of ${symbol} to close` }),
  h("select", { name: "unit", "aria-label": `Close ${symbol} by` },
    h("option", { value: "percentage" }, "%"), h("option", { value: "qty" }, "qty")),
  h("button", { type: "submit", class: "secondary" }, "Close part"));
  return h("tr", { dataset: { positionRow: symbol } },
    h("td", {}, symbol, position.foreign ? h("span", { class: "quote", dataset: { position: "rate" } },
      `${position.currency} at ${price(position.fx_rate)}`) : ""),
    h("td", { class: position.side }, position.side === "buy" ? "long" : "short"),
    h("td", { class: "num" }, quantity(position.quantity)),
    h("td", { class: "num" }, price(position.average_entry, symbol)),
    h("td", { class: "num", dataset: { quote: symbol } }, price(lastPrice(state, position), symbol)),
    cell("value"), cell("pnl"), cell("pct"),
    h("td", { class: "actions" }, part,
      h("button", { type: "button", class: "danger", "aria-label": `Close all of ${symbol}`,
        onclick: () => actions.closePosition(symbol) }, "Close")));
}

/** Mark every position to its latest price: market value, unrealized P&L and %. */
export function markPositions(state) {
  for (const position of state.positions.values()) {
    const row = $(`#positions tr[data-position-row="${CSS.escape(position.symbol)}"]`);
    if (!row) continue;
    const { value, pnl, pct, valueQuote, pnlQuote } = marks(position, lastPrice(state, position));
    // In another currency, the quote currency's amount shows under the account's.
    const inQuote = (amount) => (position.foreign
      ? h("span", { class: "quote" }, `${money(amount)} ${position.currency}`) : "");
    fill($("[data-position=value]", row), [money(value), inQuote(valueQuote)]);
    for (const [name, text, quote] of [["pnl", money(pnl), inQuote(pnlQuote)],
      ["pct", pct === null ? "–" : `${money(pct)}%`, ""]]) {
      const cell = $(`[data-position=${name}]`, row);
      fill(cell, [text, quote]);
      cell.className = `num ${pnlClass(pnl)}`;
    }
  }
}
