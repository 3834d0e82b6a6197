"""What a forecast costs: the fit, a cached answer, and the event loop meanwhile.

    python -m bench.forecast --symbols 4 --requests 500 [--workers 1]

Starts a server with S simulated symbols (their seeded past fills the candles),
then asks GET /api/v1/predict/{symbol}?horizon=60&timeframe=1m for each: the first
request starts the worker processes as well as fitting, the others fit on workers
already up. Meanwhile /healthz is asked every 10 ms: its latency is what any
request sees while fits run. Then R requests for one cached forecast, one at a
time, give the cached latency. Last, in this process, one fit of 500 closes runs
in a thread while a 5 ms timer measures how late the event loop wakes: what the
server's loop would suffer if fits ran in threads instead of processes.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import aiohttp
import numpy as np

from bench.server import BenchServer


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def timed_get(http: aiohttp.ClientSession, url: str) -> tuple[float, int, dict]:
    began = time.perf_counter()
    async with http.get(url) as response:
        body = await response.json()
        return time.perf_counter() - began, response.status, body


async def health_latencies(http: aiohttp.ClientSession, url: str, stop: asyncio.Event,
                           found: list[float]) -> None:
    while not stop.is_set():
        found.append((await timed_get(http, url + "/healthz"))[0])
        await asyncio.sleep(0.01)


async def loop_lateness_during(work: asyncio.Future[object]) -> list[float]:
    """How late a 5 ms timer fires, again and again, until work is done."""
    late: list[float] = []
    while not work.done():
        began = time.perf_counter()
        await asyncio.sleep(0.005)
        late.append(time.perf_counter() - began - 0.005)
    return late


async def thread_check() -> tuple[float, list[float]]:
    from services.forecast_model import fit
    rng = np.random.default_rng(1)
    closes = (100 * np.exp(np.cumsum(rng.normal(0, 0.001, 500)))).tolist()
    fit(closes[:200])  # imports and warms statsmodels outside the measurement
    began = time.perf_counter()
    work = asyncio.ensure_future(asyncio.to_thread(fit, closes))
    late = await loop_lateness_during(work)
    await work
    return time.perf_counter() - began, late


async def run(args: argparse.Namespace) -> None:
    symbols = [f"S{i:02d}" for i in range(args.symbols)]
    env = {"MARKET_SYMBOLS": "sim:" + ",".join(f"{s}=100" for s in symbols),
           "SIM_SEED": "1", "SIM_HISTORY_DAYS": "1", "FORECAST_WORKERS": str(args.workers),
           "FORECAST_MAX_FITS": str(max(4, args.workers))}
    async with BenchServer(**env) as server, aiohttp.ClientSession() as http:
        base = f"{server.url}/api/v1/predict/%s?horizon=60&timeframe=1m"
        for symbol in symbols:  # the simulated past, filled before anything is timed
            async with http.get(f"{server.url}/api/v1/market/candles/{symbol}"):
                pass
        stop, health = asyncio.Event(), []
        pinger = asyncio.create_task(health_latencies(http, server.url, stop, health))
        fits = []
        for symbol in symbols:
            seconds, status, body = await timed_get(http, base % symbol)
            assert status == 200, body
            fits.append(seconds)
        stop.set()
        await pinger
        cached = []
        for _ in range(args.requests):
            seconds, status, _ = await timed_get(http, base % symbols[0])
            assert status == 200
            cached.append(seconds)
    threaded, late = await thread_check()
    model, test = body["model"], body["backtest"]
    print(f"{args.workers} worker(s), {args.symbols} symbols, 1m, "
          f"{model['observations']} closes, horizon 60; "
          f"{symbols[-1]}: {model['name']}, MASE {test['mase']} vs naive {test['naive_mase']}")
    print(f"first request (starts the workers, then fits): {fits[0] * 1000:8.0f} ms")
    others = [f * 1000 for f in fits[1:]]
    if others:
        print(f"fit on a running worker: median {statistics.median(others):6.0f} ms, "
              f"max {max(others):6.0f} ms ({len(others)} symbols)")
    print(f"/healthz while fitting: p50 {percentile(health, 0.5) * 1000:6.2f} ms, "
          f"p99 {percentile(health, 0.99) * 1000:6.2f} ms, max {max(health) * 1000:6.2f} ms "
          f"({len(health)} requests)")
    print(f"cached forecast: p50 {percentile(cached, 0.5) * 1000:6.2f} ms, "
          f"p99 {percentile(cached, 0.99) * 1000:6.2f} ms ({len(cached)} requests)")
    print(f"a fit in a thread instead: {threaded * 1000:.0f} ms, the event loop woke late by "
          f"p50 {percentile(late, 0.5) * 1000:.2f} ms, p99 {percentile(late, 0.99) * 1000:.2f} "
          f"ms, max {max(late) * 1000:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=4)
    parser.add_argument("--requests", type=int, default=500, help="cached requests")
    parser.add_argument("--workers", type=int, default=1, help="FORECAST_WORKERS")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
