// The REST client: bearer tokens, one refresh on token_expired, errors as ApiError.

const KEY = "paperdesk.session";

export class ApiError extends Error {
  constructor(status, error) {
    super(error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = error?.code ?? "http_error";
    this.details = error?.details;
  }
}

export class Api {
  constructor() {
    // The tab keeps its session across reloads, not across tabs or restarts.
    const saved = JSON.parse(sessionStorage.getItem(KEY) ?? "null");
    this.tokens = saved;
    this.refreshing = null;
  }

  get loggedIn() {
    return this.tokens !== null;
  }

  get accessToken() {
    return this.tokens?.access_token ?? null;
  }

  async login(email, password) {
    this.save(await this.request("POST", "/auth/login", { email, password }, false));
  }

  async register(email, password, name) {
    await this.request("POST", "/auth/register", { email, password, name: name || email.split("@")[0] }, false);
    await this.login(email, password);
  }

  async logout() {
    try {
      await this.request("POST", "/auth/logout");
    } finally {
      this.save(null);
    }
  }

  /** Trade the refresh token for a new pair (once at a time, however many callers ask). */
  async refresh() {
    if (!this.tokens) throw new ApiError(401, { code: "invalid_token", message: "Log in again." });
    this.refreshing ??= this.request("POST", "/auth/refresh", { refresh_token: this.tokens.refresh_token }, false)
      .then((pair) => this.save(pair), (error) => { this.save(null); throw error; })
      .finally(() => { this.refreshing = null; });
    return this.refreshing;
  }

  save(tokens) {
    this.tokens = tokens;
    if (tokens) sessionStorage.setItem(KEY, JSON.stringify(tokens));
    else sessionStorage.removeItem(KEY);
  }

  get(path) { return this.request("GET", path); }
  post(path, body) { return this.request("POST", path, body); }
  put(path, body) { return this.request("PUT", path, body); }
  patch(path, body) { return this.request("PATCH", path, body); }
  delete(path) { return this.request("DELETE", path); }

  async request(method, path, body, authenticated = true, retried = false) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (authenticated && this.accessToken) headers.Authorization = `Bearer ${this.accessToken}`;
    const response = await fetch(`/api/v1${path}`, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    if (response.ok) return data;
    const error = new ApiError(response.status, data?.error);
    if (authenticated && !retried && error.code === "token_expired") {
      await this.refresh();
      return this.request(method, path, body, authenticated, true);
    }
    throw error;
  }
}
