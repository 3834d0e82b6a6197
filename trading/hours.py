"""Market hours: an exchange's sessions and whether it is open at a given moment.

A Schedule holds the sessions a calendar knows (holidays and early closes
included, loaded by feeds/calendars.py) and assumes the regular weekday session
before and after them. Every answer takes the moment as an argument: nothing
here reads a clock. Crypto trades around the clock (AlwaysOpen).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from trading.errors import InvalidInput, MarketClosed
from trading.orders import OrderRequest, OrderType, TimeInForce

# MARKET_HOURS: refuse market orders and hold simulated prices while a market is
# closed, or trade every market around the clock.
HOURS_MODES = ("enforce", "ignore")
WEEKDAYS = frozenset(range(5))  # Monday to Friday
DAY = timedelta(days=1)
# How far a lookup walks for the next session before giving up: exchanges close for
# a few days at most (NYSE's longest closure since 1933 was four weekdays, in 2001).
MAX_WEEKS = 5


@dataclass(frozen=True, slots=True)
class Session:
    """One trading day: its local date and its open and close (timezone-aware)."""

    date: date
    open: datetime
    close: datetime


class Schedule:
    """An exchange's sessions, known from a calendar, regular weekdays outside it."""

    always_open = False

    def __init__(self, exchange: str, zone: tzinfo, zone_name: str, open_time: time,
                 close_time: time, sessions: Sequence[Session]) -> None:
        self.exchange = exchange
        self.zone = zone
        self.zone_name = zone_name
        self.open_time = open_time
        self.close_time = close_time
        self.known = list(sessions)
        self._dates = [session.date for session in self.known]
        self.first = self._dates[0] if self._dates else None
        self.last = self._dates[-1] if self._dates else None
        # The last answer of where(): (valid from, valid until, session, open).
        self._cached: tuple[datetime, datetime, Session, bool] | None = None

    def _regular(self, day: date) -> Session | None:
        if day.weekday() not in WEEKDAYS:
            return None
        return Session(day, datetime.combine(day, self.open_time, self.zone),
                       datetime.combine(day, self.close_time, self.zone))

    def sessions(self, start: date, end: date) -> list[Session]:
        """The sessions from start to end (local dates, both included)."""
        found: list[Session] = []
        first, last = self.first, self.last
        day = start
        while day <= end:
            if first is not None and last is not None and first <= day <= last:
                stop = min(end, last)
                low = bisect.bisect_left(self._dates, day)
                high = bisect.bisect_right(self._dates, stop)
                found.extend(self.known[low:high])
                day = stop + DAY
            else:
                if (session := self._regular(day)) is not None:
                    found.append(session)
                day += DAY
        return found

    def where(self, now: datetime) -> tuple[Session, bool]:
        """The session now is in (and True), or the next one to open (and False)."""
        cached = self._cached
        if cached is not None and cached[0] <= now < cached[1]:
            return cached[2], cached[3]
        day = now.astimezone(self.zone).date() - DAY
        previous_close: datetime | None = None
        for _ in range(MAX_WEEKS):
            for session in self.sessions(day, day + 6 * DAY):
                if now < session.close:
                    is_open = session.open <= now
                    start = session.open if is_open else (previous_close or now)
                    end = session.close if is_open else session.open
                    self._cached = (start, end, session, is_open)
                    return session, is_open
                previous_close = session.close
            day += 7 * DAY
        raise ValueError(f"{self.exchange} has no session within {MAX_WEEKS} weeks "
                         f"of {now.isoformat()}")

    def is_open(self, now: datetime) -> bool:
        return self.where(now)[1]

    def open_since(self, now: datetime) -> datetime | None:
        """When the session now is in opened; None while the market is closed."""
        session, is_open = self.where(now)
        return session.open if is_open else None

    def next_open(self, now: datetime) -> datetime | None:
        """The next session's open (after the current one, while open)."""
        session, is_open = self.where(now)
        return self.where(session.close)[0].open if is_open else session.open

    def next_close(self, now: datetime) -> datetime | None:
        """The current session's close, or the next session's while closed."""
        return self.where(now)[0].close


class AlwaysOpen(Schedule):
    """A market that never closes (crypto): days run 00:00 to 24:00 UTC."""

    always_open = True

    def __init__(self, exchange: str) -> None:
        super().__init__(exchange, UTC, "UTC", time(0), time(0), [])

    def sessions(self, start: date, end: date) -> list[Session]:
        days = (end - start).days + 1
        return [Session(day, datetime.combine(day, time(0), UTC),
                        datetime.combine(day + DAY, time(0), UTC))
                for day in (start + n * DAY for n in range(max(days, 0)))]

    def where(self, now: datetime) -> tuple[Session, bool]:
        day = now.astimezone(UTC).date()
        return self.sessions(day, day)[0], True

    def open_since(self, now: datetime) -> datetime | None:
        return datetime.min.replace(tzinfo=UTC)

    def next_open(self, now: datetime) -> datetime | None:
        return None

    def next_close(self, now: datetime) -> datetime | None:
        return None


def check_market_open(order: OrderRequest, schedule: Schedule, now: datetime) -> None:
    """Refuse an order that must fill now (market, ioc, fok) while its market is closed;
    limit and stop orders may rest: they fill when a price crosses them, and prices hold
    still while it is closed. A market order for the open (opg) is the other way round:
    taken only while its market is closed."""
    if order.at_open:
        if schedule.is_open(now):
            raise InvalidInput(f"time_in_force opg is for a market order placed while its "
                               f"market is closed, to fill at the open; the "
                               f"{schedule.exchange} market is open now: send day or gtc.",
                               field="time_in_force")
        return
    fills_now = order.type == OrderType.MARKET or order.time_in_force in (TimeInForce.IOC,
                                                                         TimeInForce.FOK)
    if not fills_now or schedule.is_open(now):
        return
    next_open = schedule.next_open(now)
    shown = next_open.isoformat() if next_open is not None else None
    raise MarketClosed(f"The {schedule.exchange} market is closed: orders for {order.symbol} "
                       f"that fill now (market, ioc, fok) are taken while it is open (next "
                       f"open {shown}); a limit or stop order may rest until then, and a "
                       f"market order with time_in_force opg fills at the open.",
                       details={"exchange": schedule.exchange, "next_open": shown})
