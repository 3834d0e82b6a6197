"""A local server speaking Binance's klines REST protocol (GET /api/v3/klines).

It answers like Binance: rows for the periods whose open time is within
[startTime, endTime], at most ``limit`` (1000 at most) of them, oldest first,
made up from the open time so every answer is the same. The test can make it
fail, stall, ask to back off, or send malformed rows.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

SECONDS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "4h": 14400, "1d": 86400}


def price_at(open_ms: int) -> int:
    """A made-up price for a period: 100 + (minutes since epoch mod 50)."""
    return 100 + open_ms // 60_000 % 50


def kline(open_ms: int, seconds: int) -> list[Any]:
    price = price_at(open_ms)
    return [open_ms, f"{price}.00000000", f"{price + 1}.50000000", f"{price - 1}.25000000",
            f"{price}.50000000", "12.5", open_ms + seconds * 1000 - 1, "1250.0", 42, "6.0",
            "600.0", "0"]


class FakeKlines:
    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        self.mode = "ok"  # ok | fail | stall | busy | junk | huge | not_a_list
        self.released = asyncio.Event()
        self.app = web.Application()
        self.app.router.add_get("/api/v3/klines", self.klines)
        self.server = TestServer(self.app)

    async def __aenter__(self) -> FakeKlines:
        await self.server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.released.set()
        await self.server.close()

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    def asked(self, interval: str) -> list[dict[str, str]]:
        return [r for r in self.requests if r["interval"] == interval]

    async def klines(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self.requests.append(query)
        if self.mode == "stall":
            await self.released.wait()
        if self.mode == "fail":
            return web.json_response({"code": -1000, "msg": "An unknown error occurred."},
                                     status=500)
        if self.mode == "busy":
            return web.json_response({"code": -1003, "msg": "Too many requests."}, status=429,
                                     headers={"Retry-After": "1"})
        if self.mode == "not_a_list":
            return web.json_response({"code": -1121, "msg": "Invalid symbol."})
        if self.mode == "huge":
            return web.Response(body=b"[" + b"1," * 2_000_000 + b"1]",
                                content_type="application/json")
        seconds = SECONDS[query["interval"]]
        start, end = int(query["startTime"]), int(query["endTime"])
        limit = min(int(query.get("limit", 500)), 1000)
        first = -(-start // (seconds * 1000)) * seconds * 1000
        rows = [kline(at, seconds) for at in range(first, end + 1, seconds * 1000)][:limit]
        if self.mode == "junk":
            rows[:0] = [["x"], [1, "1", "0.5", "2", "1", "", 0, "", 1], {"a": 1}, None,
                        [True, "1", "1", "1", "1", "", 0, "", 1]]
        return web.json_response(rows)
