// Drives the page's order classes, fees and wallet in headless Chromium, step by step
// with the test that runs it (tests/e2e/test_browser_page.py), which enforces market
// hours and moves the app's clock: at night in New York (Mumbai open) the ticket offers
// `opg` for AAPL and not for BTCUSDT; an opg order rests and is cancelled; BTC bought
// shows in the Wallet with its fee and liquidity; an INR position shows its rupee value
// and rate. With New York open: no opg; a refused bracket shows the server's reason;
// a bracket's legs sit under it, held until the entry fills, then open; cancelling a
// leg cancels its sibling, and cancelling a parent its held legs.
//
//   node tests/orders-page.mjs <server url> <email> <password> <screenshot dir>
import { mkdirSync } from "node:fs";
import { check, openPage, register, step, text } from "./harness.mjs";

const [url, email, password, artifacts] = process.argv.slice(2);
const { browser, page, problems, refused } = await openPage();
const ticket = "#order-form";
const tifs = () => page.locator(`${ticket} [name=time_in_force] option`).evaluateAll(
  (all) => all.map((option) => option.value).join(" "));
const cells = async (row) => (await row.locator("td").allInnerTexts()).slice(0, 10).join(" | ");
const status = (row, value) => row.locator(".status", { hasText: new RegExp(`^${value}`) }).waitFor();
const tab = (name) => page.click(`[data-tab="${name}"]`);

/** Choose a symbol from the watchlist and wait until the ticket knows its hours. */
async function choose(symbol) {
  await page.click(`#watchlist tr[data-symbol="${symbol}"]`);
  await page.locator(`${ticket}[data-hours-of="${symbol}"]`).waitFor({ state: "attached" });
}

async function fillTicket(fields) {
  for (const [name, value] of Object.entries(fields)) {
    const input = page.locator(`${ticket} [name=${name}]`);
    if ((await input.evaluate((e) => e.tagName)) === "SELECT") await input.selectOption(value);
    else await input.fill(value);
  }
}

try {
  await register(page, url, email, password);
  await step("ready"); // the test moves the clock to 05:00 UTC: Mumbai open, New York closed

  // AAPL's market is closed: a market order may wait for the open (opg); a limit may not.
  await page.locator('#watchlist [data-quote="AAPL"]', { hasText: /^190\.00$/ }).waitFor();
  await choose("AAPL");
  console.log(`closed market: tif ${await tifs()}; ${await page.locator("#market-state").textContent()}`);
  await page.selectOption(`${ticket} [name=type]`, "limit");
  console.log(`closed limit: tif ${await tifs()}`);
  await fillTicket({ type: "market", quantity: "1", time_in_force: "opg" });
  await page.click("#place");
  await tab("orders");
  const opg = page.locator("#orders tr[data-order]", { hasText: "opg" }).first();
  await status(opg, "open");
  console.log(`opg: ${await cells(opg)}`);
  check(!(await opg.getByRole("button", { name: /^Edit order/ }).count()), "an opg order cannot be replaced");
  await opg.getByRole("button", { name: /^Cancel order/ }).click();
  await status(opg, "canceled");

  // Crypto never closes: no opg. 0.01 BTC at 65,000 pays the taker fee.
  await choose("BTCUSDT");
  console.log(`crypto: tif ${await tifs()}`);
  await fillTicket({ type: "market", quantity: "0.01" });
  await page.click("#place");
  const btc = page.locator("#orders tr[data-order]", { hasText: "BTCUSDT" }).first();
  await status(btc, "filled");
  console.log(`btc order: ${await cells(btc)}`);
  const wallet = (asset) => page.locator(`#wallet tr[data-asset="${asset}"]`);
  await wallet("BTC").waitFor();
  await wallet("USD").locator("[data-field=total]", { hasText: "99,349.35" }).waitFor();
  console.log(`wallet: ${await text(page.locator(".wallet"))}`);
  check((await page.getByRole("table", { name: "Wallet" }).count()) === 1, "the wallet table is labelled");

  // 10 RELIANCE.NS at 2,900 rupees: the position shows rupees and the rate beside dollars.
  await choose("RELIANCE.NS");
  await fillTicket({ type: "market", quantity: "10" });
  await page.click("#place");
  await tab("positions");
  const reliance = page.locator('#positions tr[data-position-row="RELIANCE.NS"]');
  await reliance.locator("[data-position=value]", { hasText: "INR" }).waitFor();
  console.log(`inr position: ${(await reliance.locator("td").allInnerTexts()).slice(0, 8)
    .map((cell) => cell.replace(/\s+/g, " ")).join(" | ")}`);
  await step("night"); // the test checks the server, then opens New York

  // New York is open: no opg. A bracket's take-profit below its entry is refused.
  await choose("AAPL");
  console.log(`open market: tif ${await tifs()}`);
  await fillTicket({ order_class: "bracket" });
  const types = await page.locator(`${ticket} [name=type] option:not([disabled])`).evaluateAll(
    (all) => all.map((option) => option.value).join(" "));
  const notional = await page.locator(`${ticket} [name=amount_in][value=notional]`).isEnabled();
  const shown = [];
  for (const name of ["stop_loss", "target_price", "tp_limit", "sl_stop", "sl_limit"]) {
    if (await page.locator(`${ticket} [name=${name}]`).isVisible()) shown.push(name);
  }
  console.log(`bracket ticket: types ${types}; tif ${await tifs()}; notional ${notional}; fields ${shown.join(" ")}`);
  await fillTicket({ type: "limit", quantity: "2", limit_price: "185", tp_limit: "180", sl_stop: "175" });
  await page.click("#place");
  console.log(`refused bracket: ${await page.locator("#order-error").filter({ hasText: /\S/ }).textContent()}`);

  // Buy 2 at 185 with a take-profit at 200 and a stop at 180: the legs wait, held.
  await fillTicket({ tp_limit: "200", sl_stop: "180" });
  await page.click("#place");
  await tab("orders");
  const parent = page.locator("#orders tr[data-order]:not(.leg)", { hasText: "bracket" }).first();
  await status(parent, "open");
  check((await page.locator("#order-error").textContent()) === "", "the order error clears");
  const id = await parent.getAttribute("data-order");
  const legs = page.locator(`#orders tr.leg[data-parent="${id}"]`);
  await status(legs.first(), "held");
  await status(legs.last(), "held");
  const order = await page.locator("#orders tr[data-order]").evaluateAll((rows) => rows.map((r) => r.dataset.order));
  check(order.indexOf(id) + 1 === order.indexOf(await legs.first().getAttribute("data-order")),
    "the legs follow their parent");
  console.log(`bracket: ${await cells(parent)}`);
  for (const row of await legs.all()) console.log(`held leg: ${await cells(row)}`);
  await step("held"); // the test moves AAPL to 185: the entry fills

  await status(parent, "filled");
  await status(legs.first(), "open");
  await status(legs.last(), "open");
  console.log(`filled bracket: ${await cells(parent)}`);
  for (const row of await legs.all()) console.log(`open leg: ${await cells(row)}`);
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: `${artifacts}/orders-page.png`, fullPage: true });

  // Cancelling the take-profit leg cancels the stop-loss too.
  const takeProfit = page.locator(`#orders tr.leg[data-parent="${id}"][data-role=take_profit]`);
  await takeProfit.getByRole("button", { name: /^Cancel order take-profit leg/ }).click();
  await status(legs.first(), "canceled");
  await status(legs.last(), "canceled");
  for (const row of await legs.all()) console.log(`cancelled leg: ${await cells(row)}`);

  // A second bracket, cancelled before its entry fills: its held legs end with it.
  await fillTicket({ quantity: "1", limit_price: "170", tp_limit: "190", sl_stop: "160", sl_limit: "159" });
  await page.click("#place");
  const second = page.locator("#orders tr[data-order]:not(.leg)", { hasText: "170" }).first();
  await status(second, "open");
  const secondId = await second.getAttribute("data-order");
  await second.getByRole("button", { name: /^Cancel order/ }).click();
  await status(second, "canceled");
  const secondLegs = page.locator(`#orders tr.leg[data-parent="${secondId}"]`);
  await status(secondLegs.first(), "canceled");
  await status(secondLegs.last(), "canceled");
  for (const row of await secondLegs.all()) console.log(`cancelled with parent: ${await cells(row)}`);

  // An OCO for the 2 AAPL held: a take-profit sell at 200 (the order itself), its stop at
  // 180. Cancelling the take-profit cancels the stop.
  await page.check(`${ticket} [name=side][value=sell]`);
  await fillTicket({ order_class: "oco", quantity: "2", tp_limit: "200", sl_stop: "180", sl_limit: "" });
  const ocoFields = [];
  for (const name of ["limit_price", "tp_limit", "sl_stop"]) {
    if (await page.locator(`${ticket} [name=${name}]`).isVisible()) ocoFields.push(name);
  }
  console.log(`oco ticket: type ${await page.locator(`${ticket} [name=type]`).inputValue()}; fields ${ocoFields.join(" ")}`);
  await page.click("#place");
  const oco = page.locator("#orders tr[data-order]:not(.leg)", { hasText: "oco" }).first();
  await status(oco, "open");
  const ocoId = await oco.getAttribute("data-order");
  const stopLeg = page.locator(`#orders tr.leg[data-parent="${ocoId}"]`);
  await status(stopLeg, "open");
  console.log(`oco: ${(await cells(oco)).replace(/^[\d:]+ \| /, "")}`);
  console.log(`oco leg: ${await cells(stopLeg)}`);
  await oco.getByRole("button", { name: /^Cancel order/ }).click();
  await status(oco, "canceled");
  await status(stopLeg, "canceled");
  check(await page.locator("#cancel-all").isDisabled(), "nothing is left to cancel");
  await step("cancelled");

  check(problems.length === 0, `console errors: ${problems.join(" | ")}`);
  check(refused.join() === "POST /api/v1/orders 400", `refused requests: ${refused.join(", ")}`);
  console.log("done");
} finally {
  await browser.close();
}
process.exit(0);
