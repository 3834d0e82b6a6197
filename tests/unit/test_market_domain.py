"""Symbols, quotes and candles: the pure market domain."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from trading.candles import Candle, CandleBook, CandleSeries
from trading.errors import InvalidInput, UnknownSymbol, UnknownSymbolInput
from trading.market import Quote, Universe, parse_price, validate_symbols

universe = Universe.parse("sim:BTCUSDT=65000,AAPL=190;yfinance:^NSEI,RELIANCE.NS,BRK-B;"
                          "binance:ETH-USDT")


@pytest.mark.parametrize(("text", "symbol"), [
    ("BTCUSDT", "BTCUSDT"), ("btc-usdt", "BTCUSDT"), ("BTC/USDT", "BTCUSDT"),
    (" btc_usdt ", "BTCUSDT"), ("ethusdt", "ETH-USDT"), ("^nsei", "^NSEI"),
    ("reliance.ns", "RELIANCE.NS"), ("BRKB", "BRK-B"), ("brk-b", "BRK-B"),
])
def test_any_common_spelling_resolves_to_the_configured_symbol(text, symbol):
    assert universe.resolve(text) == symbol


def test_unknown_symbol_raises_unknown_symbol():
    with pytest.raises(UnknownSymbol) as caught:
        universe.resolve("DOGEUSDT")
    assert caught.value.code == "unknown_symbol"


def test_parse_records_sources_and_sim_start_prices():
    assert universe.instruments["BTCUSDT"].start == Decimal(65000)
    assert universe.instruments["^NSEI"].source == "yfinance"
    assert [i.symbol for i in universe.from_source("binance")] == ["ETH-USDT"]


@pytest.mark.parametrize("spec", ["sim:BTCUSDT;binance:BTC-USDT", "nasdaq:AAPL", "AAPL",
                                  "sim:BAD SYMBOL", "sim:X=abc", "sim:X=-5"])
def test_bad_universe_specs_are_refused(spec):
    with pytest.raises(ValueError):
        Universe.parse(spec)


def test_validate_symbols_resolves_dedupes_and_names_unknown_ones():
    assert validate_symbols(universe, ["btc-usdt", "BTCUSDT", "aapl"], 5) == ["BTCUSDT", "AAPL"]
    with pytest.raises(UnknownSymbolInput) as caught:
        validate_symbols(universe, ["AAPL", "NOPE", "ALSO-NOPE"], 5)
    assert caught.value.details["symbols"] == ["NOPE", "ALSO-NOPE"]
    for bad in ("AAPL", [1, 2], None, {"AAPL": 1}):
        with pytest.raises(InvalidInput):
            validate_symbols(universe, bad, 5)
    with pytest.raises(InvalidInput):
        validate_symbols(universe, ["AAPL"] * 6, 5)


@pytest.mark.parametrize(("raw", "price"), [("43210.55", "43210.55"), (190, "190"),
                                            (0.1, "0.1"), ("1e-8", "1E-8")])
def test_prices_parse_exactly(raw, price):
    assert parse_price(raw) == Decimal(price)


@pytest.mark.parametrize("raw", ["abc", "-1", "0", "NaN", "Infinity", None, ""])
def test_non_prices_are_refused(raw):
    with pytest.raises(ValueError):
        parse_price(raw)


def test_quotes_refuse_naive_times_and_bad_prices():
    with pytest.raises(ValueError):
        Quote("AAPL", Decimal(1), datetime(2026, 1, 1), "sim")
    with pytest.raises(ValueError):
        Quote("AAPL", Decimal(0), datetime(2026, 1, 1, tzinfo=UTC), "sim")


def test_one_minute_candles_track_open_high_low_close():
    series = CandleSeries(60, keep=10)
    for second, price in [(0, "10"), (20, "12"), (40, "9"), (59, "11"), (60, "11.5")]:
        series.add(Decimal(price), 1_700_000_040 + second)
    first, second = series.latest(10)
    assert (first.start, first.open, first.high, first.low, first.close, first.ticks) == (
        1_700_000_040, Decimal(10), Decimal(12), Decimal(9), Decimal(11), 4)
    assert (second.start, second.open, second.close) == (1_700_000_100, Decimal("11.5"),
                                                         Decimal("11.5"))


def test_late_ticks_for_a_closed_candle_are_ignored_and_keep_is_bounded():
    series = CandleSeries(60, keep=3)
    for minute in range(5):
        series.add(Decimal(minute + 1), minute * 60)
    series.add(Decimal(999), 0)
    assert [c.start for c in series.latest(10)] == [120, 180, 240]
    assert all(c.high != Decimal(999) for c in series.latest(10))
    assert [c.start for c in series.latest(2)] == [180, 240]


def test_backfilled_minute_bars_roll_up_into_longer_intervals():
    book = CandleBook(keep=100)
    bars = [Candle(m * 60, Decimal(10 + m), Decimal(20 + m), Decimal(5 + m), Decimal(11 + m))
            for m in range(10)]
    book.backfill(bars)
    five = book.series["5m"].latest(10)
    assert [(c.start, c.open, c.high, c.low, c.close) for c in five] == [
        (0, Decimal(10), Decimal(24), Decimal(5), Decimal(15)),
        (300, Decimal(15), Decimal(29), Decimal(10), Decimal(20))]
    book.add(Decimal(50), 600)
    assert book.series["1h"].latest(1)[0].close == Decimal(50)
