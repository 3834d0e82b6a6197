"""What keeping candles costs: a server with S simulated symbols ticking R times a second
and no clients, its CPU and its database's over a stretch of seconds.

    python -m bench.candles --symbols 1000 --rate 4 --warmup 15 --seconds 60
    python -m bench.candles --symbols 1000 --rate 4 --warmup 15 --seconds 60 --flush 5

Prints ticks accepted per second, the server's and the database's CPU use, and
how many 1m candles of one symbol are served. The start-up backfill of the
simulator's past is off (CANDLE_BACKFILL=false) unless --backfill is given: it is
a one-time cost, and this measures the steady state. Run it on a commit without
persisted candles too, for the difference.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time

import aiohttp

from bench.server import BenchServer, children, cpu_seconds


async def metric(http: aiohttp.ClientSession, url: str, name: str) -> float:
    async with http.get(url + "/metrics") as response:
        text = await response.text()
    found = re.search(rf"^{name}(?:_total)? ([0-9.e+]+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def run(args: argparse.Namespace) -> None:
    symbols = ",".join(f"S{i:04d}=100" for i in range(args.symbols))
    env = {"MARKET_SYMBOLS": f"sim:{symbols}", "SIM_TICK_INTERVAL": str(1 / args.rate),
           "SIM_SEED": "1", "CANDLE_FLUSH_INTERVAL": str(args.flush),
           "CANDLE_BACKFILL": "true" if args.backfill else "false"}
    async with BenchServer(**env) as server, aiohttp.ClientSession() as http:
        await asyncio.sleep(args.warmup)
        processes = {"server": [server.pid], "database": children(server.pid)}

        def used() -> dict[str, float]:
            return {name: sum(map(cpu_seconds, pids)) for name, pids in processes.items()}

        ticks0, cpu0, t0 = await metric(http, server.url, "paperdesk_ticks"), used(), \
            time.monotonic()
        await asyncio.sleep(args.seconds)
        ticks1, cpu1, elapsed = await metric(http, server.url, "paperdesk_ticks"), used(), \
            time.monotonic() - t0
        async with http.get(f"{server.url}/api/v1/market/candles/S0000?timeframe=1m"
                            "&limit=1000") as response:
            minutes = len((await response.json()).get("candles", []))
    share = {name: (cpu1[name] - cpu0[name]) / elapsed for name in cpu0}
    print(f"{args.symbols} symbols x {args.rate:g} ticks/s, flush every {args.flush:g} s, "
          f"{elapsed:.1f} s measured")
    print(f"ticks/s {(ticks1 - ticks0) / elapsed:8.0f}   server CPU {share['server']:6.1%}   "
          f"database CPU {share['database']:6.1%}   1m candles of S0000 served: {minutes}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=4.0, help="ticks per second per symbol")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--flush", type=float, default=10.0, help="CANDLE_FLUSH_INTERVAL")
    parser.add_argument("--backfill", action="store_true", help="fill the simulated past too")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
