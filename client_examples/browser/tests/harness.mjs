// What the page scripts share: headless Chromium, steps the Python test moves on,
// checks, and the console errors and refused requests seen on the way.
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

/** Print `step <name>`, then wait for the test's line on stdin, and return it. */
export async function step(name) {
  console.log(`step ${name}`);
  const { done, value } = await lines.next();
  if (done) throw new Error(`stdin closed at step ${name}`);
  return value;
}

export function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

/** A row's text on one line. */
export const text = async (locator) => (await locator.innerText()).replace(/\s+/g, " ").trim();

/** Launch Chromium and open a page that records console errors (`problems`) and every
 * refused request (`refused`, as "METHOD /path STATUS"). */
export async function openPage(viewport = { width: 1400, height: 900 }) {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    // No background traffic: this machine has no route to Google's services.
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const page = await browser.newPage({ viewport });
  page.setDefaultTimeout(10_000);
  const problems = [];
  const refused = [];
  // Chromium logs every 4xx as a console error; those are checked by status instead.
  const refusedLoad = /^Failed to load resource: the server responded with a status of 4\d\d/;
  page.on("console", (message) => {
    if (message.type() === "error" && !refusedLoad.test(message.text())) problems.push(message.text());
  });
  page.on("pageerror", (error) => problems.push(error.message));
  page.on("response", (response) => {
    if (response.status() >= 400) {
      refused.push(`${response.request().method()} ${new URL(response.url()).pathname} ${response.status()}`);
    }
  });
  return { browser, page, problems, refused };
}

/** Register on the page and wait for the live desk. */
export async function register(page, url, email, password) {
  await signIn(page, url, email, password, "register");
}

/** Log in on the page and wait for the live desk. */
export async function logIn(page, url, email, password) {
  await signIn(page, url, email, password, "login");
}

async function signIn(page, url, email, password, button) {
  await page.goto(url);
  if (button === "register") await page.click("#auth-form [data-switch=register]");
  await page.fill("#auth-form [name=email]", email);
  await page.fill("#auth-form [name=password]", password);
  await page.click(`#auth-form button[value=${button}]`);
  await page.waitForSelector("#desk:not([hidden])");
  await page.waitForSelector("#connection[data-state=live]");
}
