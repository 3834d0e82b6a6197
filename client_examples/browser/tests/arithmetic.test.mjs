// The page's money arithmetic, without a browser: `node --test tests/` (run by
// tests/e2e/test_browser_page.py). Amounts are exact decimal strings, never floats.
import assert from "node:assert/strict";
import { test } from "node:test";
import { amount, learnPriceSteps, money, percent, price, priceDecimalsOf, product, quantity, scale }
  from "../decimal.js";
import { fromServer, marks } from "../positions.js";

const shown = ({ value, pnl, pct }) => [money(value), money(pnl), pct === null ? null : money(pct)];

test("a long position marked to a new price gains what the price rose times its size", () => {
  const position = fromServer({ symbol: "AAPL", side: "buy", quantity: "10", average_entry: "100",
    market_price: "110", unrealized_pnl: "100" });
  assert.deepEqual(shown(marks(position, "105")), ["1,050.00", "50.00", "5.00"]);
  assert.deepEqual(shown(marks(position, "90")), ["900.00", "-100.00", "-10.00"]);
});

test("a short position gains when the price falls", () => {
  const position = fromServer({ symbol: "MSFT", side: "sell", quantity: "3", average_entry: "200",
    market_price: "190", unrealized_pnl: "30" });
  assert.deepEqual(shown(marks(position, "210")), ["630.00", "-30.00", "-5.00"]);
  assert.deepEqual(shown(marks(position, "180")), ["540.00", "60.00", "10.00"]);
});

test("lots at different prices are marked from their cost, not from the rounded average", () => {
  // 1 at 100 and 2 at 100.01: the average 100.00666667 is rounded; the cost 300.02 is not.
  const position = fromServer({ symbol: "AAPL", side: "buy", quantity: "3",
    average_entry: "100.00666667", market_price: "101", unrealized_pnl: "2.98" });
  assert.equal(position.cost, 30002000000n);
  assert.equal(marks(position, "102").pnl, 598000000n); // 5.98 exactly, as the sum over the lots
});

test("without a price the cost comes from the average entry, and nothing is marked", () => {
  const position = fromServer({ symbol: "BTCUSDT", side: "buy", quantity: "0.00012",
    average_entry: "65000.5", market_price: null, unrealized_pnl: null });
  assert.equal(money(position.cost), "7.80");
  assert.deepEqual(marks(position, null), { value: null, pnl: null, pct: null });
  assert.deepEqual(shown(marks(position, "66000")), ["7.92", "0.12", "1.54"]);
});

test("products, percentages and quantities format exactly", () => {
  assert.equal(product("0.00012", "65000.5"), 780006000n); // 7.80006
  assert.equal(money(percent(1n, 3n)), "33.33");
  assert.equal(money(percent(-2n, 3n)), "-66.67");
  assert.equal(percent(5n, 0n), null);
  assert.equal(quantity("1500"), "1,500");
  assert.equal(quantity("0.00012"), "0.00012");
});

test("a position in rupees is marked in rupees and shown in dollars at the server's rate", () => {
  // 10 RELIANCE.NS bought at 2,900 rupees, now 2,950; USDINR 83.25.
  const position = fromServer({ symbol: "RELIANCE.NS", side: "buy", quantity: "10",
    average_entry: "2900", market_price: "2950", unrealized_pnl: "6.00600601", currency: "INR",
    fx_rate: "83.25", market_value_quote: "29500", unrealized_pnl_quote: "500",
    market_value: "354.35435435" });
  assert.equal(position.cost, 2900000000000n); // 29,000 rupees
  const at = marks(position, "3000");
  assert.deepEqual([money(at.valueQuote), money(at.pnlQuote), money(at.pct)], ["30,000.00", "1,000.00", "3.45"]);
  assert.deepEqual([money(at.value), money(at.pnl)], ["360.36", "12.01"]); // ÷ 83.25
  const now = marks(position, "2950"); // at the server's own price: its dollar amounts
  assert.deepEqual([now.value, now.pnl], [35435435435n, 600600601n]);
});

test("fees show every decimal the server sent, and at least two", () => {
  assert.equal(amount("0.185"), "0.185");
  assert.equal(amount("0.65"), "0.65");
  assert.equal(amount("1300.5"), "1,300.50");
  assert.equal(amount("0"), "0.00");
  assert.equal(amount(null), "–");
  assert.equal(scale("1000", "1", "83.25"), 1201201201n); // 12.01201201
  assert.equal(scale("1", "2", "0"), null);
});

test("a price shows at its asset's tick, however many decimals the server sent", () => {
  learnPriceSteps([{ symbol: "BTCUSDT", price_increment: "0.01" }, { symbol: "RELIANCE.NS", price_increment: "0.05" },
    { symbol: "USDINR", price_increment: "0.0001" }, { symbol: "^NSEI", price_increment: "1" }]);
  assert.equal(price("65516.4", "BTCUSDT"), "65,516.40");
  assert.equal(price("65000", "BTCUSDT"), "65,000.00");
  assert.equal(price("100.00666667", "BTCUSDT"), "100.01");
  assert.equal(price("-2.005", "BTCUSDT"), "-2.01");
  assert.equal(price("2900", "RELIANCE.NS"), "2,900.00");
  assert.equal(price("83.25", "USDINR"), "83.2500");
  assert.equal(price("22000.4", "^NSEI"), "22,000");
  assert.equal(price("0.123456", "BTCUSDT"), "0.1235"); // under 1: at least 4 decimals
  assert.equal(priceDecimalsOf("USDINR"), 4);
});

test("a price of no known asset, or no price, shows as sent", () => {
  assert.equal(price("65516.4", "UNKNOWN"), "65,516.4");
  assert.equal(price("83.25"), "83.25");
  assert.equal(price(null, "BTCUSDT"), "–");
  assert.equal(price("not a number", "BTCUSDT"), "not a number");
  assert.equal(priceDecimalsOf("UNKNOWN"), null);
});
