"""The leaderboard's arithmetic: returns, order, risk-adjusted scores and ratings.

A board ranks opted-in users by the return of their equity over a window (a day, a
week, a month or the whole current period): equity now over equity when the window
began, minus one. Ties are broken by who opted in first, then by user id, so the
order never depends on how the database returned them.

The rating is a percentile of a risk-adjusted score among rated users: the
annualized Sharpe ratio of the daily returns of the current period (at most its
last RATING_DAYS days). A user with fewer than the minimum days of returns is
unrated. Returns that do not vary have no Sharpe ratio: all zero scores 0, a
steady gain scores above any ratio and a steady loss below any.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from trading.portfolio import sharpe

CENT = Decimal("0.01")
RATING_DAYS = 90  # the daily returns a rating looks at, at most
INFINITY = Decimal("Infinity")


class BoardPeriod(StrEnum):
    """The window a board ranks returns over (ALL: since the last reset)."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    ALL = "all"

    @property
    def days(self) -> int | None:
        """UTC days the window covers, today included (None: the whole period)."""
        return {"day": 1, "week": 7, "month": 30}.get(self.value)


@dataclass(frozen=True, slots=True)
class Standing:
    """One user's place on one board, before it is ranked."""

    user_id: str
    opted_in_at: datetime
    ret: Decimal | None  # a fraction (0.05 is 5 %); None: no starting equity to divide by


def shown_name(name: str, email: str, handle: str) -> str:
    """The name a board shows: the user's, unless it is their email address's part
    before the @ (what the page names a user who gives no name) or carries it with
    the @, then "Trader <handle>"."""
    local, shown = email.partition("@")[0].casefold(), name.casefold()
    if local and (shown == local or f"{local}@" in shown):
        return f"Trader {handle}"
    return name


def window_return(start: Decimal, now: Decimal) -> Decimal | None:
    """The return from equity start to equity now, as a fraction (None if start <= 0)."""
    return None if start <= 0 else now / start - 1


def return_pct(ret: Decimal | None) -> str | None:
    """A return as a percentage rounded to 0.01 ("5.25"), or None."""
    return None if ret is None else f"{(ret * 100).quantize(CENT, ROUND_HALF_UP):f}"


def ranked(standings: Iterable[Standing]) -> list[Standing]:
    """Best return first; a return of None last; ties by opt-in time, then user id."""
    return sorted(standings, key=lambda s: (s.ret is None, -(s.ret or 0), s.opted_in_at,
                                            s.user_id))


def risk_score(returns: list[Decimal], min_days: int) -> Decimal | None:
    """The Sharpe ratio of daily returns (module docstring); None under min_days of them."""
    if len(returns) < max(min_days, 2):
        return None
    ratio = sharpe(returns)
    if ratio is not None:
        return ratio
    steady = returns[0]  # no variance: every return is this one
    return Decimal(0) if steady == 0 else INFINITY if steady > 0 else -INFINITY


def ratings(scores: dict[str, Decimal]) -> dict[str, int]:
    """Each user's percentile, 0 to 100: the share of the other rated users scoring
    below, ties counting half; a user alone is 50."""
    ordered = sorted(scores.values())
    others = len(ordered) - 1
    rated = {}
    for user_id, score in scores.items():
        if others == 0:
            rated[user_id] = 50
            continue
        below = bisect_left(ordered, score)
        tied = bisect_right(ordered, score) - below - 1  # not counting the user
        share = Decimal(100 * (2 * below + tied)) / (2 * others)
        rated[user_id] = int(share.quantize(Decimal(1), ROUND_HALF_UP))
    return rated
