"""Accounts and sessions: register, log in, rotate and revoke tokens."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId

from notifier.outbox import OutboxWorker
from services.api_keys import ApiKeys, is_key_token, key_session
from services.bus import MessageBus
from services.passwords import PasswordHasher, password_bytes
from services.principal import Principal
from services.tokens import Claims, TokenCodec, VerifiedTokens
from store.database import Document, stored_time
from store.store import Store
from store.unit_of_work import Writes
from trading.errors import (
    InvalidCredentials,
    InvalidResetToken,
    InvalidToken,
    InvalidVerificationToken,
)
from trading.events import AccountDeleted, SessionsEnded

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
# How long a positive "session is active" answer may be reused. A revocation
# made by this process applies at once; one made by another process within this.
SESSION_CACHE_SECONDS = 1.0
SESSION_CACHE_MAX = 100_000
# A profile read (GET /me, whoami) may be answered from a copy this old; this
# process drops its copy whenever it changes the user itself.
PROFILE_CACHE_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int

    def to_dict(self) -> dict[str, Any]:
        return {"access_token": self.access_token, "refresh_token": self.refresh_token,
                "token_type": "Bearer", "expires_in": self.expires_in}


def new_id() -> str:
    """Return a new time-ordered id as a plain string."""
    return str(ObjectId())


def public_user(user: Document) -> dict[str, Any]:
    """Return what a user may see of their own account (never the hash)."""
    return {"id": user["_id"], "email": user["email"],
            "email_verified": bool(user.get("email_verified", False)), "name": user["name"],
            "phone": user.get("phone"), "created_at": user["created_at"].isoformat(),
            "leaderboard": bool(user.get("leaderboard", False))}


def hash_reset_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AuthService:
    def __init__(self, store: Store, codec: TokenCodec, hasher: PasswordHasher,
                 outbox: OutboxWorker, bus: MessageBus, clock: Clock, public_url: str,
                 reset_ttl: timedelta, verify_ttl: timedelta = timedelta(days=7)) -> None:
        self.store = store
        self.codec = codec
        self.verified = VerifiedTokens(codec)
        self.api_keys = ApiKeys(store, bus, clock)
        self.hasher = hasher
        self.outbox = outbox
        self.bus = bus
        self.clock = clock
        self.public_url = public_url
        self.reset_ttl = reset_ttl
        self.verify_ttl = verify_ttl
        self._active_sessions: dict[str, float] = {}
        self._profiles: dict[str, tuple[float, Document]] = {}
        # Sessions and keys ended anywhere (this process, or another's announcement)
        # are no longer taken from this process's caches.
        bus.subscribe(SessionsEnded, lambda ended: self.forget_sessions(ended.session_ids))
        self._background: set[asyncio.Task[None]] = set()

    def _now(self) -> datetime:
        return stored_time(self.clock())

    # -- accounts --------------------------------------------------------

    async def register(self, email: str, password: str, name: str,
                       phone: str | None) -> Document:
        secret = password_bytes(password)
        now = self._now()
        user = {"_id": new_id(), "email": email, "name": name, "phone": phone,
                "password_hash": await self.hasher.hash(secret),
                "created_at": now, "updated_at": now}
        await self.store.users.create(user)
        log.info("user %s registered", user["_id"])
        try:
            await self._send_welcome(user)
        except Exception:  # the account exists; the welcome can be asked for again later
            log.exception("could not queue the welcome message")
        return user

    async def _send_welcome(self, user: Document) -> None:
        """Queue a welcome email with a single-use link that confirms the address."""
        token = secrets.token_urlsafe(32)
        now = self._now()
        await self.store.verifications.create(hash_reset_token(token), user["_id"], now,
                                              now + self.verify_ttl)
        await self.outbox.request(
            user["_id"], "welcome", f"welcome:{user['_id']}", ["email"],
            {"name": user["name"], "token": token,
             "link": f"{self.public_url}/verify-email?token={token}"}, sensitive=True)

    async def verify_email(self, token: str) -> Document:
        """Mark the address confirmed with a token from the welcome email."""
        user_id = await self.store.verifications.consume(hash_reset_token(token), self._now())
        if user_id is not None:
            self._forget_profile(user_id)
        user = None if user_id is None else await self.store.users.update(
            user_id, {"email_verified": True, "updated_at": self._now()})
        if user is None:
            raise InvalidVerificationToken(field="token")
        return user

    async def user(self, principal: Principal) -> Document:
        user = await self.store.users.by_id(principal.user_id)
        if user is None:  # deleted while the token was cached as active
            raise InvalidToken()
        return user

    async def profile(self, principal: Principal) -> Document:
        """The user, to show: a copy at most PROFILE_CACHE_SECONDS old may answer, as
        for the session check. Never used where the password hash is checked."""
        now = time.monotonic()
        cached = self._profiles.get(principal.user_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        user = await self.user(principal)
        if len(self._profiles) >= SESSION_CACHE_MAX:
            self._profiles.clear()
        self._profiles[principal.user_id] = (now + PROFILE_CACHE_SECONDS, user)
        return user

    def _forget_profile(self, user_id: str) -> None:
        self._profiles.pop(user_id, None)

    async def update_profile(self, principal: Principal, changes: dict[str, Any]) -> Document:
        self._forget_profile(principal.user_id)
        user = await self.store.users.update(
            principal.user_id, {**changes, "updated_at": self._now()})
        if user is None:
            raise InvalidToken()
        return user

    async def delete_account(self, principal: Principal, password: str) -> None:
        """Delete the user and everything they own, after checking the password."""
        user = await self.user(principal)
        if not await self.hasher.verify(password, user["password_hash"]):
            raise InvalidCredentials("Password is incorrect.")
        self._forget_profile(principal.user_id)
        sessions = await self.store.unit_of_work.run(
            lambda writes: self._mark_deleted(writes, principal.user_id, self._now()))
        self.api_keys.forget_user(principal.user_id)
        # What it owned goes after the commit, idempotently; a crash part-way is
        # finished by Store.recover (the user is marked deleting).
        await self.store.users.purge(principal.user_id)
        await self._sessions_ended(sessions)
        await self.bus.publish(AccountDeleted(principal.user_id))
        log.info("user %s deleted", principal.user_id)

    @staticmethod
    async def _mark_deleted(writes: Writes, user_id: str, now: datetime) -> list[str]:
        """One unit of work: the user can no longer be found or log in, and every
        session of theirs ends; the ids of the sessions it ended, and of their API
        keys (which the purge deletes) as sessions."""
        if await writes.update("users", user_id, {"deleting_at": None},
                               {"$set": {"deleting_at": now}}) is None:
            raise InvalidToken()  # deleted meanwhile
        live = {"user_id": user_id, "revoked_at": None}
        sessions = await writes.ids("sessions", live)
        await writes.update_many("sessions", live, {"$set": {"revoked_at": now,
                                                             "revoked_reason": "account_deleted"}})
        keys = await writes.ids("api_keys", {"user_id": user_id})
        return sessions + [key_session(key) for key in keys]

    # -- sessions and tokens --------------------------------------------

    async def login(self, email: str, password: str) -> TokenPair:
        user = await self.store.users.by_email(email)
        hashed = None if user is None else user["password_hash"]
        if not await self.hasher.verify(password, hashed) or user is None:
            raise InvalidCredentials()
        now = self._now()
        session_id, refresh_jti = new_id(), secrets.token_urlsafe(16)
        await self.store.sessions.create(session_id, user["_id"], refresh_jti, now,
                                         now + self.codec.refresh_ttl)
        log.info("user %s logged in (session %s)", user["_id"], session_id)
        return self._pair(user["_id"], session_id, refresh_jti, now)

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Rotate a refresh token; reusing a rotated one revokes its session."""
        claims = self.codec.decode(refresh_token, "refresh")
        now, new_jti = self._now(), secrets.token_urlsafe(16)
        session = await self.store.sessions.rotate(
            claims.session_id, claims.jti, new_jti, now, now + self.codec.refresh_ttl)
        if session is None:
            if await self.store.sessions.revoke(claims.session_id, now, "refresh_reuse"):
                await self._sessions_ended([claims.session_id])
                log.warning("refresh token reused for session %s; session revoked",
                            claims.session_id)
            raise InvalidToken("Refresh token is no longer valid; log in again.")
        return self._pair(claims.user_id, claims.session_id, new_jti, now)

    async def authenticate(self, access_token: str) -> Principal:
        """Verify an access token and that its session is still active, or an API
        key's token (services/api_keys.py)."""
        if is_key_token(access_token):
            return await self.api_keys.authenticate(access_token)
        claims = self.verified.access(access_token)
        if not await self._session_active(claims.session_id, claims.user_id):
            raise InvalidToken()
        return Principal(user_id=claims.user_id, session_id=claims.session_id)

    async def logout(self, principal: Principal) -> None:
        await self.store.sessions.revoke(principal.session_id, self._now(), "logout")
        await self._sessions_ended([principal.session_id])

    def _pair(self, user_id: str, session_id: str, refresh_jti: str, now: datetime) -> TokenPair:
        access = Claims(user_id, session_id, secrets.token_urlsafe(16), "access")
        refresh = Claims(user_id, session_id, refresh_jti, "refresh")
        return TokenPair(access_token=self.codec.encode(access, now),
                         refresh_token=self.codec.encode(refresh, now),
                         expires_in=int(self.codec.access_ttl.total_seconds()))

    async def _session_active(self, session_id: str, user_id: str) -> bool:
        now = time.monotonic()
        if self._active_sessions.get(session_id, 0.0) > now:
            return True
        session = await self.store.sessions.active(session_id)
        if session is None or session["user_id"] != user_id:
            return False
        if len(self._active_sessions) >= SESSION_CACHE_MAX:
            self._active_sessions.clear()
        self._active_sessions[session_id] = now + SESSION_CACHE_SECONDS
        return True

    def forget_sessions(self, session_ids: list[str]) -> None:
        for session_id in session_ids:
            self._active_sessions.pop(session_id, None)
        self.api_keys.forget_sessions(session_ids)

    async def still_active(self, principal: Principal) -> bool:
        """Whether principal's session or API key is live, read from the database (no
        cache): what a connection admitted around a revocation checks once it is in
        its session's room, where the revocation would find it."""
        if principal.key_id is not None:
            key = await self.store.api_keys.by_key_id(principal.key_id)
            return key is not None and key_session(key["_id"]) == principal.session_id
        session = await self.store.sessions.active(principal.session_id)
        return session is not None and session["user_id"] == principal.user_id

    async def _sessions_ended(self, session_ids: list[str]) -> None:
        self.forget_sessions(session_ids)
        await self.bus.publish(SessionsEnded(session_ids))

    # -- passwords -------------------------------------------------------

    async def change_password(self, principal: Principal, current: str, new: str) -> None:
        """Set a new password and end every other session of the user."""
        secret = password_bytes(new, field="new_password")
        user = await self.user(principal)
        if not await self.hasher.verify(current, user["password_hash"]):
            raise InvalidCredentials("Current password is incorrect.")
        await self.store.users.update(principal.user_id, {
            "password_hash": await self.hasher.hash(secret), "updated_at": self._now()})
        ended = await self.store.sessions.revoke_user(
            principal.user_id, self._now(), "password_changed", keep=principal.session_id)
        await self._sessions_ended(ended)

    def forgot_password(self, email: str) -> None:
        """Send a reset link if the account exists, without revealing whether it does.

        The work runs in the background so the response takes the same time
        either way.
        """
        task = asyncio.create_task(self._send_reset(email))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _send_reset(self, email: str) -> None:
        try:
            user = await self.store.users.by_email(email)
            if user is None:
                return
            token = secrets.token_urlsafe(32)  # 256 bits
            now = self._now()
            await self.store.resets.create(hash_reset_token(token), user["_id"], now,
                                           now + self.reset_ttl)
            await self.outbox.request(
                user["_id"], "password_reset", f"reset:{hash_reset_token(token)[:24]}",
                ["email"], {"name": user["name"], "token": token,
                            "minutes": int(self.reset_ttl.total_seconds() // 60),
                            "link": f"{self.public_url}/reset-password?token={token}"},
                sensitive=True)
        except Exception:
            log.exception("could not send a password reset message")

    async def reset_password(self, token: str, new: str) -> None:
        """Set a new password with a reset token, and end every session."""
        secret = password_bytes(new, field="new_password")
        now = self._now()
        user_id = await self.store.resets.consume(hash_reset_token(token), now)
        if user_id is None:
            raise InvalidResetToken(field="token")
        user = await self.store.users.update(
            user_id, {"password_hash": await self.hasher.hash(secret), "updated_at": now})
        if user is None:
            raise InvalidResetToken(field="token")
        ended = await self.store.sessions.revoke_user(user_id, now, "password_reset")
        await self._sessions_ended(ended)

    async def aclose(self) -> None:
        """Wait for background work to finish."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
