"""The notification outbox (one row per message and channel) and the in-app inbox."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from store.database import Database, Document


class OutboxStore:
    """Rows move pending -> sending -> sent | pending (retry) | failed | skipped."""

    def __init__(self, db: Database) -> None:
        self.outbox = db["outbox"]

    async def add(self, rows: list[Document]) -> int:
        """Queue rows; a row whose key is already queued is not queued again."""
        added = 0
        for row in rows:
            with contextlib.suppress(DuplicateKeyError):
                await self.outbox.insert_one(row)
                added += 1
        return added

    async def due(self, now: datetime, limit: int = 50) -> list[Document]:
        cursor = self.outbox.find({"status": "pending", "next_attempt_at": {"$lte": now}})
        return [row async for row in cursor.limit(limit)]

    async def claim(self, row_id: str, now: datetime, lease_until: datetime) -> Document | None:
        """Take a due row for one delivery attempt (only one worker can)."""
        return await self.outbox.find_one_and_update(
            {"_id": row_id, "status": "pending"},
            {"$set": {"status": "sending", "lease_until": lease_until, "updated_at": now},
             "$inc": {"attempts": 1}}, return_document=ReturnDocument.AFTER)

    async def finish(self, row_id: str, status: str, now: datetime, **fields: Any) -> None:
        await self.outbox.update_one({"_id": row_id, "status": "sending"},
                                     {"$set": {"status": status, "updated_at": now, **fields}})

    async def backlog(self) -> int:
        """Rows not yet sent, skipped or given up on."""
        return await self.outbox.count_documents({"status": {"$in": ["pending", "sending"]}})

    async def release_stale(self, now: datetime) -> int:
        """Put back rows whose attempt was cut short (the process stopped mid-send)."""
        result = await self.outbox.update_many(
            {"status": "sending", "lease_until": {"$lte": now}},
            {"$set": {"status": "pending", "next_attempt_at": now}})
        return result.modified_count

    async def for_user(self, user_id: str) -> list[Document]:
        return [row async for row in self.outbox.find({"user_id": user_id})]


class InboxStore:
    """In-app notifications a user can list and mark read."""

    def __init__(self, db: Database) -> None:
        self.inbox = db["notifications"]

    async def add(self, note: Document) -> bool:
        try:
            await self.inbox.insert_one(note)
        except DuplicateKeyError:
            return False
        return True

    async def find(self, user_id: str, *, unread: bool, after: str | None,
                   limit: int) -> list[Document]:
        query: Document = {"user_id": user_id}
        if unread:
            query["read_at"] = None
        if after is not None:
            query["_id"] = {"$lt": after}
        return [doc async for doc in self.inbox.find(query).sort("_id", -1).limit(limit)]

    async def mark_read(self, user_id: str, note_id: str, now: datetime) -> Document | None:
        await self.inbox.update_one({"_id": note_id, "user_id": user_id, "read_at": None},
                                    {"$set": {"read_at": now}})
        return await self.inbox.find_one({"_id": note_id, "user_id": user_id})

    async def read_all(self, user_id: str, now: datetime) -> int:
        result = await self.inbox.update_many({"user_id": user_id, "read_at": None},
                                              {"$set": {"read_at": now}})
        return result.modified_count

    async def unread(self, user_id: str) -> int:
        return await self.inbox.count_documents({"user_id": user_id, "read_at": None})
