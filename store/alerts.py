"""Price alerts, and the notification requests they leave for the notifier."""

from __future__ import annotations

from store.database import Database, Document
from store.keyed import Keyed


class AlertStore:
    def __init__(self, db: Database) -> None:
        self.alerts = db["alerts"]
        self.keyed = Keyed(self.alerts)

    async def insert(self, alert: Document) -> None:
        await self.alerts.insert_one(alert)

    async def get(self, user_id: str, alert_id: str) -> Document | None:
        return await self.keyed.get(alert_id, user_id=user_id)

    async def find(self, user_id: str, status: str | None, *, limit: int,
                   after: str | None = None) -> list[Document]:
        """A user's alerts, newest first; after: only those older than this id."""
        query: Document = {"user_id": user_id}
        if status is not None:
            query["status"] = status
        if after is not None:
            query["_id"] = {"$lt": after}
        return [doc async for doc in self.alerts.find(query).sort("_id", -1).limit(limit)]

    async def count_active(self, user_id: str) -> int:
        return await self.alerts.count_documents({"user_id": user_id, "status": "active"})

    async def remove(self, alert_id: str) -> None:
        """Delete an alert its creator is taking back (it was never shown)."""
        await self.alerts.delete_one({"_id": alert_id})

    async def update(self, user_id: str, alert_id: str, expect: Document,
                     changes: Document) -> Document | None:
        return await self.keyed.update(alert_id, {"user_id": user_id, **expect},
                                       {"$set": changes})

    async def fire(self, alert: Document, changes: Document) -> Document | None:
        """Record a firing if the alert is still as it was read: one fire per crossing."""
        return await self.keyed.update(alert["_id"], {"status": "active", "fired": alert["fired"]},
                                       {"$set": changes, "$inc": {"fired": 1}})

    async def active(self) -> list[Document]:
        return [doc async for doc in self.alerts.find({"status": "active"})]

    async def active_on(self, symbol: str, limit: int) -> list[Document]:
        """At most limit active alerts on one symbol, oldest first."""
        return [doc async for doc in self.alerts.find({"status": "active", "symbol": symbol})
                .sort("_id", 1).limit(limit)]
