// The Orders panel: newest first; a resting order can be cancelled, or modified in
// place (PATCH replaces it with a new order, as Alpaca does).
import { $, clock, fill, h, keepingFocus } from "./dom.js";
import { price, quantity } from "./decimal.js";
import { TIF_LABELS, TIME_IN_FORCE } from "./ticket.js";

const editors = new Map(); // order id → its open editor row, kept across re-renders
const short = (id) => `#${String(id).slice(-6)}`;
const PRICED = { limit_price: ["limit", "stop_limit"], stop_price: ["stop", "stop_limit"] };
const takes = (order, field) => PRICED[field].includes(order.type);

/** The orders table and the Cancel-all button. */
export function renderOrders(state, actions) {
  const orders = [...state.orders.values()] // ids grow with time: they order a second's orders
    .sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id.localeCompare(a.id)).slice(0, 100);
  for (const id of editors.keys()) {
    if (state.orders.get(id)?.status !== "open") editors.delete(id); // filled or ended meanwhile
  }
  keepingFocus($("#orders"), () => // an open editor's row is put back as it was
    fill($("#orders"), orders.flatMap((o) => [orderRow(o, actions), editors.get(o.id)].filter(Boolean))));
  $("#cancel-all").disabled = !orders.some((o) => o.status === "open");
}

function orderRow(o, actions) {
  const editing = editors.has(o.id);
  return h("tr", { dataset: { order: o.id, replaces: o.replaces ?? false } },
    h("td", {}, clock(o.created_at)), h("td", {}, o.symbol), h("td", { class: o.side }, o.side),
    h("td", {}, o.type.replace("_", " ")), h("td", { class: "num" }, quantity(o.quantity)),
    h("td", { class: "num" }, priceText(o)), h("td", {}, o.time_in_force),
    h("td", { class: "status" }, o.status, o.reject_reason ? ` (${o.reject_reason})` : "",
      o.replaced_by ? h("span", { class: "muted" }, ` by ${short(o.replaced_by)}`) : "",
      o.replaces ? h("span", { class: "muted" }, ` · replaces ${short(o.replaces)}`) : ""),
    h("td", { class: "actions" }, o.status === "open" ? [
      h("button", { type: "button", class: "secondary", "aria-expanded": String(editing),
        "aria-label": `Edit order ${short(o.id)}`, onclick: () => toggleEditor(o, actions) }, "Edit"),
      h("button", { type: "button", class: "secondary", "aria-label": `Cancel order ${short(o.id)}`,
        onclick: () => actions.cancel(o.id) }, "Cancel")] : ""));
}

function priceText(o) {
  if (o.filled_price) return price(o.filled_price);
  if (o.type === "stop_limit") return `stop ${price(o.stop_price)} · limit ${price(o.limit_price)}`;
  return price(o.limit_price ?? o.stop_price);
}

function toggleEditor(order, actions) {
  if (editors.has(order.id)) editors.delete(order.id);
  else editors.set(order.id, editorRow(order, actions));
  actions.renderOrders();
  editors.get(order.id)?.querySelector("input")?.focus();
}

/** Close an order's editor (after its replacement is placed). */
export function closeEditor(id) {
  editors.delete(id);
}

function editorRow(order, actions) {
  const input = (name, label) => h("label", {}, label,
    h("input", { name, value: order[name] ?? "", inputmode: "decimal", size: 8, required: true }));
  const error = h("p", { class: "error", role: "alert" });
  const form = h("form", { class: "row", "aria-label": `Modify order ${short(order.id)}`,
    onsubmit: (event) => { event.preventDefault(); actions.replace(order, event.target, error); } },
  input("quantity", "Qty"),
  takes(order, "limit_price") ? input("limit_price", "Limit price") : null,
  takes(order, "stop_price") ? input("stop_price", "Stop price") : null,
  h("label", {}, "Time in force", h("select", { name: "time_in_force" },
    TIME_IN_FORCE.replace.map((tif) => h("option", { value: tif, selected: tif === order.time_in_force },
      TIF_LABELS[tif])))),
  h("button", { type: "submit" }, "Save"),
  h("button", { type: "button", class: "secondary",
    onclick: () => { editors.delete(order.id); actions.renderOrders(); } }, "Discard"));
  return h("tr", { class: "editor", dataset: { editor: order.id } },
    h("td", { colspan: 9 }, form, error));
}
