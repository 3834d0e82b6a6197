"""The cash ledger: one entry per cash movement, so cash = initial + the sum of entries."""

from __future__ import annotations

import contextlib
from datetime import datetime

from pymongo.errors import DuplicateKeyError

from store.database import Database, Document, Units
from store.keyed import Keyed, insert_new


def ledger_entry(entry_id: str, user_id: str, amount: Units, reason: str, reference: str,
                 now: datetime, conversion: Document | None = None) -> Document:
    """One cash movement (amount, in the account currency); conversion: for an amount
    converted from a quote currency, its currency, fx_pair, fx_invert, fx_rate and
    amount_quote (the amount before conversion)."""
    return {"_id": entry_id, "user_id": user_id, "amount": amount, "reason": reason,
            "reference": reference, "at": now, **(conversion or {})}


class LedgerStore:
    def __init__(self, db: Database) -> None:
        self.ledger = db["ledger"]
        self.keyed = Keyed(self.ledger)

    async def record(self, entry_id: str, user_id: str, amount: Units, reason: str,
                     reference: str, now: datetime) -> None:
        """Write one cash movement; writing the same entry again changes nothing."""
        if amount == 0:
            return
        with contextlib.suppress(DuplicateKeyError):
            await self.ledger.insert_one(
                ledger_entry(entry_id, user_id, amount, reason, reference, now))

    async def record_group(self, entries: list[Document]) -> None:
        """record, for several entries (made by ledger_entry) in one call."""
        await insert_new(self.keyed, [entry for entry in entries if entry["amount"] != 0])

    async def total(self, user_id: str) -> Units:
        return sum([doc["amount"] async for doc in self.ledger.find({"user_id": user_id},
                                                                    {"amount": 1})])
