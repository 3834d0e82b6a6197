"""API keys: long-lived credentials for bots, read-only or trading.

A key is a public key_id ("PK" and 18 letters and digits) and a secret of 240
random bits, sent together as the token "<key_id>.<secret>". Only the secret's
SHA-256 is stored. A password hash (bcrypt) would cost tens of milliseconds on
every request a bot makes; it is there to slow guessing of passwords people
choose, and nobody can guess 240 random bits, so one fast hash, compared in
constant time, is as safe.

Revoking a key deletes it and ends it like a session (SessionsEnded with
"apikey:<id>"), so its open sockets are closed in every process. A password
change or reset leaves keys alone; deleting the account removes them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from bson import ObjectId

from services.bus import MessageBus
from services.principal import Principal
from store.database import Document, stored_time
from store.store import Store
from trading.errors import InvalidApiKey, NotFound, TooManyApiKeys
from trading.events import SessionsEnded

MAX_KEYS_PER_USER = 10
MAX_NAME_CHARS = 64
KEY_PREFIX = "PK"
_KEY_ID = re.compile(KEY_PREFIX + "[A-Z0-9]{18}")
_SECRET = re.compile("[A-Za-z0-9_-]{40}")
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
SECRET_BYTES = 30  # 240 bits: 40 URL-safe characters
# A key found in the database may be reused this long without reading it again: a
# revocation made by this process applies at once, one by another process within this.
CACHE_SECONDS = 1.0
CACHE_MAX = 100_000
# last_used_at is written at most this often per key, not on every request.
TOUCH_EVERY = timedelta(minutes=1)


class Scope(StrEnum):
    TRADING = "trading"
    READ = "read"


def key_session(key_ref: str) -> str:
    """What a key's sockets are ended by (as a login's by its session id)."""
    return f"apikey:{key_ref}"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def is_key_token(token: str) -> bool:
    """Whether a bearer token is an API key's (an access token, a JWT, starts "eyJ")."""
    return token.startswith(KEY_PREFIX)


def pair_token(key_id: str, secret: str) -> str:
    """The token of a key sent as a pair (APCA-API-KEY-ID and APCA-API-SECRET-KEY)."""
    if not _KEY_ID.fullmatch(key_id):
        raise InvalidApiKey()
    return f"{key_id}.{secret}"


def api_key_view(key: Document) -> dict[str, Any]:
    """What the owner sees of a key, ever after its creation (never the secret)."""
    used = key["last_used_at"]
    return {"id": key["_id"], "name": key["name"], "scope": key["scope"],
            "key_id": key["key_id"], "created_at": key["created_at"].isoformat(),
            "last_used_at": None if used is None else used.isoformat()}


class ApiKeys:
    def __init__(self, store: Store, bus: MessageBus, clock: Callable[[], datetime]) -> None:
        self.store, self.bus, self.clock = store, bus, clock
        self._found: dict[str, tuple[float, Document]] = {}  # by key_id
        self._touched: dict[str, float] = {}  # key id -> when it may be written again

    def _now(self) -> datetime:
        return stored_time(self.clock())

    async def create(self, user_id: str, name: str, scope: Scope) -> dict[str, Any]:
        """A new key, with its secret and token: the only time they are shown.

        The key is stored first and the user's keys counted after, and taken back
        if they are over MAX_KEYS_PER_USER: of creations racing for the last place
        none is kept unless it counted itself within the cap.
        """
        secret = secrets.token_urlsafe(SECRET_BYTES)
        key_id = KEY_PREFIX + "".join(secrets.choice(_ID_ALPHABET) for _ in range(18))
        key_ref = str(ObjectId())
        key = {"_id": key_ref, "user_id": user_id, "name": name,
               "scope": scope.value, "key_id": key_id, "secret_hash": hash_secret(secret),
               "created_at": self._now(), "last_used_at": None}
        await self.store.api_keys.insert(key)
        if await self.store.api_keys.count(user_id) > MAX_KEYS_PER_USER:
            await self.store.api_keys.remove(user_id, key_ref)
            raise TooManyApiKeys(f"At most {MAX_KEYS_PER_USER} API keys; revoke one first.")
        return {**api_key_view(key), "secret": secret, "token": f"{key_id}.{secret}"}

    async def of_user(self, user_id: str) -> list[dict[str, Any]]:
        keys = await self.store.api_keys.of_user(user_id, limit=MAX_KEYS_PER_USER + 1)
        return [api_key_view(key) for key in keys]

    async def revoke(self, user_id: str, key_ref: str) -> None:
        """Delete one of the user's keys and close its sockets; NotFound if none."""
        key = await self.store.api_keys.remove(user_id, key_ref)
        if key is None:
            raise NotFound("No such API key.")
        self._found.pop(key["key_id"], None)
        await self.bus.publish(SessionsEnded([key_session(key["_id"])]))

    def forget_sessions(self, session_ids: list[str]) -> None:
        """Drop this process's copies of the keys that ended as these sessions (revoked
        here or by another process), so they are refused from now on."""
        ended = set(session_ids)
        for key_id in [k for k, (_, key) in self._found.items()
                       if key_session(key["_id"]) in ended]:
            del self._found[key_id]

    def forget_user(self, user_id: str) -> None:
        """Drop this process's copies of a user's keys (the account is being deleted)."""
        for key_id in [k for k, (_, key) in self._found.items() if key["user_id"] == user_id]:
            del self._found[key_id]

    async def authenticate(self, token: str) -> Principal:
        """Who a key's token "<key_id>.<secret>" speaks for; InvalidApiKey if nobody."""
        key_id, _, secret = token.partition(".")
        if not (_KEY_ID.fullmatch(key_id) and _SECRET.fullmatch(secret)):
            raise InvalidApiKey()
        key = await self._find(key_id)
        if key is None or not hmac.compare_digest(key["secret_hash"], hash_secret(secret)):
            raise InvalidApiKey()
        await self._touch(key["_id"])
        return Principal(user_id=key["user_id"], session_id=key_session(key["_id"]),
                         key_id=key_id, scope=key["scope"])

    async def _find(self, key_id: str) -> Document | None:
        now = time.monotonic()
        cached = self._found.get(key_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        key = await self.store.api_keys.by_key_id(key_id)
        if key is None:
            self._found.pop(key_id, None)
            return None
        if len(self._found) >= CACHE_MAX:
            self._found.clear()
        self._found[key_id] = (now + CACHE_SECONDS, key)
        return key

    async def _touch(self, key_ref: str) -> None:
        """Note the key's use, at most once per TOUCH_EVERY (no write per request)."""
        now = time.monotonic()
        if self._touched.get(key_ref, 0.0) > now:
            return
        if len(self._touched) >= CACHE_MAX:
            self._touched.clear()
        self._touched[key_ref] = now + TOUCH_EVERY.total_seconds()
        at = self._now()
        await self.store.api_keys.touch(key_ref, at, at - TOUCH_EVERY)
