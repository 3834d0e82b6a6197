"""A local server speaking the three intelligence sources' protocols.

- CoinGecko: GET /api/v3/coins/markets?vs_currency=usd&order=market_cap_desc&per_page=N
- alternative.me: GET /fng/?limit=N&format=json
- CNN: GET /index/fearandgreed/graphdata

Payloads have the shape the real services answer with (fields trimmed to those read,
plus a few that are not). Each source has a mode the test sets: ok, fail (500), busy
(429 with Retry-After), not_json, huge (a body over the client's limit), missing
(required fields gone), stall (no answer until the server closes), and for CoinGecko
junk (some malformed rows among good ones).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

DAY = 86_400


def coin(id_: str, symbol: str, name: str, price: float, cap: float, volume: float,
         change: float | None, rank: int | None) -> dict[str, Any]:
    return {"id": id_, "symbol": symbol, "name": name, "image": f"https://x.test/{id_}.png",
            "current_price": price, "market_cap": cap, "market_cap_rank": rank,
            "fully_diluted_valuation": cap, "total_volume": volume, "high_24h": price,
            "low_24h": price, "price_change_24h": 1.5,
            "price_change_percentage_24h": change, "circulating_supply": 1.0e7,
            "last_updated": "2026-12-07T19:00:00.000Z"}


COINS = [
    coin("bitcoin", "btc", "Bitcoin", 97123.45, 1.92e12, 3.1e10, 1.25, 1),
    coin("ethereum", "eth", "Ethereum", 3456.78, 4.16e11, 1.8e10, -2.5, 2),
    coin("solana", "sol", "Solana", 211.3, 1.01e11, 4.2e9, 6.75, 5),
    coin("the-graph", "grt", "The Graph", 0.2345, 2.3e9, 1.1e8, None, 60),
    coin("tiny-coin", "tiny", "Tiny", 0.00000123, 5.0e7, 1.0e5, 40.0, 900),
]
NON_ASCII = coin("zhongwen", "zw", "中文币 ✨ Ünïcødé", 1.5, 2.0e8, 3.0e6, 0.5, 300)


class IntelSources:
    def __init__(self) -> None:
        self.mode = {"coingecko": "ok", "fng": "ok", "cnn": "ok"}
        self.requests = {"coingecko": 0, "fng": 0, "cnn": 0}
        self.coins = list(COINS)
        self.fng_value = "25"  # the latest crypto index value, and its band
        self.fng_class = "Extreme Fear"
        self.cnn_score = 62.4571
        self.released = asyncio.Event()
        self.app = web.Application()
        self.app.router.add_get("/api/v3/coins/markets", self.markets)
        self.app.router.add_get("/fng/", self.fng)
        self.app.router.add_get("/index/fearandgreed/graphdata", self.cnn)
        self.server = TestServer(self.app)

    async def __aenter__(self) -> IntelSources:
        await self.server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.released.set()
        await self.server.close()

    def url(self, path: str = "") -> str:
        return str(self.server.make_url(path))

    async def _refusal(self, name: str) -> web.Response | None:
        self.requests[name] += 1
        mode = self.mode[name]
        if mode == "stall":
            await self.released.wait()
        if mode == "fail":
            return web.json_response({"status": {"error_code": 500, "error_message":
                                                 "Internal server error"}}, status=500)
        if mode == "busy":
            return web.json_response({"status": {"error_code": 429, "error_message":
                                                 "You've exceeded the Rate Limit."}},
                                     status=429, headers={"Retry-After": "30"})
        if mode == "not_json":
            return web.Response(text='{"data": [{"value": "4', content_type="application/json")
        if mode == "huge":
            return web.Response(body=b"[" + b"1," * 3_000_000 + b"1]",
                                content_type="application/json")
        return None

    async def markets(self, request: web.Request) -> web.Response:
        if (refused := await self._refusal("coingecko")) is not None:
            return refused
        if self.mode["coingecko"] == "missing":
            return web.json_response([{"id": c["id"], "symbol": c["symbol"]}
                                      for c in self.coins])
        rows: list[Any] = list(self.coins)
        if self.mode["coingecko"] == "junk":
            rows = [None, "bitcoin", {"id": "x"}, {**COINS[0], "current_price": "NaN"},
                    {**COINS[1], "market_cap": -5}, {**COINS[2], "name": 7}, *rows]
        limit = int(request.query.get("per_page", "100"))
        return web.json_response(rows[:limit])

    async def fng(self, request: web.Request) -> web.Response:
        if (refused := await self._refusal("fng")) is not None:
            return refused
        if self.mode["fng"] == "missing":
            return web.json_response({"name": "Fear and Greed Index", "data": [{}],
                                      "metadata": {"error": None}})
        limit = int(request.query.get("limit", "1"))
        today = int(datetime.now(UTC).timestamp()) // DAY * DAY
        data = [{"value": self.fng_value if n == 0 else str(40 + n % 20),
                 "value_classification": "Fear" if n else self.fng_class,
                 "timestamp": str(today - n * DAY),
                 **({"time_until_update": "3600"} if n == 0 else {})}
                for n in range(min(limit, 400))]
        return web.json_response({"name": "Fear and Greed Index", "data": data,
                                  "metadata": {"error": None}})

    async def cnn(self, request: web.Request) -> web.Response:
        if (refused := await self._refusal("cnn")) is not None:
            return refused
        if self.mode["cnn"] == "missing":
            return web.json_response({"fear_and_greed": {"rating": "greed"}})
        now = datetime.now(UTC)
        points = [{"x": (now - timedelta(days=n)).timestamp() * 1000, "y": 50.0 + n % 30,
                   "rating": "neutral"} for n in range(60, 0, -1)]
        return web.json_response({
            "fear_and_greed": {"score": self.cnn_score, "rating": "greed",
                               "timestamp": now.isoformat(), "previous_close": 60.1,
                               "previous_1_week": 55.0, "previous_1_month": 48.2,
                               "previous_1_year": 70.3},
            "fear_and_greed_historical": {"timestamp": now.timestamp() * 1000,
                                          "score": self.cnn_score, "rating": "greed",
                                          "data": points},
            "market_momentum_sp500": {"score": 80.0, "rating": "extreme greed", "data": []}})
