// PaperDesk from Node: log in, stream prices, buy with a stop-loss, print the position,
// follow the trade to the close, then print the account's latest activities and its
// performance.
//
//   node trade-until-stop.js http://localhost:8000 ann@example.com 'correct horse battery'
//
// Exits 0 once the stop-loss has closed the trade (Node 18+: fetch is built in).
const { io } = require("socket.io-client");

const [url, email, password] = process.argv.slice(2);
const symbol = process.env.SYMBOL || "AAPL";
const stopDistance = Number(process.env.STOP_DISTANCE || "5");

function fail(message) {
  console.error(message);
  process.exit(1);
}

/** GET a route of the REST API with the user's token; its JSON body. */
async function get(token, path) {
  const reply = await fetch(`${url}/api/v1${path}`, { headers: { Authorization: `Bearer ${token}` } });
  return reply.json();
}

/** Print the user's net position in the symbol. */
async function showPosition(token) {
  const { position: p } = await get(token, `/positions/${encodeURIComponent(symbol)}`);
  console.log(`position ${p.side} ${p.quantity} ${p.symbol}, average entry ${p.average_entry}`);
}

/** Print the latest account activities (newest first) and the performance. */
async function showHistory(token) {
  const { activities } = await get(token, "/account/activities?limit=5");
  for (const a of activities) {
    console.log(a.activity_type === "fill"
      ? `activity fill ${a.side} ${a.qty} ${a.symbol} at ${a.price}`
      : `activity ${a.activity_type} ${a.net_amount}`);
  }
  const p = await get(token, "/account/performance");
  console.log(`performance: realized ${p.realized_pnl}, win rate ${p.win_rate_pct}%, ` +
    `max drawdown ${p.max_drawdown} (${p.max_drawdown_pct}%)`);
}

async function main() {
  const login = await fetch(`${url}/api/v1/auth/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  const body = await login.json();
  if (login.status !== 200) fail(`login failed: ${body.error.message}`);

  const socket = io(url, { auth: { token: body.access_token }, transports: ["websocket"] });
  socket.on("connect_error", (err) => fail(`refused: ${err.message}`));
  socket.on("live_price", (q) => console.log(`price ${q.symbol} ${q.price} (${q.source})`));
  socket.on("trade_update", (u) => {
    const t = u.trade;
    console.log(`trade ${u.event}: ${t.side} ${t.initial_quantity} ${t.symbol} at ${t.entry_price}, stop ${t.stop_loss}` +
      (u.event === "closed" ? `, closed at ${t.close_price} (${u.reason}), pnl ${t.realized_pnl}` : ""));
    if (u.event === "closed") {
      socket.close();
      showHistory(body.access_token).then(() => process.exit(0), (err) => fail(err.message));
    }
  });
  socket.on("connect", async () => {
    const sub = await socket.emitWithAck("subscribe", { symbols: [symbol] });
    // Prices are decimal strings; this example only needs a rough stop level.
    const stop = (Number(sub.quotes[0].price) - stopDistance).toFixed(2);
    const ack = await socket.emitWithAck("place_order", {
      symbol, side: "buy", quantity: "1", stop_loss: stop,
    });
    if (!ack.ok) fail(`order refused: ${ack.error.code} ${ack.error.message}`);
    console.log(`order ${ack.order.status} at ${ack.order.filled_price}, stop-loss ${stop}`);
    await showPosition(body.access_token);
  });
  setTimeout(() => fail("the stop-loss did not close the trade in time"), 60000);
}

main().catch((err) => fail(err.message));
