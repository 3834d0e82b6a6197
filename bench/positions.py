"""Closing a net position of many lots: one market order of the other side, one
transaction (services/context.py net_fill).

    python -m bench.positions --lots 1000 --rounds 20

Each round opens --lots lots of one share (market buys on the embedded database),
then closes the position with one sell and times it: the order's transaction (read
the lots, one bulkWrite with every closed lot written whole, the account, the ledger
and the events, the commit) and publishing its events, as the service sees it in a server started as
run.py starts one. Prints p50 and p99.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from aiohttp.test_utils import TestServer

from bench.monitor_fires import percentile
from config.settings import MarketSettings, Settings
from handlers import keys
from server.app import create_app, started_up
from services.positions import close_position
from trading.market import Quote
from trading.orders import OrderRequest, OrderType, Side


async def measure(lots: int, rounds: int) -> None:
    data = Path(tempfile.mkdtemp(prefix="paperdesk-bench-"))
    settings = Settings(port=0, data_dir=data, bcrypt_cost=4,
                        market=MarketSettings(symbols="sim:AAA=100", hours="ignore"))
    app = create_app(settings, feeds=[])
    server = TestServer(app)
    await server.start_server()
    started_up()  # as run.py's server is once started
    hub, engine = app[keys.MARKET].hub, app[keys.ENGINE]
    user_id = "bench-positions"
    await engine.ensure_account(user_id)
    closes, opening = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(lots):
            hub.publish(Quote("AAA", Decimal(100), hub.clock(), "sim"))  # kept fresh
            await engine.place_order(user_id, OrderRequest("AAA", Side.BUY, OrderType.MARKET,
                                                           Decimal(1)))
        opening.append(time.perf_counter() - started)
        hub.publish(Quote("AAA", Decimal(101), hub.clock(), "sim"))
        sent = time.perf_counter()
        done = await close_position(engine, user_id, "AAA")
        closes.append((time.perf_counter() - sent) * 1000)
        assert done["order"]["status"] == "filled", done
    await server.close()
    print(f"closing a position of {lots} lots, {rounds} rounds (opening each took "
          f"{sum(opening) / len(opening):.1f} s): p50 {percentile(closes, .5):.1f} ms  "
          f"p99 {percentile(closes, .99):.1f} ms  max {max(closes):.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lots", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(measure(args.lots, args.rounds))


if __name__ == "__main__":
    main()
