// Headlines about the selected symbol: GET /api/v1/news, then `news` events as they
// arrive. Feed text is put in as text (never HTML), and a link only when it is http(s).
import { fill, h } from "./dom.js";

const SHOWN = 20;

/** A link the page may follow: http(s) only, never javascript: or data:. */
export function safeLink(link) {
  try {
    const url = new URL(link);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

export class NewsPanel {
  constructor(list, status) {
    this.list = list;
    this.status = status;
    this.symbol = null;
    this.items = [];
  }

  /** Load the newest headlines that mention symbol. */
  async show(api, symbol) {
    this.symbol = symbol;
    const body = await api.get(`/news?symbol=${encodeURIComponent(symbol)}&limit=${SHOWN}`);
    if (symbol !== this.symbol) return; // another symbol was picked meanwhile
    this.items = body.news;
    const down = body.sources.filter((source) => !source.ok).map((source) => source.name);
    this.status.textContent = body.stale ? `stale${down.length ? ` (${down.join(", ")})` : ""}` : "";
    this.render();
  }

  /** A pushed headline: shown when it is about the selected symbol. */
  received(item) {
    if (!item.symbols?.includes(this.symbol) || this.items.some((old) => old.id === item.id)) return;
    this.items = [item, ...this.items].slice(0, SHOWN);
    this.render();
  }

  render() {
    this.list.dataset.count = String(this.items.length);
    if (this.items.length === 0) {
      fill(this.list, [h("li", { class: "muted" }, `No headlines about ${this.symbol ?? "this symbol"} yet.`)]);
      return;
    }
    fill(this.list, this.items.map((item) => {
      const href = safeLink(item.link);
      const title = href ? h("a", { href, target: "_blank", rel: "noopener noreferrer" }, item.title)
        : h("span", {}, item.title);
      const when = new Date(item.published_at).toLocaleString([], { hour12: false });
      return h("li", { dataset: { id: item.id } }, title,
        h("div", { class: "muted" }, `${item.source} · ${when}`),
        item.summary ? h("p", {}, item.summary) : null);
    }));
  }
}
