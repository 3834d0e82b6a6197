"""Login sessions: one per login, holding the current refresh token's id.

Access and refresh tokens name their session (claim ``sid``). Revoking the
session kills every token descended from that login, and because the
revocation is stored here it survives restarts.
"""

from __future__ import annotations

from datetime import datetime

from store.database import Database, Document
from store.keyed import Keyed

_ACTIVE = {"revoked_at": None}


class SessionStore:
    def __init__(self, db: Database) -> None:
        self.sessions = db["sessions"]
        self.keyed = Keyed(self.sessions)

    async def create(self, session_id: str, user_id: str, refresh_jti: str,
                     now: datetime, expires_at: datetime) -> None:
        await self.sessions.insert_one({
            "_id": session_id, "user_id": user_id, "refresh_jti": refresh_jti,
            "created_at": now, "last_used_at": now, "expires_at": expires_at,
            "revoked_at": None, "revoked_reason": None,
        })

    async def active(self, session_id: str) -> Document | None:
        """Return the session if it exists and is not revoked."""
        return await self.keyed.get(session_id, **_ACTIVE)

    async def get(self, session_id: str) -> Document | None:
        return await self.keyed.get(session_id)

    async def rotate(self, session_id: str, presented_jti: str, new_jti: str,
                     now: datetime, expires_at: datetime) -> Document | None:
        """Swap the refresh token id if presented_jti is the current one.

        One conditional update: of two concurrent refreshes with the same
        token, exactly one wins.
        """
        return await self.keyed.update(
            session_id, {"refresh_jti": presented_jti, **_ACTIVE, "expires_at": {"$gt": now}},
            {"$set": {"refresh_jti": new_jti, "last_used_at": now, "expires_at": expires_at}})

    async def revoke(self, session_id: str, now: datetime, reason: str) -> bool:
        revoked = await self.keyed.update(
            session_id, _ACTIVE, {"$set": {"revoked_at": now, "revoked_reason": reason}})
        return revoked is not None

    async def revoke_user(self, user_id: str, now: datetime, reason: str,
                          keep: str | None = None) -> list[str]:
        """Revoke every active session of a user except keep; return their ids."""
        query: Document = {"user_id": user_id, **_ACTIVE}
        if keep is not None:
            query["_id"] = {"$ne": keep}
        ids = [doc["_id"] async for doc in self.sessions.find(query, {"_id": 1})]
        if ids:
            await self.sessions.update_many(
                {"_id": {"$in": ids}, **_ACTIVE},
                {"$set": {"revoked_at": now, "revoked_reason": reason}})
        return ids

    async def purge_expired(self, now: datetime) -> int:
        """Delete sessions whose refresh token can no longer be used."""
        result = await self.sessions.delete_many({"expires_at": {"$lte": now}})
        return result.deleted_count
