"""Equity snapshots taken on the app's clock, and GET /api/v1/account/portfolio/history."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from handlers import keys
from services.auth import new_id
from tests.e2e.trading_support import order, set_price
from tests.support import Clock

PATH = "/api/v1/account/portfolio/history"
MINUTE = timedelta(minutes=1)


@pytest.fixture
def clock() -> Clock:
    """Ten seconds into the current minute (tokens are checked on the wall clock), so one
    advance of a minute always makes a pass due."""
    now = datetime.now(UTC)  # never ahead of the wall clock, which checks tokens
    return Clock((now if now.second >= 10 else now - MINUTE).replace(second=10, microsecond=0))


def minute(moment: datetime, minutes: int = 0) -> int:
    """The epoch second of moment's minute, and of minutes after it."""
    return int(moment.replace(second=0).timestamp()) + 60 * minutes


def day(moment: datetime) -> int:
    return int(moment.replace(hour=0, minute=0, second=0).timestamp())


@pytest.fixture
async def trader(api):
    tokens = await api.account()
    set_price(api, "AAPL", "100")
    return tokens


def snapshots_of(api):
    return api.app[keys.HISTORY]


async def stored(api, user_id):
    cursor = api.app[keys.STORE].db["equity_snapshots"].find({"user_id": user_id}).sort("at", 1)
    return [(doc["at"], doc["equity"] / 10**8, doc["period"]) async for doc in cursor]


async def next_pass(api, later, price=None, minutes=1):
    """Move the clock on, keep AAPL fresh (at price, if given), and run the pass."""
    later(minutes=minutes)
    set_price(api, "AAPL", price or str(api.app[keys.MARKET].hub.last["AAPL"].price))
    return await snapshots_of(api).tick()


async def history(api, token, **params):
    status, body = await api.call("GET", PATH, token=token, params=params)
    assert status == 200, body
    return body


async def test_passes_follow_the_clock_and_take_active_and_open_accounts_only(
        api, trader, later, clock):
    user_id, token = trader["user"]["id"], trader["access_token"]
    idle = await api.account("idle@example.com", "Idle")
    assert await snapshots_of(api).tick() == 0  # not due: the clock has not moved
    await order(api, token, quantity="10")
    assert await next_pass(api, later) == 1  # the trader (active), not the idle account
    assert await snapshots_of(api).tick() == 0  # once per interval
    assert await next_pass(api, later, "101") == 1  # open trades: every pass
    assert await next_pass(api, later, "102") == 1
    [trade] = (await api.call("GET", "/api/v1/trades", token=token))[1]["trades"]
    await api.call("POST", f"/api/v1/trades/{trade['id']}/exit", token=token)
    assert await next_pass(api, later, "103") == 1  # closed since: active once more
    assert await next_pass(api, later, "104") == 0  # nothing open, nothing happened
    assert [equity for _, equity, _ in await stored(api, user_id)] == [
        100000, 100010, 100020, 100020]
    assert await stored(api, idle["user"]["id"]) == []


async def test_a_pass_is_bounded_and_open_accounts_take_turns(servers, settings, clock, later):
    capped = replace(settings, history=replace(settings.history, snapshots_per_pass=3))
    api = await servers.start(capped)
    set_price(api, "AAPL", "100")
    users = [await api.account(f"u{n}@example.com", f"U{n}") for n in range(7)]
    for user in users:
        await order(api, user["access_token"], quantity="1")
    taken = [await next_pass(api, later) for _ in range(3)]
    assert taken == [3, 3, 3]  # 7 active: 3, 3, then 1 plus 2 with open trades
    counts = [len(await stored(api, user["user"]["id"])) for user in users]
    assert sorted(counts) == [1, 1, 1, 1, 1, 2, 2]
    for _ in range(4):
        assert await next_pass(api, later) == 3
    counts = [len(await stored(api, user["user"]["id"])) for user in users]
    assert max(counts) - min(counts) <= 1 and sum(counts) == 21  # in turn, none left out


async def test_turns_go_round_when_the_pass_holds_exactly_the_open_accounts(
        servers, settings, clock, later):
    capped = replace(settings, history=replace(settings.history, snapshots_per_pass=2))
    api = await servers.start(capped)
    set_price(api, "AAPL", "100")
    for n in range(2):
        await order(api, (await api.account(f"u{n}@example.com", f"U{n}"))["access_token"],
                    quantity="1")
    assert [await next_pass(api, later) for _ in range(5)] == [2] * 5


async def test_a_pass_over_many_accounts_reads_and_writes_in_batches(api, later, clock):
    """1,200 accounts with an open trade each, stored directly: a pass takes them all,
    500 at a time, and the next one again (they hold open trades)."""
    db, now = api.app[keys.STORE].db, clock()
    users = [new_id() for _ in range(1200)]
    await db["accounts"].insert_many([
        {"_id": u, "user_id": u, "currency": "USD", "initial": 10**13, "cash": 10**13,
         "reserved": 0, "margin_used": 10**10, "available": 10**13 - 10**10,
         "realized_pnl": 0, "fees": 0, "resets": 0, "event_seq": 0, "created_at": now,
         "updated_at": now} for u in users])
    await db["trades"].insert_many([
        {"_id": new_id(), "user_id": u, "order_id": "o", "symbol": "AAPL", "side": "buy",
         "quantity": 10**9, "initial_quantity": 10**9, "entry_price": 10**10, "status": "open",
         "margin": 10**10, "fees": 0, "realized_pnl": 0, "exits": [], "opened_at": now}
        for u in users])
    # The first pass (leading from the start) finds every account with open trades.
    for price in ("101", "102", "103", "104"):  # every pass, whole turns
        assert await next_pass(api, later, price) == 1200
    equities = {doc["equity"] async for doc in db["equity_snapshots"].find({"at": clock()})}
    assert equities == {(100000 + 40) * 10**8}
    assert await db["equity_marks"].count_documents({"watch": True}) == 1200


async def test_history_shows_equity_and_pnl_against_the_start_per_minute(api, trader, later,
                                                                         clock):
    token, created = trader["access_token"], clock()
    await order(api, token, quantity="10")  # at 100
    for price in ("101", "99", "103"):
        await next_pass(api, later, price)
    set_price(api, "AAPL", "104")  # now, between passes: the last point is live
    body = await history(api, token, period="1D", timeframe="1Min")
    assert (body["timeframe"], body["period"], body["period_id"], body["base_value"]) == (
        "1Min", "1D", 0, "100000")
    # The account was created at hh:mm:10 (the first minute shown); passes one, two and
    # three minutes later (each the equity of its minute's end).
    assert body["timestamp"] == [minute(created, n) for n in range(4)]
    assert body["equity"] == ["100000", "100010", "99990", "100040"]
    assert body["profit_loss"] == ["0", "10", "-10", "40"]
    assert body["profit_loss_pct"] == ["0", "0.0001", "-0.0001", "0.0004"]
    five = await history(api, token, period="1D", timeframe="5Min")
    assert five["equity"][-1] == "100040" and len(five["timestamp"]) in (1, 2)
    assert five["timestamp"][0] == minute(created) // 300 * 300
    default = await history(api, token, period="1D")
    assert default["timeframe"] == "1Min" and default["equity"] == body["equity"]


async def test_a_window_shorter_than_the_period_starts_from_the_equity_before_it(
        api, trader, later, clock):
    token, created = trader["access_token"], clock()
    await order(api, token, quantity="10")
    await next_pass(api, later, "110")  # 100100, a minute in
    first = clock()
    await next_pass(api, later, "120", minutes=60 * 24)  # a day later: 100200
    second = clock()
    body = await history(api, token, period="1D", timeframe="1H")
    assert body["base_value"] == "100100"
    assert body["equity"][0] == "100100" and body["equity"][-1] == "100200"
    assert len(body["timestamp"]) == 25
    daily = await history(api, token, period="1W", timeframe="1D")
    # The first day's close is 100100 (or, if that pass fell on the next day, 100000)
    expected = ["100100", "100200"] if day(created) == day(first) else [
        "100000", "100100", "100200"]
    assert (daily["base_value"], daily["equity"]) == ("100000", expected)
    assert daily["timestamp"][0] == day(created) and daily["timestamp"][-2:] == [
        day(first), day(second)]
    month = await history(api, token)  # 1M, 1D by default
    assert (month["timeframe"], month["equity"]) == ("1D", expected)


async def test_an_empty_account_has_a_flat_history(api, trader, later):
    await api.call("GET", "/api/v1/account", token=trader["access_token"])
    later(minutes=3)
    body = await history(api, trader["access_token"], period="1D", timeframe="1Min")
    assert body["equity"] == ["100000"] * 4 and body["profit_loss"] == ["0"] * 4
    assert body["base_value"] == "100000"


async def test_a_reset_starts_a_new_period_and_the_old_one_stays_readable(api, trader, later):
    token = trader["access_token"]
    await order(api, token, quantity="10")
    await next_pass(api, later, "90")  # 99900
    later(minutes=1)
    set_price(api, "AAPL", "80")
    status, _ = await api.call("POST", "/api/v1/account/reset", token=token)
    assert status == 200
    await next_pass(api, later)
    old = await history(api, token, period="1D", timeframe="1Min", period_id="0")
    assert old["period_id"] == 0 and old["equity"][-1] == "99800"  # at the reset, at 80
    assert old["equity"][:3] == ["100000", "99900", "99800"]
    new = await history(api, token, period="1D", timeframe="1Min")
    assert new["period_id"] == 1 and set(new["equity"]) == {"100000"}
    assert new["timestamp"][0] >= old["timestamp"][-1]
    stored_periods = {period for _, _, period in await stored(api, trader["user"]["id"])}
    assert stored_periods == {0, 1}
    marks = [m async for m in api.app[keys.STORE].db["equity_marks"].find().sort("_id", 1)]
    assert [(m["period"], m["watch"], m["ended_at"] is None) for m in marks] == [
        (0, False, False), (1, False, True)]


@pytest.mark.parametrize(("params", "field"), [
    ({"period": "2D"}, "period"),
    ({"period": "1d"}, "period"),
    ({"period": "\uff41\uff4c\uff4c"}, "period"),
    ({"period": "[[[[[[all]]]]]]"}, "period"),
    ({"period": "1" * 5000}, "period"),
    ({"timeframe": "1Sec"}, "timeframe"),
    ({"timeframe": "1min"}, "timeframe"),
    ({"period": "1M", "timeframe": "1Min"}, "timeframe"),
    ({"period": "all", "timeframe": "1H"}, "timeframe"),
    ({"period_id": "1"}, "period_id"),  # no reset yet: only period 0
    ({"period_id": "-1"}, "period_id"),
    ({"period_id": "0.5"}, "period_id"),
    ({"period_id": "9" * 400}, "period_id"),
    ({"period_id": "٣"}, "period_id"),
])
async def test_hostile_query_parameters_are_refused_naming_the_parameter(api, trader, params,
                                                                         field):
    status, body = await api.call("GET", PATH, token=trader["access_token"], params=params)
    assert status == 400, body
    assert (body["error"]["code"], body["error"]["details"]["field"]) == (
        "validation_error", field)


async def test_a_deleted_account_leaves_no_snapshots(api, trader, later):
    await order(api, trader["access_token"], quantity="1")
    await next_pass(api, later, "101")
    db = api.app[keys.STORE].db
    assert await db["equity_marks"].count_documents({}) == 1
    status, _ = await api.call("DELETE", "/api/v1/me", {"password": "correct horse battery"},
                               token=trader["access_token"])
    assert status == 204
    for name in ("equity_snapshots", "equity_days", "equity_marks"):
        assert await db[name].count_documents({}) == 0, name
    assert await next_pass(api, later) == 0


async def test_with_several_processes_the_leader_takes_the_open_accounts(
        servers, redis_settings, later):
    from tests.e2e.test_cluster import long_with_stop, pair, price_of, tick
    from tests.support import until
    leader, follower = await pair(servers, redis_settings)
    token, _ = await long_with_stop(leader, follower)  # placed through the follower
    for minute, price in enumerate(("101", "102", "103")):
        later(minutes=1)
        tick(leader, "AAPL", price)
        await until(lambda p=price: price_of(follower, "AAPL") == p
                    and price_of(leader, "AAPL") == p)
        taken = (await snapshots_of(follower).tick(), await snapshots_of(leader).tick())
        # The follower: the account active on it, once. The leader: every account with
        # open trades (found on its first pass, then by their marks).
        assert taken == ((1, 1) if minute == 0 else (0, 1))
    body = await history(follower, token, period="1D", timeframe="1Min")
    assert body["equity"][-3:] == ["100001", "100002", "100003"]
