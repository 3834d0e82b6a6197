"""How the shape lots are stored in decides what closing many of them, and adding one,
costs on the database: three shapes side by side, on the engine itself.

    python -m bench.lot_shapes --lots 1000 --rounds 20 --page 64

- documents: a document per lot (as PaperDesk stores trades). A close reads the
  symbol's open lots and writes each, closed, in one bulkWrite.
- position: one document per position holding its open lots. A close reads it,
  empties it and inserts one document of the closed lots.
- pages: pages of at most --page open lots. A close reads the position's pages,
  deletes them and inserts one document of the closed lots.

Each close is one transaction, as a market order that closes the position is: the
lots read in its snapshot, each lot's exit computed by trading/positions.py, the
lots written, the account's $inc, two ledger entries and an event run, a majority
and journaled commit. The database's part is the same transaction with the writes
computed beforehand (it reads the lots and writes). Adding a lot is a transaction
of its own, timed at the position sizes given by --sizes. Prints p50, p99 and max.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from bson import Int64
from pymongo import AsyncMongoClient, DeleteMany, InsertOne, ReplaceOne, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from bench.monitor_fires import percentile
from bench.server import ROOT
from services.context import applied
from store.embedded import EmbeddedDatabase
from store.int64 import int64s
from trading.fees import allocate
from trading.positions import LotExit, exit_lot, exits_account_changes, first_in_first_out
from trading.trades import CloseReason

DB = "lot_shapes"
USER, SYMBOL = "bench-user", "AAA"
ONE = 10**8  # one share, in storage units
ENTRY = 100 * 10**8
Body = Callable[[AsyncClientSession], Awaitable[None]]


def lot(n: int, now: datetime) -> dict[str, Any]:
    """An open lot of one share, with every field PaperDesk's trades have."""
    lot_id = f"L{n:012d}"
    return {"_id": lot_id, "user_id": USER, "order_id": lot_id, "symbol": SYMBOL,
            "side": "buy", "quantity": ONE, "initial_quantity": ONE, "entry_price": ENTRY,
            "stop_loss": None, "target_price": None, "trailing_amount": None,
            "trailing_percent": None, "trail_best": ENTRY, "margin": ENTRY, "fees": 5_000_000,
            "realized_pnl": 0, "status": "open", "pending": None, "exits": [],
            "opened_at": now, "closed_at": None, "close_reason": None, "close_price": None,
            "currency": "USD"}


class Shapes:
    def __init__(self, client: AsyncMongoClient[Any], page: int) -> None:
        self.client, self.page = client, page
        self.db = client[DB]
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.serial = 0

    def lots(self, count: int) -> list[dict[str, Any]]:
        made = [lot(self.serial + n, self.now) for n in range(count)]
        self.serial += count
        return made

    async def transaction(self, body: Body) -> float:
        """Run body in a transaction as PaperDesk's units of work do; its milliseconds."""
        started = time.perf_counter()
        async with self.client.start_session() as session:
            await session.with_transaction(body, read_concern=ReadConcern("snapshot"),
                                           write_concern=WriteConcern("majority", j=True))
        return (time.perf_counter() - started) * 1000

    async def reset(self) -> None:
        for name in ("docs", "positions", "pages", "closed", "accounts", "ledger", "events"):
            await self.db[name].delete_many({})
        await self.db.accounts.insert_one({"_id": USER, "cash": Int64(10**18),
                                           "available": Int64(10**18), "event_seq": Int64(0)})

    # -- the lots written -------------------------------------------------------------

    async def open_lots(self, shape: str, count: int) -> None:
        """count open lots, stored in shape (not timed)."""
        lots = int64s(self.lots(count))
        if not lots:
            return
        if shape == "documents":
            await self.db.docs.insert_many(lots)
        elif shape == "position":
            await self.db.positions.update_one(
                {"_id": f"{USER}/{SYMBOL}"}, {"$push": {"lots": {"$each": lots}}}, upsert=True)
        else:
            await self.db.pages.insert_many(
                [{"user_id": USER, "symbol": SYMBOL, "size": Int64(len(part)), "lots": part}
                 for part in (lots[i:i + self.page] for i in range(0, len(lots), self.page))])

    def add_one(self, shape: str) -> Body:
        new = int64s(self.lots(1)[0])

        async def body(session: AsyncClientSession) -> None:
            if shape == "documents":
                await self.db.docs.insert_one(new, session=session)
            elif shape == "position":
                await self.db.positions.update_one({"_id": f"{USER}/{SYMBOL}"},
                                                   {"$push": {"lots": new}}, session=session)
            else:
                await self.db.pages.update_one(
                    {"user_id": USER, "symbol": SYMBOL, "size": {"$lt": self.page}},
                    {"$push": {"lots": new}, "$inc": {"size": Int64(1)}}, upsert=True,
                    session=session)
        return body

    # -- the close --------------------------------------------------------------------

    async def read(self, shape: str, session: AsyncClientSession | None = None
                   ) -> tuple[list[dict[str, Any]], list[Any]]:
        """The position's open lots, and the ids of the pages holding them."""
        if shape == "documents":
            return [doc async for doc in self.db.docs.find(
                {"user_id": USER, "symbol": SYMBOL, "status": "open"}, session=session)], []
        if shape == "position":
            held = await self.db.positions.find_one({"_id": f"{USER}/{SYMBOL}"},
                                                    session=session)
            return (held["lots"] if held else []), []
        pages = [doc async for doc in self.db.pages.find({"user_id": USER, "symbol": SYMBOL},
                                                         session=session)]
        return [one for page in pages for one in page["lots"]], [page["_id"] for page in pages]

    def writes(self, shape: str, price: Decimal, lots: list[dict[str, Any]],
               pages: list[Any]) -> list[Any]:
        """The close's writes: each lot's exit computed, the lots, the account, the ledger
        and the event run."""
        namespace = f"{DB}.%s"
        units = sum(int(one["quantity"]) for one in lots)
        taken = first_in_first_out(lots, units)
        fees = allocate(units // 100, [part for _, part in taken])
        exits: list[LotExit] = [exit_lot(one, part, price, CloseReason.ORDER, fee, self.now)
                                for (one, part), fee in zip(taken, fees, strict=True)]
        writes: list[Any] = []
        closed = [applied(one, done.update) for (one, _), done in zip(taken, exits,
                                                                       strict=True)]
        if shape == "documents":  # each closed lot written whole, as net_fill writes it
            writes += [ReplaceOne({"_id": one["_id"]}, int64s(one),
                                  namespace=namespace % "docs") for one in closed]
        else:
            if shape == "position":
                writes.append(UpdateOne({"_id": f"{USER}/{SYMBOL}"}, {"$set": {"lots": []}},
                                        namespace=namespace % "positions"))
            else:
                writes.append(DeleteMany({"_id": {"$in": pages}}, namespace=namespace % "pages"))
            writes.append(InsertOne(int64s({"user_id": USER, "symbol": SYMBOL,
                                            "at": self.now, "lots": closed}),
                                    namespace=namespace % "closed"))
        changes = exits_account_changes(exits)
        writes.append(UpdateOne({"_id": USER}, int64s({"$inc": {
            "cash": changes["cash"], "available": changes["available"], "event_seq": 3}}),
            namespace=namespace % "accounts"))
        writes += [InsertOne(int64s({"user_id": USER, "amount": amount, "at": self.now}),
                             namespace=namespace % "ledger")
                   for amount in (changes["realized_pnl"], -changes["fees"])]
        writes.append(InsertOne({"user_id": USER, "events": [
            {"type": "position_update", "data": {"trades_closed": len(exits)}}]},
            namespace=namespace % "events"))
        return writes

    def close(self, shape: str, price: Decimal, prepared: list[Any] | None = None) -> Body:
        """The close as one transaction; prepared: its writes computed beforehand (the
        transaction then only reads and writes: what the database takes)."""
        async def body(session: AsyncClientSession) -> None:
            lots, pages = await self.read(shape, session)
            writes = prepared if prepared is not None else self.writes(shape, price, lots,
                                                                       pages)
            await self.client.bulk_write(writes, session=session)
        return body


async def measure(uri: str, lots: int, rounds: int, page: int, sizes: list[int]) -> None:
    client: AsyncMongoClient[Any] = AsyncMongoClient(uri)
    shapes = Shapes(client, page)
    await shapes.db.docs.create_index([("user_id", 1), ("status", 1)])
    await shapes.db.pages.create_index([("user_id", 1), ("symbol", 1), ("size", 1)])
    await shapes.reset()
    print(f"closing {lots} one-share lots in one transaction, {rounds} rounds; "
          f"pages of {page}")
    for shape in ("documents", "position", "pages"):
        closes, database = [], []
        for _ in range(rounds + 2):  # the first two warm the engine up
            await shapes.reset()
            await shapes.open_lots(shape, lots)
            closes.append(await shapes.transaction(shapes.close(shape, Decimal(101))))
            await shapes.reset()
            await shapes.open_lots(shape, lots)
            prepared = shapes.writes(shape, Decimal(101), *await shapes.read(shape))
            database.append(await shapes.transaction(shapes.close(shape, Decimal(101),
                                                                  prepared)))
        closes, database = closes[2:], database[2:]
        adds = []
        for size in sizes:
            await shapes.reset()
            await shapes.open_lots(shape, size)
            timed = [await shapes.transaction(shapes.add_one(shape)) for _ in range(22)][2:]
            adds.append(f"{size}: {percentile(timed, .5):.2f}")
        print(f"{shape:10s} close p50 {percentile(closes, .5):6.1f}  p99 "
              f"{percentile(closes, .99):6.1f}  max {max(closes):6.1f} ms   the database's "
              f"part p50 {percentile(database, .5):6.1f}  p99 {percentile(database, .99):6.1f}"
              f"  max {max(database):6.1f} ms\n{'':10s} add a lot to a position of n lots, "
              f"p50 ms: {', '.join(adds)}")
    await client.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lots", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--page", type=int, default=64)
    parser.add_argument("--sizes", type=int, nargs="+", default=[0, 100, 1000, 5000])
    args = parser.parse_args()
    embedded = EmbeddedDatabase(ROOT / ".tools" / "bin" / "secantusd-rs",
                                Path(tempfile.mkdtemp(prefix="paperdesk-bench-")))
    uri = await embedded.start()
    try:
        await measure(uri, args.lots, args.rounds, args.page, args.sizes)
    finally:
        await embedded.stop()


if __name__ == "__main__":
    asyncio.run(main())
