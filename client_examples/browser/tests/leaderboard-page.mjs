// The leaderboard in the account card, in headless Chromium
// (tests/e2e/test_leaderboard_page.py): registers, reads the board, opts in.
//
//   node tests/leaderboard-page.mjs <server url> <email> <password> <screenshot dir>
//
// Prints what the card shows as one JSON line; exits 0 unless a check failed or the
// page logged a console error.
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const [url, email, password, artifacts] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_BIN ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const problems = [];
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(20_000);
  page.on("console", (message) => { if (message.type() === "error") problems.push(message.text()); });
  page.on("pageerror", (error) => problems.push(error.message));
  await page.goto(url);
  await page.fill("#auth-form [name=email]", email);
  await page.fill("#auth-form [name=password]", password);
  await page.click("#auth-form button[value=register]");
  await page.waitForSelector("#desk:not([hidden])");
  const before = await page.locator("#leaderboard-mine", { hasText: "not on" }).textContent();
  const rows = await page.locator("#leaderboard-rows tr").allInnerTexts();
  await page.check("#leaderboard-opt");
  const after = await page.locator("#leaderboard-mine", { hasText: "next update" }).textContent();
  await page.selectOption("#leaderboard-period", "all");
  await page.locator("#leaderboard-rows tr").first().waitFor();
  mkdirSync(artifacts, { recursive: true });
  await page.locator(".account").screenshot({ path: `${artifacts}/leaderboard.png` });
  console.log(JSON.stringify({ before, rows, after, checked: await page.isChecked("#leaderboard-opt") }));
} finally {
  await browser.close();
}
if (problems.length) {
  console.error(problems.join("\n"));
  process.exit(1);
}
