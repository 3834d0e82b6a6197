"""GET /api/v1/market/candles/{symbol}: timeframes, ranges, pages, hostile queries, and
candles that outlive the server."""

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import quote as urlquote

import pytest

from handlers import keys
from tests.e2e.test_cluster import pair, tick
from tests.support import quote, until
from trading.candles import Candle


def candle_settings(settings, **changes):
    market = settings.market
    return replace(settings, market=replace(market, candles=replace(market.candles, **changes)))


def publish(api, symbol: str, price: str, at: datetime) -> None:
    api.app[keys.MARKET].hub.publish(quote(symbol, price, at))


def minute(clock) -> datetime:
    return clock().replace(second=0, microsecond=0)


def bar(start: int, price: int) -> Candle:
    return Candle(start, Decimal(price), Decimal(price + 1), Decimal(price - 1), Decimal(price),
                  7)


async def candles(api, symbol="AAPL", **params):
    status, body = await api.call("GET", f"/api/v1/market/candles/{symbol}",
                                  params={k: str(v) for k, v in params.items()})
    assert status == 200, body
    return body


async def stored_minutes(api, clock, count: int, symbol="AAPL") -> list[int]:
    """count closed 1m candles before the current minute, in the store; their starts."""
    now = int(minute(clock).timestamp())
    starts = [now - 60 * (count - n) for n in range(count)]
    await api.app[keys.STORE].candles.insert_history(symbol, "1m", [
        bar(start, 100 + n % 50) for n, start in enumerate(starts)])
    return starts


async def test_every_timeframe_is_served_with_the_old_shape_and_a_cursor(api, clock):
    start = minute(clock)
    for offset, price in [(0, "10"), (10, "12"), (20, "9"), (70, "11")]:
        publish(api, "AAPL", price, start + timedelta(seconds=offset))
    body = await candles(api, timeframe="1m")
    assert set(body) == {"symbol", "timeframe", "interval", "candles", "next_cursor"}
    assert (body["symbol"], body["timeframe"], body["interval"], body["next_cursor"]) == (
        "AAPL", "1m", "1m", None)
    assert [(c["t"], c["o"], c["h"], c["l"], c["c"], c["ticks"]) for c in body["candles"]] == [
        (int(start.timestamp()) * 1000, "10", "12", "9", "9", 3),
        (int(start.timestamp()) * 1000 + 60_000, "11", "11", "11", "11", 1)]
    for timeframe, seconds in (("4h", 14400), ("1d", 86400)):
        body = await candles(api, timeframe=timeframe)
        assert [(c["t"] // 1000 % seconds, c["o"], c["h"], c["l"], c["c"]) for c in
                body["candles"]][-1][1:] == ("10", "12", "9", "11")
    assert (await candles(api, interval="15m"))["timeframe"] == "15m"
    assert (await candles(api, interval="5m", timeframe="5m"))["interval"] == "5m"


async def test_candles_survive_a_restart(servers, settings, clock):
    api = await servers.start(settings)
    start = minute(clock)
    for offset, price in [(0, "10"), (30, "14.5"), (61, "12")]:
        publish(api, "AAPL", price, start + timedelta(seconds=offset))
    before = await candles(api, timeframe="1m")
    daily = await candles(api, timeframe="1d")
    assert api.app[keys.MARKET].candles.recorder.written == 0  # nothing written yet
    await servers.stop(api)  # the shutdown writes them
    again = await servers.start(settings)
    assert await again.app[keys.STORE].candles.edge("AAPL", "1m", newest=True) is not None
    assert (await candles(again, timeframe="1m"))["candles"] == before["candles"]
    assert (await candles(again, timeframe="1d"))["candles"] == daily["candles"]
    # Live ticks after the restart extend the stored candle: its open stays.
    publish(again, "AAPL", "20", start + timedelta(seconds=62))
    [*_, last] = (await candles(again, timeframe="1m"))["candles"]
    assert (last["o"], last["h"], last["c"]) == ("12", "20", "20")
    [day] = (await candles(again, timeframe="1d"))["candles"]
    assert (day["o"], day["h"], day["l"], day["c"]) == ("10", "20", "10", "20")


async def test_the_recorder_writes_changed_candles_every_interval(servers, settings, clock):
    api = await servers.start(candle_settings(settings, flush_interval=0.05))
    publish(api, "MSFT", "420", clock())
    recorder = api.app[keys.MARKET].candles.recorder
    await until(lambda: recorder.written >= 6)  # the first flush writes every timeframe
    stored = api.app[keys.STORE].candles
    assert [c.close for c in await stored.window("MSFT", "1d", 0, 2**40, 5, False)] == [420]
    publish(api, "MSFT", "421", clock())

    async def minute_close() -> Decimal:
        [candle] = await stored.window("MSFT", "1m", 0, 2**40, 5, False)
        return candle.close

    # The next flushes write the minute's new close (a state of the database: polled).
    for _ in range(200):
        if await minute_close() == 421:
            break
        await asyncio.sleep(0.02)
    assert await minute_close() == 421


async def test_pages_walk_back_from_the_newest_and_forward_from_a_start(api, clock):
    starts = await stored_minutes(api, clock, 2500)
    now = minute(clock)
    publish(api, "AAPL", "99", now)  # the current candle, only in memory
    everything = [*starts, int(now.timestamp())]
    pages, cursor = [], None
    while True:
        body = await candles(api, limit=1000, **({"cursor": cursor} if cursor else {}))
        pages.append([c["t"] // 1000 for c in body["candles"]])
        if (cursor := body["next_cursor"]) is None:
            break
    assert [len(page) for page in pages] == [1000, 1000, 501]
    assert [t for page in reversed(pages) for t in page] == everything
    pages, cursor = [], None
    while True:
        params = {"start": everything[0] * 1000, "limit": 1000}
        body = await candles(api, **params, **({"cursor": cursor} if cursor else {}))
        pages.append([c["t"] // 1000 for c in body["candles"]])
        if (cursor := body["next_cursor"]) is None:
            break
    assert [t for page in pages for t in page] == everything
    assert [len(page) for page in pages] == [1000, 1000, 501]


async def test_start_and_end_take_epoch_ms_or_iso_8601_and_are_inclusive(api, clock):
    starts = await stored_minutes(api, clock, 30)
    first, last = starts[5], starts[9]
    iso = datetime.fromtimestamp(first, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for start in (first * 1000, iso, datetime.fromtimestamp(first, UTC).isoformat()):
        body = await candles(api, start=start, end=last * 1000)
        assert [c["t"] // 1000 for c in body["candles"]] == starts[5:10]
    shifted = datetime.fromtimestamp(first, UTC).astimezone(
        timezone(timedelta(hours=5, minutes=30))).isoformat()
    assert (await candles(api, start=shifted, limit=1))["candles"][0]["t"] == first * 1000
    naive = datetime.fromtimestamp(last, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    assert [c["t"] // 1000 for c in (await candles(api, end=naive, limit=2))["candles"]] == \
        starts[8:10]
    # A millisecond past a start excludes it; end alone gives the newest before it.
    assert (await candles(api, start=first * 1000 + 1, limit=1))["candles"][0]["t"] == \
        starts[6] * 1000
    body = await candles(api, end=last * 1000, limit=3)
    assert [c["t"] // 1000 for c in body["candles"]] == starts[7:10] and body["next_cursor"]


async def test_ranges_far_in_the_past_or_future_are_empty(api, clock):
    await stored_minutes(api, clock, 5)
    for params in ({"start": 0, "end": 1000}, {"start": "1970-01-01", "end": "1970-01-02"},
                   {"start": 253402300799999}, {"start": "9999-12-31T23:59:59Z"},
                   {"end": 0}, {"start": 1000, "end": 1000}):
        body = await candles(api, **params)
        assert (body["candles"], body["next_cursor"]) == ([], None), params


HOSTILE = [
    ("limit=0", "limit"), ("limit=-1", "limit"), ("limit=1001", "limit"),
    ("limit=" + "9" * 5000, "limit"), ("limit=1e3", "limit"), ("limit=10.0", "limit"),
    ("limit=%EF%BC%91%EF%BC%90", "limit"),  # full-width digits
    ("limit=%5B%5B%5B1%5D%5D%5D", "limit"), ("limit=", "limit"),
    ("timeframe=2m", "timeframe"), ("timeframe=1M", "timeframe"), ("timeframe=", "timeframe"),
    ("timeframe=1m%00", "timeframe"), ("timeframe=%D9%A1m", "timeframe"),  # Arabic-Indic 1
    ("timeframe=%7B%22%24ne%22%3A1%7D", "timeframe"), ("interval=2m", "interval"),
    ("timeframe=1m&interval=5m", "timeframe"), ("timeframe=" + "1m" * 3000, "timeframe"),
    ("start=-1", "start"), ("start=abc", "start"), ("start=2026-13-01", "start"),
    ("start=0001-01-01", "start"), ("start=1e12", "start"), ("start=253402300800000", "start"),
    ("start=99999999999999999999", "start"), ("start=%EF%BC%92026-01-01", "start"),
    ("start=%5B%5B%5B%5B%5D%5D%5D%5D", "start"), ("start=%7B%22%24gt%22%3A0%7D", "start"),
    ("start=2026-01-01T00:00:00%2B99:99", "start"), ("start=" + "2" * 5000, "start"),
    ("end=2026-02-30", "end"), ("end=now", "end"), ("end=1.5", "end"),
    ("start=2000&end=1000", "start"), ("start=2026-01-02&end=2026-01-01", "start"),
    ("cursor=nope!", "cursor"), ("cursor=" + "A" * 5000, "cursor"),
    ("cursor=%F0%9F%92%A5", "cursor"),
]


@pytest.mark.parametrize(("query", "field"), HOSTILE)
async def test_hostile_queries_are_400_naming_the_field(api, query, field):
    status, body = await api.call("GET", f"/api/v1/market/candles/AAPL?{query}")
    assert status == 400, body
    assert (body["error"]["code"], body["error"]["details"]["field"]) == ("validation_error",
                                                                         field)


async def test_a_cursor_serves_only_its_own_symbol_timeframe_and_direction(api, clock):
    await stored_minutes(api, clock, 10)
    await stored_minutes(api, clock, 10, symbol="MSFT")
    cursor = (await candles(api, limit=2))["next_cursor"]
    assert (await candles(api, limit=2, cursor=cursor))["candles"]
    for path, params in (("MSFT", {}), ("AAPL", {"timeframe": "5m"}), ("AAPL", {"start": 0})):
        status, body = await api.call("GET", f"/api/v1/market/candles/{path}",
                                      params={"cursor": cursor, **params})
        assert (status, body["error"]["details"]["field"]) == (400, "cursor")


async def test_unknown_query_keys_and_nested_looking_names_are_ignored(api, clock):
    await stored_minutes(api, clock, 3)
    status, body = await api.call(
        "GET", "/api/v1/market/candles/AAPL?limit[0][1][2]=5&start[$gt]=0&x=%F0%9F%92%A5")
    assert status == 200 and len(body["candles"]) == 3


@pytest.mark.parametrize("symbol", ["DOGE", "%F0%9F%92%A5", "A" * 300, "%E2%80%AEAAPL"])
async def test_unknown_or_hostile_symbols_are_404(api, symbol):
    status, body = await api.call("GET", f"/api/v1/market/candles/{symbol}")
    assert (status, body["error"]["code"]) == (404, "unknown_symbol")


async def test_a_symbol_is_found_by_any_spelling(api, clock):
    await stored_minutes(api, clock, 2, symbol="BTCUSDT")
    body = await candles(api, symbol=urlquote("btc-usdt"))
    assert body["symbol"] == "BTCUSDT" and len(body["candles"]) == 2


async def test_in_a_cluster_the_leader_writes_candles_and_a_follower_reads_them(
        servers, redis_settings, clock):
    leader, follower = await pair(servers, redis_settings)
    assert leader.app[keys.MARKET].candles.writing
    assert not follower.app[keys.MARKET].candles.writing
    tick(leader, "AAPL", "100")
    await until(lambda: follower.app[keys.MARKET].hub.last.get("AAPL") is not None)
    assert await leader.app[keys.MARKET].candles.recorder.flush() == 6
    assert follower.app[keys.MARKET].candles.recorder.task is None  # it never writes
    body = await candles(follower, timeframe="1d")
    assert [(c["o"], c["c"]) for c in body["candles"]] == [("100", "100")]
