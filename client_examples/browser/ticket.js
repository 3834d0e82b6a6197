// The order ticket: order type, the prices it needs, the times in force the server
// takes for it, and quantity or (for market orders) notional.
import { $$, formFields, h } from "./dom.js";

/** The time-in-force values the server takes for each order type; a replacement keeps
 * its order resting, so it takes only gtc and day. */
export const TIME_IN_FORCE = {
  market: ["gtc", "day", "ioc", "fok"], limit: ["gtc", "day", "ioc", "fok"],
  stop: ["gtc", "day"], stop_limit: ["gtc", "day"], replace: ["gtc", "day"],
};
export const TIF_LABELS = { gtc: "GTC (until cancelled)", day: "Day", ioc: "IOC (fill now or cancel)",
  fok: "FOK (fill all now or cancel)" };

/** Wire the ticket's inputs to its order type; `place(body)` sends the order. */
export function wireTicket(ticket, place) {
  const update = () => showFieldsFor(ticket);
  ticket.elements.type.addEventListener("change", update);
  for (const radio of ticket.elements.amount_in) radio.addEventListener("change", update);
  update();
  ticket.addEventListener("submit", (event) => {
    event.preventDefault();
    place(orderBody(ticket));
  });
}

function showFieldsFor(ticket) {
  const { type, time_in_force: tif, amount_in: amountIn } = ticket.elements;
  const notional = ticket.querySelector('[name=amount_in][value="notional"]');
  notional.disabled = type.value !== "market"; // notional is for market orders only
  if (notional.disabled && notional.checked) amountIn.value = "quantity";
  for (const label of $$("[data-for]", ticket)) {
    const shown = label.dataset.for.split(" ").some((name) => name === type.value || name === amountIn.value);
    label.hidden = !shown;
    for (const input of label.querySelectorAll("input")) input.required = shown && input.dataset.required !== undefined;
  }
  const allowed = TIME_IN_FORCE[type.value];
  const chosen = allowed.includes(tif.value) ? tif.value : "gtc";
  tif.replaceChildren(...allowed.map((value) => h("option", { value }, TIF_LABELS[value])));
  tif.value = chosen;
}

/** The order the ticket describes, without the fields its type does not take. */
export function orderBody(ticket) {
  const fields = formFields(ticket);
  const { type, amount_in: amountIn } = fields;
  delete fields.amount_in;
  if (!["limit", "stop_limit"].includes(type)) delete fields.limit_price;
  if (!["stop", "stop_limit"].includes(type)) delete fields.stop_price;
  if (amountIn === "notional" && type === "market") delete fields.quantity;
  else delete fields.notional;
  fields.client_order_id = crypto.randomUUID(); // a retry of this submit places it once
  return fields;
}
