"""Verify every account's books:  python -m store.check

For each account: cash = initial + the sum of its ledger; reserved = the sum
of its open orders' reservations (an order that is not open holds none); margin
used = the sum of its open trades' margin; available = cash - reserved - margin
used; nothing left half-done.
Exits 1 and lists the problems if any account is off. With no MONGO_URI it
opens the embedded database (stop the server first).
"""

from __future__ import annotations

import asyncio
import sys

from store.database import ByName, Document


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
        if account.get("pending_ops") or account.get("pending_reset"):  # earlier versions'
            problems.append(f"account {user}: unfinished steps {account.get('pending_ops')}")
    async for order in db["orders"].find({"$or": [{"pending": {"$ne": None}},
                                                  {"status": "new"}]}):
        problems.append(f"order {order['_id']}: unfinished ({order['status']})")
    async for order in db["orders"].find({"status": {"$ne": "open"}, "reserved": {"$ne": 0}}):
        problems.append(f"order {order['_id']}: {order['status']} with {order['reserved']} "
                        "still reserved")
    async for trade in db["trades"].find({}):
        if trade.get("pending") is not None:
            problems.append(f"trade {trade['_id']}: unfinished exit")
        if trade["quantity"] < 0 or (trade["status"] == "closed"
                                     and (trade["quantity"] or trade["margin"])):
            problems.append(f"trade {trade['_id']}: closed with quantity or margin left")
    return problems


async def main() -> int:
    from dotenv import load_dotenv

    from config.settings import Settings
    from store.embedded import EmbeddedDatabase
    from store.layout import open_collections

    load_dotenv()
    settings = Settings.from_env()
    embedded = None
    uri = settings.mongo_uri
    if uri is None:
        embedded = EmbeddedDatabase(settings.secantusd_bin, settings.data_dir)
        uri = await embedded.start()
    collections = await open_collections(uri, settings.mongo_db)
    try:
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
