// Drives the trading page in headless Chromium, step by step with the test that
// runs it (tests/e2e/test_browser_page.py), which moves prices between steps.
//
//   node tests/trading-page.mjs <server url> <email> <password> <screenshot dir>
//
// Prints "step <name>" when the page reached a point, then waits for a line on
// stdin before going on. Exits 0 when every check passed and the page logged no
// console errors.
import { mkdirSync } from "node:fs";
import { check, openPage, register, step } from "./harness.mjs";

const [url, email, password, artifacts] = process.argv.slice(2);
const { browser, page, problems, refused } = await openPage();
try {
  // Register: the page logs in and shows the desk with the watchlist.
  await register(page, url, email, password);
  const aapl = page.locator('#watchlist [data-quote="AAPL"]');
  await aapl.filter({ hasText: /^100\.00$/ }).waitFor();
  await page.click('#watchlist tr[data-symbol="AAPL"]');
  await page.locator("#chart-title", { hasText: "AAPL" }).waitFor();
  await page.locator("#chart canvas").first().waitFor();
  // The chart opens on the symbol's history, read page by page from the candles route.
  await page.waitForFunction(() => document.querySelector("#chart").dataset.bars > 0);
  const drawn = await page.locator("#chart").evaluate((chart) => chart.dataset);
  console.log(`chart history: ${drawn.bars} candles over ${(drawn.span / 3600).toFixed(1)} hours`);
  // The equity curve starts flat, at the initial cash.
  await page.locator("#equity-summary", { hasText: "Equity 100,000.00 · P&L 0.00" }).waitFor();
  await page.locator("#equity-chart canvas").first().waitFor();
  await step("ready");

  // A price move shows in the watchlist (flashing up) and in the chart's header.
  await aapl.filter({ hasText: /^101\.00$/ }).waitFor();
  check(await aapl.evaluate((cell) => cell.classList.contains("flash-up")), "the rise flashes");
  await page.locator("#chart-price", { hasText: /^101\.00$/ }).waitFor();
  console.log("price moved to 101.00");

  // A refused order shows the server's message in the ticket.
  await page.fill("#order-form [name=quantity]", "1");
  await page.fill("#order-form [name=stop_loss]", "150");
  await page.click("#place");
  const refusal = await page.locator("#order-error").filter({ hasText: /\S/ }).textContent();
  console.log(`refused: ${refusal}`);

  // A market buy with a stop-loss opens a trade.
  await page.fill("#order-form [name=stop_loss]", "95");
  await page.click("#place");
  await page.click('[data-tab="open"]');
  const openRow = page.locator("#open-trades tr[data-trade]");
  await openRow.filter({ hasText: "AAPL" }).waitFor();
  check((await page.locator("#order-error").textContent()) === "", "the error clears");
  const stop = await openRow.locator("[name=stop_loss]").inputValue();
  console.log(`trade open: ${await openRow.locator("td").nth(2).textContent()} AAPL at ` +
    `${await openRow.locator("td").nth(3).textContent()}, stop-loss ${stop}`);
  // Edit the trade's target in place, and set an alert on the symbol.
  await openRow.locator("[name=target_price]").fill("120");
  await openRow.locator("button", { hasText: "Save" }).click();
  await page.locator(".toast", { hasText: "Trade updated" }).waitFor();
  await page.click('[data-tab="alerts"]');
  await page.selectOption("#alert-form [name=condition]", "above");
  await page.fill("#alert-form [name=price]", "130");
  await page.fill("#alert-form [name=note]", "take profit?");
  await page.click("#alert-form button");
  const alertRow = page.locator("#alerts tr", { hasText: "take profit?" });
  await alertRow.waitFor();
  console.log(`alert: ${(await alertRow.innerText()).replace(/\s+/g, " ")}`);
  await page.click('[data-tab="open"]');
  await step("trade-open");

  // The price falls through the stop: a toast, and the trade moves to closed.
  const toast = page.locator(".toast", { hasText: "Trade closed (stop_loss)" });
  await toast.waitFor();
  console.log(`toast: ${(await toast.innerText()).replace(/\s+/g, " ")}`);
  await page.locator("#open-trades", { hasText: "No open trades." }).waitFor();
  await page.click('[data-tab="closed"]');
  const closed = page.locator("#closed-trades tr", { hasText: "stop_loss" });
  await closed.waitFor();
  console.log(`closed: ${(await closed.innerText()).replace(/\s+/g, " ")}`);
  const unread = page.locator("#unread:not([hidden])");
  await unread.waitFor();
  console.log(`unread notifications: ${await unread.textContent()}`);
  // The equity curve: a point a minute since the account opened, the last one now.
  const summary = page.locator("#equity-summary", { hasText: "P&L -7.00" });
  await summary.waitFor();
  const points = await page.locator("#equity-chart").getAttribute("data-points");
  console.log(`equity: ${await summary.textContent()}, ${points} points`);
  console.log(`stats: ${(await page.locator("#equity-stats").innerText()).replace(/\s+/g, " ")}`);
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: `${artifacts}/trading-page.png`, fullPage: true });

  // Offline while something happens: after reconnecting, the page catches up.
  await page.evaluate(() => window.paperdesk.socket.disconnect());
  await page.waitForSelector("#connection[data-state=offline]");
  await step("offline");
  await page.evaluate(() => window.paperdesk.socket.connect());
  await page.waitForSelector("#connection[data-state=live]");
  await page.click('[data-tab="open"]');
  await openRow.filter({ hasText: "AAPL" }).waitFor();
  await page.click('[data-tab="activity"]');
  const missed = page.locator("#activity li", { hasText: "(while offline)" }).first();
  await missed.waitFor();
  console.log(`caught up: ${(await missed.innerText()).replace(/\s+/g, " ")}`);

  check(problems.length === 0, `console errors: ${problems.join(" | ")}`);
  // The only refused request is the order the test meant to be refused.
  check(refused.join() === "POST /api/v1/orders 400", `refused requests: ${refused.join(", ")}`);
  console.log("done");
} finally {
  await browser.close();
}
process.exit(0);
