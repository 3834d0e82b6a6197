"""Per-key rate limits: a sliding window of recent events, in this process or in Redis.

Each limit allows `events` per `seconds` for each key (a user, an IP address,
an account and address). `hit` counts an event and raises RateLimited when
the window is full; `blocked` only asks; `add` only counts (login failures are
counted after the fact, and checked before the next try).
"""

from __future__ import annotations

import math
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as aioredis

from config.settings import LimitSettings
from services.api_keys import MAX_KEYS_PER_USER
from trading.errors import RateLimited


@dataclass(frozen=True, slots=True)
class Allowance:
    """What is left of a key's window after an event (for X-RateLimit-* headers)."""

    limit: int
    remaining: int
    reset: float  # seconds until the oldest counted event leaves the window


class RateLimit(Protocol):
    events: int
    seconds: float

    async def hit(self, key: str) -> Allowance:
        """Count one event for key, or raise RateLimited (with Retry-After) if over."""

    async def blocked(self, key: str) -> float | None:
        """Seconds until key may act again, or None if it may now."""

    async def add(self, key: str) -> None:
        """Count one event for key, whether or not it is over."""


def refusal(limit: RateLimit, wait: float, message: str | None = None) -> RateLimited:
    return RateLimited(message or f"At most {limit.events} per {limit.seconds:g} s; "
                       "try again later.", retry_after=max(1, math.ceil(wait)),
                       limit=limit.events)


class SlidingWindowLimit:
    """Counts kept in this process (one server)."""

    def __init__(self, events: int, seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.events, self.seconds, self.clock = events, seconds, clock
        self._recent: defaultdict[str, deque[float]] = defaultdict(deque)
        self._calls = 0

    def _window(self, key: str) -> deque[float]:
        now, recent = self.clock(), self._recent[key]
        while recent and recent[0] <= now - self.seconds:
            recent.popleft()
        self._calls += 1
        if self._calls % 10_000 == 0:  # forget idle keys now and then
            for idle in [k for k, events in self._recent.items()
                         if k != key and (not events or events[-1] <= now - self.seconds)]:
                del self._recent[idle]
        return recent

    def check(self, key: str) -> Allowance:
        """hit, without the await."""
        recent = self._window(key)
        now = self.clock()
        if len(recent) >= self.events:
            raise refusal(self, recent[0] + self.seconds - now)
        recent.append(now)
        return Allowance(self.events, self.events - len(recent),
                         recent[0] + self.seconds - now)

    async def hit(self, key: str) -> Allowance:
        return self.check(key)

    async def blocked(self, key: str) -> float | None:
        recent = self._window(key)
        if len(recent) < self.events:
            return None
        return recent[0] + self.seconds - self.clock()

    async def add(self, key: str) -> None:
        self._window(key).append(self.clock())


# One sorted set per key, scored by Redis's own clock, so every process counts
# the same events in the same window. ARGV: window, limit, member, mode
# (hit: count if under; peek: only look; add: count regardless).
# Returns {counted events, seconds until the oldest leaves the window}.
_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local window, limit, mode = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[4]
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if mode == 'add' or (mode == 'hit' and count < limit) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
  count = count + 1
elseif mode == 'hit' then
  count = count + 1
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local reset = 0
if oldest[2] then reset = tonumber(oldest[2]) + window - now end
return {count, tostring(reset)}
"""


class RedisWindowLimit:
    """Counts shared by every process on one Redis."""

    def __init__(self, redis: aioredis.Redis, prefix: str, events: int, seconds: float) -> None:
        self.redis, self.prefix = redis, prefix
        self.events, self.seconds = events, seconds

    async def _run(self, key: str, mode: str) -> tuple[int, float]:
        count, reset = await self.redis.eval(_SCRIPT, 1, self.prefix + key, self.seconds,
                                             self.events, secrets.token_hex(8), mode)
        return int(count), float(reset)

    async def hit(self, key: str) -> Allowance:
        count, reset = await self._run(key, "hit")
        if count > self.events:
            raise refusal(self, reset)
        return Allowance(self.events, self.events - count, reset)

    async def blocked(self, key: str) -> float | None:
        count, reset = await self._run(key, "peek")
        return reset if count >= self.events else None

    async def add(self, key: str) -> None:
        await self._run(key, "add")


@dataclass(frozen=True, slots=True)
class Limits:
    """Every abuse limit of the app; None where the setting turns it off."""

    auth_per_ip: RateLimit | None
    login_failures: RateLimit | None
    per_user: RateLimit | None
    # All of one user's API keys together (each key also has per_user to itself): as
    # much as MAX_KEYS_PER_USER keys may use, so revoking a spent key and making
    # another does not start the user's budget again.
    keys_per_user: RateLimit | None
    notices: RateLimit | None
    # Socket messages are counted per connection, which lives in one process.
    per_socket: SlidingWindowLimit | None
    # Socket messages of one user over all of their connections (and processes).
    per_socket_user: RateLimit | None
    socket_keys_per_user: RateLimit | None  # as keys_per_user, for socket messages
    # Notifications per user per hour, over every channel.
    notifications: RateLimit | None
    trust_forwarded_for: bool

    @classmethod
    def build(cls, settings: LimitSettings, redis: aioredis.Redis | None,
              namespace: str) -> Limits:
        def limit(name: str, events: int, seconds: float) -> RateLimit | None:
            if events <= 0:
                return None
            if redis is None:
                return SlidingWindowLimit(events, seconds)
            return RedisWindowLimit(redis, f"{namespace}:limit:{name}:", events, seconds)

        return cls(
            auth_per_ip=limit("auth-ip", settings.auth_per_ip_per_minute, 60),
            login_failures=limit("login-failures", settings.login_failures,
                                 settings.login_failure_window.total_seconds()),
            per_user=limit("user", settings.user_per_minute, 60),
            keys_per_user=limit("user-keys", settings.user_per_minute * MAX_KEYS_PER_USER, 60),
            notices=limit("notices", settings.notices_per_minute, 60),
            per_socket=(SlidingWindowLimit(settings.socket_per_second, 1.0)
                        if settings.socket_per_second > 0 else None),
            per_socket_user=limit("socket-user", settings.socket_user_per_second, 1.0),
            socket_keys_per_user=limit("socket-user-keys",
                                       settings.socket_user_per_second * MAX_KEYS_PER_USER, 1.0),
            notifications=limit("notifications", settings.notifications_per_hour, 3600),
            trust_forwarded_for=settings.trust_forwarded_for)
