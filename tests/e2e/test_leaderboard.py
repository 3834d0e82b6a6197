"""The opt-in leaderboard (GET /api/v1/leaderboard) and a user's own rank and rating
(GET /api/v1/me/rating), computed from the equity snapshots."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from handlers import keys
from services.leaderboard import Leaderboard
from tests.e2e.test_cluster import pair
from tests.e2e.trading_support import order, set_price
from tests.support import Clock

PATH = "/api/v1/leaderboard"
MINUTE = timedelta(minutes=1)


@pytest.fixture
def clock() -> Clock:
    """Ten seconds into the current minute, early in a UTC day far enough from its end
    that the days a test moves on stay whole (tokens are checked on the wall clock,
    which the app clock never passes)."""
    now = datetime.now(UTC)
    return Clock((now if now.second >= 10 else now - MINUTE).replace(second=10, microsecond=0))


async def join(api, tokens, on=True):
    status, body = await api.call("PATCH", "/api/v1/me", {"leaderboard": on},
                                  token=tokens["access_token"])
    assert status == 200, body
    assert body["user"]["leaderboard"] is on
    return body


async def next_pass(api, later, price, **step):
    """Move the clock on, price AAPL and take the snapshots due."""
    later(**(step or {"minutes": 1}))
    set_price(api, "AAPL", price)
    return await api.app[keys.HISTORY].tick()


async def board(api, **params):
    async with api.client.get(PATH, params=params) as response:
        raw = await response.text()
        assert response.status == 200, raw
        return raw, await response.json()


def rows(body):
    return [(e["rank"], e["name"], e["return_pct"]) for e in body["entries"]]


async def refresh(api):
    return await api.app[keys.BOARD].refresh()


async def test_opted_in_users_rank_by_return_and_opting_out_removes_them_at_once(api, later):
    set_price(api, "AAPL", "100")
    ann, bob, cat, dan = [await api.account(f"{n.lower()}.t@example.com", n)
                          for n in ("Ann", "Bob", "Cat", "Dan")]
    for user in (ann, bob, cat):
        await join(api, user)
    assert (await order(api, ann["access_token"], quantity="10"))[0] == 201
    assert (await order(api, bob["access_token"], quantity="20"))[0] == 201
    assert (await order(api, dan["access_token"], quantity="50"))[0] == 201
    assert await next_pass(api, later, "110") == 3  # Cat never traded: no snapshot
    assert await refresh(api) == 3
    for period in ("day", "week", "month", "all"):
        raw, body = await board(api, period=period)
        assert rows(body) == [(1, "Bob", "0.20"), (2, "Ann", "0.10"), (3, "Cat", "0.00")]
        assert (body["period"], body["users"], body["rated_users"]) == (period, 3, 0)
        assert all(e["rating"] is None for e in body["entries"])  # under 7 days: unrated
        # Names only: no email, no user id of anyone, the non-member's name absent.
        assert "@" not in raw and "Dan" not in raw
        for user in (ann, bob, cat, dan):
            assert user["user"]["id"] not in raw
    await join(api, cat, on=False)
    _, body = await board(api, period="all")  # no pass since: gone at once
    assert [name for _, name, _ in rows(body)] == ["Bob", "Ann"]
    await refresh(api)
    _, body = await board(api, period="all")
    assert rows(body) == [(1, "Bob", "0.20"), (2, "Ann", "0.10")]


async def test_a_reset_starts_a_new_period_and_the_board_follows_it(api, later):
    set_price(api, "AAPL", "100")
    ann, bob = [await api.account(f"{n.lower()}.t@example.com", n) for n in ("Ann", "Bob")]
    for user in (ann, bob):
        await join(api, user)
        assert (await order(api, user["access_token"], quantity="10"))[0] == 201
    await next_pass(api, later, "90")  # both lose 100
    assert (await order(api, ann["access_token"], quantity="10"))[0] == 201
    await next_pass(api, later, "80")  # Ann: 10 from 100 and 10 from 90, now at 80
    await refresh(api)
    _, body = await board(api, period="all")
    assert rows(body) == [(1, "Bob", "-0.20"), (2, "Ann", "-0.30")]  # negative returns
    status, _ = await api.call("POST", "/api/v1/account/reset", token=ann["access_token"])
    assert status == 200
    await refresh(api)
    for period in ("day", "all"):
        _, body = await board(api, period=period)
        assert rows(body) == [(1, "Ann", "0.00"), (2, "Bob", "-0.20")], period
    status, mine = await api.call("GET", "/api/v1/me/rating", token=ann["access_token"])
    assert status == 200, mine
    assert mine["leaderboard"] is True and mine["name"] == "Ann" and mine["rating"] is None
    assert mine["boards"]["all"] == {"rank": 1, "of": 2, "return_pct": "0.00"}


async def test_ratings_rank_risk_adjusted_daily_returns_over_days(servers, settings, later):
    """Three days of closes: a rising account rates above an idle one, which rates above
    a falling one. (Tokens are checked on the wall clock: every request that needs one
    is made before the app clock moves on, or after it is moved back.)"""
    history = replace(settings.history, rating_min_days=3)
    api = await servers.start(replace(settings, history=history))
    set_price(api, "AAPL", "100")
    long, short, idle = [await api.account(f"{n.lower()}.t@example.com", n)
                         for n in ("Long", "Short", "Idle")]
    for user in (long, short, idle):
        await join(api, user)
    await order(api, long["access_token"], quantity="10")
    await order(api, short["access_token"], quantity="10", side="sell")
    for price in ("110", "105", "120"):
        await next_pass(api, later, price, days=1)
    await refresh(api)
    _, body = await board(api, period="all")
    assert [(e["name"], e["return_pct"], e["rating"]) for e in body["entries"]] == [
        ("Long", "0.20", 100), ("Idle", "0.00", 50), ("Short", "-0.20", 0)]
    assert body["rated_users"] == 3
    _, body = await board(api, period="day")  # from yesterday's close, 105, to 120
    assert [(e["name"], e["return_pct"]) for e in body["entries"]] == [
        ("Long", "0.15"), ("Idle", "0.00"), ("Short", "-0.15")]
    _, body = await board(api, period="week")  # the whole period: from the start
    assert [e["return_pct"] for e in body["entries"]] == ["0.20", "0.00", "-0.20"]
    later(days=-3)
    status, mine = await api.call("GET", "/api/v1/me/rating", token=short["access_token"])
    assert (status, mine["rating"], mine["boards"]["day"]["rank"]) == (200, 0, 3)


async def test_pages_follow_ranks_and_ties_keep_the_opt_in_order(api, later):
    users = [await api.account(f"u{n}@example.com", f"User {n}") for n in range(5)]
    for user in reversed(users):  # opted in last to first, all returns 0
        await join(api, user)
        later(milliseconds=10)
    await refresh(api)
    names, cursor = [], None
    for _ in range(3):
        params = {"period": "month", "limit": "2", **({"cursor": cursor} if cursor else {})}
        _, body = await board(api, **params)
        names += [e["name"] for e in body["entries"]]
        cursor = body["next_cursor"]
    assert names == [f"User {n}" for n in reversed(range(5))] and cursor is None
    await join(api, users[3], on=False)  # rank 2 until the next pass: a gap
    pages, cursor = [], None
    for _ in range(3):
        params = {"period": "month", "limit": "2", **({"cursor": cursor} if cursor else {})}
        _, body = await board(api, **params)
        pages.append([e["rank"] for e in body["entries"]])
        cursor = body["next_cursor"]
    assert pages == [[1], [3, 4], [5]] and cursor is None  # a page is a range of ranks
    _, body = await board(api, period="month", limit="2")
    status, err = await api.call("GET", PATH, params={"period": "week",
                                                      "cursor": body["next_cursor"]})
    assert (status, err["error"]["code"]) == (400, "validation_error")  # another board's


@pytest.mark.parametrize("query", [
    "limit=1000000", "limit=-1", "limit=0", "limit=NaN", "limit=1e3", "limit=%EF%BC%91",
    "period=year", "period=d%C3%A4y", "period=", "period=day&period=week", "limit=1&limit=2",
    "cursor=abc", "cursor=bGVhZGVyYm9hcmQ6d2Vlay4tMQ", "cursor=bGVhZGVyYm9hcmQ6d2Vlay4x%00",
    "cursor=" + "A" * 500, "cursor=bGVhZGVyYm9hcmQ6d2Vlay7vvJE"])
async def test_hostile_parameters_are_refused_in_the_one_error_shape(api, query):
    async with api.client.get(f"{PATH}?{query}") as response:
        body = await response.json()
        assert response.status == 400, body
    assert set(body) == {"error"} and body["error"]["code"] == "validation_error"
    assert body["error"]["message"]


async def test_the_leaderboard_flag_must_be_a_boolean_and_is_private_to_the_profile(api):
    ann = await api.account()
    for value in ("yes", 1, None, [True]):
        status, body = await api.call("PATCH", "/api/v1/me", {"leaderboard": value},
                                      token=ann["access_token"])
        assert (status, body["error"]["code"]) == (400, "validation_error"), value
    status, body = await api.call("GET", "/api/v1/me", token=ann["access_token"])
    assert body["user"]["leaderboard"] is False  # off unless the user opts in
    status, _ = await api.call("GET", "/api/v1/me/rating")
    assert status == 401


async def test_a_new_name_shows_at_once_and_a_deleted_account_leaves_the_board(api):
    ann = await api.account()
    await join(api, ann)
    await refresh(api)
    status, _ = await api.call("PATCH", "/api/v1/me", {"name": "Ann \u202eL\u200bee"},
                               token=ann["access_token"])
    assert status == 200
    raw, body = await board(api, period="week")
    assert rows(body) == [(1, "Ann Lee", "0.00")] and "\u202e" not in raw
    status, _ = await api.call("DELETE", "/api/v1/me", {"password": "correct horse battery"},
                               token=ann["access_token"])
    assert status == 204
    _, body = await board(api, period="week")
    assert body["entries"] == []


async def test_an_account_idle_for_months_starts_each_window_at_its_last_close(api, clock):
    """A period of 120 days whose last snapshot is 100 days old: its windows start at
    that close (read from before the rating's 90 days), and its rating is an idle
    account's."""
    ann = await api.account()
    await join(api, ann)
    user_id, db, now = ann["user"]["id"], api.app[keys.STORE].db, clock()
    began, last = now - timedelta(days=120), (now - timedelta(days=100)).replace(
        hour=0, minute=0, second=0)
    unit = 10**8
    await db["accounts"].update_one({"_id": user_id}, {"$set": {"created_at": began}})
    await db["equity_days"].insert_one({"_id": f"{user_id}:0:x", "user_id": user_id,
                                        "period": 0, "day": last, "at": last,
                                        "equity": 110_000 * unit})
    await db["equity_marks"].insert_one({
        "_id": f"{user_id}:{0:010d}", "user_id": user_id, "period": 0, "base": 100_000 * unit,
        "started_at": began, "ended_at": None, "at": last, "equity": 110_000 * unit,
        "open_trades": 0, "watch": False, "peak": 110_000 * unit, "max_drawdown": 0,
        "max_drawdown_fraction": 0})
    await refresh(api)
    for period, expected in (("day", "0.00"), ("month", "0.00"), ("all", "10.00")):
        _, body = await board(api, period=period)
        assert [(e["return_pct"], e["rating"]) for e in body["entries"]] == [(expected, 50)]


async def test_a_user_who_opts_out_while_a_pass_runs_is_not_published(api, clock):
    """The pass's two halves run apart here, so the opt-out falls between its read of
    the opted-in users and its write of their entries."""
    ann, bob = [await api.account(f"{n.lower()}.t@example.com", n) for n in ("Ann", "Bob")]
    for user in (ann, bob):
        await join(api, user)
    passes, stored = api.app[keys.BOARD], api.app[keys.STORE].board
    for _ in range(100):  # the pass the app makes as it starts, done first
        if await stored.current() is not None:
            break
        await asyncio.sleep(0.05)
    older, gen = await stored.next_gen(), await stored.next_gen()
    read = await passes._read(clock().date())
    assert sorted(u.name for u in read) == ["Ann", "Bob"]
    await join(api, bob, on=False)
    await api.call("PATCH", "/api/v1/me", {"name": "Ann B"}, token=ann["access_token"])
    assert await passes._publish(read, gen, clock()) == 2
    _, body = await board(api, period="all")
    assert rows(body) == [(1, "Ann B", "0.00")]
    # A pass older than the current one (a deposed leader's) is dropped, not shown.
    assert await passes._publish(read, older, clock()) == 0
    assert await api.app[keys.STORE].db["leaderboard"].count_documents({"gen": older}) == 0


async def test_only_the_leader_makes_passes_on_schedule(api, later):
    """A process that does not lead (another is the cluster's leader) never computes
    the board; the one that leads does once a pass is due."""
    settings = api.app[keys.SETTINGS].history
    follower = Leaderboard(api.app[keys.ENGINE], settings, leading=lambda: False)
    leader = Leaderboard(api.app[keys.ENGINE], settings, leading=lambda: True)
    for process in (follower, leader):
        process._due = api.app[keys.ENGINE].now()
    await join(api, await api.account())
    assert await follower.tick() == 0
    assert await leader.tick() == 1
    assert await leader.tick() == 0  # the next one is due in LEADERBOARD_INTERVAL
    later(seconds=settings.leaderboard_interval.total_seconds())
    assert await leader.tick() == 1


async def test_a_name_that_is_the_email_never_reaches_the_board(api, later):
    """A name that is the email, or its part before the @ (the page names a user who
    gives no name so), shows as an opaque handle."""
    ann = await api.account("ann.lee@example.com", "ann.lee@example.com")
    bob = await api.account("bob.k@example.com", "Bob.K")
    await join(api, ann)
    later(milliseconds=10)
    await join(api, bob)
    await refresh(api)
    raw, body = await board(api, period="all")
    entry, other = body["entries"]
    for shown in (entry, other):
        assert re.fullmatch(r"Trader [0-9a-f]{8}", shown["name"])
    assert entry["name"] != other["name"]
    assert "@" not in raw and "ann.lee" not in raw and "bob.k" not in raw.lower()
    assert ann["user"]["id"] not in raw and bob["user"]["id"] not in raw
    status, mine = await api.call("GET", "/api/v1/me/rating", token=ann["access_token"])
    assert (status, mine["name"]) == (200, entry["name"])
    status, _ = await api.call("PATCH", "/api/v1/me", {"name": "Ann"}, token=ann["access_token"])
    _, body = await board(api, period="all")
    assert [e["name"] for e in body["entries"]] == ["Ann", other["name"]]


async def test_in_a_cluster_the_leader_computes_and_every_process_answers(
        servers, redis_settings):
    leader, follower = await pair(servers, redis_settings)
    ann = await follower.account("ann.t@example.com", "Ann")
    await join(follower, ann)
    passes = follower.app[keys.BOARD]
    passes._due = follower.app[keys.ENGINE].now()  # due, but this process does not lead
    assert await passes.tick() == 0
    assert await leader.app[keys.BOARD].refresh() == 1
    _, body = await board(follower, period="all")
    assert rows(body) == [(1, "Ann", "0.00")]
    await join(follower, ann, on=False)  # on one process: off the board for every one
    _, body = await board(leader, period="all")
    assert body["entries"] == []
