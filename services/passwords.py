"""Password policy and bcrypt hashing, always off the event loop."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from concurrent.futures import Executor
from typing import TypeVar

import bcrypt

from trading.errors import InvalidPassword

T = TypeVar("T")

MIN_PASSWORD_BYTES = 8
# bcrypt reads at most 72 bytes; bcrypt 5 refuses longer input, and silently
# truncating would make two different passwords equal.
MAX_PASSWORD_BYTES = 72


def password_bytes(password: str, field: str = "password") -> bytes:
    """Encode a new password, or raise InvalidPassword if the policy refuses it."""
    encoded = password.encode("utf-8")
    if not MIN_PASSWORD_BYTES <= len(encoded) <= MAX_PASSWORD_BYTES:
        raise InvalidPassword(field=field)
    return encoded


class PasswordHasher:
    def __init__(self, cost: int, executor: Executor | None = None) -> None:
        self.cost = cost
        self.executor = executor
        self._dummy_hash: bytes | None = None

    async def _run(self, func: Callable[..., T], *args: bytes) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, func, *args)

    async def hash(self, password: bytes) -> str:
        """Return the bcrypt hash of a password that passed the policy."""
        salt = bcrypt.gensalt(rounds=self.cost)
        hashed: bytes = await self._run(bcrypt.hashpw, password, salt)
        return hashed.decode("ascii")

    async def verify(self, password: str, hashed: str | None) -> bool:
        """Check a password; with no hash, spend the same time and return False.

        Checking against a dummy hash of the same cost keeps a login for an
        unknown email as slow as one for a known email with a wrong password.
        """
        encoded = password.encode("utf-8")
        if len(encoded) > MAX_PASSWORD_BYTES:
            encoded = b""  # cannot match; still spend the time below
        if hashed is None:
            if self._dummy_hash is None:
                salt = bcrypt.gensalt(rounds=self.cost)
                self._dummy_hash = await self._run(bcrypt.hashpw, secrets.token_bytes(16), salt)
            await self._run(bcrypt.checkpw, encoded, self._dummy_hash)
            return False
        matched: bool = await self._run(bcrypt.checkpw, encoded, hashed.encode("ascii"))
        return matched and bool(encoded)
