"""Several apps on one Redis and one database: one leader runs the feeds and the monitor."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace

import pytest
import redis as sync_redis

from handlers import keys
from services.cluster import Cluster, TickPublisher, next_fence
from tests.e2e.trading_support import assert_books_balance
from tests.services import RedisProcess
from tests.support import Api, Servers, quote, until


def node(api: Api) -> Cluster:
    cluster = api.app[keys.CLUSTER]
    assert cluster is not None
    return cluster


async def pair(servers: Servers, settings) -> tuple[Api, Api]:  # type: ignore[no-untyped-def]
    """Two processes; returns (leader, follower) once one has been elected."""
    first = await servers.start(settings)
    second = await servers.start(replace(settings, port=0))
    await until(lambda: node(first).leader or node(second).leader)
    return (first, second) if node(first).leader else (second, first)


def tick(leader: Api, symbol: str, price: str) -> None:
    """A price from the leader's feeds: through Redis to every process's hub."""
    TickPublisher(node(leader).ticks).publish(quote(symbol, price, leader.app[keys.CLOCK]()))


def price_of(api: Api, symbol: str) -> str | None:
    last = api.app[keys.MARKET].hub.last.get(symbol)
    return None if last is None else str(last.price)


async def long_with_stop(leader: Api, api: Api) -> tuple[str, str]:
    """A new user on api buys 1 AAPL at 100 (the leader's price) with a stop-loss at 95;
    returns their token and the trade's id."""
    token = (await api.account())["access_token"]
    tick(leader, "AAPL", "100")
    await until(lambda: price_of(api, "AAPL") == "100")
    status, body = await api.call("POST", "/api/v1/orders", {
        "symbol": "AAPL", "side": "buy", "quantity": "1", "stop_loss": "95"}, token=token)
    assert status == 201, body
    return token, body["order"]["trade_id"]


@pytest.fixture
async def cluster(servers, redis_settings):  # type: ignore[no-untyped-def]
    return await pair(servers, redis_settings)


async def test_exactly_one_process_leads_and_readyz_says_which(cluster):
    leader, follower = cluster
    assert not node(follower).leader
    roles = [(await api.call("GET", "/readyz"))[1]["role"] for api in (leader, follower)]
    assert roles == ["leader", "follower"]


async def test_a_tick_from_the_leader_reaches_every_process_and_its_sockets(cluster):
    leader, follower = cluster
    tokens = await follower.account()
    sock = await follower.socket(tokens["access_token"])
    assert (await sock.call("subscribe", {"symbols": ["AAPL"]}))["ok"]
    tick(leader, "AAPL", "101.5")
    update = await sock.next("live_price")
    assert (update["symbol"], update["price"]) == ("AAPL", "101.5")
    await until(lambda: price_of(leader, "AAPL") == "101.5")


async def test_a_stop_loss_placed_on_a_follower_is_fired_by_the_leader(cluster):
    leader, follower = cluster
    token, trade_id = await long_with_stop(leader, follower)
    sock = await follower.socket(token)
    monitor = leader.app[keys.MONITOR]
    await until(lambda: f"stop_loss:{trade_id}" in monitor.index)
    tick(leader, "AAPL", "94")
    while (update := await sock.next("trade_update"))["event"] != "closed":
        pass
    assert (update["reason"], update["trade"]["close_price"]) == ("stop_loss", "94")
    await assert_books_balance(leader)


async def test_a_deposed_leaders_fire_is_refused_by_the_fencing_token(cluster):
    leader, _ = cluster
    token, trade_id = await long_with_stop(leader, leader)
    # A newer leader took a token; this one has not noticed yet.
    await next_fence(leader.app[keys.STORE].db)
    tick(leader, "AAPL", "94")
    await until(lambda: price_of(leader, "AAPL") == "94")
    monitor = leader.app[keys.MONITOR]
    if monitor.tasks:
        await until(lambda: not monitor.tasks)
    _, trades = await leader.call("GET", "/api/v1/trades?status=open", token=token)
    assert [t["id"] for t in trades["trades"]] == [trade_id]


async def test_the_follower_takes_over_when_the_leader_stops(servers, cluster):
    leader, follower = cluster
    token, trade_id = await long_with_stop(leader, follower)
    await servers.stop(leader)
    await until(lambda: node(follower).leader, within=5)
    tick(follower, "AAPL", "90")
    sock = await follower.socket(token)
    _, open_trades = await follower.call("GET", "/api/v1/trades?status=open", token=token)
    if open_trades["trades"]:
        while (await sock.next("trade_update"))["event"] != "closed":
            pass
    _, closed = await follower.call("GET", "/api/v1/trades?status=closed", token=token)
    assert [(t["id"], t["close_reason"]) for t in closed["trades"]] == [(trade_id, "stop_loss")]


async def test_rate_limits_are_counted_across_processes(cluster):
    leader, follower = cluster
    tokens = await leader.account()
    token = tokens["access_token"]
    sent = [(await api.call("POST", "/api/v1/notifications",
                            {"event": "note", "message": "hi"}, token=token))[0]
            for api in (leader, follower, leader, follower, leader, follower)]
    assert sent == [202] * 5 + [429]


async def test_processes_carry_on_after_redis_restarts(servers, settings, tmp_path):
    redis = RedisProcess(tmp_path)
    try:
        first, second = await pair(servers, replace(settings, redis_url=redis.url))
        redis.stop()
        redis = RedisProcess(tmp_path, port=redis.port)  # empty: the lease is gone
        probe = sync_redis.Redis(port=redis.port)
        nodes = {node(first).node, node(second).node}
        lease = node(first).lease.key
        await until(lambda: (probe.get(lease) or b"").decode() in nodes, within=10)
        probe.close()
        await until(lambda: node(first).leader != node(second).leader, within=5)
        leader, other = (first, second) if node(first).leader else (second, first)
        for _ in range(50):  # until the other process has resubscribed
            tick(leader, "AAPL", "123")
            with contextlib.suppress(TimeoutError):
                await until(lambda: price_of(other, "AAPL") == "123", within=0.2)
                break
        assert price_of(other, "AAPL") == "123"
    finally:
        redis.stop()


async def test_a_token_revoked_on_one_process_is_refused_by_the_other_within_a_second(
        cluster):
    leader, follower = cluster
    tokens = await leader.account()
    token = tokens["access_token"]
    assert (await follower.call("GET", "/api/v1/me", token=token))[0] == 200  # now cached
    assert (await leader.call("POST", "/api/v1/auth/logout", token=token))[0] == 204
    loop = asyncio.get_running_loop()
    revoked_at = loop.time()
    while (await follower.call("GET", "/api/v1/me", token=token))[0] == 200:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    assert loop.time() - revoked_at <= 1.1
    assert (await follower.call("GET", "/api/v1/me", token=token))[0] == 401


async def test_logging_out_on_one_process_disconnects_the_sessions_sockets_on_the_other(
        cluster):
    leader, follower = cluster
    tokens = await leader.account()
    sock = await follower.socket(tokens["access_token"])
    status, _ = await leader.call("POST", "/api/v1/auth/logout", token=tokens["access_token"])
    assert status == 204
    assert (await sock.next("session_revoked"))["reason"] == "session ended"
    await until(lambda: not sock.sio.connected)
