"""Price fan-out: N Socket.IO clients subscribed to S symbols ticking at R Hz.

    python -m bench.fanout --clients 1000 --symbols 10 --rate 4 --seconds 10 --baseline
    python -m bench.fanout --clients 1000 --servers 3   # three processes on Redis

Prints, per fan-out mode: updates delivered per second, tick->client latency
p50/p95/p99, server CPU use and server CPU-µs per delivered update. The
default mode coalesces per window and batches; --baseline also runs plain
per-tick python-socketio room emits in the same invocation.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from bench.lightclient import LightClient
from bench.server import BenchCluster, BenchServer, cpu_seconds, raise_file_limit


@dataclass
class Result:
    mode: str
    updates: int
    seconds: float
    cpu: float
    client_cpu: float
    latencies_ms: list[float]

    def line(self) -> str:
        lat = sorted(self.latencies_ms) or [float("nan")]
        def pct(p: float) -> float:
            return lat[min(len(lat) - 1, int(p * len(lat)))]
        rate = self.updates / self.seconds
        per_update = self.cpu / self.updates * 1e6 if self.updates else float("nan")
        cpu_share = self.cpu / self.seconds
        return (f"{self.mode:13} updates/s {rate:10.0f}   latency ms p50 {pct(.5):6.1f} "
                f"p95 {pct(.95):6.1f} p99 {pct(.99):6.1f}   server CPU {cpu_share:5.0%}"
                f"   CPU-µs/update {per_update:6.1f}"
                f"   (load generator CPU {self.client_cpu / self.seconds:4.0%})")


class Counter:
    def __init__(self) -> None:
        self.updates = 0
        self.latencies: list[float] = []
        self.recording = False

    def on_event(self, name: str, data: object, at: float) -> None:
        """A sampling client: parse and record every update's latency."""
        if not self.recording:
            return
        batch = data if name == "prices" else [data] if name == "live_price" else []
        for update in batch:  # type: ignore[union-attr]
            self.updates += 1
            self.latencies.append(at * 1000 - update["ts"])  # type: ignore[index]

    def on_raw(self, text: str, at: float) -> None:
        """Every other client only counts, so the load generator stays light."""
        if self.recording:
            self.updates += text.count('"symbol"')


async def clients_session(urls: list[str], token: str, count: int, symbols: list[str],
                          ready: Any, go: Any, seconds: float,
                          first_index: int) -> tuple[int, list[float], float]:
    """Connect `count` clients, subscribe, wait for `go`, then count for `seconds`."""
    counter = Counter()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        # One client in ten parses and samples latency; the rest only count.
        clients = [LightClient(http, urls[(first_index + n) % len(urls)], token,
                               counter.on_event,
                               None if (first_index + n) % 10 == 0 else counter.on_raw)
                   for n in range(count)]
        for start in range(0, count, 50):
            await asyncio.gather(*(c.connect() for c in clients[start:start + 50]))
        for start in range(0, count, 50):
            await asyncio.gather(*(c.call("subscribe", {"symbols": symbols})
                                   for c in clients[start:start + 50]))
        ready.set()
        await asyncio.to_thread(go.wait)
        counter.recording = True
        own0 = time.process_time()
        await asyncio.sleep(seconds)
        counter.recording = False
        own = time.process_time() - own0
        await asyncio.gather(*(c.close() for c in clients))
    return counter.updates, counter.latencies, own


def worker(urls: list[str], token: str, count: int, symbols: list[str], ready: Any, go: Any,
           seconds: float, first_index: int, results: Any) -> None:
    """A load-generator process: its own event loop and its share of the clients."""
    raise_file_limit()
    results.put(asyncio.run(clients_session(urls, token, count, symbols, ready, go, seconds,
                                            first_index)))


async def run(mode: str, args: argparse.Namespace) -> Result:
    symbols = ",".join(f"S{i:03d}=100" for i in range(args.symbols))
    env = {"MARKET_SYMBOLS": f"sim:{symbols}", "SIM_TICK_INTERVAL": str(1 / args.rate),
           "SIM_SEED": "1", "PRICE_FANOUT": mode, "PRICE_WINDOW_MS": str(args.window_ms),
           "SLOW_CLIENT_PACKETS": "100000", "SLOW_CLIENT_BYTES": str(1 << 30)}
    wanted = [f"S{i:03d}" for i in range(args.symbols)]
    context = multiprocessing.get_context("spawn")
    go, results = context.Event(), context.Queue()
    cluster = BenchCluster(args.servers, **env) if args.servers else BenchServer(**env)
    async with cluster as server, aiohttp.ClientSession() as http:
        token = await server.token(http)
        share = -(-args.clients // args.processes)
        workers, readies = [], []
        for index in range(args.processes):
            count = min(share, args.clients - index * share)
            ready = context.Event()
            process = context.Process(target=worker, args=(
                server.urls, token, count, wanted, ready, go, args.seconds, index * share,
                results))
            process.start()
            workers.append(process)
            readies.append(ready)
        for ready in readies:
            await asyncio.to_thread(ready.wait)
        await asyncio.sleep(args.warmup)
        cpu0, t0 = sum(map(cpu_seconds, server.pids)), time.monotonic()
        go.set()
        gathered = [await asyncio.to_thread(results.get) for _ in workers]
        cpu1, t1 = sum(map(cpu_seconds, server.pids)), time.monotonic()
        for process in workers:
            process.join()
    updates = sum(g[0] for g in gathered)
    latencies = [latency for g in gathered for latency in g[1]]
    client_cpu = sum(g[2] for g in gathered)
    # The workers stop counting after exactly `seconds`; the rest is teardown.
    label = f"{mode} x{args.servers}" if args.servers else mode
    return Result(label, updates, args.seconds, (cpu1 - cpu0) * args.seconds / (t1 - t0),
                  client_cpu, latencies)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--symbols", type=int, default=10)
    parser.add_argument("--rate", type=float, default=4.0, help="ticks per second per symbol")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--window-ms", type=float, default=25.0)
    parser.add_argument("--processes", type=int, default=2,
                        help="load-generator processes the clients are spread over")
    parser.add_argument("--servers", type=int, default=0,
                        help="run N server processes on Redis (cluster mode); 0: one, alone")
    parser.add_argument("--baseline", action="store_true",
                        help="also run plain per-tick room emits")
    args = parser.parse_args()
    raise_file_limit()
    print(f"clients {args.clients} over {args.processes} load processes, symbols "
          f"{args.symbols}, {args.rate:g} ticks/s each, window {args.window_ms:g} ms, "
          f"{args.seconds:g} s measured")
    offered = args.clients * args.symbols * args.rate
    print(f"offered: {offered:.0f} symbol updates/s to clients")
    for mode in ["coalesced"] + (["per_tick"] if args.baseline else []):
        print((await run(mode, args)).line(), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
