// /api/docs in headless Chromium (tests/e2e/test_api_docs.py): tries GET /api/v1/account
// without a token, logs in with the page's form, and tries it again.
//
//   node tests/api-docs.mjs <server url> <email> <password> <screenshot dir>
//
// Prints what the page showed as one JSON line; exits 0 unless a check failed, the page
// logged a console error or a request other than the tokenless try was refused.
import { mkdirSync } from "node:fs";
import { check, openPage } from "./harness.mjs";

const [url, email, password, artifacts] = process.argv.slice(2);
const { browser, page, problems, refused } = await openPage();
let shown;
try {
  await page.goto(new URL("/api/docs", url).href);
  const account = page.locator("details#get_account");
  await account.locator("summary").click();
  const status = account.locator("output .status");
  const send = async () => {
    await account.locator("form.try button").click();
    await status.filter({ hasText: /^\d{3}/ }).waitFor();
    return status.textContent();
  };
  const before = await send();
  await page.fill("#login [name=email]", email);
  await page.fill("#login [name=password]", password);
  await page.click("#login button");
  const who = await page.locator("#who", { hasText: "Logged in" }).textContent();
  check((await page.inputValue("#token")).length > 20, "the token field holds the new token");
  const after = await send();
  const answer = JSON.parse(await account.locator("output .answer").textContent());
  mkdirSync(artifacts, { recursive: true });
  await account.screenshot({ path: `${artifacts}/api-docs.png` });
  shown = { who, before, status: after, answer };
} finally {
  await browser.close();
}
const unexpected = refused.filter((line) => line !== "GET /api/v1/account 401");
if (problems.length || unexpected.length) {
  console.error([...problems, ...unexpected].join("\n"));
  process.exit(1);
}
console.log(JSON.stringify(shown));
