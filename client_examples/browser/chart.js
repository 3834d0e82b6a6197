// The candlestick chart of the selected symbol: history from the candles endpoint
// (at least a day of it, page by page), then every live price folded into the
// current candle.
import { CandlestickSeries, ColorType, createChart } from "/vendor/lightweight-charts.mjs";
import { priceDecimalsOf } from "./decimal.js";

const INTERVAL_SECONDS = { "1m": 60, "5m": 300, "15m": 900, "1h": 3600, "4h": 14400, "1d": 86400 };
const HISTORY_SECONDS = 24 * 3600; // the chart opens with at least a day
const PAGE = 1000; // the largest page the endpoint gives
const MAX_PAGES = 3;

export class CandleChart {
  constructor(container) {
    this.container = container;
    this.chart = createChart(container, {
      autoSize: true,
      layout: { background: { type: ColorType.Solid, color: "#0f1722" }, textColor: "#c9d4e3" },
      grid: { vertLines: { color: "#1c2838" }, horzLines: { color: "#1c2838" } },
      timeScale: { timeVisible: true, secondsVisible: false, rightOffset: 6, barSpacing: 10 },
      rightPriceScale: { borderColor: "#2a3a50" },
    });
    this.series = this.chart.addSeries(CandlestickSeries, {
      upColor: "#26a69a", downColor: "#ef5350", wickUpColor: "#26a69a",
      wickDownColor: "#ef5350", borderVisible: false,
    });
    this.symbol = null;
    this.interval = "1m";
    this.last = null;
    this.generation = 0;
  }

  /** Show a symbol's candles; prices that arrive meanwhile are not lost. */
  async show(api, symbol, interval = this.interval) {
    const generation = ++this.generation;
    this.symbol = symbol;
    this.interval = interval;
    this.last = null;
    this.series.setData([]);
    const places = priceDecimalsOf(symbol); // the scale's labels at the symbol's tick
    if (places !== null) this.series.applyOptions({ priceFormat: { type: "price", precision: places, minMove: 10 ** -places } });
    const candles = await history(api, symbol, interval);
    if (generation !== this.generation) return; // another symbol was picked meanwhile
    const bars = candles.map((c) => ({
      time: c.t / 1000, open: Number(c.o), high: Number(c.h), low: Number(c.l), close: Number(c.c),
    }));
    this.series.setData(bars);
    this.last = bars.at(-1) ?? null;
    // What is drawn, for people and tests reading the page.
    this.container.dataset.bars = String(bars.length);
    this.container.dataset.span = String(bars.length ? bars.at(-1).time - bars[0].time : 0);
    this.chart.timeScale().scrollToRealTime();
  }

  /** Fold a live quote of the shown symbol into the current candle. */
  tick(quote) {
    if (quote.symbol !== this.symbol || quote.price === null || quote.stale) return;
    const step = INTERVAL_SECONDS[this.interval];
    const time = Math.floor(quote.ts / 1000 / step) * step;
    const price = Number(quote.price);
    if (this.last && time < this.last.time) return; // older than what is drawn
    const bar = this.last && this.last.time === time
      ? { ...this.last, high: Math.max(this.last.high, price), low: Math.min(this.last.low, price), close: price }
      : { time, open: price, high: price, low: price, close: price };
    this.series.update(bar);
    this.last = bar;
  }
}

/** The newest candles, newest page first, going back until they span a day (or run out). */
async function history(api, symbol, interval) {
  const path = `/market/candles/${encodeURIComponent(symbol)}`;
  let candles = [];
  let cursor = null;
  for (let page = 0; page < MAX_PAGES; page++) {
    const query = new URLSearchParams({ timeframe: interval, limit: String(PAGE) });
    if (cursor) query.set("cursor", cursor);
    const body = await api.get(`${path}?${query}`);
    candles = [...body.candles, ...candles];
    cursor = body.next_cursor;
    const span = candles.length ? (candles.at(-1).t - candles[0].t) / 1000 : 0;
    if (!cursor || span >= HISTORY_SECONDS) break;
  }
  return candles;
}
