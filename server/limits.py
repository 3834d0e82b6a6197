"""Per-key rate limits: a sliding window of recent events, in this process or in Redis."""

from __future__ import annotations

import math
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Protocol

import redis.asyncio as aioredis

from trading.errors import RateLimited


class RateLimit(Protocol):
    async def hit(self, key: str) -> None:
        """Count one event for key, or raise RateLimited (with Retry-After) if over."""


def _refuse(events: int, seconds: float, wait: float) -> RateLimited:
    return RateLimited(f"At most {events} per {seconds:g} s; try again later.",
                       retry_after=max(1, math.ceil(wait)))


class SlidingWindowLimit:
    """Counts kept in this process (one server)."""

    def __init__(self, events: int, seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.events, self.seconds, self.clock = events, seconds, clock
        self._recent: defaultdict[str, deque[float]] = defaultdict(deque)

    async def hit(self, key: str) -> None:
        self.check(key)

    def check(self, key: str) -> None:
        """hit, without the await."""
        now = self.clock()
        recent = self._recent[key]
        while recent and recent[0] <= now - self.seconds:
            recent.popleft()
        if len(recent) >= self.events:
            raise _refuse(self.events, self.seconds, recent[0] + self.seconds - now)
        recent.append(now)


# One sorted set per key, scored by Redis's own clock, so every process counts
# the same events in the same window; checked and added in one atomic script.
_HIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local window, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return tostring(tonumber(oldest[2]) + window - now)
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
return false
"""


class RedisWindowLimit:
    """Counts shared by every process on one Redis."""

    def __init__(self, redis: aioredis.Redis, name: str, events: int, seconds: float) -> None:
        self.redis, self.prefix = redis, f"paperdesk:limit:{name}:"
        self.events, self.seconds = events, seconds

    async def hit(self, key: str) -> None:
        wait = await self.redis.eval(_HIT, 1, self.prefix + key, self.seconds, self.events,
                                     secrets.token_hex(8))
        if wait is not None:
            raise _refuse(self.events, self.seconds, float(wait))
