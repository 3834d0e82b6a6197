// Draws the forecast on the page in headless Chromium (tests/e2e/test_forecast_page.py):
// registers, turns the forecast on, and checks the band, the disclaimer and the
// console.
//
//   node tests/forecast-page.mjs <server url> <email> <password> <screenshot dir>
//
// Prints what the page shows of the forecast as one JSON line; exits 0 unless a check
// failed or the page logged a console error.
import { mkdirSync } from "node:fs";
import { openPage, register } from "./harness.mjs";

const [url, email, password, artifacts] = process.argv.slice(2);
const { browser, page, problems, refused } = await openPage();
try {
  page.setDefaultTimeout(20_000);
  await register(page, url, email, password);
  await page.click('#watchlist tr[data-symbol="AAPL"]');
  await page.locator("#chart-title", { hasText: "AAPL" }).waitFor();
  const before = await page.locator("#chart").getAttribute("data-forecast");
  await page.check("#forecast-toggle");
  // The first forecast starts the worker process (importing statsmodels) and fits:
  // seconds on an idle machine, more on a loaded one.
  await page.waitForSelector('#chart[data-forecast="60"]', { timeout: 90_000 });
  const note = await page.locator("#forecast-note").textContent();
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: `${artifacts}/forecast.png` });
  await page.uncheck("#forecast-toggle");
  await page.waitForSelector('#chart[data-forecast="0"]');
  const hidden = await page.locator("#forecast-note").isHidden();
  console.log(JSON.stringify({ before, note, hidden, label: await page.locator("label:has(#forecast-toggle)").textContent() }));
} finally {
  await browser.close();
}
if (problems.length || refused.length) {
  console.error([...problems, ...refused].join("\n"));
  process.exit(1);
}
