"""The last value of each market-intelligence source, one document per source, so a
restarted server (or a process that does not poll) serves it until it is refreshed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from store.database import Database, Document


class IntelStore:
    def __init__(self, db: Database) -> None:
        self.values = db["intel"]

    async def save(self, source: str, value: Any, fetched_at: datetime | None,
                   error: str | None, checked_at: datetime) -> None:
        """Store a source's value (None: keep the stored one) and its last attempt. Each
        value stored has the next `version`, by which readers tell it is new."""
        changes: Document = {"error": error, "checked_at": checked_at}
        update: Document = {"$set": changes}
        if value is not None:
            changes.update(value=value, fetched_at=fetched_at)
            update["$inc"] = {"version": 1}
        await self.values.update_one({"_id": source}, update, upsert=True)

    async def load(self, source: str) -> Document | None:
        return await self.values.find_one({"_id": source})
