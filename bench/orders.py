"""Sustained market orders over Socket.IO, acked after the durable write.

    python -m bench.orders --users 4 --sockets 4 --seconds 10

Each socket places market orders one after another (each waits for its ack);
prints orders per second, ack latency p50/p99, and the CPU time each order
cost the server, the embedded database and this load generator (all on the
same machine), against the embedded store (or MONGO_URI / MONGO_DB, when
set, for a real MongoDB).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from itertools import count

import aiohttp

from bench.lightclient import LightClient
from bench.server import BenchServer, children, cpu_seconds, raise_file_limit, trading_env


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--sockets", type=int, default=4, help="sockets per user")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    raise_file_limit()
    env = trading_env()
    latencies: list[float] = []
    errors: dict[str, int] = {}
    ids = count()
    async with BenchServer(**env) as server, aiohttp.ClientSession() as http:
        clients = []
        for user in range(args.users):
            token = await server.token(http, f"bench{user}@example.com")
            for _ in range(args.sockets):
                # Events are not read here: only the acks are timed.
                client = LightClient(http, server.url, token, on_raw=lambda text, at: None)
                await client.connect()
                clients.append(client)
        deadline = time.monotonic() + args.seconds

        async def trade(client: LightClient) -> None:
            while time.monotonic() < deadline:
                body = {"symbol": "AAPL", "side": "buy", "quantity": "1",
                        "client_order_id": f"b{next(ids)}"}
                start = time.perf_counter()
                ack = await client.call("place_order", body, within=30)
                latencies.append((time.perf_counter() - start) * 1000)
                if not ack["ok"]:
                    code = ack["error"]["code"]
                    errors[code] = errors.get(code, 0) + 1

        processes = {"server": [server.pid], "database": children(server.pid)}

        def used() -> dict[str, float]:
            return {name: sum(map(cpu_seconds, pids)) for name, pids in processes.items()}

        cpu0, own0, t0 = used(), time.process_time(), time.monotonic()
        await asyncio.gather(*(trade(c) for c in clients))
        cpu1, own1, elapsed = used(), time.process_time(), time.monotonic() - t0
        await asyncio.gather(*(c.close() for c in clients))
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))]

    store = "MONGO_URI" if "MONGO_URI" in env else "embedded secantusd-rs"
    print(f"{len(clients)} sockets ({args.users} users), {elapsed:.1f} s, store: {store}")
    print(f"orders/s {len(latencies) / elapsed:8.1f}   ack latency ms p50 {pct(.5):7.1f} "
          f"p99 {pct(.99):7.1f}   errors {errors}")
    spent = {name: cpu1[name] - cpu0[name] for name in cpu0} | {"load generator": own1 - own0}
    print("CPU per order (ms): " + ", ".join(
        f"{name} {seconds * 1000 / max(1, len(latencies)):.2f} ({seconds / elapsed:.0%} of a core)"
        for name, seconds in spent.items() if seconds or name != "database"))


if __name__ == "__main__":
    asyncio.run(main())
