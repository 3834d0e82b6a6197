"""Per-key rate limits kept in this process (a sliding window of recent events)."""

from __future__ import annotations

import math
import time
from collections import defaultdict, deque
from collections.abc import Callable

from trading.errors import RateLimited


class SlidingWindowLimit:
    def __init__(self, events: int, seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.events, self.seconds, self.clock = events, seconds, clock
        self._recent: defaultdict[str, deque[float]] = defaultdict(deque)

    def hit(self, key: str) -> None:
        """Count one event for key, or raise RateLimited (with Retry-After) if over."""
        now = self.clock()
        recent = self._recent[key]
        while recent and recent[0] <= now - self.seconds:
            recent.popleft()
        if len(recent) >= self.events:
            wait = recent[0] + self.seconds - now
            raise RateLimited(f"At most {self.events} per {self.seconds:g} s; try again later.",
                              retry_after=max(1, math.ceil(wait)))
        recent.append(now)
