// The PaperDesk trading page: log in, watch prices, trade, and follow your events live.
import { io } from "/vendor/socket.io-client.mjs";
import { Api, ApiError } from "./api.js";
import { CandleChart } from "./chart.js";
import { EquityChart } from "./equity.js";
import { ForecastBand } from "./forecast.js";
import { Intel } from "./intel.js";
import { LeaderboardPanel } from "./leaderboard.js";
import { compare, learnPriceSteps, money, price, quantity, units } from "./decimal.js";
import { $, $$, formFields, toast } from "./dom.js";
import { closeEditor, renderOrders, storeOrder } from "./orders.js";
import { Positions, markPositions } from "./positions.js";
import { ticketSymbol, wireTicket } from "./ticket.js";
import { NewsPanel } from "./news.js";
import { SettingsCard } from "./settings.js";
import * as views from "./views.js";
import { Wallet } from "./wallet.js";
import { Welcome } from "./welcome.js";

const api = new Api();
const state = {
  user: null, symbols: [], watchlist: [], selected: null, quotes: new Map(),
  account: {}, trades: new Map(), orders: new Map(), alerts: new Map(), positions: new Map(),
  notifications: [], unread: 0, seq: null,
};
let socket = null;
let chart = null;
let equity = null;
let forecast = null;
let news = null;
let intel = null;
let leaderboard = null;
let syncing = Promise.resolve(); // events are applied one at a time, in order

const actions = {
  select: (symbol) => select(symbol),
  unwatch: (symbol) => run(async () => {
    ({ symbols: state.watchlist } = await api.delete(`/watchlist/${encodeURIComponent(symbol)}`));
    views.renderWatchlist(state, actions);
  }),
  modify: (id, form) => run(async () => {
    const fields = Object.fromEntries(["stop_loss", "target_price"].map((name) => {
      const value = form.elements[name].value.trim(); // inputs joined by their form attribute
      return [name, value === "" ? null : value];
    }));
    upsertTrade((await api.patch(`/trades/${id}`, fields)).trade);
    toast("Trade updated");
  }),
  exit: (id) => run(async () => upsertTrade((await api.post(`/trades/${id}/exit`, {})).trade)),
  cancel: (id) => run(async () => { // a cancel may end its legs or sibling too: read them again
    upsertOrder((await api.delete(`/orders/${id}`)).order);
    await reloadOrders();
  }),
  replace: (order, form, where) => run(() => replaceOrder(order, form), where),
  renderOrders: () => renderOrders(state, actions),
  closePosition: (symbol, form = null) => run(() => positions.close(symbol, form), $("#position-error")),
  deleteAlert: (id) => run(async () => upsertAlert((await api.delete(`/alerts/${id}`)).alert)),
  last: (symbol) => state.quotes.get(symbol)?.price ?? null,
};
const positions = new Positions(api, state, actions, (order) => upsertOrder(order));
const wallet = new Wallet(api);
const welcome = new Welcome(api, start);
const settings = new SettingsCard(api, () => {
  socket?.disconnect();
  api.save(null);
  showAuth("", "Your account was deleted.");
});

// ---------------------------------------------------------------- start-up

async function boot() {
  $("#boot").hidden = true;
  wireForms();
  if (welcome.openLink()) return;
  if (api.loggedIn) await start().catch(() => showAuth());
  else showAuth();
}

/** The log-in card, with an error or a note; what belongs to a session hides. */
function showAuth(error = "", note = "") {
  welcome.auth("login", error, note);
  settings.close();
  for (const id of ["#desk", "#logout", "#bell", "#settings-open", "#connection"]) $(id).hidden = true;
  $("#who").textContent = "";
}

async function start(registered = false) {
  ({ user: state.user } = await api.get("/me"));
  welcome.screen(null);
  for (const id of ["#desk", "#logout", "#bell", "#settings-open", "#connection"]) $(id).hidden = false;
  $("#who").textContent = state.user.email;
  if (registered) toast("Welcome!", `We emailed ${state.user.email} a link to confirm the address.`);
  chart ??= new CandleChart($("#chart"));
  forecast ??= new ForecastBand(chart, $("#forecast-toggle"), $("#forecast-note"), api);
  equity ??= new EquityChart($("#equity-chart"));
  news ??= new NewsPanel($("#news"), $("#news-status"));
  await loadPriceSteps();
  connect(); // events that arrive while the snapshot loads are applied after it
  await loadSnapshot();
  const { symbols } = await api.get("/market/symbols");
  state.symbols = symbols.map((q) => q.symbol);
  symbols.forEach((q) => state.quotes.set(q.symbol, q));
  let { symbols: watched } = await api.get("/watchlist");
  if (watched.length === 0) { // a first visit starts with every configured symbol
    ({ symbols: watched } = await api.put("/watchlist", { symbols: state.symbols.slice(0, 50) }));
  }
  state.watchlist = watched;
  views.renderWatchlist(state, actions);
  subscribe();
  await select(state.selected ?? watched[0] ?? state.symbols[0]);
  intel ??= new Intel(api, select);
  await intel.show().catch((error) => toast("Market mood unavailable", error.message, "error"));
  leaderboard ??= new LeaderboardPanel($("#leaderboard"), api);
  await leaderboard.show(state.user);
}

/** Every asset's price increment, which prices show at (pages of 500, at most 20). */
async function loadPriceSteps() {
  let cursor = null;
  for (let page = 0; page < 20; page += 1) {
    const query = new URLSearchParams({ limit: "500", ...(cursor ? { cursor } : {}) });
    const { assets, next_cursor: next } = await api.get(`/assets?${query}`);
    learnPriceSteps(assets);
    if (!next) return;
    cursor = next;
  }
}

/** Everything the page shows, read fresh; events after its seq are applied on top. */
async function loadSnapshot() {
  const { account } = await api.get("/account"); // first: its seq covers what follows
  const [open, closed, orders, alerts, inbox, unread, held] = await Promise.all([
    api.get("/trades?status=open"), api.get("/trades?status=closed"), api.get("/orders?limit=100"),
    api.get("/alerts"), api.get("/notifications?limit=50"), api.get("/notifications/unread-count"),
    api.get("/positions"),
  ]);
  state.account = account;
  state.seq = account.seq;
  state.trades = new Map([...open.trades, ...closed.trades].map((t) => [t.id, t]));
  state.orders = new Map();
  orders.orders.forEach((o) => storeOrder(state.orders, o));
  state.alerts = new Map(alerts.alerts.map((a) => [a.id, a]));
  positions.show(held.positions);
  state.notifications = inbox.notifications;
  state.unread = unread.unread;
  views.renderAccount(state);
  views.renderTrades(state, actions);
  renderOrders(state, actions);
  views.renderAlerts(state, actions);
  views.renderInbox(state);
  wallet.refresh();
  await equity.show(api);
}

async function select(symbol) {
  if (!symbol) return;
  state.selected = symbol;
  ticketSymbol($("#order-form"), symbol, api);
  $("#chart-title").textContent = symbol;
  $("#chart-price").textContent = price(state.quotes.get(symbol)?.price, symbol);
  for (const row of $$("#watchlist tr")) row.classList.toggle("selected", row.dataset.symbol === symbol);
  news.show(api, symbol).catch((error) => console.warn("news:", error.message));
  await chart.show(api, symbol, $("#interval").value);
  await forecast.show(symbol, $("#interval").value);
}

// ---------------------------------------------------------------- the socket

function connect() {
  socket?.disconnect();
  socket = io({ auth: (send) => send({ token: api.accessToken }), transports: ["websocket"] });
  window.paperdesk = { socket }; // for the end-to-end test and for poking around
  socket.on("connect", () => {
    setConnection("live");
    subscribe();
    if (state.seq !== null) sync(() => catchUp());
  });
  socket.on("disconnect", (reason) => {
    setConnection("offline");
    // The server ended the session; anything else reconnects on its own.
    if (reason === "io server disconnect") socket.connect();
  });
  socket.on("connect_error", async (error) => {
    setConnection("offline");
    const code = error.data?.code;
    if (code === "token_expired") {
      await api.refresh().then(() => socket.connect(), () => showAuth("Your session ended. Log in again."));
    } else if (code) {
      showAuth("Your session ended. Log in again.");
      socket.disconnect();
    }
  });
  socket.on("live_price", onQuote);
  socket.on("prices", (quotes) => quotes.forEach(onQuote));
  for (const type of ["order_update", "trade_update", "position_update", "account_update", "alert_triggered"]) {
    socket.on(type, (event) => sync(() => receive({ type, ...event })));
  }
  socket.on("notification", ({ notification }) => {
    state.notifications.unshift(notification);
    state.unread += 1;
    views.renderInbox(state);
  });
  socket.on("news", (item) => news?.received(item));
  socket.on("sentiment", (event) => intel?.sentiment(event));
  socket.on("session_revoked", () => showAuth("You were logged out."));
}

function setConnection(status) {
  const pill = $("#connection");
  pill.dataset.state = status;
  pill.textContent = status;
}

function subscribe() {
  if (!socket?.connected || state.watchlist.length === 0) return;
  const open = [...state.trades.values()].filter((t) => t.status === "open").map((t) => t.symbol);
  const symbols = [...new Set([...state.watchlist, ...open, state.selected].filter(Boolean))];
  socket.emit("subscribe", { symbols }, (ack) => {
    if (!ack.ok) return toast("Could not subscribe", ack.error.message, "error");
    ack.quotes.forEach(onQuote);
  });
}

function onQuote(quote) {
  const previous = state.quotes.get(quote.symbol);
  state.quotes.set(quote.symbol, quote);
  const now = views.showQuote(state, quote, previous);
  if (now !== null) equity?.live(Number(now) / 1e8); // drawing only: the text stays exact
  markPositions(state);
  chart?.tick(quote);
}

// ---------------------------------------------------------------- events

function sync(step) {
  syncing = syncing.then(step).catch((error) => console.warn("sync failed:", error.message));
  return syncing;
}

/** A live event: apply it, or first fetch the ones missed before it. */
async function receive(event) {
  if (state.seq === null || event.seq <= state.seq) return; // loading, or seen already
  if (event.seq > state.seq + 1) await catchUp();
  if (event.seq === state.seq + 1) apply(event);
}

/** Fetch and apply every stored event after the last one seen. */
async function catchUp() {
  for (;;) {
    const { events } = await api.get(`/events?after=${state.seq}&limit=500`);
    events.filter((e) => e.seq > state.seq).forEach((event) => apply(event, true));
    if (events.length < 500) return;
  }
}

function apply(event, missed = false) {
  state.seq = event.seq;
  if (event.type === "order_update") upsertOrder(event.order);
  else if (event.type === "account_update") {
    state.account = { ...state.account, ...event.account };
    views.renderAccount(state);
    equity?.changed(api);
    wallet.refresh();
  } else if (event.type === "trade_update") {
    upsertTrade(event.trade);
    announceTrade(event, missed);
    if (event.event !== "modified") positions.refresh();
  } else if (event.type === "position_update") {
    positions.changed(event);
    wallet.refresh();
    sync(() => reloadTrades(event.symbol)); // the event counts the lots it closed, not which
  } else if (event.type === "alert_triggered") {
    upsertAlert(event.alert);
    toast(`Alert: ${event.alert.symbol} ${event.alert.condition} ${price(event.alert.price, event.alert.symbol)}`,
      `Price ${price(event.price, event.alert.symbol)}${event.alert.note ? ` · ${event.alert.note}` : ""}`, "alert");
    views.logActivity(`alert ${event.alert.symbol} ${event.alert.condition} ${event.alert.price} fired at ${event.price}`);
  }
}

function announceTrade({ event, reason, trade }, missed) {
  const what = `${trade.side} ${quantity(trade.initial_quantity)} ${trade.symbol}`;
  const note = missed ? " (while offline)" : "";
  views.logActivity(`trade ${event}${reason ? ` (${reason})` : ""}: ${what}${note}`);
  if (event === "opened") toast(`Trade opened: ${what}`, `at ${price(trade.entry_price, trade.symbol)}`);
  if (event === "closed") {
    const kind = Number(trade.realized_pnl) < 0 ? "loss" : "gain";
    toast(`Trade closed (${reason}): ${what}`, `at ${price(trade.close_price, trade.symbol)} · P&L ${money(trade.realized_pnl)}`, kind);
  }
}

function upsertTrade(trade) {
  const isNew = !state.trades.has(trade.id);
  state.trades.set(trade.id, trade);
  views.renderTrades(state, actions);
  if (isNew) subscribe();
}

function upsertOrder(order) {
  storeOrder(state.orders, order);
  renderOrders(state, actions);
}

async function reloadOrders() {
  const { orders } = await api.get("/orders?limit=100");
  orders.forEach((o) => storeOrder(state.orders, o));
  renderOrders(state, actions);
}

/** Read a symbol's open trades and its latest closed ones again (after an order of the
 * other side closed some); an open one in neither list was closed long enough ago. */
async function reloadTrades(symbol) {
  const query = `symbol=${encodeURIComponent(symbol)}&limit=100`;
  const [open, closed] = await Promise.all([
    api.get(`/trades?status=open&${query}`), api.get(`/trades?status=closed&${query}`)]);
  const fresh = new Set([...open.trades, ...closed.trades].map((t) => t.id));
  for (const trade of state.trades.values()) {
    if (trade.symbol === symbol && trade.status === "open" && !fresh.has(trade.id)) state.trades.delete(trade.id);
  }
  [...open.trades, ...closed.trades].forEach((t) => state.trades.set(t.id, t));
  views.renderTrades(state, actions);
}

/** Send what an order's editor changed as its replacement (PATCH); the editor closes. */
async function replaceOrder(order, form) {
  const changes = {};
  for (const [name, value] of Object.entries(formFields(form))) {
    const same = name === "time_in_force" ? value === order[name]
      : units(value) !== null && compare(value, order[name]) === 0;
    if (!same) changes[name] = value;
  }
  if (Object.keys(changes).length > 0) {
    const { order: replacement, replaced } = await api.patch(`/orders/${order.id}`, changes);
    state.orders.set(replaced.id, replaced);
    state.orders.set(replacement.id, replacement);
    toast("Order replaced", `${replacement.side} ${quantity(replacement.quantity)} ${replacement.symbol}`);
  }
  closeEditor(order.id);
  renderOrders(state, actions);
}

function upsertAlert(alert) {
  state.alerts.set(alert.id, alert);
  views.renderAlerts(state, actions);
}

// ---------------------------------------------------------------- forms

/** Run an action; a refusal shows as a toast (or in `where`, when given). */
async function run(action, where = null) {
  if (where) where.textContent = "";
  try {
    await action();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (where) where.textContent = error.message;
    else toast("Refused", error.message, "error");
  }
}

function wireForms() {
  $("#logout").addEventListener("click", () => run(async () => {
    socket?.disconnect();
    await api.logout();
    showAuth();
  }));
  wireTicket($("#order-form"), (body) => run(async () => {
    const { order } = await api.post("/orders", body);
    upsertOrder(order);
    toast(`Order ${order.status}`, `${order.side} ${quantity(order.quantity)} ${order.symbol}`);
  }, $("#order-error")), api);
  $("#exit-all").addEventListener("click", () => run(async () => {
    if (!window.confirm("Exit every open trade at the market?")) return;
    (await api.post("/trades/exit-all")).trades.forEach(upsertTrade);
  }));
  $("#close-all").addEventListener("click", () => run(async () => {
    if (window.confirm("Close every position at the market and cancel every open order?")) await positions.closeAll();
  }, $("#position-error")));
  $("#cancel-all").addEventListener("click", () => run(async () => {
    if (!window.confirm("Cancel every open order?")) return;
    const { orders } = await api.delete("/orders");
    orders.forEach((o) => o.order && upsertOrder(o.order));
    const failed = orders.filter((o) => o.status === "failed");
    toast(`Cancelled ${orders.length - failed.length} orders`,
      failed.map((f) => f.error?.message ?? "").join(" · "), failed.length ? "error" : "info");
  }));
  $("#reset").addEventListener("click", () => run(async () => {
    if (!window.confirm("Close every trade, cancel every order and start again with fresh cash?")) return;
    await api.post("/account/reset");
    await loadSnapshot();
  }));
  $("#watch-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const symbol = $("#watch-symbol").value;
    if (!symbol) return;
    run(async () => {
      ({ symbols: state.watchlist } = await api.post("/watchlist", { symbol }));
      views.renderWatchlist(state, actions);
      subscribe();
    });
  });
  $("#interval").addEventListener("change", () => select(state.selected));
  $("#equity-period").addEventListener("change", (event) => equity?.show(api, event.target.value));
  $("#alert-form").addEventListener("submit", (event) => {
    event.preventDefault();
    run(async () => {
      const { alert } = await api.post("/alerts", { ...formFields(event.target), symbol: state.selected });
      upsertAlert(alert);
      event.target.reset();
    }, $("#alert-error"));
  });
  $("#read-all").addEventListener("click", () => run(async () => {
    await api.post("/notifications/read-all");
    state.notifications = state.notifications.map((n) => ({ ...n, read: true }));
    state.unread = 0;
    views.renderInbox(state);
  }));
  $("#bell").addEventListener("click", () => openTab("inbox"));
  for (const tab of $$("[data-tab]")) tab.addEventListener("click", () => openTab(tab.dataset.tab));
  $(".tabs").addEventListener("keydown", moveBetweenTabs);
  openTab("positions");
}

function openTab(name) {
  for (const tab of $$("[data-tab]")) {
    tab.setAttribute("aria-selected", String(tab.dataset.tab === name));
    tab.tabIndex = tab.dataset.tab === name ? 0 : -1; // Tab enters the list at the open one
  }
  for (const panel of $$("[data-panel]")) panel.hidden = panel.dataset.panel !== name;
}

/** Arrow keys, Home and End move between the tabs and open the one reached. */
function moveBetweenTabs(event) {
  const tabs = $$("[data-tab]");
  const at = tabs.indexOf(event.target);
  const to = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: tabs.length - 1 }[event.key];
  if (at < 0 || to === undefined) return;
  event.preventDefault();
  const tab = tabs[(to + tabs.length) % tabs.length];
  openTab(tab.dataset.tab);
  tab.focus();
}

boot();
