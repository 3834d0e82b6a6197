"""Password-reset tokens, stored only as hashes and usable once.

A token is deleted by the TTL index on ``expires_at`` (store/database.py) some
time after it expires; ``consume`` refuses it from the moment it does.
"""

from __future__ import annotations

from datetime import datetime

from pymongo import ReturnDocument

from store.database import Database


class ResetStore:
    """Single-use tokens by hash: password resets, and (another collection) email checks."""

    def __init__(self, db: Database, collection: str = "password_resets") -> None:
        self.resets = db[collection]

    async def create(self, token_hash: str, user_id: str, now: datetime,
                     expires_at: datetime) -> None:
        """Store a new reset token; earlier unused ones for the user stop working."""
        await self.resets.update_many({"user_id": user_id, "used_at": None},
                                      {"$set": {"used_at": now}})
        await self.resets.insert_one({"_id": token_hash, "user_id": user_id, "created_at": now,
                                      "expires_at": expires_at, "used_at": None})

    async def consume(self, token_hash: str, now: datetime) -> str | None:
        """Mark an unexpired, unused token used and return its user id."""
        doc = await self.resets.find_one_and_update(
            {"_id": token_hash, "used_at": None, "expires_at": {"$gt": now}},
            {"$set": {"used_at": now}}, return_document=ReturnDocument.AFTER)
        return None if doc is None else str(doc["user_id"])
