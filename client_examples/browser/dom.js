// Small DOM helpers. Text always goes in as text, never as HTML.

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

/** A function that runs `read` (async), at most one at a time: a call made while a read
 * is under way shares one more read after it, so what it shows is never older than the
 * call. Errors are logged under `name`. */
export function coalesced(name, read) {
  let loading = null; // the read under way, if any
  let stale = false; // something changed since it started
  return () => {
    if (loading) {
      stale = true;
      return loading;
    }
    loading = (async () => {
      do {
        stale = false;
        await read();
      } while (stale);
    })().catch((error) => console.warn(`${name} failed:`, error.message))
      .finally(() => { loading = null; });
    return loading;
  };
}

/** h("td", {class: "num"}, "12") builds an element; children are nodes or text. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

/** Replace an element's children. */
export function fill(element, children) {
  element.replaceChildren(...children);
}

/** Run render(), which rebuilds part of container, and give the focus back to what had
 * it there: the same element if render put it back, else the one `twin` finds in its
 * place. A caret in a text field stays where it was. */
export function keepingFocus(container, render, twin = () => null) {
  const active = document.activeElement;
  const inside = active !== document.body && container.contains(active);
  const caret = inside && typeof active.selectionStart === "number"
    ? [active.selectionStart, active.selectionEnd] : null;
  render();
  if (!inside) return;
  const target = active.isConnected ? active : twin(active);
  if (!target || document.activeElement === target) return;
  target.focus();
  if (caret && typeof target.setSelectionRange === "function") target.setSelectionRange(...caret);
}

/** A form's fields as an object of trimmed strings, empty ones left out. */
export function formFields(form) {
  const fields = {};
  for (const [name, value] of new FormData(form)) {
    const text = String(value).trim();
    if (text !== "") fields[name] = text;
  }
  return fields;
}

/** "2026-11-23T10:15:00+00:00" → local "10:15:00". */
export function clock(iso) {
  return iso ? new Date(iso).toLocaleTimeString([], { hour12: false }) : "";
}

/** Show a short message at the top for a few seconds; its × dismisses it sooner. Clicks
 * elsewhere on it reach the page beneath. */
export function toast(title, body = "", kind = "info") {
  const box = $("#toasts");
  const item = h("div", { class: `toast ${kind}`, role: "status" },
    h("button", { type: "button", class: "icon dismiss", "aria-label": "Dismiss", onclick: () => item.remove() }),
    h("strong", {}, title), body ? h("div", {}, body) : null);
  box.append(item);
  setTimeout(() => item.remove(), 6000);
  while (box.children.length > 4) box.firstElementChild.remove();
}
