// The Orders panel: newest first, each parent's exit legs under it; a resting order can
// be cancelled, or (a simple one) modified in place (PATCH replaces it with a new order,
// as Alpaca does). Filled orders show their fee and whether they made or took liquidity.
import { $, clock, fill, h, keepingFocus } from "./dom.js";
import { amount, price, quantity } from "./decimal.js";
import { TIF_LABELS, TIME_IN_FORCE } from "./ticket.js";

const editors = new Map(); // order id → its open editor row, kept across re-renders
const short = (id) => `#${String(id).slice(-6)}`;
const PRICED = { limit_price: ["limit", "stop_limit"], stop_price: ["stop", "stop_limit"] };
const takes = (order, field) => PRICED[field].includes(order.type);
const ROLES = { take_profit: "take-profit", stop_loss: "stop-loss" };
const LIVE = ["open", "held"]; // what a cancel can still end
const editable = (o) => o.status === "open" && o.order_class === "simple" && o.time_in_force !== "opg";

/** Keep an order in `orders` (a Map by id), its legs as orders of their own: answers
 * nest them, events and lists send them flat with the parent's `legs` as ids. */
export function storeOrder(orders, order) {
  const legs = (order.legs ?? []).filter((leg) => typeof leg === "object");
  orders.set(order.id, legs.length ? { ...order, legs: legs.map((leg) => leg.id) } : order);
  for (const leg of legs) orders.set(leg.id, leg);
}

/** Top-level orders newest first, each followed by its legs. */
export function orderTree(orders) {
  const all = [...orders.values()];
  const legsOf = new Map();
  for (const o of all) {
    if (o.parent_id && orders.has(o.parent_id)) legsOf.set(o.parent_id, [...(legsOf.get(o.parent_id) ?? []), o]);
  }
  const tops = all.filter((o) => !o.parent_id || !orders.has(o.parent_id)) // ids grow with time
    .sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id.localeCompare(a.id)).slice(0, 100);
  return tops.flatMap((o) => [o, ...(legsOf.get(o.id) ?? []).sort((a, b) => a.id.localeCompare(b.id))]);
}

/** The orders table and the Cancel-all button. */
export function renderOrders(state, actions) {
  const orders = orderTree(state.orders);
  for (const id of editors.keys()) {
    if (!editable(state.orders.get(id) ?? {})) editors.delete(id); // filled or ended meanwhile
  }
  keepingFocus($("#orders"), () => // an open editor's row is put back as it was
    fill($("#orders"), orders.flatMap((o) => [orderRow(o, actions), editors.get(o.id)].filter(Boolean))));
  $("#cancel-all").disabled = !orders.some((o) => LIVE.includes(o.status));
}

function orderRow(o, actions) {
  const editing = editors.has(o.id);
  const leg = Boolean(o.parent_id);
  const role = ROLES[o.leg_role] ?? "";
  const kind = o.type.replace("_", " ") + (o.order_class !== "simple" && !leg ? ` · ${o.order_class}` : "");
  const name = `${leg ? `${role} leg ` : ""}${short(o.id)}`;
  return h("tr", { class: leg ? "leg" : "", dataset: { order: o.id, replaces: o.replaces ?? false,
    parent: o.parent_id ?? false, role: o.leg_role ?? false } },
  h("td", {}, leg ? h("span", { "aria-label": `${role} leg of ${short(o.parent_id)}` }, `↳ ${role}`)
    : clock(o.created_at)),
  h("td", {}, o.symbol), h("td", { class: o.side }, o.side),
  h("td", {}, kind, !leg && role ? h("span", { class: "muted" }, ` (${role})`) : ""),
  h("td", { class: "num" }, quantity(o.quantity)),
  h("td", { class: "num" }, priceText(o)), h("td", {}, o.time_in_force),
  h("td", { class: "status" }, o.status, o.reject_reason ? ` (${o.reject_reason})` : "",
    o.replaced_by ? h("span", { class: "muted" }, ` by ${short(o.replaced_by)}`) : "",
    o.replaces ? h("span", { class: "muted" }, ` · replaces ${short(o.replaces)}`) : ""),
  h("td", { class: "num", dataset: { fee: o.id } }, o.fee === null || o.fee === undefined ? "" : amount(o.fee)),
  h("td", {}, o.liquidity ?? ""),
  h("td", { class: "actions" }, [
    editable(o) ? h("button", { type: "button", class: "secondary", "aria-expanded": String(editing),
      "aria-label": `Edit order ${name}`, onclick: () => toggleEditor(o, actions) }, "Edit") : "",
    LIVE.includes(o.status) ? h("button", { type: "button", class: "secondary",
      "aria-label": `Cancel order ${name}`, onclick: () => actions.cancel(o.id) }, "Cancel") : ""]));
}

function priceText(o) {
  if (o.filled_price) return price(o.filled_price, o.symbol);
  if (o.type === "stop_limit") return `stop ${price(o.stop_price, o.symbol)} · limit ${price(o.limit_price, o.symbol)}`;
  return price(o.limit_price ?? o.stop_price, o.symbol);
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
    h("td", { colspan: 11 }, form, error));
}
