// The screens before the desk: log in, create an account, forgot password, and the two
// screens the emailed links open (/verify-email confirms the address, /reset-password
// chooses a new password).
import { ApiError } from "./api.js";
import { $, $$, formFields } from "./dom.js";

const SCREENS = ["#auth", "#verify", "#reset"];
const LINKS = { "/verify-email": "verify", "/reset-password": "reset" };
// A link's token refused: expired, used, or not a token at all (a mangled copy).
const badToken = (error) => error.status === 400 && error.details?.field === "token";

export class Welcome {
  /** `enter` opens the desk once the api holds a session. */
  constructor(api, enter) {
    this.api = api;
    this.enter = enter;
    this.resetToken = "";
    $("#auth-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.submitAuth(event.target);
    });
    $("#reset-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.submitReset(event.target);
    });
    for (const button of $$("[data-switch]")) {
      button.addEventListener("click", () => this.auth(button.dataset.switch));
    }
    $("#verify-done").addEventListener("click", () => (this.api.loggedIn
      ? attempt(() => this.enter()).then((refused) => refused && this.auth("login", refused.message))
      : this.auth("login")));
  }

  /** Show one of the screens before the desk, or none (null). */
  screen(id) {
    for (const selector of SCREENS) $(selector).hidden = selector !== id;
  }

  /** The log-in card in one of its modes: "login", "register" or "forgot". Only the
   * mode's fields show, and only they are sent and required. */
  auth(mode = "login", error = "", note = "") {
    this.screen("#auth");
    const form = $("#auth-form");
    form.dataset.mode = mode;
    for (const element of $$("[data-modes]", form)) {
      const shown = element.dataset.modes.split(" ").includes(mode);
      element.hidden = !shown;
      for (const input of $$("input", element)) input.disabled = !shown;
    }
    form.elements.password.autocomplete = mode === "register" ? "new-password" : "current-password";
    $("#auth-error").textContent = error;
    $("#auth-note").textContent = note;
  }

  /** If the page was opened by an emailed link, show its screen and return true. The
   * token leaves the address bar (and the history) at once. */
  openLink() {
    const screen = LINKS[window.location.pathname];
    if (!screen) return false;
    const token = new URLSearchParams(window.location.search).get("token") ?? "";
    window.history.replaceState(null, "", "/");
    if (screen === "verify") this.verify(token);
    else this.reset(token);
    return true;
  }

  async verify(token) {
    this.screen("#verify");
    const status = $("#verify-status");
    const done = $("#verify-done");
    status.classList.remove("error");
    status.textContent = "Checking your link…";
    done.hidden = true;
    const refused = await attempt(async () => {
      if (!token) throw new ApiError(400, { details: { field: "token" } });
      const { user } = await this.api.request("POST", "/auth/verify-email", { token }, false);
      status.textContent = `Thank you: ${user.email} is confirmed.`;
    });
    if (refused) {
      status.classList.add("error");
      status.textContent = badToken(refused)
        ? "This link is invalid, expired or was already used. Your account works without it: log in to carry on."
        : refused.message;
    }
    done.textContent = this.api.loggedIn ? "Continue" : "Log in";
    done.hidden = false;
    done.focus();
  }

  reset(token) {
    this.screen("#reset");
    this.resetToken = token;
    $("#reset-form").hidden = false;
    $("#reset-form").reset();
    $("#reset-done").hidden = true;
    this.resetRefused(token ? "" : "This link has no reset token.", !token);
  }

  resetRefused(message, expired) {
    $("#reset-error").textContent = message;
    $("#reset-again").hidden = !expired;
  }

  async submitReset(form) {
    const { new_password: password = "", confirm = "" } = formFields(form);
    if (password !== confirm) return this.resetRefused("The two passwords differ.", false);
    const refused = await busy(form, () => this.api.request(
      "POST", "/auth/password/reset", { token: this.resetToken, new_password: password }, false));
    if (!refused) {
      form.hidden = true;
      $("#reset-done").hidden = false;
    } else if (badToken(refused)) {
      this.resetRefused("This reset link is invalid, expired or was already used. Ask for a new one.", true);
    } else {
      this.resetRefused(refused.message, false);
    }
  }

  async submitAuth(form) {
    const mode = form.dataset.mode;
    const { email = "", password = "", name } = formFields(form);
    $("#auth-error").textContent = $("#auth-note").textContent = "";
    const refused = await busy(form, async () => {
      if (mode === "forgot") {
        const { message } = await this.api.request("POST", "/auth/password/forgot", { email }, false);
        this.auth("login", "", message);
        return;
      }
      if (mode === "register") await this.api.register(email, password, name);
      else await this.api.login(email, password);
      await this.enter(mode === "register");
    });
    if (refused) $("#auth-error").textContent = refused.message;
  }
}

/** Run action; return the ApiError it was refused with, or null. */
async function attempt(action) {
  try {
    await action();
    return null;
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return error;
  }
}

/** attempt(action) with the form's buttons disabled meanwhile (no double submits). */
async function busy(form, action) {
  const buttons = $$("button", form);
  buttons.forEach((button) => { button.disabled = true; });
  try {
    return await attempt(action);
  } finally {
    buttons.forEach((button) => { button.disabled = false; });
  }
}
