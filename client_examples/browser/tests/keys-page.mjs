// The API keys card in the settings, in headless Chromium
// (tests/e2e/test_browser_account.py): create a key, copy its token (shown once), list,
// refuse a blank name and an 11th key, revoke after a confirmation.
//
//   node tests/keys-page.mjs <server url> <email> <password> <screenshot dir>
import { mkdirSync } from "node:fs";
import { check, openPage, register, step, text } from "./harness.mjs";

const [url, email, password, artifacts] = process.argv.slice(2);
const { browser, page, problems, refused } = await openPage();
const dialogs = [];
const rows = page.locator("#api-keys tr[data-key]");

async function create(name, scope = "trading") {
  await page.fill("#key-form [name=name]", name);
  await page.selectOption("#key-form [name=scope]", scope);
  await page.click("#key-form button[type=submit]");
}

try {
  await page.context().grantPermissions(["clipboard-read", "clipboard-write"]);
  await register(page, url, email, password);
  await page.click("#settings-open");
  await page.locator("#api-keys", { hasText: "No API keys yet." }).waitFor();

  // A blank name is refused by the server, and said so.
  await create("   ");
  console.log(`blank: ${await text(page.locator("#key-error").filter({ hasText: /\S/ }))}`);

  // A read key: its token shows once, with a warning and a copy button.
  await create("  my bot 🤖 ", "read");
  await page.locator("#key-secret").waitFor();
  const token = await page.inputValue("#key-token");
  console.log(`warning: ${await text(page.locator("#key-secret strong"))}`);
  console.log(`token: ${token}`);
  await page.click("#key-copy");
  await page.locator(".toast", { hasText: "Token copied" }).waitFor();
  check(await page.evaluate(() => navigator.clipboard.readText()) === token, "the copy is the token");
  await rows.first().waitFor();
  console.log(`listed: ${await text(rows.first())}`);
  await step("created");
  await page.click("#key-hide");
  check(await page.locator("#key-secret").isHidden() && await page.inputValue("#key-token") === "",
    "Done forgets the token");

  // Ten keys at most: the eleventh is refused.
  for (let n = 2; n <= 10; n += 1) {
    await create(`bot ${n}`);
    await rows.nth(n - 1).waitFor();
  }
  await create("bot 11");
  console.log(`eleventh: ${await text(page.locator("#key-error").filter({ hasText: /\S/ }))}`);
  mkdirSync(artifacts, { recursive: true });
  await page.locator("#settings").screenshot({ path: `${artifacts}/api-keys.png` });

  // Revoking asks first: a "no" keeps the key, a "yes" revokes it.
  let answer = false;
  page.on("dialog", (dialog) => {
    dialogs.push(dialog.message());
    return answer ? dialog.accept() : dialog.dismiss();
  });
  const mine = rows.filter({ hasText: "my bot" });
  await mine.locator("button", { hasText: "Revoke" }).click();
  check(await mine.count() === 1, "a dismissed revoke keeps the key");
  answer = true;
  await mine.locator("button", { hasText: "Revoke" }).click();
  await mine.waitFor({ state: "detached" });
  console.log(`left: ${await rows.count()}`);
  console.log(`dialogs: ${dialogs.join(" | ")}`);
  await step("revoked");

  check(problems.length === 0, `console errors: ${problems.join(" | ")}`);
  const expected = ["POST /api/v1/me/api-keys 400", "POST /api/v1/me/api-keys 409"];
  check(refused.join() === expected.join(), `refused requests: ${refused.join(", ")}`);
  console.log("done");
} finally {
  await browser.close();
}
process.exit(0);
