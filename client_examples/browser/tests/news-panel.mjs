// Drives the page's news panel in headless Chromium with the test that runs it
// (tests/e2e/test_browser_news.py), which serves the feeds and adds a story between steps.
//
//   node tests/news-panel.mjs <server url> <email> <password>
//
// Prints what the panel shows, "step <name>" when it waits for a line on stdin, and
// exits 0 when every check passed and the page logged no console errors.
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const [url, email, password] = process.argv.slice(2);
const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const problems = [];

async function step(name) {
  console.log(`step ${name}`);
  const { done } = await lines.next();
  if (done) throw new Error(`stdin closed at step ${name}`);
}

async function shown(page) {
  return page.$$eval("#news li", (items) => items.map((item) => {
    const link = item.querySelector("a");
    return `${item.querySelector("a, span")?.textContent} | ${link ? link.href : "no link"}`;
  }));
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(10_000);
  page.on("console", (message) => { if (message.type() === "error") problems.push(message.text()); });
  page.on("pageerror", (error) => problems.push(error.message));
  page.on("dialog", (dialog) => { problems.push(`dialog: ${dialog.message()}`); dialog.dismiss(); });

  await page.goto(url);
  await page.fill("#auth-form [name=email]", email);
  await page.fill("#auth-form [name=password]", password);
  await page.click("#auth-form button[value=register]");
  await page.waitForSelector("#connection[data-state=live]");
  await page.click('#watchlist tr[data-symbol="BTCUSDT"]');
  await page.locator("#chart-title", { hasText: "BTCUSDT" }).waitFor();
  await page.waitForSelector('#news[data-count="2"]');
  for (const line of await shown(page)) console.log(`news: ${line}`);
  console.log(`scripts in the panel: ${await page.locator("#news script, #news img").count()}`);
  await step("loaded");
  await page.waitForSelector('#news[data-count="3"]'); // pushed over the socket
  console.log(`pushed: ${(await shown(page))[0]}`);
  if (problems.length) throw new Error(`the page logged errors: ${problems.join("; ")}`);
  console.log("done");
} finally {
  await browser.close();
}
process.exit(0);
