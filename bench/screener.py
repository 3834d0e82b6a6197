"""Screener requests answered from the cache: GET /api/v1/screener over HTTP.

    python -m bench.screener --requests 5000

Starts the server in this process on the embedded database, with its CoinGecko
source pointed at a local stand-in serving 250 tokens (tests/intel_sources.py; no
request leaves the machine), waits for the first poll, then sends --requests
sequential requests over one keep-alive connection, cycling through queries (the
default, by volume, by 24 h change with a lower market cap, backed by a fund, a
short list), and prints p50 and p99 of each request's round trip as the client
sees it, and of the service building an answer it has not kept (services/intel.py
IntelService.screener: filter, sort and encode 250 tokens).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer

from bench.monitor_fires import percentile
from config.intel import IntelSettings
from config.settings import MarketSettings, Settings
from handlers import keys
from server.app import create_app
from tests.intel_sources import IntelSources, coin
from trading.intel import Sort

QUERIES = ["", "?sort=volume", "?sort=change_24h&min_market_cap=1000000",
           "?backed_by=Andreessen%20Horowitz", "?limit=20"]


async def measure(requests: int) -> None:
    data = Path(tempfile.mkdtemp(prefix="paperdesk-bench-"))
    async with IntelSources() as sources:
        sources.coins = [coin(f"token-{n}", f"t{n}", f"Token {n}", 1000 / (n + 1),
                              1e12 / (n + 1), 1e9 / (n % 17 + 1), (n % 23) - 11.5, n + 1)
                         for n in range(250)]
        sources.coins[:3] = [coin(i, s, s.upper(), 10.0, 5e11, 1e9, 1.0, n + 1)
                             for n, (i, s) in enumerate([("solana", "sol"), ("near", "near"),
                                                         ("aptos", "apt")])]
        settings = Settings(port=0, data_dir=data, bcrypt_cost=4, log_level="WARNING",
                            market=MarketSettings(symbols="sim:SOLUSDT=150,AAPL=190"))
        settings = replace(settings, intel=IntelSettings(
            sources=("coingecko",), coingecko_url=sources.url("/api/v3")))
        app = create_app(settings, feeds=[])
        server = TestServer(app)
        await server.start_server()
        intel = app[keys.INTEL]
        for _ in range(1000):  # the first poll
            if intel.cache["coingecko"].value is not None:
                break
            await asyncio.sleep(0.01)
        url = str(server.make_url("/api/v1/screener"))
        rounds: list[float] = []
        async with aiohttp.ClientSession() as session:
            for n in range(requests):
                sent = time.perf_counter()
                async with session.get(url + QUERIES[n % len(QUERIES)]) as response:
                    body = await response.read()
                rounds.append((time.perf_counter() - sent) * 1000)
                assert response.status == 200 and body.startswith(b'{"tokens": ['), body[:200]
        service = []  # a new query each time: filtered, sorted and encoded
        for n in range(requests):
            intel.answers.clear()
            started = time.perf_counter()
            intel.screener(Decimal(n % 3), Sort.VOLUME, None, 250)
            service.append((time.perf_counter() - started) * 1000)
        await server.close()
    print(f"cached screener, {requests} requests over HTTP ({len(QUERIES)} queries): "
          f"p50 {percentile(rounds, .5):.2f} ms  p99 {percentile(rounds, .99):.2f} ms  "
          f"max {max(rounds):.2f} ms; the service building an answer (250 tokens): "
          f"p50 {percentile(service, .5):.3f} ms  p99 {percentile(service, .99):.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    args = parser.parse_args()
    asyncio.run(measure(args.requests))


if __name__ == "__main__":
    main()
