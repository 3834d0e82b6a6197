"""API keys: a user's long-lived credentials for bots, found by their public key_id.

Only a hash of each key's secret is stored (services/api_keys.py). A revoked key
is deleted, so every document here is a live key.
"""

from __future__ import annotations

from datetime import datetime

from pymongo import DESCENDING

from store.database import Database, Document


class ApiKeyStore:
    def __init__(self, db: Database) -> None:
        self.keys = db["api_keys"]

    async def insert(self, key: Document) -> None:
        await self.keys.insert_one(key)

    async def by_key_id(self, key_id: str) -> Document | None:
        return await self.keys.find_one({"key_id": key_id})

    async def of_user(self, user_id: str, limit: int) -> list[Document]:
        """A user's keys, newest first (ids are time-ordered)."""
        cursor = self.keys.find({"user_id": user_id}, {"secret_hash": 0},
                                sort=[("_id", DESCENDING)], limit=limit)
        return [key async for key in cursor]

    async def count(self, user_id: str) -> int:
        return await self.keys.count_documents({"user_id": user_id})

    async def remove(self, user_id: str, key_ref: str) -> Document | None:
        """Delete the user's key with this id; return it, or None if there is none."""
        return await self.keys.find_one_and_delete({"_id": key_ref, "user_id": user_id})

    async def touch(self, key_ref: str, now: datetime, unless_since: datetime) -> None:
        """Note that a key was used now, unless that was noted at unless_since or later
        (so processes sharing the database write at most once per interval)."""
        await self.keys.update_one(
            {"_id": key_ref, "$or": [{"last_used_at": None},
                                     {"last_used_at": {"$lt": unless_since}}]},
            {"$set": {"last_used_at": now}})
