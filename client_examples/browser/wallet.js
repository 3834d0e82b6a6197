// The Wallet table in the account card (GET /wallet): the cash in the account currency,
// each crypto asset held and each other position (its type under its name), free,
// locked and total.
import { $, fill, h } from "./dom.js";
import { money, quantity } from "./decimal.js";

export class Wallet {
  constructor(api) {
    this.api = api;
    this.loading = null; // the GET /wallet under way, if any
    this.stale = false; // something changed since it was sent
  }

  /** Read the wallet again; calls made while a read is under way share one more read. */
  refresh() {
    if (this.loading) {
      this.stale = true;
      return this.loading;
    }
    this.loading = (async () => {
      do {
        this.stale = false;
        renderWallet((await this.api.get("/wallet")).balances);
      } while (this.stale);
    })().catch((error) => console.warn("wallet failed:", error.message))
      .finally(() => { this.loading = null; });
    return this.loading;
  }
}

/** One row per balance; cash as money (as the account shows it), the others as
 * quantities, exactly as sent. */
export function renderWallet(balances) {
  fill($("#wallet"), balances.map((b) => {
    const show = b.type === "cash" ? money : quantity;
    const aliases = b.aliases?.length ? `The same money as ${b.aliases.join(", ")}` : null;
    return h("tr", { dataset: { asset: b.asset } },
      h("td", { title: aliases }, b.asset, h("span", { class: "type", dataset: { field: "type" } }, b.type)),
      ...["free", "locked", "total"].map((field) =>
        h("td", { class: "num", dataset: { field } }, show(b[field]))));
  }));
}
