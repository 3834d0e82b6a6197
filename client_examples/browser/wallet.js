// The Wallet table in the account card (GET /wallet): the cash in the account currency,
// each crypto asset held and each other position (its type under its name), free,
// locked and total.
import { $, coalesced, fill, h } from "./dom.js";
import { money, quantity } from "./decimal.js";

export class Wallet {
  constructor(api) {
    /** Read the wallet again; calls made while a read is under way share one more. */
    this.refresh = coalesced("wallet",
      async () => renderWallet((await api.get("/wallet")).balances));
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
