// Drives the page's broker side in headless Chromium, step by step with the test that
// runs it (tests/e2e/test_browser_page.py): a position opened by notional, marked live,
// closed in part by percentage; a limit order modified (PATCH) and cancelled with
// "Cancel all"; the rest closed from the Positions panel and with "Close all", while
// the Python test opens a position from another client in between.
//
//   node tests/broker-page.mjs <server url> <email> <password> <screenshot dir>
//
// Prints "step <name>" at each point the test checks the server, then waits for a
// line on stdin. Exits 0 when every check passed and the page logged no console errors.
import { mkdirSync } from "node:fs";
import { check, openPage, register, step, text } from "./harness.mjs";

const [url, email, password, artifacts] = process.argv.slice(2);
const { browser, page, problems, refused } = await openPage();
const ticket = "#order-form";
const options = (select) => page.locator(`${ticket} [name=${select}] option`).evaluateAll(
  (all) => all.map((option) => option.value).join(" "));
const cells = async (row) => (await row.locator("td").allInnerTexts()).slice(0, 8).join(" | ");
const dialogs = [];
page.on("dialog", (dialog) => dialogs.push(dialog.message()));
const sent = []; // what the page asked the server to change
page.on("request", (request) => {
  const { pathname, search } = new URL(request.url());
  if (request.method() !== "GET" && pathname.startsWith("/api/v1/") && !pathname.startsWith("/api/v1/auth/")) {
    sent.push(`${request.method()} ${pathname.slice(7)}${search}`);
  }
});

async function answerNextDialog(accept) {
  page.once("dialog", (dialog) => (accept ? dialog.accept() : dialog.dismiss()));
}

try {
  await register(page, url, email, password);
  await page.locator('#watchlist [data-quote="AAPL"]', { hasText: /^100\.00$/ }).waitFor();
  await page.click('#watchlist tr[data-symbol="AAPL"]');
  await page.locator("#positions", { hasText: "No open positions." }).waitFor();

  // The ticket offers what the server takes for each order type.
  for (const type of ["market", "limit", "stop", "stop_limit"]) {
    await page.selectOption(`${ticket} [name=type]`, type);
    const shown = [];
    for (const name of ["stop_price", "limit_price"]) {
      if (await page.locator(`${ticket} [name=${name}]`).isVisible()) shown.push(name);
    }
    const notional = await page.locator(`${ticket} [name=amount_in][value=notional]`).isEnabled();
    console.log(`ticket ${type}: tif ${await options("time_in_force")}; prices ${shown.join(" ") || "none"}; ` +
      `notional ${notional ? "allowed" : "disabled"}`);
  }

  // A market buy for 1,000 of cash: 10 AAPL at 100, shown in Positions.
  await page.selectOption(`${ticket} [name=type]`, "market");
  await page.check(`${ticket} [name=amount_in][value=notional]`);
  check(!(await page.locator(`${ticket} [name=quantity]`).isVisible()), "quantity hides for notional");
  await page.fill(`${ticket} [name=notional]`, "50");
  await page.click("#place"); // half a share: refused with the server's reason
  console.log(`refused order: ${await page.locator("#order-error").filter({ hasText: /\S/ }).textContent()}`);
  await page.fill(`${ticket} [name=notional]`, "1000");
  await page.click("#place");
  const aapl = page.locator('#positions tr[data-position-row="AAPL"]');
  await aapl.waitFor();
  check((await page.locator("#order-error").textContent()) === "", "the order error clears");
  console.log(`position: ${await cells(aapl)}`);
  await step("position-open");

  // The test moves the price to 110: the row marks itself to it.
  await aapl.locator("[data-position=pct]", { hasText: "10.00%" }).waitFor();
  console.log(`marked: ${await cells(aapl)}`);

  // Typing in a close form while another position opens (from another client): the
  // table is rebuilt, and the amount and the focus stay.
  const amount = aapl.locator("form.close-part [name=amount]");
  await amount.click();
  await page.keyboard.type("4");
  await step("typing");
  const msft = page.locator('#positions tr[data-position-row="MSFT"]');
  await msft.waitFor();
  const focused = await page.evaluate(() => {
    const active = document.activeElement;
    return `${active.form?.dataset.symbol} ${active.name} ${active.value}`;
  });
  console.log(`while typing: ${focused}`);

  // Closing more than is held is refused with the server's message; 40% closes 4.
  const part = aapl.locator("form.close-part");
  await part.locator("[name=amount]").fill("100");
  await part.locator("[name=unit]").selectOption("qty");
  await part.locator("button").click();
  console.log(`refused: ${await page.locator("#position-error").filter({ hasText: /\S/ }).textContent()}`);
  await part.locator("[name=amount]").fill("40");
  await part.locator("[name=unit]").selectOption("percentage");
  await part.locator("button").click();
  await aapl.locator("td").nth(2).filter({ hasText: /^6$/ }).waitFor();
  check((await page.locator("#position-error").textContent()) === "", "the error clears");
  console.log(`after 40%: ${await cells(aapl)}`);

  // A resting limit buy, good for the day.
  await page.selectOption(`${ticket} [name=type]`, "limit");
  check(await page.locator(`${ticket} [name=amount_in][value=quantity]`).isChecked(), "limit orders take a quantity");
  await page.fill(`${ticket} [name=quantity]`, "5");
  await page.fill(`${ticket} [name=limit_price]`, "105");
  await page.selectOption(`${ticket} [name=time_in_force]`, "day");
  await page.click("#place");
  // The tabs follow the arrow keys: Positions → Open trades → Orders.
  await page.focus('[data-tab="positions"]');
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press("ArrowRight");
  const tabs = await page.locator("[role=tab]").evaluateAll((all) => all.map((tab) =>
    `${tab.dataset.tab}:${tab.getAttribute("aria-selected")}:${tab.tabIndex}`).slice(0, 3).join(" "));
  console.log(`tabs: ${tabs}; focus on ${await page.evaluate(() => document.activeElement.dataset.tab)}`);
  const limit = page.locator("#orders tr[data-order]", { hasText: "limit" }).first();
  await limit.locator(".status", { hasText: "open" }).waitFor();
  const original = await limit.getAttribute("data-order");
  console.log(`limit: ${await cells(limit)}`);

  // Edit it in place: 3 at 104. The old order ends replaced, its replacement rests.
  await limit.getByRole("button", { name: /^Edit order/ }).click();
  const editor = page.locator(`#orders tr[data-editor="${original}"]`);
  await editor.getByLabel("Qty").fill("3");
  await editor.getByLabel("Limit price").fill("104");
  check((await editor.getByLabel("Time in force").inputValue()) === "day", "the editor starts from the order");
  await editor.getByRole("button", { name: "Save" }).click();
  const old = page.locator(`#orders tr[data-order="${original}"]`);
  await old.locator(".status", { hasText: "replaced" }).waitFor();
  const replacement = page.locator(`#orders tr[data-replaces="${original}"]`);
  await replacement.locator(".status", { hasText: "open" }).waitFor();
  check(!(await editor.isVisible()), "the editor closes");
  console.log(`replaced: ${await cells(old)}`);
  console.log(`replacement: ${await cells(replacement)}`);
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: `${artifacts}/broker-page.png`, fullPage: true });
  await step("replaced");

  // Cancel all asks first: dismissed, nothing is sent; accepted, the replacement ends.
  await answerNextDialog(false);
  await page.click("#cancel-all");
  check((await replacement.locator(".status").textContent()).startsWith("open"), "a dismissed Cancel all keeps it");
  await answerNextDialog(true);
  await page.click("#cancel-all");
  await replacement.locator(".status", { hasText: "canceled" }).waitFor();
  check(await page.locator("#cancel-all").isDisabled(), "nothing is left to cancel");
  console.log(`cancelled: ${await cells(replacement)}`);

  // The rest of AAPL closes from its row; MSFT goes with "Close all".
  await page.click('[data-tab="positions"]');
  await aapl.getByRole("button", { name: "Close all of AAPL" }).click();
  await aapl.waitFor({ state: "detached" });
  console.log(`msft: ${await cells(msft)}`);
  // Exit all asks too; dismissed, the MSFT trade stays.
  await page.click('[data-tab="open"]');
  await answerNextDialog(false);
  await page.click("#exit-all");
  check(await page.locator("#open-trades tr[data-trade]", { hasText: "MSFT" }).isVisible(),
    "a dismissed Exit all keeps the trade");
  await page.click('[data-tab="positions"]');
  await answerNextDialog(false);
  await page.click("#close-all");
  check(await msft.isVisible(), "a dismissed Close all keeps the position");
  await answerNextDialog(true);
  await page.click("#close-all");
  await page.locator("#positions", { hasText: "No open positions." }).waitFor();
  await page.locator('#account [data-term="margin_used"]', { hasText: /^0\.00$/ }).waitFor();
  console.log(`account: ${await text(page.locator("#account"))}`);
  console.log(`dialogs: ${dialogs.join(" | ")}`);
  console.log(`sent: ${sent.join(", ")}`);

  // On a phone-sized screen the tables scroll inside their panel, not the page.
  await page.setViewportSize({ width: 420, height: 800 });
  const tooWide = () => [...document.querySelectorAll("body *")]
    .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest(".scroll"))
    .map((e) => `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ""}.${e.className}`).slice(0, 8);
  let wide = await page.evaluate(tooWide);
  for (let tries = 0; wide.length > 0 && tries < 30; tries += 1) { // the charts follow a moment later
    await page.waitForTimeout(100);
    wide = await page.evaluate(tooWide);
  }
  check(wide.length === 0, `wider than a 420px screen: ${wide.join(", ")}`);
  await step("closed");

  check(problems.length === 0, `console errors: ${problems.join(" | ")}`);
  check(refused.join() === "POST /api/v1/orders 400,DELETE /api/v1/positions/AAPL 400",
    `refused requests: ${refused.join(", ")}`);
  console.log("done");
} finally {
  await browser.close();
}
process.exit(0);
