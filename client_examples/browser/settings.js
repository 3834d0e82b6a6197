// The settings card of a logged-in user: change the password, API keys for bots
// (create, show the token once, list, revoke), delete the account.
import { ApiError } from "./api.js";
import { $, fill, formFields, h, toast } from "./dom.js";

const when = (iso) => (iso ? new Date(iso).toLocaleString([], { hour12: false }) : "never");

export class SettingsCard {
  /** `deleted` runs once the account is gone (the page logs out). */
  constructor(api, deleted) {
    this.api = api;
    this.deleted = deleted;
    this.card = $("#settings");
    $("#settings-open").addEventListener("click", () => (this.card.hidden ? this.open() : this.close()));
    $("#settings-close").addEventListener("click", () => this.close());
    $("#password-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.changePassword(event.target);
    });
    $("#key-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.createKey(event.target);
    });
    $("#key-copy").addEventListener("click", () => this.copyToken());
    $("#key-hide").addEventListener("click", () => this.hideToken());
    $("#delete-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.deleteAccount(event.target);
    });
  }

  async open() {
    this.card.hidden = false;
    $("#settings-open").setAttribute("aria-expanded", "true");
    this.card.scrollIntoView({ block: "start" });
    await this.listKeys();
  }

  /** Close the card, and forget what it showed: a token, typed passwords. */
  close() {
    this.card.hidden = true;
    $("#settings-open").setAttribute("aria-expanded", "false");
    this.hideToken();
    for (const form of ["#password-form", "#delete-form"]) $(form).reset();
  }

  async changePassword(form) {
    const { current_password: current = "", new_password: password = "", confirm = "" } = formFields(form);
    $("#password-note").textContent = "";
    if (password !== confirm) {
      $("#password-error").textContent = "The two new passwords differ.";
      return;
    }
    const done = await shown($("#password-error"), () => this.api.post(
      "/auth/password/change", { current_password: current, new_password: password }));
    if (done) {
      form.reset();
      $("#password-note").textContent = "Password changed. Your other sessions were logged out.";
    }
  }

  async listKeys() {
    await shown($("#key-error"), async () => {
      const { api_keys: keys } = await this.api.get("/me/api-keys");
      fill($("#api-keys"), keys.length ? keys.map((key) => this.keyRow(key))
        : [h("tr", {}, h("td", { colspan: 6, class: "muted" }, "No API keys yet."))]);
    });
  }

  keyRow(key) {
    return h("tr", { dataset: { key: key.id } },
      h("td", {}, key.name), h("td", {}, key.scope), h("td", {}, h("code", {}, key.key_id)),
      h("td", {}, when(key.created_at)), h("td", {}, when(key.last_used_at)),
      h("td", {}, h("button", { type: "button", class: "danger", onclick: () => this.revoke(key) }, "Revoke")));
  }

  async createKey(form) {
    const { name = "", scope = "trading" } = formFields(form);
    const done = await shown($("#key-error"), async () => {
      const key = await this.api.post("/me/api-keys", { name, scope });
      $("#key-token").value = key.token;
      $("#key-secret").hidden = false;
      form.reset();
    });
    if (done) await this.listKeys();
  }

  async copyToken() {
    const input = $("#key-token");
    input.select();
    try {
      await navigator.clipboard.writeText(input.value);
      toast("Token copied");
    } catch {
      toast("Could not copy", "The token is selected: copy it with Ctrl+C.", "error");
    }
  }

  hideToken() {
    $("#key-token").value = "";
    $("#key-secret").hidden = true;
  }

  async revoke(key) {
    if (!window.confirm(`Revoke the API key "${key.name}"? Programs using it stop working at once.`)) return;
    const done = await shown($("#key-error"), () => this.api.delete(`/me/api-keys/${encodeURIComponent(key.id)}`));
    if (done) toast("API key revoked", key.name);
    await this.listKeys();
  }

  async deleteAccount(form) {
    const { password = "" } = formFields(form);
    if (!window.confirm("Delete your account and everything in it? This cannot be undone.")) return;
    const done = await shown($("#delete-error"), () => this.api.request("DELETE", "/me", { password }));
    if (done) {
      this.close();
      await this.deleted();
    }
  }
}

/** Run action with `where` showing its refusal (cleared first); return whether it succeeded. */
async function shown(where, action) {
  where.textContent = "";
  try {
    await action();
    return true;
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    where.textContent = error.message;
    return false;
  }
}
