"""kill -9 a real server process in the middle of a burst of orders."""

import asyncio
import signal

import aiohttp

from store.check import check_books
from store.layout import open_collections
from tests.conftest import TEST_SECRET
from tests.processes import RunPy
from tests.support import PASSWORD

ORDERS = 240
USERS = 4
KILL_AFTER = 100


async def place(session, url, token, n):
    body = {"symbol": "AAPL", "side": "buy", "quantity": "1", "client_order_id": f"burst-{n}"}
    async with session.post(f"{url}/api/v1/orders", json=body,
                            headers={"Authorization": f"Bearer {token}"}) as response:
        return response.status, await response.json()


async def test_no_acked_order_is_lost_and_the_books_balance_after_kill_9(
        tmp_path, mongo_uri, db_name):
    env = {"MONGO_URI": mongo_uri, "MONGO_DB": db_name, "JWT_SECRET": TEST_SECRET,
           "MARKET_SYMBOLS": "sim:AAPL=100", "SIM_SEED": "1", "SIM_TICK_INTERVAL": "0.05"}
    server = RunPy(tmp_path, **env)
    await server.start()
    await server.wait_healthy()
    acked: dict[int, str] = {}
    tokens = []  # several accounts, so that groups of orders hold several
    async with aiohttp.ClientSession() as session:
        for user in range(USERS):
            email = f"trader{user}@example.com"
            await session.post(f"{server.url}/api/v1/auth/register", json={
                "email": email, "password": PASSWORD, "name": "Ann"})
            async with session.post(f"{server.url}/api/v1/auth/login", json={
                    "email": email, "password": PASSWORD}) as response:
                tokens.append((await response.json())["access_token"])

        async def one(n):
            try:
                status, body = await place(session, server.url, tokens[n % USERS], n)
            except aiohttp.ClientError:
                return
            if status == 201:
                acked[n] = body["order"]["id"]
                if len(acked) == KILL_AFTER:
                    server.process.kill()  # mid-burst: others are in flight

        await asyncio.gather(*(one(n) for n in range(ORDERS)))
        await server.process.wait()
        assert KILL_AFTER <= len(acked) < ORDERS

        again = RunPy(tmp_path, **env)
        await again.start()
        try:
            await again.wait_healthy()
            # Every acked order survived, filled; retrying every id duplicates nothing.
            retried = await asyncio.gather(*(place(session, again.url, tokens[n % USERS], n)
                                             for n in range(ORDERS)))
            for n, order_id in acked.items():
                _, body = retried[n]
                assert (body["order"]["id"], body["order"]["status"]) == (order_id, "filled")
        finally:
            assert await again.stop(signal.SIGTERM) == 0
    db = await open_collections(mongo_uri, db_name)
    try:
        assert await check_books(db) == []
        trades = await db["trades"].count_documents({})
        filled = await db["orders"].count_documents({"status": "filled"})
        assert trades == filled >= len(acked)
    finally:
        await db.close()
