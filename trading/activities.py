"""Account activities: what the ledger and the fills say happened, as a user reads it.

Modelled on Alpaca's account activities. A fill moves no cash here (a trade holds
margin, not the asset's price); what it costs and earns are activities of their
own: its fee, and when a trade closes all or part, the realized P&L. So the
net_amount of every cash activity, the initial transfer included, adds up to
the account's cash.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum, StrEnum

from trading.errors import InvalidInput


class ActivityType(StrEnum):
    FILL = "fill"  # an order filled, or a trade closed in all or part
    FEE = "fee"  # commission on a fill
    PNL = "pnl"  # the realized profit or loss of a trade's close
    RESET = "reset"  # cash put back to the initial amount
    TRANSFER = "transfer"  # the initial cash of the account
    ADJUSTMENT = "adjustment"  # any other cash movement in the ledger


# The ledger's reasons (store/ledger.py), as activity types.
LEDGER_REASONS = {"commission": ActivityType.FEE, "realized_pnl": ActivityType.PNL,
                  "reset": ActivityType.RESET}
CASH_TYPES = frozenset({ActivityType.FEE, ActivityType.PNL, ActivityType.RESET,
                        ActivityType.ADJUSTMENT})
MAX_TYPES_CHARS = 200


def activity_type_of(reason: str) -> ActivityType:
    return LEDGER_REASONS.get(reason, ActivityType.ADJUSTMENT)


def parse_types(text: str | None) -> frozenset[ActivityType]:
    """The types of ``?type=fill,fee`` (every type when absent); raise InvalidInput
    naming ``type`` for anything else."""
    if text is None:
        return frozenset(ActivityType)
    allowed = ", ".join(kind.value for kind in ActivityType)
    bad = InvalidInput(f"'type' must be one or more of {allowed}, separated by commas.",
                       field="type")
    if len(text) > MAX_TYPES_CHARS:
        raise bad
    try:
        kinds = frozenset(ActivityType(word.strip()) for word in text.split(","))
    except ValueError:
        raise bad from None
    return kinds


# Where each source's activities sort among others of the same millisecond.
class Source(IntEnum):
    TRANSFER = 0  # the account's initial cash
    ORDER_FILL = 1  # orders, filled
    EXIT_FILL = 2  # trades' exits
    LEDGER = 3  # cash movements


@dataclass(frozen=True, slots=True)
class Position:
    """Where a page of activities ends: its last activity's time, source and key within
    the source. Activities are ordered by (time, source, key)."""

    at: datetime
    source: Source
    key: str


@dataclass(frozen=True, slots=True)
class Window:
    """Which activities a list holds: after (exclusive) and until (inclusive) a time,
    after (or, ascending, before) a page's position, in one direction."""

    after: datetime | None
    until: datetime | None
    position: Position | None
    descending: bool

    def bounds(self, source: Source) -> tuple[datetime | None, bool, datetime | None, bool]:
        """(lowest time, inclusive?, highest time, inclusive?) of the source's activities
        in the window; the position's own millisecond is inclusive when the source
        sorts on the far side of it (or is its source: its key decides there)."""
        low, low_in, high, high_in = self.after, False, self.until, True
        if self.position is not None:
            at, same_or_beyond = self.position.at, (
                source <= self.position.source if self.descending
                else source >= self.position.source)
            if self.descending and (high is None or at <= high):
                high, high_in = at, same_or_beyond
            elif not self.descending and (low is None or at >= low):
                low, low_in = at, same_or_beyond
        return low, low_in, high, high_in
