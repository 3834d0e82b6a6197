// The leaderboard in the account card: opting in or out (the board shows names only,
// never emails), the user's own rank and rating, and the top ten of a period
// (GET /leaderboard is public; GET /me/rating is the user's own standing).
import { fill, h } from "./dom.js";

const PERIODS = [["day", "Today"], ["week", "7 days"], ["month", "30 days"], ["all", "Since reset"]];
const TOP = 10;

const pct = (value) => (value === null || value === undefined ? "–" : `${value}%`);

/** What the user's own line says about the board of period. */
function describe(mine, period) {
  if (!mine.leaderboard) return `You are not on the leaderboard. On it, you show as “${mine.name}”.`;
  const place = mine.boards[period];
  if (!place) return "You appear after the next update (every few minutes).";
  const rating = mine.rating === null
    ? `unrated (under ${mine.rating_min_days} days)` : `rating ${mine.rating}/100`;
  return `You: #${place.rank} of ${place.of}, ${pct(place.return_pct)}, ${rating}.`;
}

export class LeaderboardPanel {
  constructor(root, api) {
    this.api = api;
    this.period = "week";
    this.toggle = h("input", { type: "checkbox", id: "leaderboard-opt",
      onchange: () => this.opt(this.toggle.checked) });
    this.select = h("select", { id: "leaderboard-period", "aria-label": "Leaderboard period",
      onchange: () => { this.period = this.select.value; this.refresh(); } },
    PERIODS.map(([value, label]) => h("option", { value, selected: value === this.period }, label)));
    this.mine = h("p", { id: "leaderboard-mine", class: "muted" });
    this.rows = h("tbody", { id: "leaderboard-rows" });
    this.error = h("p", { class: "error", role: "alert" });
    fill(root, [
      h("h3", {}, "Leaderboard"),
      h("label", { class: "choice" }, this.toggle, "Show me on it (by my name, never my email)"),
      this.select, this.mine,
      h("table", { class: "grid" }, h("thead", {}, h("tr", {}, h("th", {}, "#"), h("th", {}, "Name"),
        h("th", { class: "num" }, "Return"), h("th", { class: "num" }, "Rating"))), this.rows),
      this.error,
    ]);
  }

  async show(user) {
    this.toggle.checked = Boolean(user.leaderboard);
    await this.refresh();
  }

  async opt(on) {
    this.toggle.disabled = true;
    try {
      await this.api.patch("/me", { leaderboard: on });
      await this.refresh();
    } catch (error) {
      this.toggle.checked = !on;
      this.error.textContent = error.message;
    } finally {
      this.toggle.disabled = false;
    }
  }

  async refresh() {
    try {
      const [board, mine] = await Promise.all([
        this.api.get(`/leaderboard?period=${this.period}&limit=${TOP}`), this.api.get("/me/rating"),
      ]);
      this.error.textContent = "";
      fill(this.rows, board.entries.length === 0
        ? [h("tr", {}, h("td", { colspan: 4, class: "muted" }, "No one yet"))]
        : board.entries.map((e) => h("tr", {}, h("td", {}, e.rank), h("td", {}, e.name),
          h("td", { class: "num" }, pct(e.return_pct)), h("td", { class: "num" }, e.rating ?? "–"))));
      this.mine.textContent = describe(mine, this.period);
    } catch (error) {
      this.error.textContent = error.message;
    }
  }
}
