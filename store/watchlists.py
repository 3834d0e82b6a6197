"""Per-user watchlists: an ordered list of symbols, one document per user."""

from __future__ import annotations

from datetime import datetime

from store.database import Database, Document


class WatchlistStore:
    def __init__(self, db: Database) -> None:
        self.watchlists = db["watchlists"]

    async def get(self, user_id: str) -> list[str]:
        doc = await self.watchlists.find_one({"_id": user_id})
        return [] if doc is None else list(doc["symbols"])

    async def replace(self, user_id: str, symbols: list[str], now: datetime) -> list[str]:
        await self.watchlists.update_one(
            {"_id": user_id},
            {"$set": {"symbols": symbols, "user_id": user_id, "updated_at": now}}, upsert=True)
        return symbols

    async def add(self, user_id: str, symbol: str, limit: int, now: datetime) -> bool:
        """Append a symbol unless present; False if the list is already full.

        One conditional update, so concurrent adds cannot exceed the limit.
        """
        await self.watchlists.update_one(
            {"_id": user_id},
            {"$setOnInsert": {"symbols": [], "user_id": user_id, "updated_at": now}},
            upsert=True)
        room_left = {f"symbols.{limit - 1}": {"$exists": False}}
        result = await self.watchlists.update_one(
            {"_id": user_id, "symbols": {"$ne": symbol}, **room_left},
            {"$push": {"symbols": symbol}, "$set": {"updated_at": now}})
        if result.modified_count:
            return True
        return symbol in await self.get(user_id)

    async def remove(self, user_id: str, symbol: str, now: datetime) -> None:
        await self.watchlists.update_one({"_id": user_id},
                                         {"$pull": {"symbols": symbol},
                                          "$set": {"updated_at": now}})

    async def document(self, user_id: str) -> Document | None:
        """The user's watchlist as stored (symbols, name?, created_at?, updated_at), if any."""
        return await self.watchlists.find_one({"_id": user_id})

    async def create(self, user_id: str, name: str, symbols: list[str], now: datetime) -> bool:
        """Start the user's watchlist, named; False if the user has one already."""
        result = await self.watchlists.update_one(
            {"_id": user_id},
            {"$setOnInsert": {"symbols": symbols, "user_id": user_id, "name": name,
                              "created_at": now, "updated_at": now}}, upsert=True)
        return result.upserted_id is not None

    async def rename(self, user_id: str, name: str, now: datetime) -> None:
        await self.watchlists.update_one({"_id": user_id},
                                         {"$set": {"name": name, "updated_at": now}})

    async def delete(self, user_id: str) -> bool:
        """Delete the user's watchlist; False if there was none."""
        return (await self.watchlists.delete_one({"_id": user_id})).deleted_count > 0
