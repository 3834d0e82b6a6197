"""What one write call costs the embedded FerretDB: inserts against updates.

    python -m bench.ferretdb_writes --calls 200

Starts the embedded FerretDB (SQLite, with the _id lookup index the server
adds: store/sqlite_ids.py) and, on one connection as the server uses it,
times calls of the two shapes a group of market orders writes: an insert of
k order-shaped documents (claims, trades, orders), and an ordered bulk of k
updates by _id of account-shaped documents (the group's charges, one
statement per account). Prints, per call, the wall time and FerretDB's CPU.

With ``--databases D`` it also times the k updates spread over 1, 2 ... D
databases (SQLite files) at once, each on a connection of its own: what
keeping the accounts in several files would give.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient, UpdateOne

from bench.server import ROOT, cpu_seconds
from store.database import Database, ensure_indexes
from store.embedded import EmbeddedFerretDB
from store.sqlite_ids import add_id_lookups

ACCOUNTS = 1000


def order(n: int, now: datetime) -> dict[str, Any]:
    return {"_id": f"{n:024x}", "user_id": f"user{n % ACCOUNTS}", "client_order_id": f"c{n}",
            "fingerprint": "0" * 32, "symbol": "AAPL", "side": "buy", "type": "market",
            "quantity": 100_000_000, "limit_price": None, "stop_price": None,
            "stop_loss": None, "target_price": None, "time_in_force": "gtc", "status": "new",
            "expires_at": None, "trailing_amount": None, "trailing_percent": None,
            "reject_reason": None, "reserved": 0, "created_at": now,
            "pending": {"op": f"open:{n:024x}", "price": 10_000_000_000,
                        "margin": 10_000_000_000, "fee": 0, "node": None}}


def account(user: int, now: datetime) -> dict[str, Any]:
    return {"_id": f"user{user}", "user_id": f"user{user}", "currency": "USD",
            "initial": 10**13, "cash": 10**13, "reserved": 0, "margin_used": 0,
            "available": 10**13, "realized_pnl": 0, "fees": 0, "pending_ops": [],
            "pending_reset": None, "resets": 0, "event_seq": 0, "created_at": now,
            "updated_at": now}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="calls per shape and size")
    parser.add_argument("--databases", type=int, default=1,
                        help="also spread the updates over up to this many databases")
    args = parser.parse_args()
    now = datetime.now(UTC)
    numbers = count()
    with tempfile.TemporaryDirectory(prefix="paperdesk-bench-") as data:
        ferretdb = EmbeddedFerretDB(ROOT / ".tools/bin/ferretdb", Path(data))
        uri = await ferretdb.start()
        # A database per client, each client with one connection, as the server keeps them.
        clients: list[AsyncMongoClient[dict[str, Any]]] = [
            AsyncMongoClient(uri, maxPoolSize=1) for _ in range(max(1, args.databases))]
        try:
            databases = [client[f"bench{i}"] for i, client in enumerate(clients)]
            db = databases[0]
            await ensure_indexes(db)  # the server's collections and indexes
            for each in databases:
                await each["accounts"].insert_many([account(u, now) for u in range(ACCOUNTS)])
                add_id_lookups(Path(data) / "ferretdb" / f"{each.name}.sqlite")
            assert ferretdb.process is not None
            pid = ferretdb.process.pid

            async def measure(name: str, k: int, call: Callable[[int], Awaitable[Any]]) -> None:
                await call(k)  # warm
                wall, cpu = time.perf_counter(), cpu_seconds(pid)
                for _ in range(args.calls):
                    await call(k)
                wall, cpu = time.perf_counter() - wall, cpu_seconds(pid) - cpu
                print(f"{name:34} k={k:2}  wall {wall / args.calls * 1000:6.2f} ms/call  "
                      f"FerretDB CPU {cpu / args.calls * 1000:6.2f} ms/call")

            async def insert_orders(k: int) -> None:
                await db["orders"].insert_many([order(next(numbers), now) for _ in range(k)],
                                               ordered=False)

            async def charge(each: Database, users: range) -> None:
                ops = []
                for user in users:
                    op = f"open:{next(numbers)}"
                    ops.append(UpdateOne({"_id": f"user{user}"}, {
                        "$inc": {"available": -1, "margin_used": 1, "event_seq": 3},
                        "$set": {"updated_at": now, "pending_ops": [op]}}))
                await each["accounts"].bulk_write(ops, ordered=False)

            def spread(files: int) -> Callable[[int], Awaitable[Any]]:
                async def call(k: int) -> None:
                    share = k // files
                    await asyncio.gather(*(charge(databases[i], range(i * share, (i + 1) * share))
                                           for i in range(files)))
                return call

            print(f"{args.calls} calls each; {ACCOUNTS} accounts stored")
            for k in (1, 8, 16):
                await measure("insert k orders", k, insert_orders)
                await measure("update k accounts by _id", k, spread(1))
            files = 2
            while files <= args.databases:
                for k in (8, 16):
                    await measure(f"  the same over {files} databases", k, spread(files))
                files *= 2
        finally:
            for client in clients:
                await client.close()
            await ferretdb.stop()


if __name__ == "__main__":
    asyncio.run(main())
