"""Headlines and the state of the feeds they come from.

A headline's _id is the digest of its link (trading/news.py), and title_key the
digest of its title, both unique: the same story from two feeds, or under a
second link, is stored once. Headlines expire after the retention (a TTL index
on expires_at). Each feed's state (whether its last fetch worked, when one last
did, and why not) is one document in news_sources, so every process, and the
next start, can say how fresh the headlines are.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import DESCENDING

from store.database import Database, Document, stored_time
from store.keyed import skipping_taken
from trading.news import Headline


@dataclass(frozen=True, slots=True)
class SourceState:
    name: str
    ok: bool
    last_success: datetime | None
    last_attempt: datetime | None
    error: str | None


class NewsStore:
    def __init__(self, db: Database) -> None:
        self.news = db["news"]
        self.sources = db["news_sources"]

    async def add(self, headlines: Iterable[Headline], now: datetime,
                  retention: timedelta) -> list[Headline]:
        """Store the headlines not stored yet (by link or by title); return those."""
        items = list(headlines)
        if not items:
            return []
        docs = [{"_id": h.id, "title_key": h.title_key, "title": h.title,
                 "summary": h.summary, "link": h.link, "source": h.source,
                 "published_at": stored_time(h.published_at), "symbols": list(h.symbols),
                 "fetched_at": stored_time(now), "expires_at": stored_time(now + retention)}
                for h in items]
        taken = await skipping_taken(self.news.insert_many(docs, ordered=False))
        return [h for i, h in enumerate(items) if i not in taken]

    async def page(self, symbol: str | None, limit: int,
                   after: tuple[datetime, str] | None) -> list[Document]:
        """Up to limit headlines, newest first, after the (published_at, id) given."""
        query: dict[str, Any] = {}
        if symbol is not None:
            query["symbols"] = symbol
        if after is not None:
            at, last_id = after
            query["$or"] = [{"published_at": {"$lt": at}},
                            {"published_at": at, "_id": {"$lt": last_id}}]
        cursor = self.news.find(query).sort([("published_at", DESCENDING),
                                             ("_id", DESCENDING)]).limit(limit)
        return [doc async for doc in cursor]

    async def record(self, name: str, now: datetime, error: str | None) -> None:
        """Note a fetch of a feed: a success, or the error it ended in."""
        update: dict[str, Any] = {"ok": error is None, "last_attempt": stored_time(now),
                                  "error": error}
        if error is None:
            update["last_success"] = stored_time(now)
        await self.sources.update_one({"_id": name}, {"$set": update}, upsert=True)

    async def states(self) -> dict[str, SourceState]:
        return {doc["_id"]: SourceState(doc["_id"], bool(doc.get("ok")),
                                        doc.get("last_success"), doc.get("last_attempt"),
                                        doc.get("error"))
                async for doc in self.sources.find({})}
