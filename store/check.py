"""Verify every account's books:  python -m store.check

For each account: cash = initial + the sum of its ledger; reserved = the sum
of its open orders' reservations; margin used = the sum of its open trades'
margin; available = cash - reserved - margin used; nothing left half-done.
Exits 1 and lists the problems if any account is off. With no MONGO_URI it
opens the embedded database (stop the server first). Like the server at
start-up, it first moves data an earlier version kept elsewhere into place
(store/layout.py: move_apart).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

from store.database import ByName, Document

log = logging.getLogger(__name__)

# A counter that a store added in 32 bits is off by a multiple of this.
WRAP = 2**32


async def _books_of(db: ByName, account: Document) -> dict[str, int]:
    """What an account's balances should be, from its ledger, open orders and trades."""
    user = account["_id"]
    ledger = sum([e["amount"] async for e in db["ledger"].find({"user_id": user})])
    reserved = sum([o["reserved"] async for o in db["orders"].find(
        {"user_id": user, "status": "open"})])
    margin = sum([t["margin"] async for t in db["trades"].find(
        {"user_id": user, "status": "open"})])
    return {"cash": account["initial"] + ledger, "reserved": reserved, "margin_used": margin}


async def check_books(db: ByName) -> list[str]:
    """Return a line for every inconsistency found (empty: the books balance)."""
    problems = []
    async for account in db["accounts"].find({}):
        user = account["_id"]
        expected = {
            **await _books_of(db, account),
            "available": account["cash"] - account["reserved"] - account["margin_used"],
        }
        for field, value in expected.items():
            if account[field] != value:
                problems.append(f"account {user}: {field} is {account[field]}, books say {value}")
        if account["reserved"] < 0 or account["margin_used"] < 0:
            problems.append(f"account {user}: negative reserved or margin")
        if account["pending_ops"] or account["pending_reset"]:
            problems.append(f"account {user}: unfinished steps {account['pending_ops']}")
    async for order in db["orders"].find({"$or": [{"pending": {"$ne": None}},
                                                  {"status": "new"}]}):
        problems.append(f"order {order['_id']}: unfinished ({order['status']})")
    async for trade in db["trades"].find({}):
        if trade["pending"] is not None:
            problems.append(f"trade {trade['_id']}: unfinished exit")
        if trade["quantity"] < 0 or (trade["status"] == "closed"
                                     and (trade["quantity"] or trade["margin"])):
            problems.append(f"trade {trade['_id']}: closed with quantity or margin left")
    return problems


async def repair_wrapped(db: ByName) -> list[str]:
    """Set every counter that is off by a multiple of 2^32 to what the books say; return
    (and log) a line for each one set.

    Stores that added 32-bit integers in 32 bits (FerretDB 1.24) wrapped a
    counter past 2^31 units; every write is 64-bit now (store/int64.py), and
    this mends what was stored before. Only a difference of an exact nonzero
    multiple of 2^32 is mended: any other is left for ``check_books`` to report.
    """
    fixed: list[str] = []

    async def mend(collection: str, doc: Document, expected: dict[str, int]) -> None:
        changes = {field: value for field, value in expected.items()
                   if doc.get(field) != value and (doc.get(field, value) - value) % WRAP == 0}
        if not changes:
            return
        # Only if nothing changed it since it was read (a server running beside us).
        unchanged = {field: doc[field] for field in changes}
        result = await db[collection].update_one({"_id": doc["_id"], **unchanged},
                                                 {"$set": changes})
        if not result.modified_count:
            return
        for field, value in changes.items():
            line = f"{collection} {doc['_id']}: {field} was {doc[field]}, set to {value}"
            log.warning("repaired a wrapped counter: %s", line)
            fixed.append(line)

    async for account in db["accounts"].find({}):
        if account.get("pending_ops") or account.get("pending_reset"):
            continue  # mid-step: its counters are not settled
        expected = await _books_of(db, account)
        expected["available"] = (expected["cash"] - expected["reserved"]
                                 - expected["margin_used"])
        expected.update(await _since_reset(db, account["_id"]))
        await mend("accounts", account, expected)
    async for trade in db["trades"].find({"pending": None}):
        exits: list[dict[str, Any]] = trade.get("exits") or []
        fees = -sum([e["amount"] async for e in db["ledger"].find(
            {"user_id": trade["user_id"], "reference": trade["_id"], "reason": "commission"})])
        await mend("trades", trade, {
            "quantity": trade["initial_quantity"] - sum(e["quantity"] for e in exits),
            "realized_pnl": sum(e["pnl"] for e in exits), "fees": fees})
    return fixed


async def _since_reset(db: ByName, user: str) -> dict[str, int]:
    """An account's realized PnL and fees from its ledger since its last reset."""
    last_reset = await db["ledger"].find_one({"user_id": user, "reason": "reset"},
                                             sort=[("at", -1)])
    since = {} if last_reset is None else {"at": {"$gt": last_reset["at"]}}
    totals = {"realized_pnl": 0, "commission": 0}
    async for entry in db["ledger"].find({"user_id": user, "reason": {"$in": list(totals)},
                                          **since}):
        totals[entry["reason"]] += entry["amount"]
    return {"realized_pnl": totals["realized_pnl"], "fees": -totals["commission"]}


async def main() -> int:
    from dotenv import load_dotenv

    from server.config import Settings
    from store.embedded import EmbeddedDatabase
    from store.layout import move_apart, open_collections

    load_dotenv()
    settings = Settings.from_env()
    embedded = None
    uri = settings.mongo_uri
    if uri is None:
        embedded = EmbeddedDatabase(settings.secantusd_bin, settings.data_dir)
        uri = await embedded.start()
    collections, _ = await open_collections(uri, settings.mongo_db)
    try:
        await move_apart(collections)  # as the server does first at start-up
        problems = await check_books(collections)
    finally:
        await collections.close()
        if embedded is not None:
            await embedded.stop()
    for problem in problems:
        print(problem)
    accounts = "every account balances" if not problems else f"{len(problems)} problems"
    print(f"books: {accounts}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
