"""Users: profiles and password hashes."""

from __future__ import annotations

from typing import Any

from pymongo.errors import DuplicateKeyError

from store.database import ByName, Document
from store.keyed import Keyed
from trading.errors import EmailTaken

# Collections whose documents belong to one user (field user_id); deleting an
# account empties them before the user document goes.
USER_OWNED_COLLECTIONS: tuple[str, ...] = (
    "sessions", "api_keys", "password_resets", "email_verifications", "watchlists",
    "accounts", "orders", "trades", "ledger", "events", "alerts", "notifications", "outbox",
    "equity_snapshots", "equity_days", "equity_marks", "leaderboard")

_LIVE = {"deleting_at": None}


class UserStore:
    def __init__(self, db: ByName) -> None:
        """db: every collection (a user's documents are purged from all of them)."""
        self.db = db
        self.users = db["users"]
        self.keyed = Keyed(self.users)

    async def create(self, user: Document) -> None:
        """Insert a new user; raise EmailTaken if the email is in use."""
        try:
            await self.users.insert_one({**user, "deleting_at": None})
        except DuplicateKeyError:
            raise EmailTaken() from None

    async def by_email(self, email: str) -> Document | None:
        return await self.users.find_one({"email": email, **_LIVE})

    async def by_id(self, user_id: str) -> Document | None:
        return await self.keyed.get(user_id, **_LIVE)

    async def update(self, user_id: str, changes: dict[str, Any]) -> Document | None:
        """Apply changes to a live user and return the updated document."""
        return await self.keyed.update(user_id, _LIVE, {"$set": changes})

    async def purge(self, user_id: str) -> None:
        """Remove a user marked deleting and everything it owns (idempotent)."""
        for name in USER_OWNED_COLLECTIONS:
            await self.db[name].delete_many({"user_id": user_id})
        await self.users.delete_one({"_id": user_id, "deleting_at": {"$ne": None}})

    async def pending_deletions(self) -> list[str]:
        """Return the ids of users whose deletion did not finish."""
        cursor = self.users.find({"deleting_at": {"$ne": None}}, {"_id": 1})
        return [doc["_id"] async for doc in cursor]
