// The forecast on the candle chart, while its toggle is on: GET /predict/{symbol},
// drawn as the mean (a dashed line) inside its 80 % and 95 % bands (shaded), with the
// server's disclaimer and backtest beside the chart. It is not advice, and says so.
import { LineSeries, LineStyle } from "/vendor/lightweight-charts.mjs";

const HORIZON = 60; // periods ahead
const BAND_95 = "rgba(245, 185, 66, 0.12)";
const BAND_80 = "rgba(245, 185, 66, 0.24)";

/** Shades the area between two prices of each point (a series primitive). */
class Bands {
  constructor() {
    this.points = [];
    this.chart = null;
    this.series = null;
    this.requestUpdate = null;
    const bands = this;
    this.view = { zOrder: () => "bottom", renderer: () => ({ draw: (target) => bands.draw(target) }) };
  }

  attached({ chart, series, requestUpdate }) {
    Object.assign(this, { chart, series, requestUpdate });
  }

  detached() {
    Object.assign(this, { chart: null, series: null, requestUpdate: null });
  }

  paneViews() { return [this.view]; }

  updateAllViews() {}

  set(points) {
    this.points = points;
    this.requestUpdate?.();
  }

  draw(target) {
    if (!this.chart || !this.series || this.points.length === 0) return;
    const timeScale = this.chart.timeScale();
    const at = (point, key) => ({
      x: timeScale.timeToCoordinate(point.time), y: this.series.priceToCoordinate(point[key]),
    });
    target.useMediaCoordinateSpace(({ context }) => {
      for (const [low, high, color] of [["lo95", "hi95", BAND_95], ["lo80", "hi80", BAND_80]]) {
        const upper = this.points.map((p) => at(p, high)).filter((c) => c.x !== null && c.y !== null);
        const lower = this.points.map((p) => at(p, low)).filter((c) => c.x !== null && c.y !== null);
        if (upper.length === 0 || lower.length === 0) continue;
        context.beginPath();
        [...upper, ...lower.reverse()].forEach((c, i) => (i ? context.lineTo(c.x, c.y) : context.moveTo(c.x, c.y)));
        context.closePath();
        context.fillStyle = color;
        context.fill();
      }
    });
  }
}

export class ForecastBand {
  /** candles: the CandleChart; toggle: a checkbox; note: where the disclaimer goes. */
  constructor(candles, toggle, note, api) {
    Object.assign(this, { candles, toggle, note, api });
    this.mean = candles.chart.addSeries(LineSeries, {
      color: "#f5b942", lineWidth: 2, lineStyle: LineStyle.Dashed, priceLineVisible: false,
      lastValueVisible: false, crosshairMarkerVisible: false,
    });
    this.bands = new Bands();
    this.mean.attachPrimitive(this.bands);
    this.generation = 0;
    this.shown = null; // [symbol, timeframe]
    toggle.addEventListener("change", () => this.show(...(this.shown ?? [])));
  }

  clear(message = "") {
    this.mean.setData([]);
    this.bands.set([]);
    this.note.textContent = message;
    this.note.hidden = message === "";
    this.candles.container.dataset.forecast = "0";
  }

  /** Draw the forecast of a symbol's closes, if the toggle is on. */
  async show(symbol, timeframe) {
    const generation = ++this.generation;
    this.shown = symbol ? [symbol, timeframe] : null;
    if (!symbol || !this.toggle.checked) return this.clear();
    this.clear("Fitting a forecast…");
    let body;
    try {
      const query = new URLSearchParams({ horizon: String(HORIZON), timeframe });
      body = await this.api.get(`/predict/${encodeURIComponent(symbol)}?${query}`);
    } catch (error) {
      if (generation === this.generation) this.clear(`No forecast: ${error.message}`);
      return;
    }
    if (generation !== this.generation) return; // another symbol or timeframe meanwhile
    const points = body.points.map((p) => ({
      time: p.t / 1000, value: Number(p.mean), lo80: Number(p.lo80), hi80: Number(p.hi80),
      lo95: Number(p.lo95), hi95: Number(p.hi95),
    }));
    this.mean.setData(points.map(({ time, value }) => ({ time, value })));
    this.bands.set(points);
    const test = body.backtest;
    const verdict = test.beats_naive ? "beat" : "did not beat";
    this.note.textContent = `${body.disclaimer} Model ${body.model.name}; over ${test.origins} `
      + `backtests ${test.horizon} periods ahead it ${verdict} "the next close = the last close" `
      + `(MASE ${test.mase ?? "n/a"} against ${test.naive_mase ?? "n/a"}, MAPE ${test.mape ?? "n/a"} % `
      + `against ${test.naive_mape ?? "n/a"} %).`;
    this.note.hidden = false;
    this.candles.container.dataset.forecast = String(points.length);
  }
}
