"""The notification outbox (one row per message and channel) and the in-app inbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from store.database import Database, Document
from store.keyed import Keyed


class OutboxStore:
    """Rows move pending -> sending -> sent | pending (retry) | failed | skipped.

    ``outbox`` keeps every row, keyed by event and channel, so one event never
    yields two messages on a channel. ``outbox_due`` lists only the rows still to
    deliver (id and next attempt), so the worker's search for due work reads a
    few entries instead of every message ever sent. A row is listed when it is
    added and unlisted once it ends; start-up (``recover``) relists any row a
    crash left unlisted, and ``due`` drops entries whose row has ended.
    """

    def __init__(self, db: Database) -> None:
        self.outbox = db["outbox"]
        self.queue = db["outbox_due"]
        self.keyed = Keyed(self.outbox)

    async def add(self, rows: list[Document]) -> int:
        """Queue rows; a row whose key is already queued is not queued again."""
        added = 0
        for row in rows:
            try:
                await self.outbox.insert_one(row)
            except DuplicateKeyError:
                continue
            added += 1
            if row["status"] == "pending":
                await self._list(row["_id"], row["next_attempt_at"])
        return added

    async def _list(self, row_id: str, at: datetime) -> None:
        await self.queue.update_one({"_id": row_id},
                              {"$set": {"next_attempt_at": at}}, upsert=True)

    async def due(self, now: datetime, limit: int = 50) -> list[Document]:
        """Pending rows whose next attempt has come, and rows whose sender's lease ran out."""
        rows = []
        async for entry in self.queue.find({"next_attempt_at": {"$lte": now}}).limit(limit):
            row = await self.keyed.get(entry["_id"])
            if row is None or row["status"] not in ("pending", "sending"):
                # Ended, or its user deleted.
                await self.queue.delete_one({"_id": entry["_id"]})
                continue
            if row["status"] == "sending" and (row.get("lease_until") or now) > now:
                await self._list(row["_id"], row["lease_until"])  # being sent: due when it ends
                continue
            if row["status"] == "sending":  # its sender stopped before finishing
                row = await self.keyed.update(
                    row["_id"], {"status": "sending", "lease_until": {"$lte": now}},
                    {"$set": {"status": "pending", "next_attempt_at": now}})
            if row is not None:
                rows.append(row)
        return rows

    async def claim(self, row_id: str, now: datetime, lease_until: datetime) -> Document | None:
        """Take a due row for one delivery attempt (only one worker can)."""
        claimed = await self.keyed.update(
            row_id, {"status": "pending"},
            {"$set": {"status": "sending", "lease_until": lease_until, "updated_at": now},
             "$inc": {"attempts": 1}})
        if claimed is not None:  # not due again unless the lease runs out
            await self._list(row_id, lease_until)
        return claimed

    async def finish(self, row_id: str, status: str, now: datetime, **fields: Any) -> None:
        """End an attempt: back to pending (with next_attempt_at) or a final status."""
        await self.keyed.update(row_id, {"status": "sending"},
                                {"$set": {"status": status, "updated_at": now, **fields}})
        if status == "pending":
            await self._list(row_id, fields["next_attempt_at"])
        else:
            await self.queue.delete_one({"_id": row_id})

    async def backlog(self) -> int:
        """Rows not yet sent, skipped or given up on."""
        return await self.queue.count_documents({})

    async def recover(self, now: datetime) -> int:
        """Put back rows whose attempt was cut short (the process stopped mid-send),
        and list every unfinished row; return how many were put back."""
        result = await self.outbox.update_many(
            {"status": "sending", "lease_until": {"$lte": now}},
            {"$set": {"status": "pending", "next_attempt_at": now}})
        async for row in self.outbox.find({"status": {"$in": ["pending", "sending"]}},
                                          {"next_attempt_at": 1}):
            await self._list(row["_id"], row["next_attempt_at"])
        return result.modified_count

    async def for_user(self, user_id: str) -> list[Document]:
        return [row async for row in self.outbox.find({"user_id": user_id})]


class InboxStore:
    """In-app notifications a user can list and mark read."""

    def __init__(self, db: Database) -> None:
        self.inbox = db["notifications"]
        self.keyed = Keyed(self.inbox)

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
        await self.keyed.update(note_id, {"user_id": user_id, "read_at": None},
                                {"$set": {"read_at": now}})
        return await self.keyed.get(note_id, user_id=user_id)

    async def read_all(self, user_id: str, now: datetime) -> int:
        result = await self.inbox.update_many({"user_id": user_id, "read_at": None},
                                              {"$set": {"read_at": now}})
        return result.modified_count

    async def unread(self, user_id: str) -> int:
        return await self.inbox.count_documents({"user_id": user_id, "read_at": None})
