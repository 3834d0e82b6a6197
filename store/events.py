"""Each user's numbered events, kept so a client can fetch what it missed."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING

from store.database import Database, Document
from store.keyed import Keyed


class EventStore:
    """Each user's events, numbered 1, 2, 3... so a client can ask what it missed.

    The numbers are taken from the account's counter (AccountStore.finish and
    number_events); this store keeps the events themselves. The events of one
    user stored in one call with numbers that follow on (all that a group of
    market orders announces to the user, say) are kept as one document, a
    run: ``seq`` its first number, ``last`` its last, and its events as one
    JSON string of [type, data] pairs. Nothing queries inside them, and on
    FerretDB every document stored costs a share of the insert, and every
    nested value a type schema (docs/BENCHMARKS.md). Earlier versions kept an
    event a document, its data a JSON string or a document; those still read.
    """

    def __init__(self, db: Database) -> None:
        self.events = db["events"]
        self.keyed = Keyed(self.events)

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
        ``seq``, ``type``, ``data`` (decoded) and ``at``."""
        runs = []
        if seq > 0:  # the run holding seq may go on after it (one event alone does not)
            holding = await self.events.find_one({"user_id": user_id, "seq": {"$lte": seq}},
                                                 sort=[("seq", DESCENDING)])
            if holding is not None and "events" in holding and holding["last"] > seq:
                runs.append(holding)
        # Every run holds at least one event: `limit` runs are enough.
        cursor = self.events.find({"user_id": user_id, "seq": {"$gt": seq}}).sort(
            "seq", ASCENDING).limit(limit)
        runs += [doc async for doc in cursor]
        return [event for run in runs for event in _events(run) if event["seq"] > seq][:limit]


def run_document(user_id: str, events: list[tuple[str, dict[str, Any]]], first: int,
                 now: datetime) -> Document:
    """A run of a user's events numbered from first on, as it is stored."""
    return {"_id": f"{user_id}:{first:012d}", "user_id": user_id, "seq": first,
            "last": first + len(events) - 1,
            "events": json.dumps(events, separators=(",", ":")), "at": now}


def _events(run: Document) -> list[Document]:
    """The events of a stored run, or of an event stored alone by an earlier version."""
    if "events" not in run:
        data = run["data"]  # a JSON string, or (earlier still) a document
        return [{"seq": run["seq"], "type": run["type"], "at": run["at"],
                 "data": json.loads(data) if isinstance(data, str) else data}]
    return [{"seq": seq, "type": kind, "data": data, "at": run["at"]}
            for seq, (kind, data) in enumerate(json.loads(run["events"]), start=run["seq"])]
