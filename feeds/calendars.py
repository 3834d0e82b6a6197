"""Exchange calendars (the exchange_calendars library) as Schedules, and which market
each configured symbol trades on.

The sessions are read once per process, from 2000 to the library's horizon
(a year ahead for New York; its list of Indian holidays ends earlier, see
``Schedule.last``), into plain datetimes the lookups bisect. Past that horizon
a Schedule assumes the regular weekday session. NSE has no calendar of its own
in the library: it shares BSE's (XBOM), whose sessions and holidays it keeps.
"""

from __future__ import annotations

import warnings
from datetime import UTC, date, datetime, time
from functools import cache
from zoneinfo import ZoneInfo

from trading.assets import Exchange
from trading.errors import InvalidInput
from trading.hours import HOURS_MODES, AlwaysOpen, Schedule, Session, check_market_open
from trading.market import Universe
from trading.orders import OrderRequest

FIRST_DAY = date(2000, 1, 1)
# Our exchange -> the library's calendar of it.
CALENDARS = {Exchange.XNYS: "XNYS", Exchange.XNSE: "XBOM", Exchange.XBOM: "XBOM"}
# Names people use for an exchange, for ?exchange=.
ALIASES = {"XNYS": Exchange.XNYS, "NYSE": Exchange.XNYS, "XNAS": Exchange.XNYS,
           "NASDAQ": Exchange.XNYS, "XNSE": Exchange.XNSE, "NSE": Exchange.XNSE,
           "XBOM": Exchange.XBOM, "BSE": Exchange.XBOM, "CRYPTO": Exchange.CRYPTO,
           "FX": Exchange.FX}


@cache
def load_sessions(name: str) -> tuple[str, time, time, tuple[Session, ...]]:
    """The timezone, regular open and close, and every session of a library calendar."""
    import exchange_calendars  # imported here: it takes half a second, with pandas
    from pandas.errors import Pandas4Warning

    with warnings.catch_warnings():
        # exchange_calendars 4.13 reads Series.values, deprecated in pandas 3.1.
        warnings.simplefilter("ignore", Pandas4Warning)
        calendar = exchange_calendars.get_calendar(name, start=FIRST_DAY.isoformat())
        schedule = calendar.schedule
        sessions = tuple(
            Session(day.date(), opened.to_pydatetime(), closed.to_pydatetime())
            for day, opened, closed in zip(schedule.index, schedule["open"],
                                           schedule["close"], strict=True))
        zone = str(calendar.tz)
        open_time, close_time = calendar.open_times[-1][1], calendar.close_times[-1][1]
    return zone, open_time, close_time, sessions


def schedule_of(exchange: Exchange) -> Schedule:
    """A fresh Schedule of an exchange (each keeps its own lookup cache)."""
    if exchange in (Exchange.CRYPTO, Exchange.FX):
        return AlwaysOpen(exchange.value)
    zone, open_time, close_time, sessions = load_sessions(CALENDARS[exchange])
    return Schedule(exchange.value, ZoneInfo(zone), zone, open_time, close_time, sessions)


class MarketHours:
    """Every exchange's schedule, and whether a symbol's market is open.

    With mode "ignore" every market counts as open for trading (the schedules
    still answer the clock and the calendar).
    """

    def __init__(self, universe: Universe, mode: str = "enforce") -> None:
        if mode not in HOURS_MODES:
            raise ValueError(f"market hours mode must be one of {', '.join(HOURS_MODES)}")
        self.mode = mode
        self.enforced = mode == "enforce"
        self.schedules = {exchange: schedule_of(exchange) for exchange in Exchange}
        self.by_symbol = {symbol: self.schedules[instrument.rules.exchange]
                          for symbol, instrument in universe.instruments.items()}

    def schedule(self, symbol: str) -> Schedule:
        return self.by_symbol[symbol]

    def is_open(self, symbol: str, now: datetime) -> bool:
        """Whether symbol may trade now (always, unless hours are enforced)."""
        return not self.enforced or self.by_symbol[symbol].is_open(now)

    def open_since(self, symbol: str, now: datetime) -> datetime | None:
        """When symbol's market opened (the distant past if it never closes or hours are
        not enforced); None while it is closed."""
        if not self.enforced:
            return datetime.min.replace(tzinfo=UTC)
        return self.by_symbol[symbol].open_since(now)

    def check(self, order: OrderRequest, now: datetime) -> None:
        """Refuse a market order while its market is closed (MarketClosed), if enforced;
        and a market order for the open (opg) while it is open, or if markets never
        close here."""
        if order.at_open and not self.enforced:
            raise InvalidInput("time_in_force opg waits for a market's open; markets do not "
                               "close on this server (MARKET_HOURS=ignore).",
                               field="time_in_force")
        if self.enforced:
            check_market_open(order, self.by_symbol[order.symbol], now)
