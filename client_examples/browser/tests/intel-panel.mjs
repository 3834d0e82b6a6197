// Drives the page's market-mood panel in headless Chromium (tests/e2e/test_browser_intel.py).
//
//   node tests/intel-panel.mjs <server url> <email> <password> <screenshot dir>
//
// Logs in, checks both indices and the screener, prints "step shown", waits for a
// line on stdin (the test changes the crypto index meanwhile), checks that the pushed
// value shows, and exits 0 when every check passed with no console error.
import { mkdirSync } from "node:fs";
import { logIn, openPage, step } from "./harness.mjs";

const [url, email, password, artifacts] = process.argv.slice(2);
const { browser, page, problems, refused } = await openPage({ width: 1400, height: 1300 });
try {
  await logIn(page, url, email, password);
  await page.locator('#sentiment [data-index="crypto"]', { hasText: "25 Extreme Fear BUY" }).waitFor();
  await page.locator('#sentiment [data-index="stocks"]', { hasText: "62.5 Greed SELL" }).waitFor();
  await page.locator("#screener tr").nth(3).waitFor();
  const first = await page.locator("#screener tr").first().innerText();
  console.log(`first token: ${first.replace(/\s+/g, " ")}`);
  if (!first.includes("BTC") || !first.includes("$1.92T")) throw new Error(`bad first row: ${first}`);
  await page.selectOption("#screener-sort", "change_24h");
  await page.locator("#screener tr").first().filter({ hasText: "SOL" }).waitFor();
  await page.locator("#screener tr").first().getByRole("link", { name: "Multicoin Capital" }).waitFor();
  await step("shown");
  await page.locator('#sentiment [data-index="crypto"]', { hasText: "72 Greed SELL" }).waitFor();
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: `${artifacts}/market-mood.png`, fullPage: true });
  if (problems.length || refused.length) {
    throw new Error(`console errors: ${[...problems, ...refused].join("; ")}`);
  }
  console.log("panel checked");
} finally {
  await browser.close();
}
process.exit(0); // stdin stays open: nothing else would end the script
