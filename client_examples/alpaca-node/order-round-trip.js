// Alpaca's Node SDK (@alpacahq/alpaca-trade-api) on an Alpaca-compatible server:
// places a limit order below the market, lists the open orders, cancels it, and
// prints the trade updates its trade stream receives for the order ("new", then
// "canceled"). Nothing here is specific to PaperDesk; the environment picks the server:
//
//   APCA_API_KEY_ID, APCA_API_SECRET_KEY   the key pair (required)
//   APCA_API_BASE_URL    the trading API (unset: Alpaca's paper endpoint)
//   APCA_API_STREAM_URL  the trade stream (unset: APCA_API_BASE_URL's /stream over ws)
//   SYMBOL (AAPL), QTY (1), LIMIT_PRICE (1), TIMEOUT (30 seconds)
//
//   APCA_API_BASE_URL=http://localhost:8000 node order-round-trip.js
"use strict";

const { OrdersApi, trading, streaming } = require("@alpacahq/alpaca-trade-api");

const env = process.env;
const keyId = env.APCA_API_KEY_ID;
const secret = env.APCA_API_SECRET_KEY;
const baseUrl = (env.APCA_API_BASE_URL || trading.TRADING_PAPER_HOST).replace(/\/+$/, "");
const streamUrl = env.APCA_API_STREAM_URL || `${baseUrl.replace(/^http/, "ws")}/stream`;
const symbol = env.SYMBOL || "AAPL";
const qty = env.QTY || "1";
const limitPrice = env.LIMIT_PRICE || "1";
const timeoutMs = Number(env.TIMEOUT || 30) * 1000;

// Resolves with the first trade update for an order id and event, whenever it came.
class Updates {
  constructor(stream) {
    this.seen = [];
    this.waiting = [];
    stream.onTradeUpdate((update) => {
      this.seen.push(update);
      this.waiting = this.waiting.filter((waiter) => !waiter(update));
    });
  }

  next(orderId, event) {
    return new Promise((resolve) => {
      const waiter = (update) => {
        const matches = update.order.id === orderId && update.event === event;
        if (matches) resolve(update);
        return matches;
      };
      const earlier = this.seen.find(waiter);
      if (!earlier) this.waiting.push(waiter);
    });
  }
}

async function listening(stream) {
  const auth = await stream.whenAuthenticated();
  if (!auth.authenticated) {
    throw new Error(`trade stream refused: ${auth.status} ${auth.code ?? ""} ${auth.message}`);
  }
  const subscribed = new Promise((resolve) => stream.once("subscription", resolve));
  stream.subscribeTradeUpdates();
  const streams = await subscribed;
  if (!streams.includes("trade_updates")) throw new Error(`not listening: ${streams}`);
}

async function main() {
  const stream = new streaming.TradingStream({
    credentials: { keyId, secret }, url: streamUrl, reconnect: false,
  });
  stream.onError((message) => console.error(`stream error: ${message}`));
  const updates = new Updates(stream);
  stream.connect();
  try {
    await listening(stream);
    console.log(`listening to trade_updates on ${streamUrl}`);
    const orders = new OrdersApi(new trading.Configuration({ keyId, secret, basePath: baseUrl }));

    const placed = await orders.limit({
      symbol, qty, side: "buy", limitPrice, timeInForce: "day",
      clientOrderId: `round-trip-${Date.now()}`,
    });
    console.log(`placed ${placed.id}: ${placed.side} ${placed.qty} ${placed.symbol} ` +
                `limit ${placed.limitPrice} (${placed.status})`);
    const accepted = await updates.next(placed.id, "new");
    console.log(`trade update: ${accepted.event} ${accepted.order.id}`);

    const open = await orders.getAllOrders({ status: "open", symbols: [symbol] });
    const listed = open.some((order) => order.id === placed.id);
    console.log(`open orders for ${symbol}: ${open.length}, ${listed ? "including" : "without"} ${placed.id}`);

    await orders.deleteOrderByOrderID({ orderId: placed.id });
    const canceled = await updates.next(placed.id, "canceled");
    console.log(`trade update: ${canceled.event} ${canceled.order.id} (${canceled.order.status})`);
  } finally {
    stream.disconnect();
  }
}

if (!keyId || !secret) {
  console.error("set APCA_API_KEY_ID and APCA_API_SECRET_KEY");
  process.exit(2);
}
const timer = setTimeout(() => {
  console.error(`gave up after ${timeoutMs / 1000} s`);
  process.exit(1);
}, timeoutMs);
main().then(() => clearTimeout(timer), (error) => {
  const status = error.status ? `${error.status} ${error.code ?? ""} ` : "";
  console.error(`failed: ${status}${error.message}`);
  process.exit(1);
});
