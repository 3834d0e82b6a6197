// Drives the page's news panel in headless Chromium with the test that runs it
// (tests/e2e/test_browser_news.py), which serves the feeds and adds a story between steps.
//
//   node tests/news-panel.mjs <server url> <email> <password>
//
// Prints what the panel shows, "step <name>" when it waits for a line on stdin, and
// exits 0 when every check passed and the page logged no console errors.
import { openPage, register, step } from "./harness.mjs";

const [url, email, password] = process.argv.slice(2);

async function shown(page) {
  return page.$$eval("#news li", (items) => items.map((item) => {
    const link = item.querySelector("a");
    return `${item.querySelector("a, span")?.textContent} | ${link ? link.href : "no link"}`;
  }));
}

const { browser, page, problems, refused } = await openPage();
try {
  page.on("dialog", (dialog) => { problems.push(`dialog: ${dialog.message()}`); dialog.dismiss(); });
  await register(page, url, email, password);
  await page.click('#watchlist tr[data-symbol="BTCUSDT"]');
  await page.locator("#chart-title", { hasText: "BTCUSDT" }).waitFor();
  await page.waitForSelector('#news[data-count="2"]');
  for (const line of await shown(page)) console.log(`news: ${line}`);
  console.log(`scripts in the panel: ${await page.locator("#news script, #news img").count()}`);
  await step("loaded");
  await page.waitForSelector('#news[data-count="3"]'); // pushed over the socket
  console.log(`pushed: ${(await shown(page))[0]}`);
  if (problems.length || refused.length) {
    throw new Error(`the page logged errors: ${[...problems, ...refused].join("; ")}`);
  }
  console.log("done");
} finally {
  await browser.close();
}
process.exit(0);
