"""The leaderboard as computed: what its requests read.

- ``leaderboard``: one document per pass (``gen``), board (``kind``) and user, with
  the user's ``rank``, display ``name``, ``return_pct`` and ``rating``; a page is
  a range of ranks of the current pass.
- ``leaderboard_state``: ``board``, the current pass's ``gen``, when it was
  computed and how many users each board holds; ``gens``, the last pass number
  handed out.

A pass writes its documents under a new gen, then makes it current; the pass before
stays readable until the next one, so a reader that read the gen just before the
switch still finds its pages. Opting out deletes the user's documents of every gen.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from store.database import ByName, Document

STATE_ID = "board"
GENS_ID = "gens"  # the last pass number handed out


class BoardStore:
    def __init__(self, db: ByName) -> None:
        self.entries = db["leaderboard"]
        self.state = db["leaderboard_state"]
        self.users = db["users"]
        self.days = db["equity_days"]

    # -- what a pass reads ---------------------------------------------------------

    async def opted_in(self, after: str | None, limit: int) -> list[Document]:
        """Live users on the leaderboard, by id, after the id given."""
        query: Document = {"leaderboard": True, "deleting_at": None}
        if after is not None:
            query["_id"] = {"$gt": after}
        cursor = self.users.find(query, {"name": 1, "email": 1, "leaderboard_at": 1}).sort(
            "_id", ASCENDING).limit(limit)
        return [doc async for doc in cursor]

    async def changed_since(self, moment: datetime) -> list[Document]:
        """Users who opted in or out or changed their name from moment on."""
        cursor = self.users.find({"leaderboard_changed_at": {"$gte": moment}},
                                 {"name": 1, "email": 1, "leaderboard": 1,
                                  "deleting_at": 1})
        return [doc async for doc in cursor]

    async def closes(self, keys: list[tuple[str, int]], first: datetime) -> list[Document]:
        """The day documents from day first on of these (user, period)s."""
        if not keys:
            return []
        wanted = set(keys)
        # One $in over the users (an $or of a clause per user is far slower to plan and
        # run); a few days of an earlier period within the window are left out here.
        cursor = self.days.find(
            {"user_id": {"$in": [user for user, _ in keys]}, "day": {"$gte": first}},
            {"user_id": 1, "period": 1, "day": 1, "equity": 1})
        return [doc async for doc in cursor if (doc["user_id"], doc["period"]) in wanted]

    # -- what profiles change ---------------------------------------------------------

    async def opt(self, user_id: str, on: bool, now: datetime) -> None:
        """Opt the user in (from now, unless in already) or out."""
        stamp: Document = {"leaderboard": on, "leaderboard_changed_at": now}
        if on:
            await self.users.update_one({"_id": user_id, "leaderboard": {"$ne": True}},
                                        {"$set": {**stamp, "leaderboard_at": now}})
        else:
            await self.users.update_one({"_id": user_id}, {"$set": stamp})

    async def renamed(self, user_id: str, name: str, now: datetime) -> None:
        await self.users.update_one({"_id": user_id},
                                    {"$set": {"leaderboard_changed_at": now}})
        await self.rename_user(user_id, name)

    # -- what a pass writes ----------------------------------------------------------

    async def next_gen(self) -> int:
        """A new pass number, never handed out before (by any process)."""
        doc = await self.state.find_one_and_update(
            {"_id": GENS_ID}, {"$inc": {"last": 1}}, upsert=True,
            return_document=ReturnDocument.AFTER)
        if doc is None:  # an upsert always returns its document
            raise RuntimeError("no pass number was handed out")
        return int(doc["last"])

    async def current(self) -> Document | None:
        return await self.state.find_one({"_id": STATE_ID})

    async def write(self, entries: list[Document]) -> None:
        if entries:
            await self.entries.insert_many(entries, ordered=False)

    async def publish(self, gen: int, computed_at: datetime, counts: dict[str, int],
                      rated: int) -> bool:
        """Make pass gen current and drop the passes before the one it replaces; False
        (and gen dropped) if a later pass is current already."""
        fields = {"gen": gen, "computed_at": computed_at, "counts": counts, "rated": rated}
        before = await self.current()
        if before is None:
            with contextlib.suppress(DuplicateKeyError):
                await self.state.insert_one({"_id": STATE_ID, **fields})
                return True
        changed = await self.state.update_one({"_id": STATE_ID, "gen": {"$lt": gen}},
                                              {"$set": fields})
        if not changed.modified_count:
            await self.discard(gen)
            return False
        if before is not None:
            await self.entries.delete_many({"gen": {"$lt": int(before["gen"])}})
        return True

    async def discard(self, gen: int) -> None:
        await self.entries.delete_many({"gen": gen})

    async def remove_user(self, user_id: str) -> None:
        await self.entries.delete_many({"user_id": user_id})

    async def rename_user(self, user_id: str, name: str) -> None:
        await self.entries.update_many({"user_id": user_id}, {"$set": {"name": name}})

    # -- what requests read ------------------------------------------------------------

    async def page(self, gen: int, kind: str, after_rank: int, limit: int) -> list[Document]:
        cursor = self.entries.find(
            {"gen": gen, "kind": kind, "rank": {"$gt": after_rank, "$lte": after_rank + limit}},
            {"rank": 1, "name": 1, "return_pct": 1, "rating": 1}).sort(
            "rank", ASCENDING).limit(limit)
        return [doc async for doc in cursor]

    async def of_user(self, gen: int, user_id: str) -> dict[str, Any]:
        """The user's documents of pass gen, by board."""
        return {doc["kind"]: doc async for doc in self.entries.find(
            {"gen": gen, "user_id": user_id})}
