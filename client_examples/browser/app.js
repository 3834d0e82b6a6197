// The PaperDesk trading page: log in, watch prices, trade, and follow your events live.
import { io } from "/vendor/socket.io-client.mjs";
import { Api, ApiError } from "./api.js";
import { CandleChart } from "./chart.js";
import { EquityChart } from "./equity.js";
import { Intel } from "./intel.js";
import { money, price } from "./decimal.js";
import { $, $$, formFields, toast } from "./dom.js";
import * as views from "./views.js";

const api = new Api();
const state = {
  user: null, symbols: [], watchlist: [], selected: null, quotes: new Map(),
  account: {}, trades: new Map(), orders: new Map(), alerts: new Map(),
  notifications: [], unread: 0, seq: null,
};
let socket = null;
let chart = null;
let equity = null;
let intel = null;
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
  cancel: (id) => run(async () => upsertOrder((await api.delete(`/orders/${id}`)).order)),
  deleteAlert: (id) => run(async () => upsertAlert((await api.delete(`/alerts/${id}`)).alert)),
  last: (symbol) => state.quotes.get(symbol)?.price ?? null,
};

// ---------------------------------------------------------------- start-up

async function boot() {
  $("#boot").hidden = true;
  wireForms();
  if (api.loggedIn) await start().catch(() => showAuth());
  else showAuth();
}

function showAuth(message = "") {
  $("#auth").hidden = false;
  $("#desk").hidden = $("#logout").hidden = $("#bell").hidden = true;
  $("#who").textContent = "";
  $("#auth-error").textContent = message;
}

async function start() {
  ({ user: state.user } = await api.get("/me"));
  $("#auth").hidden = true;
  $("#desk").hidden = $("#logout").hidden = $("#bell").hidden = false;
  $("#who").textContent = state.user.email;
  chart ??= new CandleChart($("#chart"));
  equity ??= new EquityChart($("#equity-chart"));
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
}

/** Everything the page shows, read fresh; events after its seq are applied on top. */
async function loadSnapshot() {
  const { account } = await api.get("/account"); // first: its seq covers what follows
  const [open, closed, orders, alerts, inbox, unread] = await Promise.all([
    api.get("/trades?status=open"), api.get("/trades?status=closed"), api.get("/orders?limit=100"),
    api.get("/alerts"), api.get("/notifications?limit=50"), api.get("/notifications/unread-count"),
  ]);
  state.account = account;
  state.seq = account.seq;
  state.trades = new Map([...open.trades, ...closed.trades].map((t) => [t.id, t]));
  state.orders = new Map(orders.orders.map((o) => [o.id, o]));
  state.alerts = new Map(alerts.alerts.map((a) => [a.id, a]));
  state.notifications = inbox.notifications;
  state.unread = unread.unread;
  views.renderAccount(state);
  views.renderTrades(state, actions);
  views.renderOrders(state, actions);
  views.renderAlerts(state, actions);
  views.renderInbox(state);
  await equity.show(api);
}

async function select(symbol) {
  if (!symbol) return;
  state.selected = symbol;
  $("#order-form").elements.symbol.value = symbol;
  $("#chart-title").textContent = symbol;
  $("#chart-price").textContent = price(state.quotes.get(symbol)?.price);
  for (const row of $$("#watchlist tr")) row.classList.toggle("selected", row.dataset.symbol === symbol);
  await chart.show(api, symbol, $("#interval").value);
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
  for (const type of ["order_update", "trade_update", "account_update", "alert_triggered"]) {
    socket.on(type, (event) => sync(() => receive({ type, ...event })));
  }
  socket.on("notification", ({ notification }) => {
    state.notifications.unshift(notification);
    state.unread += 1;
    views.renderInbox(state);
  });
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
  } else if (event.type === "trade_update") {
    upsertTrade(event.trade);
    announceTrade(event, missed);
  } else if (event.type === "alert_triggered") {
    upsertAlert(event.alert);
    toast(`Alert: ${event.alert.symbol} ${event.alert.condition} ${price(event.alert.price)}`,
      `Price ${price(event.price)}${event.alert.note ? ` · ${event.alert.note}` : ""}`, "alert");
    views.logActivity(`alert ${event.alert.symbol} ${event.alert.condition} ${event.alert.price} fired at ${event.price}`);
  }
}

function announceTrade({ event, reason, trade }, missed) {
  const what = `${trade.side} ${trade.initial_quantity} ${trade.symbol}`;
  const note = missed ? " (while offline)" : "";
  views.logActivity(`trade ${event}${reason ? ` (${reason})` : ""}: ${what}${note}`);
  if (event === "opened") toast(`Trade opened: ${what}`, `at ${price(trade.entry_price)}`);
  if (event === "closed") {
    const kind = Number(trade.realized_pnl) < 0 ? "loss" : "gain";
    toast(`Trade closed (${reason}): ${what}`, `at ${price(trade.close_price)} · P&L ${money(trade.realized_pnl)}`, kind);
  }
}

function upsertTrade(trade) {
  const isNew = !state.trades.has(trade.id);
  state.trades.set(trade.id, trade);
  views.renderTrades(state, actions);
  if (isNew) subscribe();
}

function upsertOrder(order) {
  state.orders.set(order.id, order);
  views.renderOrders(state, actions);
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
  $("#auth-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const { email = "", password = "", name } = formFields(event.target);
    const register = event.submitter?.value === "register";
    run(async () => {
      await (register ? api.register(email, password, name) : api.login(email, password));
      await start();
    }, $("#auth-error"));
  });
  $("#logout").addEventListener("click", () => run(async () => {
    socket?.disconnect();
    await api.logout();
    showAuth();
  }));
  const ticket = $("#order-form");
  const showPriceFields = () => {
    for (const label of $$("[data-for]", ticket)) {
      label.hidden = !label.dataset.for.split(" ").includes(ticket.elements.type.value);
    }
  };
  ticket.elements.type.addEventListener("change", showPriceFields);
  showPriceFields();
  ticket.addEventListener("submit", (event) => {
    event.preventDefault();
    const fields = formFields(ticket);
    if (fields.type !== "limit") delete fields.limit_price;
    if (fields.type !== "stop") delete fields.stop_price;
    if (fields.type === "market") delete fields.time_in_force;
    fields.client_order_id = crypto.randomUUID(); // a retry of this submit places it once
    run(async () => {
      const { order } = await api.post("/orders", fields);
      upsertOrder(order);
      toast(`Order ${order.status}`, `${order.side} ${order.quantity} ${order.symbol}`);
    }, $("#order-error"));
  });
  $("#exit-all").addEventListener("click", () => run(async () => {
    (await api.post("/trades/exit-all")).trades.forEach(upsertTrade);
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
}

function openTab(name) {
  for (const tab of $$("[data-tab]")) tab.setAttribute("aria-selected", String(tab.dataset.tab === name));
  for (const panel of $$("[data-panel]")) panel.hidden = panel.dataset.panel !== name;
}

boot();
