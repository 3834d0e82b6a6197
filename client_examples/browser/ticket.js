// The order ticket: order type and class, the prices they need, the times in force the
// server takes for them, and quantity or (for simple market orders) notional.
import { $$, formFields, h } from "./dom.js";

/** The time-in-force values the server takes for each order type; a replacement keeps
 * its order resting, so it takes only gtc and day. `opg` (at the open) is added for a
 * simple market order while its market is closed. */
export const TIME_IN_FORCE = {
  market: ["gtc", "day", "ioc", "fok"], limit: ["gtc", "day", "ioc", "fok"],
  stop: ["gtc", "day"], stop_limit: ["gtc", "day"], replace: ["gtc", "day"],
};
export const TIF_LABELS = { gtc: "GTC (until cancelled)", day: "Day", ioc: "IOC (fill now or cancel)",
  fok: "FOK (fill all now or cancel)", opg: "OPG (at the open)" };
/** The entry types each order class takes (an oco's parent is its take-profit limit). */
const CLASS_TYPES = { simple: ["market", "limit", "stop", "stop_limit"], bracket: ["market", "limit"],
  oto: ["market", "limit"], oco: ["limit"] };

/** Wire the ticket's inputs to its order type and class; `place(body)` sends the order,
 * `api` reads whether the symbol's market is open (for `opg`). */
export function wireTicket(ticket, place, api) {
  const update = () => showFieldsFor(ticket);
  for (const name of ["type", "order_class"]) ticket.elements[name].addEventListener("change", update);
  for (const radio of ticket.elements.amount_in) radio.addEventListener("change", update);
  ticket.elements.type.addEventListener("change", () => {
    if (ticket.elements.type.value === "market") readHours(ticket, api); // it may have opened or closed
  });
  update();
  setInterval(() => readHours(ticket, api), 60_000);
  ticket.addEventListener("submit", (event) => {
    event.preventDefault();
    place(orderBody(ticket));
  });
}

/** Put a symbol on the ticket and find out whether its market is open now. */
export function ticketSymbol(ticket, symbol, api) {
  ticket.elements.symbol.value = symbol;
  ticket.dataset.marketClosed = "false";
  delete ticket.dataset.hoursOf;
  showFieldsFor(ticket);
  return readHours(ticket, api);
}

async function readHours(ticket, api) {
  const symbol = ticket.elements.symbol.value;
  if (!symbol) return;
  try {
    const { asset } = await api.get(`/assets/${encodeURIComponent(symbol)}`);
    if (ticket.elements.symbol.value !== symbol) return; // another symbol was chosen meanwhile
    // opg is only taken while the hours are enforced and the market is closed.
    const closed = asset.hours.enforced && !asset.hours.is_open;
    ticket.dataset.marketClosed = String(closed);
    ticket.querySelector("#market-state").textContent = closed ? `${asset.hours.exchange} is closed` : "";
    showFieldsFor(ticket);
    ticket.dataset.hoursOf = symbol; // the ticket is up to date for it
  } catch (error) {
    console.warn("market hours unknown:", error.message);
  }
}

/** The times in force the ticket may send now. */
export function timesInForce(ticket) {
  const { type, order_class: orderClass, amount_in: amountIn } = ticket.elements;
  if (orderClass.value !== "simple") return ["gtc", "day"]; // the legs take the entry's
  const allowed = [...TIME_IN_FORCE[type.value]];
  if (type.value === "market" && amountIn.value === "quantity" && ticket.dataset.marketClosed === "true") {
    allowed.push("opg");
  }
  return allowed;
}

function showFieldsFor(ticket) {
  const { type, time_in_force: tif, amount_in: amountIn, order_class: orderClass } = ticket.elements;
  const types = CLASS_TYPES[orderClass.value];
  for (const option of type.options) option.disabled = !types.includes(option.value);
  if (!types.includes(type.value)) type.value = types[0];
  const notional = ticket.querySelector('[name=amount_in][value="notional"]');
  // notional is for simple market orders only
  notional.disabled = type.value !== "market" || orderClass.value !== "simple";
  if (notional.disabled && notional.checked) amountIn.value = "quantity";
  const shows = (names) => names.split(" ").some((name) => name === type.value || name === amountIn.value);
  for (const label of $$("[data-for], [data-class]", ticket)) {
    const forType = label.dataset.for === undefined || shows(label.dataset.for);
    const forClass = label.dataset.class === undefined || label.dataset.class.split(" ").includes(orderClass.value);
    // an oco's take-profit is its limit price, sent as take_profit
    const shown = forType && forClass && !(orderClass.value === "oco" && label.dataset.for === "limit stop_limit");
    label.hidden = !shown;
    for (const input of label.querySelectorAll("input")) {
      const required = input.dataset.required !== undefined
        || (input.dataset.requiredFor ?? "").split(" ").includes(orderClass.value);
      input.required = shown && required;
    }
  }
  ticket.querySelector("#class-hint").textContent = {
    simple: "", bracket: "An entry with a take-profit and a stop-loss, resting once it fills; one "
      + "filling cancels the other.",
    oto: "An entry with one exit (take-profit or stop-loss), resting once it fills.",
    oco: "A take-profit and a stop-loss for a position held (sell closes a long); one filling "
      + "cancels the other.",
  }[orderClass.value];
  const allowed = timesInForce(ticket);
  const chosen = allowed.includes(tif.value) ? tif.value : "gtc";
  tif.replaceChildren(...allowed.map((value) => h("option", { value }, TIF_LABELS[value])));
  tif.value = chosen;
}

/** The order the ticket describes, without the fields its type and class do not take. */
export function orderBody(ticket) {
  const fields = formFields(ticket);
  const { type, amount_in: amountIn, order_class: orderClass = "simple" } = fields;
  const legs = { tp: fields.tp_limit, stop: fields.sl_stop, stopLimit: fields.sl_limit };
  for (const name of ["amount_in", "tp_limit", "sl_stop", "sl_limit"]) delete fields[name];
  if (!["limit", "stop_limit"].includes(type) || orderClass === "oco") delete fields.limit_price;
  if (!["stop", "stop_limit"].includes(type)) delete fields.stop_price;
  if (amountIn === "notional" && type === "market" && orderClass === "simple") delete fields.quantity;
  else delete fields.notional;
  if (orderClass === "simple") delete fields.order_class;
  else {
    // The exits are the legs: stop_loss becomes an object, the trade-level levels go.
    delete fields.stop_loss;
    delete fields.target_price;
    if (legs.tp) fields.take_profit = { limit_price: legs.tp };
    if (legs.stop || legs.stopLimit) { // a limit without its stop is sent for the server to refuse
      fields.stop_loss = Object.fromEntries(
        [["stop_price", legs.stop], ["limit_price", legs.stopLimit]].filter(([, value]) => value));
    }
  }
  fields.client_order_id = crypto.randomUUID(); // a retry of this submit places it once
  return fields;
}
