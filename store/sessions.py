"""Login sessions: one per login, holding the current refresh token's id.

Access and refresh tokens name their session (claim ``sid``). Revoking the
session kills every token descended from that login, and because the
revocation is stored here it survives restarts.

A session ends at ``expires_at`` (its refresh token's expiry): the TTL index on
it (store/database.py) deletes the session, up to a minute or so later, so every
read here treats one whose time has passed as gone.
"""

from __future__ import annotations

from datetime import UTC, datetime

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

    async def active(self, session_id: str, now: datetime | None = None) -> Document | None:
        """Return the session if it exists, is not revoked and has not expired by now
        (by default the time now, as the TTL monitor and token expiry reckon)."""
        return await self.keyed.get(session_id, **_ACTIVE,
                                    expires_at={"$gt": now or datetime.now(UTC)})

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
