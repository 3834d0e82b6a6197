"""The price hub, the simulator and the replay file reader."""

import asyncio
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from feeds.base import Backoff
from feeds.hub import PriceHub
from feeds.replay import ReplayFeed, load_ticks
from feeds.sim import SimFeed
from tests.support import Clock, quote
from trading.candles import Candle
from trading.market import Quote, Universe

T0 = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
universe = Universe.parse("sim:AAA=100,BBB=0.5432;yfinance:YYY")


class Recorder:
    """A sink that keeps what it is given."""

    def __init__(self) -> None:
        self.quotes: list[Quote] = []
        self.times: list[float] = []
        self.bars: dict[str, list[Candle]] = {}
        self._changed = asyncio.Event()

    def publish(self, q: Quote) -> bool:
        self.quotes.append(q)
        self.times.append(asyncio.get_running_loop().time())
        self._changed.set()
        return True

    def backfill(self, symbol: str, bars: list[Candle]) -> None:
        self.bars[symbol] = bars
        self._changed.set()

    async def wait_for(self, quotes: int = 0, bars: int = 0, within: float = 5.0) -> None:
        """Wait until at least this many quotes and backfilled symbols arrived."""
        async with asyncio.timeout(within):
            while len(self.quotes) < quotes or len(self.bars) < bars:
                self._changed.clear()
                await self._changed.wait()


def make_hub(clock: Clock) -> PriceHub:
    return PriceHub(universe, {"AAA": timedelta(seconds=30), "BBB": timedelta(seconds=30),
                               "YYY": timedelta(minutes=3)}, clock)


def test_hub_keeps_the_last_quote_and_drops_older_repeated_and_unknown_ones():
    clock = Clock(T0)
    hub = make_hub(clock)
    seen: list[Quote] = []
    hub.listeners.append(seen.append)
    assert hub.publish(quote("AAA", "101", T0))
    assert not hub.publish(quote("AAA", "100", T0 - timedelta(seconds=1)))
    assert not hub.publish(quote("AAA", "101", T0))
    assert not hub.publish(quote("ZZZ", "1", T0))
    assert hub.publish(quote("AAA", "102", T0 + timedelta(seconds=1)))
    assert [q.price for q in seen] == [Decimal(101), Decimal(102)]
    assert hub.view("AAA")["price"] == "102"


def test_staleness_turns_on_after_the_configured_time_and_off_with_a_fresh_tick():
    clock = Clock(T0)
    hub = make_hub(clock)
    went_stale: list[str] = []
    hub.stale_listeners.append(lambda q: went_stale.append(q.symbol))
    assert hub.view("AAA")["stale"] is True  # no price yet
    hub.publish(quote("AAA", "100", T0))
    hub.publish(quote("YYY", "100", T0, "yfinance"))
    assert hub.view("AAA")["stale"] is False
    clock.advance(timedelta(seconds=31))
    assert hub.view("AAA")["stale"] is True
    assert hub.view("YYY")["stale"] is False  # yfinance has its own, longer limit
    hub.check_staleness()
    hub.check_staleness()
    assert went_stale == ["AAA"]  # reported once
    hub.publish(quote("AAA", "101", clock()))
    assert hub.view("AAA")["stale"] is False
    clock.advance(timedelta(seconds=31))
    hub.check_staleness()
    assert went_stale == ["AAA", "AAA"]


def test_a_failing_listener_does_not_stop_the_others():
    hub = make_hub(Clock(T0))
    seen: list[Quote] = []

    def broken(q: Quote) -> None:
        raise RuntimeError("listener bug")

    hub.listeners.extend([broken, seen.append])
    hub.publish(quote("AAA", "100", T0))
    assert len(seen) == 1


def test_quote_payload_has_exact_string_prices_and_epoch_ms():
    hub = make_hub(Clock(T0))
    hub.publish(quote("BBB", "0.54320001", T0))
    assert hub.view("BBB") == {"symbol": "BBB", "price": "0.54320001",
                               "ts": int(T0.timestamp() * 1000), "source": "sim",
                               "stale": False}


def sim(seed: int) -> SimFeed:
    return SimFeed(universe.from_source("sim"), seed=seed, volatility=Decimal("0.01"),
                   interval=0.01, clock=lambda: T0)


def first_ticks(feed: SimFeed, n: int) -> list[list[tuple[str, Decimal]]]:
    steps = feed.steps()
    return [next(steps) for _ in range(n)]


def test_simulator_is_deterministic_for_a_seed():
    assert first_ticks(sim(7), 200) == first_ticks(sim(7), 200)
    assert first_ticks(sim(7), 5) != first_ticks(sim(8), 5)


def test_simulated_prices_move_stay_positive_and_keep_the_start_precision():
    ticks = first_ticks(sim(1), 500)
    aaa = [dict(tick)["AAA"] for tick in ticks]
    bbb = [dict(tick)["BBB"] for tick in ticks]
    assert len(set(aaa)) > 100
    assert all(p > 0 for p in aaa + bbb)
    assert all(p.as_tuple().exponent == -2 for p in aaa)
    assert all(p.as_tuple().exponent == -4 for p in bbb)


async def test_simulator_publishes_every_symbol_each_tick_with_its_source():
    sink = Recorder()
    task = asyncio.create_task(sim(3).run(sink))
    await sink.wait_for(quotes=6)
    task.cancel()
    assert {q.symbol for q in sink.quotes[:2]} == {"AAA", "BBB"}
    assert {q.source for q in sink.quotes} == {"sim"}


def write_csv(path, rows):
    path.write_text("ts,symbol,price\n" + "".join(f"{t},{s},{p}\n" for t, s, p in rows))
    return path


def test_replay_reads_csv_and_jsonl_with_iso_or_epoch_times(tmp_path):
    csv_path = write_csv(tmp_path / "ticks.csv", [
        ("2026-03-02T14:30:01Z", "aaa", "101"), ("2026-03-02T14:30:00Z", "AAA", "100")])
    jsonl = tmp_path / "ticks.jsonl"
    jsonl.write_text("\n".join(json.dumps(row) for row in [
        {"ts": 1772461800000, "symbol": "BBB", "price": "0.5"},
        {"ts": 1772461800.5, "symbol": "BBB", "price": 0.51}]))
    assert [(t.at, t.symbol, t.price) for t in load_ticks(csv_path, universe)] == [
        (0.0, "AAA", Decimal(100)), (1.0, "AAA", Decimal(101))]
    assert [(t.at, t.price) for t in load_ticks(jsonl, universe)] == [
        (0.0, Decimal("0.5")), (0.5, Decimal("0.51"))]


@pytest.mark.parametrize(("row", "message"), [
    (("2026-03-02T14:30:00Z", "NOPE", "1"), "row 1: Unknown symbol"),
    (("yesterday", "AAA", "1"), "row 1"),
    (("2026-03-02T14:30:00Z", "AAA", "-3"), "row 1"),
])
def test_replay_file_errors_name_the_row(tmp_path, row, message):
    with pytest.raises(ValueError, match=message):
        load_ticks(write_csv(tmp_path / "bad.csv", [row]), universe)


async def test_replay_keeps_the_recorded_spacing_divided_by_speed(tmp_path):
    ticks = load_ticks(write_csv(tmp_path / "t.csv", [
        (0, "AAA", "100"), (1, "AAA", "101"), (1, "BBB", "0.5"), (3, "AAA", "99")]), universe)
    sink = Recorder()
    await ReplayFeed(ticks, speed=20, loop=False, clock=lambda: T0).run(sink)
    assert [(q.symbol, q.price) for q in sink.quotes] == [
        ("AAA", Decimal(100)), ("AAA", Decimal(101)), ("BBB", Decimal("0.5")),
        ("AAA", Decimal(99))]
    # Each tick is due at its recorded time / speed after the first, not after the tick
    # before it, so one late tick does not delay the rest: never early, and late by
    # no more than a loaded machine's scheduling.
    offsets = [t - sink.times[0] for t in sink.times[1:]]
    for offset, due in zip(offsets, [0.05, 0.05, 0.15], strict=True):
        assert due - 0.005 <= offset <= due + 0.25, offsets
    assert {q.source for q in sink.quotes} == {"replay"}


async def test_looping_replay_starts_over(tmp_path):
    ticks = load_ticks(write_csv(tmp_path / "t.csv", [(0, "AAA", "1"), (1, "AAA", "2")]),
                       universe)
    sink = Recorder()
    task = asyncio.create_task(ReplayFeed(ticks, speed=0, loop=True,
                                          clock=lambda: T0).run(sink))
    await sink.wait_for(quotes=6)
    task.cancel()
    assert [q.price for q in sink.quotes[:6]] == [Decimal(p) for p in "121212"]


def test_backoff_grows_with_jitter_up_to_a_ceiling_and_resets():
    backoff = Backoff(first=1, most=8)
    delays = [backoff.next_delay() for _ in range(6)]
    for delay, ceiling in zip(delays, [1, 2, 4, 8, 8, 8], strict=True):
        assert ceiling / 2 <= delay <= ceiling
    backoff.reset()
    assert backoff.next_delay() <= 1
