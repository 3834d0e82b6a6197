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
    yields two messages on a channel. A row's ``next_attempt_at`` says when the
    worker should look at it next: a pending row's next attempt, a sending row's
    lease end (its sender stopped if it is still sending then). Every change is
    one write of the row, so a crash at any point leaves it due again in time.
    The ``status_due`` index serves the search for due rows.
    """

    def __init__(self, db: Database) -> None:
        self.outbox = db["outbox"]
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
        return added

    async def due(self, now: datetime, limit: int = 50) -> list[Document]:
        """Pending rows whose next attempt has come, and rows whose sender's lease ran out
        (put back to pending)."""
        rows = []
        async for row in self.outbox.find({"status": {"$in": ["pending", "sending"]},
                                           "next_attempt_at": {"$lte": now}}).limit(limit):
            if row["status"] == "sending":  # its sender stopped before finishing
                back = await self.keyed.update(
                    row["_id"], {"status": "sending", "next_attempt_at": {"$lte": now}},
                    {"$set": {"status": "pending", "next_attempt_at": now}})
                if back is None:
                    continue  # it finished meanwhile
                row = back
            rows.append(row)
        return rows

    async def claim(self, row_id: str, now: datetime, lease_until: datetime) -> Document | None:
        """Take a due row for one delivery attempt (only one worker can); it is due
        again only if its lease runs out."""
        return await self.keyed.update(
            row_id, {"status": "pending"},
            {"$set": {"status": "sending", "lease_until": lease_until,
                      "next_attempt_at": lease_until, "updated_at": now},
             "$inc": {"attempts": 1}})

    async def finish(self, row_id: str, status: str, now: datetime, **fields: Any) -> None:
        """End an attempt: back to pending (with next_attempt_at) or a final status."""
        if status != "pending":
            fields["next_attempt_at"] = None
        await self.keyed.update(row_id, {"status": "sending"},
                                {"$set": {"status": status, "updated_at": now, **fields}})

    async def backlog(self) -> int:
        """Rows not yet sent, skipped or given up on."""
        return await self.outbox.count_documents({"status": {"$in": ["pending", "sending"]}})

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
