// /api/docs: log in (or paste a token) and send any route's "Try it" form.
// The token is the trading page's (same tab, same origin: sessionStorage), so a user
// signed in there is signed in here, and logging in here signs the page in too.

const KEY = "paperdesk.session";
const tokenInput = document.getElementById("token");
const who = document.getElementById("who");

function savedToken() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) ?? "null")?.access_token ?? "";
  } catch {
    return "";
  }
}

async function send(method, url, body, token) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(url, { method, headers, body });
  const text = await response.text();
  let shown = text;
  try {
    shown = text ? JSON.stringify(JSON.parse(text), null, 2) : "";
  } catch {
    // not JSON: shown as sent
  }
  return { status: response.status, statusText: response.statusText, text, shown };
}

document.getElementById("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const email = form.elements.email.value;
  const password = form.elements.password.value;
  if (!email || !password) {
    who.textContent = "Enter an email and a password, or paste a token.";
    return;
  }
  who.textContent = "Logging in…";
  const answer = await send("POST", "/api/v1/auth/login", JSON.stringify({ email, password }));
  if (answer.status !== 200) {
    who.textContent = `Refused (${answer.status}): ${answer.shown}`;
    return;
  }
  const tokens = JSON.parse(answer.text);
  sessionStorage.setItem(KEY, JSON.stringify(tokens));
  tokenInput.value = tokens.access_token;
  form.elements.password.value = "";
  who.textContent = `Logged in as ${email}.`;
});

function requestOf(form) {
  let path = form.dataset.path;
  const query = new URLSearchParams();
  for (const input of form.querySelectorAll("input[name]")) {
    const [where, name] = input.name.split(":");
    if (input.value === "") continue;
    if (where === "path") path = path.replace(`{${name}}`, encodeURIComponent(input.value));
    else if (where === "query") query.append(name, input.value);
  }
  const search = query.toString();
  const url = search ? `${path}?${search}` : path;
  const textarea = form.querySelector("textarea[name=body]");
  return { url, body: textarea ? textarea.value : undefined };
}

async function tryIt(form) {
  const output = form.querySelector("output");
  const status = output.querySelector(".status");
  const answer = output.querySelector(".answer");
  output.hidden = false;
  const { url, body } = requestOf(form);
  if (body !== undefined && body.trim() !== "") {
    try {
      JSON.parse(body);
    } catch (error) {
      status.textContent = "Not sent";
      answer.textContent = `The body is not JSON: ${error.message}`;
      return;
    }
  }
  status.textContent = "Sending…";
  answer.textContent = "";
  const method = form.dataset.method.toUpperCase();
  try {
    const reply = await send(method, url, body || undefined, tokenInput.value.trim());
    status.textContent = `${reply.status} ${reply.statusText}`;
    status.dataset.status = String(reply.status);
    answer.textContent = reply.shown;
  } catch (error) {
    status.textContent = "No answer";
    answer.textContent = error.message;
  }
}

for (const form of document.querySelectorAll("form.try")) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    tryIt(form);
  });
}

tokenInput.value = savedToken();
if (tokenInput.value) who.textContent = "Using the trading page's session.";
