"""Market hours against the real app: the clock, the calendar, market orders refused while
a market is closed, resting orders waiting for the open, and the simulator holding still.

Each test logs in at the real time (tokens are checked against the wall clock), then
moves the app's clock to the moment it is about: a Saturday, Christmas, 03:00 in New
York. Every answer depends on that clock alone, so the suite passes on any day.
"""

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from handlers import keys
from tests.e2e.test_assets import HOSTILE
from tests.e2e.trading_support import assert_books_balance, order, set_price
from trading.market import Quote

SATURDAY = datetime(2026, 1, 3, 15, tzinfo=UTC)             # 10:00 in New York
CHRISTMAS = datetime(2025, 12, 25, 15, tzinfo=UTC)          # a Thursday
NIGHT = datetime(2026, 1, 6, 8, tzinfo=UTC)                 # a Tuesday, 03:00 in New York
TUESDAY = datetime(2026, 1, 6, 15, tzinfo=UTC)              # 10:00 in New York
MONDAY_OPEN = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)


def enforcing(settings, **market):
    return replace(settings, market=replace(settings.market, hours="enforce", **market))


@pytest.fixture
async def enforced(servers, settings):
    return await servers.start(enforcing(settings))


async def trader_at(api, clock, moment) -> str:
    """Log in now, then move the clock to moment and price AAPL, BTCUSDT, RELIANCE.NS."""
    tokens = await api.account()
    clock.now = moment
    for symbol, price in (("AAPL", "190"), ("BTCUSDT", "65000"), ("RELIANCE.NS", "2900"),
                          ("USDINR", "83.25")):
        set_price(api, symbol, price)
    return tokens["access_token"]


async def test_clock_tells_each_exchange_and_its_next_open_and_close(enforced, clock):
    clock.now = SATURDAY
    status, body = await enforced.call("GET", "/api/v1/clock")
    assert status == 200 and body["market_hours"] == "enforce"
    clocks = {c["exchange"]: c for c in body["clocks"]}
    assert clocks["XNYS"] == {
        "exchange": "XNYS", "timezone": "America/New_York",
        "timestamp": "2026-01-03T10:00:00-05:00", "is_open": False,
        "next_open": "2026-01-05T09:30:00-05:00", "next_close": "2026-01-05T16:00:00-05:00"}
    assert (clocks["XNSE"]["next_open"], clocks["XBOM"]["timezone"]) == (
        "2026-01-05T09:15:00+05:30", "Asia/Kolkata")
    assert clocks["CRYPTO"] == {"exchange": "CRYPTO", "timezone": "UTC",
                                "timestamp": "2026-01-03T15:00:00+00:00", "is_open": True,
                                "next_open": None, "next_close": None}
    clock.now = TUESDAY
    status, body = await enforced.call("GET", "/api/v1/clock?exchange=nyse")
    assert [(c["exchange"], c["is_open"], c["next_open"], c["next_close"])
            for c in body["clocks"]] == [("XNYS", True, "2026-01-07T09:30:00-05:00",
                                          "2026-01-06T16:00:00-05:00")]


async def test_calendar_skips_holidays_and_keeps_early_closes(enforced):
    status, body = await enforced.call(
        "GET", "/api/v1/calendar?exchange=XNYS&start=2025-12-22&end=2026-01-02")
    assert status == 200
    assert (body["exchange"], body["timezone"], body["start"], body["end"]) == (
        "XNYS", "America/New_York", "2025-12-22", "2026-01-02")
    sessions = {s["date"]: (s["open"], s["close"]) for s in body["sessions"]}
    assert sorted(sessions) == ["2025-12-22", "2025-12-23", "2025-12-24", "2025-12-26",
                                "2025-12-29", "2025-12-30", "2025-12-31", "2026-01-02"]
    assert sessions["2025-12-24"] == ("2025-12-24T09:30:00-05:00", "2025-12-24T13:00:00-05:00")
    _, body = await enforced.call(
        "GET", "/api/v1/calendar?exchange=nse&start=2025-12-24&end=2025-12-26")
    assert [(s["date"], s["open"]) for s in body["sessions"]] == [
        ("2025-12-24", "2025-12-24T09:15:00+05:30"), ("2025-12-26", "2025-12-26T09:15:00+05:30")]
    assert body["known_until"] is not None
    _, body = await enforced.call("GET", "/api/v1/calendar?exchange=crypto&start=2025-12-24"
                                         "&end=2025-12-25")
    assert [s["date"] for s in body["sessions"]] == ["2025-12-24", "2025-12-25"]


async def test_calendar_defaults_to_new_york_for_thirty_days_from_today(enforced, clock):
    clock.now = SATURDAY
    status, body = await enforced.call("GET", "/api/v1/calendar")
    assert (status, body["exchange"], body["start"], body["end"]) == (
        200, "XNYS", "2026-01-03", "2026-02-01")
    assert body["sessions"][0]["date"] == "2026-01-05"
    _, body = await enforced.call("GET", "/api/v1/calendar?start=2026-12-01&end=2027-11-30")
    assert body["end"] == "2027-11-30"  # 365 days: allowed


@pytest.mark.parametrize(("query", "field"), [
    ("start=2026-01-10&end=2026-01-09", "end"),
    ("start=2025-01-01&end=2026-01-02", "end"),       # 367 days
    ("start=2025-13-01", "start"), ("start=2025-02-30", "start"), ("start=2025-1-1", "start"),
    ("start=1999-12-31", "start"), ("end=2100-01-01", "end"), ("exchange=LSE", "exchange"),
])
async def test_bad_calendar_ranges_are_400(enforced, query, field):
    status, body = await enforced.call("GET", f"/api/v1/calendar?{query}")
    assert (status, body["error"]["details"]["field"]) == (400, field), body


@pytest.mark.parametrize(("path", "name"), [("/api/v1/clock", "exchange"),
                                            ("/api/v1/calendar", "exchange"),
                                            ("/api/v1/calendar", "start"),
                                            ("/api/v1/calendar", "end")])
async def test_hostile_clock_and_calendar_queries_are_400_naming_the_parameter(
        enforced, path, name):
    for value in HOSTILE:
        status, body = await enforced.call("GET", path, params={name: value})
        assert (status, body["error"]["code"], body["error"]["details"]["field"]) == (
            400, "validation_error", name), (value[:40], body)


@pytest.mark.parametrize(("moment", "closed", "open_"), [
    (SATURDAY, ["AAPL", "RELIANCE.NS"], ["BTCUSDT"]),
    (CHRISTMAS, ["AAPL", "RELIANCE.NS"], ["BTCUSDT"]),
    (NIGHT, ["AAPL"], ["BTCUSDT", "RELIANCE.NS"]),  # 13:30 in Mumbai
], ids=["saturday", "christmas", "night"])
async def test_market_orders_for_a_closed_market_are_409_market_closed(enforced, clock, moment,
                                                                        closed, open_):
    token = await trader_at(enforced, clock, moment)
    for symbol in closed:
        status, body = await order(enforced, token, symbol=symbol, quantity="1")
        assert (status, body["error"]["code"]) == (409, "market_closed"), body
        assert body["error"]["details"]["exchange"] in ("XNYS", "XNSE")
        assert "market is closed" in body["error"]["message"]
    for symbol in open_:
        quantity = "0.01" if symbol == "BTCUSDT" else "1"
        status, body = await order(enforced, token, symbol=symbol, quantity=quantity)
        assert (status, body["order"]["status"]) == (201, "filled")
    _, orders = await enforced.call("GET", "/api/v1/orders", token=token)
    assert sorted(o["symbol"] for o in orders["orders"]) == sorted(open_)


async def test_orders_that_must_fill_now_are_refused_while_closed(enforced, clock):
    token = await trader_at(enforced, clock, SATURDAY)
    for fields in ({"type": "limit", "limit_price": "191", "time_in_force": "ioc"},
                   {"type": "limit", "limit_price": "191", "time_in_force": "fok"},
                   {"notional": "500", "quantity": None}):
        status, body = await order(enforced, token, **fields)
        assert (status, body["error"]["code"]) == (409, "market_closed"), (fields, body)
    _, orders = await enforced.call("GET", "/api/v1/orders", token=token)
    assert orders["orders"] == []


async def test_the_refusal_names_the_next_open(enforced, clock):
    token = await trader_at(enforced, clock, CHRISTMAS)
    _, body = await order(enforced, token)
    assert body["error"]["details"] == {"exchange": "XNYS",
                                        "next_open": "2025-12-26T14:30:00+00:00"}


async def test_market_orders_fill_while_the_market_is_open(enforced, clock):
    token = await trader_at(enforced, clock, TUESDAY)
    status, body = await order(enforced, token, quantity="2")
    assert (status, body["order"]["status"], body["order"]["filled_price"]) == (201, "filled",
                                                                                "190")


async def test_a_limit_order_rests_while_closed_and_fills_on_the_first_tick_after_the_open(
        enforced, clock):
    token = await trader_at(enforced, clock, SATURDAY)
    sock = await enforced.socket(token)
    status, body = await order(enforced, token, type="limit", limit_price="191", quantity="3")
    assert (status, body["order"]["status"]) == (201, "open")
    assert (await sock.next("order_update"))["order"]["status"] == "open"
    clock.now = MONDAY_OPEN + timedelta(seconds=1)
    set_price(enforced, "AAPL", "190.50")
    filled = (await sock.next("order_update"))["order"]
    assert (filled["id"], filled["status"], filled["filled_price"]) == (
        body["order"]["id"], "filled", "190.5")


async def test_a_closed_markets_last_price_stays_fresh_and_crypto_goes_stale(enforced, clock,
                                                                           later):
    await trader_at(enforced, clock, SATURDAY)
    later(hours=5)
    _, aapl = await enforced.call("GET", "/api/v1/market/quotes/AAPL")
    _, btc = await enforced.call("GET", "/api/v1/market/quotes/BTCUSDT")
    assert (aapl["price"], aapl["stale"], btc["stale"]) == ("190", False, True)


async def test_socket_orders_get_market_closed_too(enforced, clock):
    token = await trader_at(enforced, clock, SATURDAY)
    sock = await enforced.socket(token)
    ack = await sock.call("place_order", {"symbol": "AAPL", "side": "buy", "quantity": "1"})
    assert (ack["ok"], ack["error"]["code"]) == (False, "market_closed")


async def test_with_hours_ignored_every_market_trades_and_the_clock_still_tells(api, clock):
    token = await trader_at(api, clock, SATURDAY)
    status, body = await order(api, token, quantity="1")
    assert (status, body["order"]["status"]) == (201, "filled")
    _, body = await api.call("GET", "/api/v1/clock?exchange=XNYS")
    assert (body["market_hours"], body["clocks"][0]["is_open"]) == ("ignore", False)


async def test_the_simulator_holds_a_closed_stock_still_and_moves_crypto(servers, settings,
                                                                       clock):
    clock.now = SATURDAY
    api = await servers.start(enforcing(settings, symbols="sim:AAPL=100,BTCUSDT=65000",
                                        sim_interval=0.005), feeds=None)
    hub = api.app[keys.MARKET].hub
    seen: list[Quote] = []
    enough, reopened = asyncio.Event(), asyncio.Event()

    def record(quote: Quote) -> None:
        seen.append(quote)
        if sum(1 for q in seen if q.symbol == "BTCUSDT") >= 30:
            enough.set()
        if quote.symbol == "AAPL" and quote.ts >= MONDAY_OPEN:
            reopened.set()

    hub.listeners.append(record)
    async with asyncio.timeout(10):
        await enough.wait()
    held = [q for q in seen if q.symbol == "AAPL"]
    assert len(held) <= 1  # the first tick publishes the held price, unless it came first
    _, aapl = await api.call("GET", "/api/v1/market/quotes/AAPL")
    assert (aapl["price"], aapl["stale"]) == ("100.00", False)
    assert len({q.price for q in seen if q.symbol == "BTCUSDT"}) > 5
    clock.now = MONDAY_OPEN
    async with asyncio.timeout(10):
        await reopened.wait()


async def monitor_done(api) -> None:
    """Wait for what the monitor's last ticks set off."""
    while tasks := set(api.app[keys.MONITOR].tasks):
        await asyncio.gather(*tasks)


async def test_a_market_order_for_the_open_waits_while_closed_and_fills_on_the_first_tick_after(
        enforced, clock):
    token = await trader_at(enforced, clock, SATURDAY)
    sock = await enforced.socket(token)
    status, body = await order(enforced, token, quantity="10", time_in_force="opg")
    placed = body["order"]
    assert (status, placed["status"], placed["time_in_force"]) == (201, "open", "opg")
    assert (await sock.next("order_update"))["order"]["status"] == "open"
    _, account = await enforced.call("GET", "/api/v1/account", token=token)
    assert account["account"]["reserved"] == "1900"  # 10 at 190, the price now
    set_price(enforced, "AAPL", "189")  # a tick while closed (Yahoo polls on) fills nothing
    await monitor_done(enforced)
    _, still = await enforced.call("GET", f"/api/v1/orders/{placed['id']}", token=token)
    assert still["order"]["status"] == "open"
    clock.now = MONDAY_OPEN + timedelta(seconds=1)
    set_price(enforced, "AAPL", "195")  # it opens higher: the fill pays the difference
    filled = (await sock.next("order_update"))["order"]
    assert (filled["id"], filled["status"], filled["filled_price"]) == (placed["id"], "filled",
                                                                        "195")
    _, account = await enforced.call("GET", "/api/v1/account", token=token)
    assert (account["account"]["reserved"], account["account"]["margin_used"]) == ("0", "1950")
    await assert_books_balance(enforced)


@pytest.mark.parametrize(("moment", "fields", "says"), [
    (TUESDAY, {}, "open now"),  # New York is open
    (SATURDAY, {"symbol": "BTCUSDT", "quantity": "0.01"}, "open now"),  # crypto never closes
    (SATURDAY, {"type": "limit", "limit_price": "190"}, "for market orders"),
    (SATURDAY, {"type": "stop", "stop_price": "200"}, "for market orders"),
    (SATURDAY, {"order_class": "bracket", "take_profit": {"limit_price": "200"},
                "stop_loss": {"stop_price": "180"}}, "A bracket order is gtc or day"),
], ids=["open", "crypto", "limit", "stop", "bracket"])
async def test_a_market_order_for_the_open_is_refused_where_it_cannot_wait(
        enforced, clock, moment, fields, says):
    token = await trader_at(enforced, clock, moment)
    status, body = await order(enforced, token, **{"time_in_force": "opg", **fields})
    assert (status, body["error"]["code"]) == (400, "validation_error"), body
    assert body["error"]["details"]["field"] == "time_in_force" and says in \
        body["error"]["message"]
    _, orders = await enforced.call("GET", "/api/v1/orders", token=token)
    assert orders["orders"] == []


async def test_with_hours_ignored_a_market_order_for_the_open_is_refused(api, clock):
    token = await trader_at(api, clock, SATURDAY)
    status, body = await order(api, token, time_in_force="opg")
    assert (status, body["error"]["code"]) == (400, "validation_error")
    assert "MARKET_HOURS=ignore" in body["error"]["message"]


async def test_a_market_order_for_the_open_is_cancelled_not_replaced(enforced, clock):
    token = await trader_at(enforced, clock, SATURDAY)
    _, body = await order(enforced, token, quantity="1", time_in_force="opg")
    order_id = body["order"]["id"]
    status, refused = await enforced.call("PATCH", f"/api/v1/orders/{order_id}",
                                          {"quantity": "2"}, token=token)
    assert (status, refused["error"]["details"]["field"]) == (400, "time_in_force")
    status, cancelled = await enforced.call("DELETE", f"/api/v1/orders/{order_id}", token=token)
    assert (status, cancelled["order"]["status"]) == (200, "canceled")
    _, account = await enforced.call("GET", "/api/v1/account", token=token)
    assert account["account"]["reserved"] == "0"
    await assert_books_balance(enforced)
