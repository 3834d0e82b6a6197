"""Part (b) of bench/monitor.py: tick -> closed in the database, and -> client event."""

from __future__ import annotations

import asyncio
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from bench.lightclient import LightClient
from config.settings import MarketSettings, Settings
from handlers import keys
from server.app import create_app
from trading.events import Changed
from trading.market import Quote
from trading.orders import OrderRequest, OrderType, Side

PASSWORD = "benchmark password"  # noqa: S105 - a throwaway local account


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def measure_fires(fires: int) -> None:
    data = Path(tempfile.mkdtemp(prefix="paperdesk-bench-"))
    settings = Settings(port=0, data_dir=data, bcrypt_cost=4,
                        market=MarketSettings(symbols="sim:AAA=100", hours="ignore"))
    app = create_app(settings, feeds=[])
    server = TestServer(app)
    await server.start_server()
    hub, engine = app[keys.MARKET].hub, app[keys.ENGINE]
    url = str(server.make_url("")).rstrip("/")
    closed_at: dict[str, float] = {}
    app[keys.BUS].subscribe(Changed, lambda changed: closed_at.setdefault(
        changed.document["_id"], time.perf_counter())
        if changed.kind == "trade" and changed.document["status"] == "closed" else None)
    received: dict[str, float] = {}
    arrived = asyncio.Event()

    def on_event(name: str, payload: Any, at: float) -> None:
        if name == "trade_update" and payload["event"] == "closed":
            received[payload["trade"]["id"]] = time.perf_counter()
            arrived.set()

    def tick(price: Decimal) -> None:
        hub.publish(Quote("AAA", price, hub.clock(), "sim"))

    async with aiohttp.ClientSession() as http:
        await http.post(f"{url}/api/v1/auth/register",
                        json={"email": "b@example.com", "password": PASSWORD, "name": "B"})
        async with http.post(f"{url}/api/v1/auth/login",
                             json={"email": "b@example.com", "password": PASSWORD}) as response:
            token = (await response.json())["access_token"]
        user_id = (await engine.store.users.by_email("b@example.com"))["_id"]
        tick(Decimal(100))
        start = time.perf_counter()
        trade_ids = []
        for n in range(fires):  # stop-losses at 99.99, 99.98, ... one cent apart
            tick(Decimal(100))  # keeps the price fresh while the trades open
            order = await engine.place_order(user_id, OrderRequest(
                "AAA", Side.BUY, OrderType.MARKET, Decimal(1),
                stop_loss=Decimal(100) - Decimal(n + 1) / 100))
            trade_ids.append(order["trade_id"])
        print(f"(b) opened {fires} trades with stop-losses in {time.perf_counter() - start:.0f} s")
        client = LightClient(http, url, token, on_event)
        await client.connect()
        to_database, to_client = [], []
        for n, trade_id in enumerate(trade_ids):
            arrived.clear()
            sent = time.perf_counter()
            tick(Decimal(100) - Decimal(n + 1) / 100)  # crosses exactly this stop-loss
            while trade_id not in received:
                await asyncio.wait_for(arrived.wait(), 10)
                arrived.clear()
            to_database.append((closed_at[trade_id] - sent) * 1000)
            to_client.append((received[trade_id] - sent) * 1000)
        await client.close()
    await server.close()
    for name, values in (("tick -> closed in the database", to_database),
                         ("tick -> trade_update at a client", to_client)):
        print(f"(b) {name:34} p50 {percentile(values, .5):6.1f} ms  "
              f"p99 {percentile(values, .99):6.1f} ms  ({len(values)} fires)")
