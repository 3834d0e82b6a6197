"""One log line when a price source goes down and one when it is back.

A source that cannot be reached is retried with back-off for as long as it stays
down. The first failure is a warning, each retry after it a DEBUG line and the first
price after it an info line, so a server with no network logs two lines per source,
not one (or a traceback) per retry.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


def reason(exc: BaseException) -> str:
    """The error as one short line: its type and the first line of its message."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:160]}" if text else type(exc).__name__


class Outage:
    """Whether a source is down, logged on each change (not on each retry)."""

    def __init__(self, source: str, log: logging.Logger,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.source = source
        self.log = log
        self.clock = clock
        self.since: float | None = None  # when it went down; None while up
        self.failures = 0

    def failed(self, why: str, retry_in: float) -> None:
        """Record a failed attempt; say so if the source was up until now."""
        self.failures += 1
        if self.since is None:
            self.since = self.clock()
            self.log.warning("%s prices are down (%s); retrying with back-off, each retry "
                             "logged at DEBUG", self.source, why)
        else:
            self.log.debug("%s prices still down after %d attempts (%s); retrying in %.1f s",
                           self.source, self.failures, why, retry_in)

    def recovered(self) -> None:
        """Record a price; say so if the source was down."""
        if self.since is None:
            return
        self.log.info("%s prices are back after %.0f s (%d failed attempts)", self.source,
                      self.clock() - self.since, self.failures)
        self.since, self.failures = None, 0
