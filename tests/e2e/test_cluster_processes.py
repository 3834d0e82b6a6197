"""Real server processes on one redis-server and one database; the leader is killed -9."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import redis.asyncio as aioredis
from pymongo import AsyncMongoClient

from services.cluster import channel_names, quote_message
from store.check import check_books
from store.layout import laid_out
from tests.conftest import TEST_SECRET
from tests.processes import ServerProcess
from tests.services import RedisProcess
from tests.support import PASSWORD, quote

TRADES_PER_USER = 5
USERS = 4


async def eventually(check, within: float, what: str):  # type: ignore[no-untyped-def]
    """Poll another process's state (nothing to await across processes)."""
    deadline = asyncio.get_running_loop().time() + within
    while not (result := await check()):
        assert asyncio.get_running_loop().time() < deadline, f"not within {within} s: {what}"
        await asyncio.sleep(0.05)
    return result


async def test_killing_the_leader_mid_burst_fires_every_stop_loss_exactly_once(
        mongo_uri: str, db_name: str,
        redis_server: RedisProcess, tmp_path: Path) -> None:
    replay = tmp_path / "quiet.csv"
    replay.write_text("ts,symbol,price\n0,XYZ,1\n")  # AAPL's prices come from the test
    env = {"MONGO_URI": mongo_uri, "MONGO_DB": db_name, "REDIS_URL": redis_server.url,
           "JWT_SECRET": TEST_SECRET, "MARKET_SYMBOLS": "replay:AAPL,XYZ",
           "REPLAY_FILE": str(replay), "REPLAY_LOOP": "false",
           "LOG_LEVEL": "INFO"}
    processes = [ServerProcess(tmp_path, **env) for _ in range(2)]
    redis = aioredis.from_url(redis_server.url)
    mongo: AsyncMongoClient = AsyncMongoClient(mongo_uri)

    ticks = channel_names(f"paperdesk:{db_name}")[1]

    async def tick(price: str) -> None:
        now = datetime.now(UTC)
        await redis.publish(ticks, quote_message([quote("AAPL", price, now, "replay")]))

    try:
        for process in processes:
            await process.start()
        for process in processes:
            await process.wait_healthy()

        async def roles() -> list[str | None] | None:
            found = [await p.role() for p in processes]
            return found if sorted(map(str, found)) == ["follower", "leader"] else None

        found = await eventually(roles, 10, "one leader and one follower")
        leader, follower = (processes if found[0] == "leader" else processes[::-1])

        # Users trade on the follower: 20 longs at 100, stop-losses 99.9 down to 98.0.
        await tick("100")

        async def priced() -> bool:
            _, body = await follower.request("GET", "/api/v1/market/quotes/AAPL")
            return body.get("price") == "100"

        await eventually(priced, 5, "the follower has the price")
        trade_ids = []
        for user in range(USERS):
            email = f"user{user}@example.com"
            status, _ = await follower.request("POST", "/api/v1/auth/register",
                                               {"email": email, "password": PASSWORD, "name": "U"})
            assert status == 201
            _, tokens = await follower.request("POST", "/api/v1/auth/login",
                                               {"email": email, "password": PASSWORD})
            for n in range(TRADES_PER_USER):
                stop = f"{100 - (user * TRADES_PER_USER + n + 1) / 10:.1f}"
                status, body = await follower.request(
                    "POST", "/api/v1/orders", {"symbol": "AAPL", "side": "buy", "quantity": "1",
                                               "stop_loss": stop},
                    token=tokens["access_token"])
                assert status == 201, body
                trade_ids.append(body["order"]["trade_id"])

        # A falling burst; the leader dies half-way through it, while it is closing trades.
        db = laid_out(mongo, db_name)
        steps = [f"{100 - k / 20:.2f}" for k in range(1, 41)]
        for price in steps[:20]:
            await tick(price)

        async def closing() -> bool:
            return await db["trades"].count_documents({"status": "closed"}) > 0

        await eventually(closing, 10, "the leader closes a first trade")
        leader.process.kill()
        killed_at = asyncio.get_running_loop().time()
        for price in steps[20:]:
            await tick(price)

        async def took_over() -> bool:
            return await follower.role() == "leader"

        await eventually(took_over, 5, "the follower leads")
        takeover = asyncio.get_running_loop().time() - killed_at

        async def all_closed() -> bool:
            return await db["trades"].count_documents({"status": "closed"}) == len(trade_ids)

        await eventually(all_closed, 20, "every trade closed")
        trades = [t async for t in db["trades"].find({})]
        assert sorted(t["_id"] for t in trades) == sorted(trade_ids)
        assert all(len(t["exits"]) == 1 and t["quantity"] == 0 for t in trades)
        assert {t["close_reason"] for t in trades} == {"stop_loss"}
        for trade in trades:  # one realized-PnL ledger entry per trade, not two
            assert await db["ledger"].count_documents(
                {"reference": trade["_id"], "reason": "realized_pnl"}) == 1, trade["_id"]
        assert await check_books(db) == []
        print(f"takeover after kill -9: {takeover:.2f} s")
    finally:
        for process in processes:
            await process.stop()
        await redis.aclose()
        await mongo.close()
