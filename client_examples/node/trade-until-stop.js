// PaperDesk from Node: log in, stream prices, buy with a stop-loss and a target, print
// the position, follow the trade to the close, then print the account's latest activities
// and its performance.
//
//   node trade-until-stop.js http://localhost:8000 ann@example.com 'correct horse battery'
//
// Exits 0 once the stop-loss or the target has closed the trade (Node 18+: fetch is
// built in). By default it buys BTCUSDT (traded around the clock) with both levels 0.2%
// from the price, which the simulated prices usually reach within a minute; SYMBOL,
// STOP_PERCENT, TARGET_PERCENT and TIMEOUT (seconds) change that.
const { io } = require("socket.io-client");

const [url, email, password] = process.argv.slice(2);
const symbol = process.env.SYMBOL || "BTCUSDT";
const stopPercent = Number(process.env.STOP_PERCENT || "0.2");
const targetPercent = Number(process.env.TARGET_PERCENT || "0.2");
const timeout = Number(process.env.TIMEOUT || "300");

function fail(message) {
  console.error(message);
  process.exit(1);
}

/** GET a route of the REST API with the user's token; its JSON body. */
async function get(token, path) {
  const reply = await fetch(`${url}/api/v1${path}`, { headers: { Authorization: `Bearer ${token}` } });
  return reply.json();
}

/** A long's stop-loss below price and target above it, on the symbol's tick grid. This
 * example only needs rough levels, so plain numbers do; prices are decimal strings. */
function exitLevels(price, increment) {
  const tick = Number(increment);
  const decimals = (increment.split(".")[1] || "").length;
  const ticks = (level) => Number((level / tick).toFixed(6));  // absorbs float noise
  const stop = Math.min(Math.floor(ticks(price * (1 - stopPercent / 100))), ticks(price) - 1);
  const target = Math.max(Math.ceil(ticks(price * (1 + targetPercent / 100))), ticks(price) + 1);
  return [(stop * tick).toFixed(decimals), (target * tick).toFixed(decimals)];
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
    console.log(`trade ${u.event}: ${t.side} ${t.initial_quantity} ${t.symbol} at ${t.entry_price}, ` +
      `stop ${t.stop_loss}, target ${t.target_price}` +
      (u.event === "closed" ? `, closed at ${t.close_price} (${u.reason}), pnl ${t.realized_pnl}` : ""));
    if (u.event === "closed") {
      socket.close();
      showHistory(body.access_token).then(() => process.exit(0), (err) => fail(err.message));
    }
  });
  socket.on("connect", async () => {
    const sub = await socket.emitWithAck("subscribe", { symbols: [symbol] });
    const { asset } = await get(body.access_token, `/assets/${encodeURIComponent(symbol)}`);
    const [stop, target] = exitLevels(Number(sub.quotes[0].price), asset.price_increment);
    const ack = await socket.emitWithAck("place_order", {
      symbol, side: "buy", quantity: "1", stop_loss: stop, target_price: target,
    });
    if (!ack.ok) fail(`order refused: ${ack.error.code} ${ack.error.message}`);
    console.log(`order ${ack.order.status} at ${ack.order.filled_price}, stop-loss ${stop}, target ${target}`);
    await showPosition(body.access_token);
    console.log(`waiting up to ${timeout} s for the price to reach ${stop} or ${target}`);
  });
  setTimeout(() => fail(`neither the stop-loss nor the target closed the trade in ${timeout} s`),
    timeout * 1000);
}

main().catch((err) => fail(err.message));
