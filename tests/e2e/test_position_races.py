"""What a process knows of an account (services/known.py) under races.

Many exits (whole and partial, REST and socket), fills (adding and netting) and resting
orders of one user at once, in one process and across two; afterwards the last
position_update of each symbol is what GET /positions shows, the events are numbered
without a gap, no trade is closed twice, and the books balance."""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal

import pytest

from tests.e2e.test_cluster import pair, price_of, tick
from tests.e2e.trading_support import assert_books_balance, charging, order, set_price
from tests.support import until

SYMBOLS = ("AAPL", "RELIANCE.NS")


@pytest.fixture
async def api(servers, settings):
    return await servers.start(charging(settings))


async def all_events(api, token):
    events, after = [], 0
    while True:
        _, body = await api.call("GET", f"/api/v1/events?after={after}&limit=1000",
                                 token=token)
        if not body["events"]:
            return events
        events += body["events"]
        after = events[-1]["seq"]


async def open_trades(api, token):
    _, body = await api.call("GET", "/api/v1/trades?status=open&limit=500", token=token)
    return body["trades"]


async def assert_told_what_rest_shows(apis, token):
    events = await all_events(apis[0], token)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    for symbol in SYMBOLS:
        told = [e for e in events if e["type"] == "position_update" and e["symbol"] == symbol]
        if not told:
            continue
        status, body = await apis[0].call("GET", f"/api/v1/positions/{symbol}", token=token)
        rest = body.get("position") if status == 200 else None
        last = told[-1]["position"]
        if last is not None and rest is not None:
            # The price may be told another way by each process; what lots make must agree.
            keys = ("side", "quantity", "average_entry", "trades", "currency")
            last, rest = ({k: p[k] for k in keys} for p in (last, rest))
        assert last == rest, (symbol, told[-1], rest)
    _, body = await apis[0].call("GET", "/api/v1/trades?limit=500", token=token)
    for trade in body["trades"]:
        exited = sum(Decimal(e["quantity"]) for e in trade["exits"])
        assert exited + Decimal(trade["quantity"]) == Decimal(trade["initial_quantity"]), trade
        assert (trade["status"] == "closed") == (Decimal(trade["quantity"]) == 0), trade
    await assert_books_balance(apis[0])


async def storm(apis, token, rounds, seed):
    """Rounds of exits, partial exits, buys, netting sells and resting orders at once."""
    rng = random.Random(seed)
    sockets = [await api.socket(token) for api in apis]
    for _ in range(rounds):
        trades = await open_trades(apis[0], token)
        jobs = []
        for trade in trades:
            api = rng.choice(apis)
            choice = rng.random()
            if choice < 0.35:
                jobs.append(api.call("POST", f"/api/v1/trades/{trade['id']}/exit", token=token))
            elif choice < 0.6:
                jobs.append(api.call("POST", f"/api/v1/trades/{trade['id']}/exit",
                                     {"quantity": "1"}, token=token))
            elif choice < 0.75:
                sock = rng.choice(sockets)
                jobs.append(sock.call("exit_trade", {"trade_id": trade["id"]}))
        for _ in range(6):
            api, symbol = rng.choice(apis), rng.choice(SYMBOLS)
            choice = rng.random()
            if choice < 0.5:
                jobs.append(order(api, token, symbol=symbol, quantity=str(rng.randint(1, 4))))
            elif choice < 0.75:
                jobs.append(order(api, token, symbol=symbol, side="sell", quantity="2"))
            else:
                jobs.append(order(api, token, symbol=symbol, type="limit",
                                  limit_price="1", quantity="1"))
        rng.shuffle(jobs)
        await asyncio.gather(*jobs)


async def test_races_of_one_users_exits_and_fills_leave_every_position_told_truly(api):
    token = (await api.account())["access_token"]
    set_price(api, "USDINR", "80")
    for i, (aapl, reliance) in enumerate((("100", "2900"), ("104", "2950"), ("97", "2875"))):
        set_price(api, "AAPL", aapl)
        set_price(api, "RELIANCE.NS", reliance)
        for symbol in SYMBOLS:
            for _ in range(2):
                status, body = await order(api, token, symbol=symbol, quantity=str(3 + i))
                assert status == 201, body
    await storm([api], token, rounds=8, seed=5)
    await assert_told_what_rest_shows([api], token)


async def test_races_across_two_processes_leave_every_position_told_truly(
        servers, redis_settings):
    leader, follower = await pair(servers, charging(redis_settings))
    token = (await leader.account())["access_token"]
    tick(leader, "USDINR", "80")
    for symbol, price in (("AAPL", "100"), ("RELIANCE.NS", "2900")):
        tick(leader, symbol, price)
    for api in (leader, follower):
        await until(lambda api=api: price_of(api, "RELIANCE.NS") == "2900"
                    and price_of(api, "USDINR") == "80")
    for api in (leader, follower):
        for symbol in SYMBOLS:
            for _ in range(3):
                status, body = await order(api, token, symbol=symbol, quantity="3")
                assert status == 201, body
    await storm([leader, follower], token, rounds=8, seed=5)
    await assert_told_what_rest_shows([leader, follower], token)




async def test_resting_fills_and_stop_exits_racing_known_exits_and_fills_tell_truly(api):
    """Resting limit orders and trades' stop-losses filled by the monitor (which change
    the account another way) while the user's exits and market orders run."""
    from tests.e2e.test_monitor import settled

    token = (await api.account())["access_token"]
    set_price(api, "USDINR", "80")
    set_price(api, "RELIANCE.NS", "2900")
    set_price(api, "AAPL", "100")
    for _ in range(4):
        assert (await order(api, token, quantity="3", stop_loss="97"))[0] == 201
        assert (await order(api, token, symbol="RELIANCE.NS", quantity="2"))[0] == 201
    rng = random.Random(7)
    for round_ in range(8):
        for _ in range(3):
            await order(api, token, type="limit", limit_price="99", quantity="2",
                        stop_loss="96")
            await order(api, token, side="sell", type="limit", limit_price="101",
                        quantity="1")
        trades = await open_trades(api, token)
        jobs = [api.call("POST", f"/api/v1/trades/{t['id']}/exit", {"quantity": "1"},
                         token=token) for t in rng.sample(trades, min(4, len(trades)))]
        jobs += [order(api, token, symbol=rng.choice(SYMBOLS), quantity="2")
                 for _ in range(3)]
        price = ("98.5", "101.5", "95", "100")[round_ % 4]
        jobs.append(asyncio.sleep(0, result=set_price(api, "AAPL", price)))
        rng.shuffle(jobs)
        await asyncio.gather(*jobs)
        await settled(api)
    set_price(api, "AAPL", "100")
    await settled(api)
    _, closed = await api.call("GET", "/api/v1/trades?status=closed&limit=500", token=token)
    _, filled = await api.call("GET", "/api/v1/orders?status=filled&limit=500", token=token)
    assert {"stop_loss"} <= {t["close_reason"] for t in closed["trades"]}
    assert any(o["type"] == "limit" for o in filled["orders"])  # resting fills happened
    await assert_told_what_rest_shows([api], token)


async def test_a_reset_racing_exits_and_fills_leaves_every_position_told_truly(api):
    token = (await api.account())["access_token"]
    set_price(api, "USDINR", "80")
    set_price(api, "RELIANCE.NS", "2900")
    set_price(api, "AAPL", "100")
    for _ in range(3):
        for _ in range(3):
            assert (await order(api, token, quantity="2"))[0] == 201
            assert (await order(api, token, symbol="RELIANCE.NS", quantity="1"))[0] == 201
        trades = await open_trades(api, token)
        jobs = [api.call("POST", "/api/v1/account/reset", token=token)]
        jobs += [api.call("POST", f"/api/v1/trades/{t['id']}/exit", {"quantity": "1"},
                          token=token) for t in trades[:4]]
        jobs += [order(api, token, quantity="1") for _ in range(3)]
        results = await asyncio.gather(*jobs)
        assert all(status < 500 for status, _ in results), results
        # a second reset once nothing races it leaves the account as new
        await api.call("POST", "/api/v1/account/reset", token=token)
        assert await open_trades(api, token) == []
    await assert_told_what_rest_shows([api], token)
