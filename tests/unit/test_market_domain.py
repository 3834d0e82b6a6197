"""Symbols, quotes and candles: the pure market domain."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from trading.candles import (
    TIMEFRAMES,
    Candle,
    CandleBook,
    CandleSeries,
    aggregate,
    overlay,
    period_start,
)
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


def bar(start, o, h, low, c, ticks=1, partial=False):
    return Candle(start, Decimal(o), Decimal(h), Decimal(low), Decimal(c), ticks, partial)


def test_minute_bars_fold_into_longer_timeframes():
    bars = [bar(m * 60, 10 + m, 20 + m, 5 + m, 11 + m) for m in range(10)]
    five = aggregate(bars, 300)
    assert [(c.start, c.open, c.high, c.low, c.close, c.ticks, c.partial) for c in five] == [
        (0, 10, 24, 5, 15, 5, False), (300, 15, 29, 10, 20, 5, False)]
    # Bars that begin in the middle of a period make it partial; later ones are whole.
    late = aggregate(bars[2:], 300)
    assert [(c.start, c.open, c.partial) for c in late] == [(0, 12, True), (300, 15, False)]
    assert aggregate([], 60) == []


def test_timeframes_are_the_six_and_periods_align_to_utc_midnight():
    assert TIMEFRAMES == {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "4h": 14400,
                          "1d": 86400}
    moment = 1_767_283_259  # 2026-01-01T16:00:59Z
    assert period_start(moment, 86400) == 1_767_225_600  # 2026-01-01T00:00:00Z
    assert period_start(moment, 14400) == 1_767_283_200  # 16:00Z
    assert period_start(moment - 60, 14400) == 1_767_283_200 - 14400  # 15:59:59Z: 12:00Z


def test_the_first_candle_a_series_begins_is_partial_and_later_ones_are_whole():
    book = CandleBook(keep=4)
    book.add(Decimal(10), 90)  # joined at 00:01:30
    book.add(Decimal(11), 130)
    one = book.series["1m"].latest(10)
    assert [(c.start, c.open, c.partial) for c in one] == [(60, 10, True), (120, 11, False)]
    assert book.series["1d"].latest(10)[0].partial is True


def test_take_hands_over_copies_of_the_candles_changed_since_the_last_take():
    series = CandleSeries(60, keep=10)
    assert series.take() == []
    series.add(Decimal(10), 0)
    series.add(Decimal(11), 61)
    taken = series.take()
    assert [(c.start, c.close) for c in taken] == [(0, 10), (60, 11)]
    assert series.take() == []
    series.add(Decimal(12), 62)
    again = series.take()
    assert [(c.start, c.open, c.close, c.ticks) for c in again] == [(60, 11, 12, 2)]
    assert taken[1].close == 11  # a copy: later ticks do not change what was taken
    book = CandleBook(keep=10)
    book.add(Decimal(1), 0)
    assert set(book.take()) == set(TIMEFRAMES) and book.take() == {}


def test_a_sources_bar_gives_a_partial_candle_its_open_and_widens_it():
    series = CandleSeries(60, keep=10)
    series.add(Decimal(10), 30)  # joined mid-minute
    series.take()
    series.merge(bar(0, 8, 12, 7, 9, ticks=40))
    [candle] = series.latest(10)
    assert (candle.open, candle.high, candle.low, candle.close, candle.ticks, candle.partial) \
        == (8, 12, 7, 10, 40, False)
    assert [c.start for c in series.take()] == [0]
    series.merge(bar(0, 99, 99, 1, 50))  # a whole candle keeps its open
    assert (candle.open, candle.high, candle.low, candle.close) == (8, 99, 1, 10)
    series.merge(bar(-60, 1, 1, 1, 1))  # older than what is held: left to the store
    assert [c.start for c in series.latest(10)] == [0]
    series.merge(bar(60, 5, 6, 4, 5, partial=True))  # a newer period is taken whole
    assert [(c.start, c.open, c.partial) for c in series.latest(10)] == [(0, 8, False),
                                                                       (60, 5, True)]
    empty = CandleSeries(60, keep=10)
    empty.merge(bar(0, 3, 4, 2, 3))
    empty.add(Decimal(5), 20)  # ticks extend the bar the source gave
    assert [(c.open, c.high, c.close, c.ticks) for c in empty.latest(10)] == [(3, 5, 5, 2)]


def test_overlay_keeps_the_stored_open_under_a_partial_memory_and_the_newest_close():
    stored = bar(0, 10, 15, 8, 12, ticks=50)
    assert overlay(stored, bar(0, 13, 14, 7, 13.5, ticks=3, partial=True)) == bar(
        0, 10, 15, 7, 13.5, ticks=50)
    assert overlay(stored, bar(0, 10, 16, 8, 16, ticks=60)) == bar(0, 10, 16, 8, 16, ticks=60)
