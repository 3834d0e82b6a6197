"""Each user's numbered events, kept so a client can fetch what it missed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import Int64
from pymongo import ASCENDING, DESCENDING

from store.database import Database, Document
from store.int64 import Converted, int64s


class EventStore:
    """Each user's events, numbered 1, 2, 3... so a client can ask what it missed.

    The numbers are taken from the account's counter (AccountStore.finish and
    number_events); this store keeps the events themselves. The events of one
    user stored in one call with numbers that follow on (all that a group of
    market orders announces to the user, say) are kept as one document, a
    run: ``seq`` its first number, ``last`` its last, and ``events`` an array
    of ``{"type": ..., "data": {...}}`` documents, in order.

    Event data is built by server code (services/views.py): its keys are fixed
    names, never a user's text, so none starts with ``$`` or holds a ``.``.
    Its ints are stored as int64 (store/int64.py) and read back as ``Int64``,
    an int that JSON writes as a plain number.
    """

    def __init__(self, db: Database) -> None:
        self.events = db["events"]

    async def append_group(self, groups: list[tuple[str, list[tuple[str, dict[str, Any]]], int]],
                           now: datetime) -> None:
        """Store each (user_id, events, first) group's events, numbered from first on,
        in one call (groups of one user whose numbers follow on, in one run)."""
        runs: list[tuple[str, list[tuple[str, dict[str, Any]]], int]] = []
        for user_id, events, first in groups:
            if runs and runs[-1][0] == user_id and runs[-1][2] + len(runs[-1][1]) == first:
                runs[-1][1].extend(events)
            else:
                runs.append((user_id, list(events), first))
        await self.events.insert_many([run_document(user_id, events, first, now)
                                       for user_id, events, first in runs])

    async def after(self, user_id: str, seq: int, limit: int) -> list[Document]:
        """The user's first `limit` events numbered after seq, oldest first: each its
        ``seq``, ``type``, ``data`` and ``at``."""
        runs = []
        if seq > 0:  # the run holding seq may go on after it
            holding = await self.events.find_one({"user_id": user_id, "seq": {"$lte": seq}},
                                                 sort=[("seq", DESCENDING)])
            if holding is not None and holding["last"] > seq:
                runs.append(holding)
        # Every run holds at least one event: `limit` runs are enough.
        cursor = self.events.find({"user_id": user_id, "seq": {"$gt": seq}}).sort(
            "seq", ASCENDING).limit(limit)
        runs += [doc async for doc in cursor]
        return [{"seq": number, "type": event["type"], "data": event["data"], "at": run["at"]}
                for run in runs
                for number, event in enumerate(run["events"], start=run["seq"])
                if number > seq][:limit]


def run_document(user_id: str, events: list[tuple[str, dict[str, Any]]], first: int,
                 now: datetime) -> Document:
    """A run of a user's events numbered from first on, as it is stored.

    The events' ints are made Int64 (store/int64.py) in place: the events the caller
    publishes hold the same values (an Int64 is an int to every encoder).
    """
    return Converted({"_id": f"{user_id}:{first:012d}", "user_id": user_id,
                      "seq": Int64(first), "last": Int64(first + len(events) - 1),
                      "events": [{"type": kind, "data": int64s(data)} for kind, data in events],
                      "at": now})
