"""What happened, as plain values: published on the message bus after a unit of work commits.

Subscribers (sockets, the price monitor, the notifier, the cluster) learn of every
change here, whoever made it: a market order, the monitor, a reset, another process.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# One user event as stored and pushed: (kind, data), e.g. ("order_update", {...}).
UserEvent = tuple[str, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class UserEventsStored:
    """A user's events, numbered up to last_seq, are stored: push them to the user."""

    user_id: str
    last_seq: int
    events: list[UserEvent]


@dataclass(frozen=True, slots=True)
class Changed:
    """An order, trade or alert was stored in a new state (the monitor's triggers follow)."""

    kind: str  # "order" | "trade" | "alert"
    document: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class TradeClosed:
    """A trade closed (fully), by any path: an exit, the monitor, exit-all."""

    user_id: str
    trade: Mapping[str, Any]  # as clients see it
    reason: str


@dataclass(frozen=True, slots=True)
class OrderFilled:
    """A resting order filled when the price reached it."""

    user_id: str
    order: Mapping[str, Any]  # as clients see it


@dataclass(frozen=True, slots=True)
class SessionsEnded:
    """Sessions ended (logout, revocation, a password change): their sockets go."""

    session_ids: list[str] = field(default_factory=list)
    announce: bool = True  # False when another process ended them and told this one


@dataclass(frozen=True, slots=True)
class AccountDeleted:
    """A user and everything they owned are gone."""

    user_id: str
