// Exact decimal arithmetic for display: the API sends amounts as decimal strings,
// and unrealized P&L is worked out here in integer units of 10^-8 (as the server
// stores them), never in floating point.

const SCALE = 8;
const ONE = 10n ** BigInt(SCALE);

/** "123.45" → 12345000000n (units of 10^-8); null or "" → null. */
export function units(text) {
  if (text === null || text === undefined || text === "") return null;
  const match = /^(-?)(\d*)(?:\.(\d*))?$/.exec(String(text).trim());
  if (!match) return null;
  const [, sign, whole, fraction = ""] = match;
  const value = BigInt(whole || "0") * ONE + BigInt((fraction + "0".repeat(SCALE)).slice(0, SCALE));
  return sign ? -value : value;
}

const asUnits = (value) => (typeof value === "bigint" ? value : units(value));

/** The product of two amounts (decimal strings or units), in units: price × quantity. */
export function product(a, b) {
  const [x, y] = [asUnits(a), asUnits(b)];
  if (x === null || y === null) return null;
  return (x * y) / ONE;
}

/** part as a percentage of whole, in units (null when whole is zero or unknown). */
export function percent(part, whole) {
  const [x, y] = [asUnits(part), asUnits(whole)];
  if (x === null || y === null || y === 0n) return null;
  return (x * 100n * ONE) / (y < 0n ? -y : y);
}

/** Profit of a position: (price − entry) × quantity, negated for a short. */
export function pnl(side, entry, price, quantity) {
  const [e, p, q] = [units(entry), units(price), units(quantity)];
  if (e === null || p === null || q === null) return null;
  const move = side === "buy" ? p - e : e - p;
  return (move * q) / ONE;
}

/** Sum of unit amounts, skipping nulls. */
export function sum(values) {
  return values.reduce((total, value) => (value === null ? total : total + value), 0n);
}

/** Units → "1,234.57" (rounded half away from zero to `places` decimals). */
export function money(value, places = 2) {
  const amount = typeof value === "bigint" ? value : units(value);
  if (amount === null) return "–";
  const step = 10n ** BigInt(SCALE - places);
  const negative = amount < 0n;
  let rounded = (negative ? -amount : amount) + step / 2n;
  rounded -= rounded % step;
  const whole = (rounded / ONE).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const fraction = places ? "." + (rounded % ONE).toString().padStart(SCALE, "0").slice(0, places) : "";
  return (negative && rounded !== 0n ? "-" : "") + whole + fraction;
}

/** A decimal string as sent, with thousands separators ("65000.5" → "65,000.5"). */
export function grouped(text) {
  if (text === null || text === undefined) return "–";
  const [whole, fraction] = String(text).split(".");
  const digits = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return fraction === undefined ? digits : `${digits}.${fraction}`;
}

/** A quantity string as sent, grouped ("1500" → "1,500"). */
export const quantity = grouped;

const priceDecimals = new Map(); // symbol → the decimals of its price increment

/** Learn each asset's price decimals (GET /assets: price_increment "0.01" → 2). */
export function learnPriceSteps(assets) {
  for (const { symbol, price_increment: tick } of assets) {
    priceDecimals.set(symbol, (String(tick).split(".")[1] ?? "").length);
  }
}

/** The decimals prices of symbol show with, or null while its asset is not known. */
export const priceDecimalsOf = (symbol) => priceDecimals.get(symbol) ?? null;

/** A price of symbol, grouped, at its asset's tick ("65516.4" → "65,516.40" at 0.01);
 * under 1, at least 4 decimals (sub-dollar stocks tick finer). A price of no known
 * symbol (a rate, a token's market price) shows as sent, grouped. */
export function price(text, symbol = null) {
  const places = priceDecimals.get(symbol);
  const value = units(text);
  if (places === undefined || value === null) return grouped(text);
  return money(value, value < ONE && value > -ONE ? Math.max(places, 4) : places);
}

/** Compare two decimal strings: -1, 0 or 1. */
export function compare(a, b) {
  const [x, y] = [units(a), units(b)];
  if (x === null || y === null) return 0;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** An amount string as sent, exact, grouped, with at least `places` decimals
 * ("0.065" → "0.065", "1300.5" → "1,300.50"): fees are not rounded away. */
export function amount(text, places = 2) {
  if (text === null || text === undefined || units(text) === null) return "–";
  const [whole, fraction = ""] = String(text).split(".");
  return grouped(`${whole}.${fraction.padEnd(places, "0")}`.replace(/\.$/, ""));
}

/** value × numerator / denominator, in units (null when any is unknown or the
 * denominator is zero): an amount in one currency at the rate two amounts imply. */
export function scale(value, numerator, denominator) {
  const [x, n, d] = [asUnits(value), asUnits(numerator), asUnits(denominator)];
  if (x === null || n === null || d === null || d === 0n) return null;
  return (x * n) / d;
}
