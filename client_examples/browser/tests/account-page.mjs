// A newcomer's first hour on the page, with the test (tests/e2e/test_browser_account.py)
// handing over the links the server emailed:
//
//   node tests/account-page.mjs <server url> <email> <password> <screenshot dir>
//
// register → confirm the email from the welcome link → forgot password → choose a new
// one from the reset link → log in with it → trade, and check the cosmetics on the way
// → change the password → delete the account. Prints what it saw; exits 0 when every
// check passed and the page logged no console errors.
import { mkdirSync } from "node:fs";
import { check, openPage, step, text } from "./harness.mjs";

const [url, email, password, artifacts] = process.argv.slice(2);
const NEW_PASSWORD = "a new passphrase ✓";
const LAST_PASSWORD = "the last passphrase";
const { browser, page, problems, refused } = await openPage();
const dialogs = [];
const visible = (selector) => page.locator(selector).isVisible();

try {
  // Before anyone logs in: no Name field and no connection pill.
  await page.goto(url);
  await page.locator("#auth-form [name=email]").waitFor();
  check(!(await visible("#auth-form [name=name]")), "no Name field on the login card");
  check(!(await visible("#connection")), "no connection pill before login");
  await page.click("#auth-form [data-switch=register]");
  check(await visible("#auth-form [name=name]"), "the Name field shows when registering");
  await page.fill("#auth-form [name=email]", email);
  await page.fill("#auth-form [name=password]", password);
  await page.fill("#auth-form [name=name]", "Zoë Newcomer");
  await page.click("#auth-form button[value=register]");
  await page.waitForSelector("#connection[data-state=live]");
  console.log(`registered: ${await text(page.locator(".toast", { hasText: "Welcome" }))}`);
  await page.locator("#leaderboard-mine").filter({ hasText: /\S/ }).waitFor(); // the desk has loaded
  await page.click("#logout");
  await page.locator("#auth").waitFor();
  check(!(await visible("#connection")), "no connection pill after logging out");

  // The welcome link confirms the address, once; the token leaves the address bar.
  const welcome = await step("registered");
  await page.goto(welcome);
  await page.locator("#verify-status", { hasText: "is confirmed" }).waitFor();
  console.log(`verified: ${await text(page.locator("#verify-status"))}`);
  check(new URL(page.url()).pathname === "/" && !page.url().includes("token"), "the token leaves the address");
  await page.goto(welcome);
  await page.locator("#verify-status.error").waitFor();
  console.log(`again: ${await text(page.locator("#verify-status"))}`);
  // A mangled link (no token, a huge one, not ASCII) says the same, and asks nothing more.
  for (const query of ["", "?token=", `?token=${"x".repeat(3000)}`, "?token=%F0%9F%92%A5%3Cb%3E"]) {
    await page.goto(`${url}verify-email${query}`);
    await page.locator("#verify-status.error").waitFor();
    console.log(`mangled ${query.length}: ${await text(page.locator("#verify-status"))}`);
  }
  await page.click("#verify-done");
  await page.locator("#auth-form[data-mode=login]").waitFor();

  // Forgot password: only the email is asked; the answer is the same for everyone.
  await page.click("#auth-form [data-switch=forgot]");
  check(!(await visible("#auth-form [name=password]")), "no password field when asking for a reset");
  await page.fill("#auth-form [name=email]", email);
  await page.click("#auth-form button[value=forgot]");
  console.log(`forgot: ${await text(page.locator("#auth-note").filter({ hasText: /\S/ }))}`);
  const reset = await step("forgot");

  // The reset link: two different passwords are refused here, then the new one is set.
  await page.goto(`${url}reset-password?token=${"y".repeat(3000)}`);
  await page.fill("#reset-form [name=new_password]", NEW_PASSWORD);
  await page.fill("#reset-form [name=confirm]", NEW_PASSWORD);
  await page.click("#reset-form button[type=submit]");
  await page.locator("#reset-again").waitFor();
  console.log(`mangled reset: ${await text(page.locator("#reset-error"))}`);
  await page.goto(reset);
  check(!(await visible("#reset-again")), "a fresh link offers no new one");
  await page.fill("#reset-form [name=new_password]", "é".repeat(40));
  await page.fill("#reset-form [name=confirm]", "é".repeat(40));
  await page.click("#reset-form button[type=submit]");
  console.log(`too long: ${await text(page.locator("#reset-error").filter({ hasText: /\S/ }))}`);
  await page.fill("#reset-form [name=new_password]", NEW_PASSWORD);
  await page.fill("#reset-form [name=confirm]", "something else");
  await page.click("#reset-form button[type=submit]");
  console.log(`mismatch: ${await text(page.locator("#reset-error"))}`);
  await page.fill("#reset-form [name=confirm]", NEW_PASSWORD);
  await page.click("#reset-form button[type=submit]");
  await page.locator("#reset-done").waitFor();
  console.log(`reset: ${await text(page.locator("#reset-done p"))}`);
  await page.click("#reset-done button");
  await page.fill("#auth-form [name=email]", email);
  await page.fill("#auth-form [name=password]", password);
  await page.click("#auth-form button[value=login]");
  console.log(`old password: ${await text(page.locator("#auth-error").filter({ hasText: /\S/ }))}`);
  await page.fill("#auth-form [name=password]", NEW_PASSWORD);
  await page.click("#auth-form button[value=login]");
  await page.waitForSelector("#connection[data-state=live]");
  await step("logged-in");

  // The watchlist's remove buttons stay inside its card.
  const card = await page.locator(".watchlist").boundingBox();
  for (const button of await page.locator("#watchlist .remove button").all()) {
    const box = await button.boundingBox();
    check(box.x + box.width <= card.x + card.width, "a watchlist × inside its card");
  }
  // A trade to exit: "Exit all" asks first, and a refusal leaves the trade open.
  page.on("dialog", (dialog) => {
    dialogs.push(dialog.message());
    return dialog.type() === "confirm" && dialog.message().startsWith("Exit") ? dialog.dismiss() : dialog.accept();
  });
  await page.click('#watchlist tr[data-symbol="AAPL"]');
  await page.locator("#chart-title", { hasText: "AAPL" }).waitFor();
  await page.fill("#order-form [name=quantity]", "1");
  await page.click("#place");
  await page.click('[data-tab="open"]');
  await page.locator("#open-trades tr[data-trade]").waitFor();
  const toast = page.locator(".toast", { hasText: "Trade opened" });
  await toast.waitFor();
  const [toastBox, exitBox] = [await toast.boundingBox(), await page.locator("#exit-all").boundingBox()];
  check(toastBox.y + toastBox.height <= exitBox.y || exitBox.y + exitBox.height <= toastBox.y
    || toastBox.x + toastBox.width <= exitBox.x || exitBox.x + exitBox.width <= toastBox.x,
  "the toast covers no Exit button");
  await page.click("#exit-all");
  check(await page.locator("#open-trades tr[data-trade]").count() === 1, "a dismissed Exit all exits nothing");
  await toast.locator("button.dismiss").click();
  await toast.waitFor({ state: "detached" });
  console.log(`dialogs: ${dialogs.join(" | ")}`);

  // Settings: a wrong current password is refused, then the password changes.
  await page.click("#settings-open");
  await page.locator("#settings").waitFor();
  await page.fill("#password-form [name=current_password]", "not my password");
  await page.fill("#password-form [name=new_password]", LAST_PASSWORD);
  await page.fill("#password-form [name=confirm]", LAST_PASSWORD);
  await page.click("#password-form button[type=submit]");
  console.log(`wrong current: ${await text(page.locator("#password-error").filter({ hasText: /\S/ }))}`);
  await page.fill("#password-form [name=current_password]", NEW_PASSWORD);
  await page.fill("#password-form [name=new_password]", LAST_PASSWORD);
  await page.fill("#password-form [name=confirm]", LAST_PASSWORD);
  await page.click("#password-form button[type=submit]");
  console.log(`changed: ${await text(page.locator("#password-note").filter({ hasText: /\S/ }))}`);
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: `${artifacts}/account-page.png`, fullPage: true });
  await step("changed");

  // Delete the account: the password is asked, then a confirmation.
  await page.fill("#delete-form [name=password]", NEW_PASSWORD);
  await page.click("#delete-form button[type=submit]");
  console.log(`wrong delete: ${await text(page.locator("#delete-error").filter({ hasText: /\S/ }))}`);
  await page.fill("#delete-form [name=password]", LAST_PASSWORD);
  const beforeDeleting = refused.length;
  await page.click("#delete-form button[type=submit]");
  await page.locator("#auth-note", { hasText: "deleted" }).waitFor();
  console.log(`deleted: ${await text(page.locator("#auth-note"))}`);
  check(!(await visible("#connection")) && !(await visible("#desk")), "the desk is gone");
  console.log(`dialogs: ${dialogs.slice(1).join(" | ")}`);

  check(problems.length === 0, `console errors: ${problems.join(" | ")}`);
  const expected = [...Array(3).fill("POST /api/v1/auth/verify-email 400"),
    ...Array(2).fill("POST /api/v1/auth/password/reset 400"), "POST /api/v1/auth/login 401",
    "POST /api/v1/auth/password/change 401", "DELETE /api/v1/me 401"];
  // Reads under way as the account goes (its trades closing move the equity) find the
  // session ended: nothing else may be refused then.
  const late = refused.splice(beforeDeleting);
  check(late.every((call) => /^GET \S+ 401$/.test(call)), `refused after deleting: ${late.join(", ")}`);
  // The settings read the API keys (GET /me/api-keys): a server without them answers 404.
  const seen = refused.filter((call) => call !== "GET /api/v1/me/api-keys 404");
  check(seen.join() === expected.join(), `refused requests: ${refused.join(", ")}`);
  console.log("done");
} finally {
  await browser.close();
}
process.exit(0);
