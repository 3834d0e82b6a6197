// The equity curve: the account's portfolio history for a period (1D, 1W, 1M, all),
// drawn against the equity it started from, and a few numbers from its performance.
// Amounts stay decimal strings for text; the chart alone draws them as numbers.
import { BaselineSeries, ColorType, createChart } from "/vendor/lightweight-charts.mjs";
import { money } from "./decimal.js";
import { $, fill, h } from "./dom.js";

const REFRESH_MS = 2000; // at most one reload per this long, however many updates arrive

export class EquityChart {
  constructor(container) {
    this.container = container;
    this.chart = createChart(container, {
      autoSize: true,
      layout: { background: { type: ColorType.Solid, color: "#0f1722" }, textColor: "#c9d4e3" },
      grid: { vertLines: { color: "#1c2838" }, horzLines: { color: "#1c2838" } },
      timeScale: { timeVisible: true, secondsVisible: false, rightOffset: 2 },
      rightPriceScale: { borderColor: "#2a3a50" },
    });
    this.series = this.chart.addSeries(BaselineSeries, {
      topLineColor: "#26a69a", topFillColor1: "rgba(38, 166, 154, .28)", topFillColor2: "rgba(38, 166, 154, .05)",
      bottomLineColor: "#ef5350", bottomFillColor1: "rgba(239, 83, 80, .05)", bottomFillColor2: "rgba(239, 83, 80, .28)",
      lineWidth: 2,
    });
    this.period = "1D";
    this.points = [];
    this.timer = null;
    this.loading = Promise.resolve();
  }

  /** Load and draw the history of a period (default: the one shown). */
  show(api, period = this.period) {
    this.period = period;
    this.loading = this.loading.then(() => this.load(api)).catch((error) => console.warn("equity:", error.message));
    return this.loading;
  }

  async load(api) {
    const period = this.period;
    const [history, performance] = await Promise.all([
      api.get(`/account/portfolio/history?period=${encodeURIComponent(period)}`),
      api.get("/account/performance"),
    ]);
    if (period !== this.period) return; // another period was picked meanwhile
    this.points = history.timestamp.map((time, i) => ({ time, value: Number(history.equity[i]) }));
    this.series.applyOptions({ baseValue: { type: "price", price: Number(history.base_value) } });
    this.series.setData(this.points);
    this.chart.timeScale().fitContent();
    this.container.dataset.points = String(this.points.length);
    const last = history.equity.length - 1;
    const pnl = history.profit_loss[last];
    const share = history.profit_loss_pct[last];
    const percent = share === null ? "" : ` (${(Number(share) * 100).toFixed(2)}%)`;
    const result = $("#equity-summary");
    result.textContent = `Equity ${money(history.equity[last])} · P&L ${money(pnl)}${percent}`;
    result.className = Number(pnl) < 0 ? "loss" : Number(pnl) > 0 ? "gain" : "";
    const stats = [["Win rate", performance.win_rate_pct === null ? "–" : `${performance.win_rate_pct}%`],
      ["Max drawdown", `${money(performance.max_drawdown)} (${performance.max_drawdown_pct}%)`],
      ["Sharpe", performance.sharpe_ratio ?? "–"], ["Closed trades", String(performance.closed_trades)]];
    fill($("#equity-stats"), stats.flatMap(([label, text]) => [h("dt", {}, label), h("dd", { class: "num" }, text)]));
  }

  /** Reload soon: the account changed (a fill, an exit, a reset). */
  changed(api) {
    if (this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.show(api);
    }, REFRESH_MS);
  }

  /** Move the last point to the equity now (from live prices), between reloads. */
  live(equity) {
    const last = this.points.at(-1);
    if (!last || !Number.isFinite(equity)) return;
    last.value = equity;
    this.series.update(last);
  }
}
