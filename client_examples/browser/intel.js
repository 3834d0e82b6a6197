// The market-mood panel: both Fear & Greed indices with what they suggest, and the
// token screener (public routes, answered from the server's cache). Text goes in as text.
import { price } from "./decimal.js";
import { $, fill, h } from "./dom.js";

const BIG = [[1e12, "T"], [1e9, "B"], [1e6, "M"]];

/** "1920000000000" → "$1.92T" (display only: the API's strings stay exact). */
function dollars(text) {
  const value = Number(text);
  const [size, unit] = BIG.find(([step]) => value >= step) ?? [1, ""];
  return `$${(value / size).toFixed(unit ? 2 : 0)}${unit}`;
}

export class Intel {
  /** api: the REST client; select(symbol): open a configured symbol's chart. */
  constructor(api, select) {
    this.api = api;
    this.select = select;
    this.indices = {};
    $("#screener-sort").addEventListener("change", () => this.screener());
  }

  async show() {
    const [{ indices }, advice] = await Promise.all([
      this.api.get("/sentiment?days=7"), this.api.get("/recommendations")]);
    this.indices = indices;
    for (const [index, item] of Object.entries(advice.indices)) this.indices[index].action = item.action;
    this.renderSentiment();
    await this.screener();
  }

  /** A `sentiment` event: one index changed (or went stale or fresh); its advice with it. */
  async sentiment(event) {
    const known = this.indices[event.index] ?? {};
    this.indices[event.index] = { ...known, ...event, action: null };
    this.renderSentiment();
    const advice = await this.api.get("/recommendations").catch(() => null);
    const action = advice?.indices[event.index]?.action;
    if (action && this.indices[event.index].value === event.value) {
      this.indices[event.index].action = action;
      this.renderSentiment();
    }
  }

  renderSentiment() {
    fill($("#sentiment"), Object.values(this.indices).flatMap((item) => [
      h("dt", {}, item.name),
      h("dd", { dataset: { index: item.index } },
        item.value === null ? "–" : `${item.value} ${item.classification}`,
        item.action ? h("span", { class: `action ${item.action.toLowerCase()}` }, ` ${item.action}`) : null,
        item.stale ? h("span", { class: "stale", title: item.error ?? "" }, "stale") : null),
    ]));
  }

  async screener() {
    const sort = $("#screener-sort").value;
    const answer = await this.api.get(`/screener?sort=${encodeURIComponent(sort)}&limit=20`);
    $("#screener-status").textContent = answer.stale ? `stale: ${answer.error ?? ""}` : "";
    fill($("#screener"), answer.tokens.map((token) => h("tr", {},
      h("td", {}, token.rank ?? ""),
      h("td", {}, token.trading_symbol
        ? h("a", { href: "#", onclick: (e) => { e.preventDefault(); this.select(token.trading_symbol); } }, token.symbol)
        : token.symbol, " ", h("span", { class: "muted" }, token.name)),
      h("td", { class: "num" }, price(token.price)),
      h("td", { class: "num" }, dollars(token.market_cap)),
      h("td", { class: "num" }, dollars(token.volume_24h)),
      h("td", { class: `num ${Number(token.change_24h) < 0 ? "loss" : "gain"}` },
        token.change_24h === null ? "–" : `${Number(token.change_24h).toFixed(2)}%`),
      h("td", {}, token.funds.flatMap((f, n) => [n ? ", " : "",
        h("a", { href: f.source, target: "_blank", rel: "noopener noreferrer" }, f.fund)])),
    )));
  }
}
