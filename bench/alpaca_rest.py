"""The cost of Alpaca's /v2 transport against the native REST call it translates.

    python -m bench.alpaca_rest --calls 300 --rounds 4 --concurrency 4

One server, one user and its API key (both transports authenticate the same way).
For each pair (GET /api/v1/account vs GET /v2/account; POST /api/v1/orders vs
POST /v2/orders, market orders that alternate buy and sell so the books stay small)
blocks of calls alternate between the two, each first in every other round, so
drift hits both alike. Prints per-call latency p50/p99 and the server's CPU time per call (the
server process and the embedded database), side by side, and /v2 as a share of native.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count
from typing import Any

import aiohttp

from bench.server import BenchServer, children, cpu_seconds, trading_env


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)  # ms
    cpu: float = 0.0  # server and database CPU seconds
    errors: int = 0

    def pct(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))]

    def cpu_ms(self) -> float:
        return self.cpu * 1000 / max(1, len(self.latencies))


Request = Callable[[int], tuple[str, str, dict[str, Any] | None]]


def account(path: str) -> Request:
    return lambda n: ("GET", path, None)


def native_order(n: int) -> tuple[str, str, dict[str, Any]]:
    return ("POST", "/api/v1/orders",
            {"symbol": "AAPL", "side": "buy" if n % 2 else "sell", "quantity": "1"})


def alpaca_order(n: int) -> tuple[str, str, dict[str, Any]]:
    return ("POST", "/v2/orders", {"symbol": "AAPL", "side": "buy" if n % 2 else "sell",
                                   "qty": "1", "type": "market", "time_in_force": "gtc"})


PAIRS: dict[str, tuple[Request, Request]] = {
    "GET account": (account("/api/v1/account"), account("/v2/account")),
    "POST market order": (native_order, alpaca_order),
}


async def block(http: aiohttp.ClientSession, url: str, headers: dict[str, str],
                request: Request, calls: int, concurrency: int, pids: list[int],
                tally: Tally) -> None:
    """calls requests, concurrency at a time, into tally."""
    numbers = count()

    async def worker() -> None:
        while (n := next(numbers)) < calls:
            method, path, body = request(n)
            start = time.perf_counter()
            async with http.request(method, url + path, json=body, headers=headers) as answer:
                await answer.read()
                if answer.status >= 300:
                    tally.errors += 1
            tally.latencies.append((time.perf_counter() - start) * 1000)

    before = sum(map(cpu_seconds, pids))
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    tally.cpu += sum(map(cpu_seconds, pids)) - before


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="calls per block")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    env = trading_env()
    results: dict[str, tuple[Tally, Tally]] = {}
    async with BenchServer(**env) as server, aiohttp.ClientSession() as http:
        token = await server.token(http)
        async with http.post(server.url + "/api/v1/me/api-keys", json={"name": "bench"},
                             headers={"Authorization": f"Bearer {token}"}) as answer:
            key = await answer.json()
        headers = {"APCA-API-KEY-ID": key["key_id"], "APCA-API-SECRET-KEY": key["secret"]}
        pids = [server.pid, *children(server.pid)]
        for name, (native, alpaca) in PAIRS.items():
            tallies = results[name] = (Tally(), Tally())
            warm = Tally()
            for request in (native, alpaca):  # warm both paths up
                await block(http, server.url, headers, request, 50, args.concurrency, pids,
                            warm)
            for round_ in range(args.rounds):
                pairs = list(zip((native, alpaca), tallies, strict=True))
                # Each goes first in every other round: the books grow under both alike.
                for request, tally in pairs[::-1] if round_ % 2 else pairs:
                    await block(http, server.url, headers, request, args.calls,
                                args.concurrency, pids, tally)
    print(f"{args.rounds} rounds of {args.calls} calls each way, {args.concurrency} in flight, "
          "one server (CPU: server and embedded database)")
    print(f"{'':18} {'':8} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms/call':>12} {'errors':>7}")
    for name, (native_tally, alpaca_tally) in results.items():
        for label, tally in (("native", native_tally), ("/v2", alpaca_tally)):
            print(f"{name:18} {label:8} {tally.pct(.5):8.2f} {tally.pct(.99):8.2f} "
                  f"{tally.cpu_ms():12.3f} {tally.errors:7d}")
        print(f"{'':18} {'/v2 share':8} {alpaca_tally.pct(.5) / native_tally.pct(.5):8.0%} "
              f"{alpaca_tally.pct(.99) / native_tally.pct(.99):8.0%} "
              f"{alpaca_tally.cpu_ms() / max(native_tally.cpu_ms(), 1e-9):12.0%}")


if __name__ == "__main__":
    asyncio.run(main())
