// The leaderboard in the account card, in headless Chromium
// (tests/e2e/test_leaderboard_page.py): registers, reads the board, opts in.
//
//   node tests/leaderboard-page.mjs <server url> <email> <password> <screenshot dir>
//
// Prints what the card shows as one JSON line; exits 0 unless a check failed or the
// page logged a console error.
import { mkdirSync } from "node:fs";
import { openPage, register } from "./harness.mjs";

const [url, email, password, artifacts] = process.argv.slice(2);
const { browser, page, problems, refused } = await openPage();
try {
  page.setDefaultTimeout(20_000);
  await register(page, url, email, password);
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
if (problems.length || refused.length) {
  console.error([...problems, ...refused].join("\n"));
  process.exit(1);
}
