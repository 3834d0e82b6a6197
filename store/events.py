"""Each user's numbered events, kept so a client can fetch what it missed."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pymongo import ASCENDING

from store.database import Database, Document
from store.keyed import Keyed, OneConnection


class EventStore:
    """Each user's events, numbered 1, 2, 3... so a client can ask what it missed.

    The numbers are taken from the account's counter (AccountStore.finish and
    number_events); this store keeps the events themselves. An event's data is
    stored as one JSON string: nothing queries inside it, and FerretDB writes a
    nested document with a type schema for every value in it, which made the
    events the costliest insert of a market order (docs/BENCHMARKS.md).
    """

    def __init__(self, db: Database, one: OneConnection | None = None) -> None:
        self.events = db["events"]
        self.keyed = Keyed(self.events, one)

    async def append_group(self, groups: list[tuple[str, list[tuple[str, dict[str, Any]]], int]],
                           now: datetime) -> None:
        """Store each (user_id, events, first) group's events, numbered from first on,
        in one call."""
        await self.keyed.call(self.events.insert_many, [
            {"_id": f"{user_id}:{seq:012d}", "user_id": user_id, "seq": seq, "type": kind,
             "data": json.dumps(data, separators=(",", ":")), "at": now}
            for user_id, events, first in groups
            for seq, (kind, data) in enumerate(events, start=first)])

    async def after(self, user_id: str, seq: int, limit: int) -> list[Document]:
        """The user's events numbered after seq, oldest first, their data decoded."""
        cursor = self.events.find({"user_id": user_id, "seq": {"$gt": seq}}).sort(
            "seq", ASCENDING).limit(limit)
        return [{**doc, "data": _decoded(doc["data"])} async for doc in cursor]


def _decoded(data: str | Document) -> Document:
    """An event's data as stored: a JSON string (a document, written by earlier versions)."""
    return json.loads(data) if isinstance(data, str) else data
