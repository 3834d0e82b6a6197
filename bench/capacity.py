"""One server process's capacity: idle sockets, authenticated GETs, logins.

    python -m bench.capacity idle --connections 10000
    python -m bench.capacity rest --seconds 10
    python -m bench.capacity logins --seconds 10

idle: opens N authenticated Socket.IO connections (WebSocket) that then sit
    idle, and prints the server's resident memory before and after, per connection.
rest: GET /api/v1/me (JWT check, session check and profile, each cached for
    at most a second) from --concurrency connections of wrk (Debian's wrk, if
    installed; else aiohttp clients in --processes load processes); prints
    requests/s, latency and the server's CPU use (one process, one core at most).
logins: POST /auth/login at the default bcrypt cost (12) from --concurrency
    clients, while a probe times GET /healthz every 10 ms: the probe's latency
    is the event loop's lag (bcrypt runs in threads; a blocked loop would show).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import shutil
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.lightclient import LightClient
from bench.server import PASSWORD, BenchServer, cpu_seconds, raise_file_limit


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values) or [float("nan")]
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


# ---------------------------------------------------------------- idle sockets

def hold_sockets(url: str, token: str, count: int, ready: Any, done: Any) -> None:
    async def hold() -> None:
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            clients = [LightClient(session, url, token) for _ in range(count)]
            for start in range(0, count, 200):  # in batches: a burst of 10k handshakes stalls
                await asyncio.gather(*(c.connect() for c in clients[start:start + 200]))
            ready.set()
            await asyncio.to_thread(done.wait)
    raise_file_limit()
    asyncio.run(hold())


async def idle(args: argparse.Namespace) -> None:
    context = multiprocessing.get_context("spawn")
    async with BenchServer(MARKET_SYMBOLS="sim:AAA=100", SIM_TICK_INTERVAL="1") as server, \
            aiohttp.ClientSession() as http:
        token = await server.token(http)
        warm = LightClient(http, server.url, token)  # first connection: imports, caches
        await warm.connect()
        before = rss_kib(server.pid)
        done = context.Event()
        share = -(-args.connections // args.processes)
        workers, readies = [], []
        for index in range(args.processes):
            ready = context.Event()
            count = min(share, args.connections - index * share)
            workers.append(context.Process(target=hold_sockets,
                                           args=(server.url, token, count, ready, done)))
            workers[-1].start()
            readies.append(ready)
        started = time.monotonic()
        for ready in readies:
            await asyncio.to_thread(ready.wait)
        took = time.monotonic() - started
        await asyncio.sleep(2)  # let the server settle after the handshakes
        after = rss_kib(server.pid)
        cpu0 = cpu_seconds(server.pid)
        await asyncio.sleep(10)
        idle_cpu = (cpu_seconds(server.pid) - cpu0) / 10
        done.set()
        for process in workers:
            process.join()
    per = (after - before) / args.connections
    print(f"idle connections {args.connections}: connected in {took:.1f} s; server RSS "
          f"{before / 1024:.0f} MiB -> {after / 1024:.0f} MiB = {per:.1f} KiB per connection; "
          f"server CPU while idle {idle_cpu:.1%}")


# ---------------------------------------------------------------- REST GETs

def get_loop(url: str, token: str, concurrency: int, seconds: float, go: Any,
             results: Any) -> None:
    async def run() -> tuple[int, list[float]]:
        headers = {"Authorization": f"Bearer {token}"}
        count, latencies = 0, []
        async with aiohttp.ClientSession(headers=headers,
                                         connector=aiohttp.TCPConnector(limit=0)) as session:
            await asyncio.to_thread(go.wait)
            end = time.monotonic() + seconds

            async def client() -> None:
                nonlocal count
                while (now := time.monotonic()) < end:
                    async with session.get(url + "/api/v1/me") as response:
                        await response.read()
                        if response.status != 200:
                            raise RuntimeError(f"GET /me answered {response.status}")
                    count += 1
                    if count % 20 == 0:
                        latencies.append((time.monotonic() - now) * 1000)
            await asyncio.gather(*(client() for _ in range(concurrency)))
        return count, latencies
    results.put(asyncio.run(run()))


async def rest_wrk(server: BenchServer, token: str, args: argparse.Namespace) -> None:
    """The same GETs from wrk (C, one thread): a Python load generator needs more CPU
    per request than the server does, so on two cores it would be what is measured."""
    cpu0 = cpu_seconds(server.pid)
    process = await asyncio.create_subprocess_exec(
        "wrk", "-t1", f"-c{args.concurrency}", f"-d{args.seconds:g}s", "--latency",
        "-H", f"Authorization: Bearer {token}", server.url + "/api/v1/me",
        stdout=asyncio.subprocess.PIPE)
    output = (await process.communicate())[0].decode()
    cpu = cpu_seconds(server.pid) - cpu0
    wanted = ("Requests/sec", "50%", "99%", "Non-2xx")
    lines = [line.strip() for line in output.splitlines() if line.strip().startswith(wanted)]
    print(f"GET /api/v1/me with wrk, {args.concurrency} connections: {'; '.join(lines)}; "
          f"server CPU {cpu / args.seconds:.0%} of one core")


async def rest(args: argparse.Namespace) -> None:
    context = multiprocessing.get_context("spawn")
    async with BenchServer(MARKET_SYMBOLS="sim:AAA=100") as server, \
            aiohttp.ClientSession() as http:
        token = await server.token(http)
        if shutil.which("wrk") and not args.python_clients:
            await rest_wrk(server, token, args)
            return
        go, results = context.Event(), context.Queue()
        workers = [context.Process(target=get_loop, args=(
            server.url, token, args.concurrency, args.seconds, go, results))
            for _ in range(args.processes)]
        for process in workers:
            process.start()
        await asyncio.sleep(3)  # the workers import and open their sessions
        cpu0 = cpu_seconds(server.pid)
        go.set()
        gathered = [await asyncio.to_thread(results.get) for _ in workers]
        cpu = cpu_seconds(server.pid) - cpu0
        for process in workers:
            process.join()
    requests = sum(g[0] for g in gathered)
    latencies = [x for g in gathered for x in g[1]]
    print(f"GET /api/v1/me: {requests / args.seconds:,.0f} requests/s with "
          f"{args.processes}x{args.concurrency} clients; latency ms p50 {pct(latencies, .5):.1f} "
          f"p99 {pct(latencies, .99):.1f}; server CPU {cpu / args.seconds:.0%} of one core")


# ---------------------------------------------------------------- logins

async def logins(args: argparse.Namespace) -> None:
    async with BenchServer(MARKET_SYMBOLS="sim:AAA=100", BCRYPT_COST=str(args.cost)) as server, \
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        await server.token(http)  # registers the account
        body = {"email": "bench@example.com", "password": PASSWORD}
        end = time.monotonic() + args.seconds
        done, lags = 0, []

        async def client() -> None:
            nonlocal done
            while time.monotonic() < end:
                async with http.post(server.url + "/api/v1/auth/login", json=body) as response:
                    await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"login answered {response.status}")
                done += 1

        async def probe() -> None:
            while time.monotonic() < end:
                sent = time.monotonic()
                async with http.get(server.url + "/healthz") as response:
                    await response.read()
                lags.append((time.monotonic() - sent) * 1000)
                await asyncio.sleep(0.01)

        cpu0 = cpu_seconds(server.pid)
        await asyncio.gather(probe(), *(client() for _ in range(args.concurrency)))
        cpu = cpu_seconds(server.pid) - cpu0
    print(f"logins at bcrypt cost {args.cost}: {done / args.seconds:.1f}/s with "
          f"{args.concurrency} clients; /healthz during them p50 {pct(lags, .5):.1f} ms "
          f"p99 {pct(lags, .99):.1f} ms max {max(lags):.1f} ms; "
          f"server CPU {cpu / args.seconds:.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    one = sub.add_parser("idle")
    one.add_argument("--connections", type=int, default=10_000)
    one.add_argument("--processes", type=int, default=2)
    two = sub.add_parser("rest")
    two.add_argument("--seconds", type=float, default=10.0)
    two.add_argument("--concurrency", type=int, default=32)
    two.add_argument("--processes", type=int, default=1)
    two.add_argument("--python-clients", action="store_true",
                     help="use aiohttp load processes even where wrk is installed")
    three = sub.add_parser("logins")
    three.add_argument("--seconds", type=float, default=10.0)
    three.add_argument("--concurrency", type=int, default=8)
    three.add_argument("--cost", type=int, default=12)
    args = parser.parse_args()
    raise_file_limit()
    asyncio.run({"idle": idle, "rest": rest, "logins": logins}[args.what](args))


if __name__ == "__main__":
    main()
