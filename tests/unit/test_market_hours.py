"""Market hours: schedules (pure), the exchange calendars, the hub's staleness and the
simulator holding still while a market is closed."""

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from feeds.calendars import MarketHours, schedule_of
from feeds.hub import PriceHub
from feeds.sim import SimFeed
from tests.support import Clock, quote
from trading.assets import Exchange
from trading.errors import MarketClosed
from trading.hours import AlwaysOpen, Schedule, Session, check_market_open
from trading.market import Quote, Universe
from trading.orders import OrderRequest, OrderType, Side, TimeInForce

NEW_YORK = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")


def at(day: str, clock: str, zone: ZoneInfo = NEW_YORK) -> datetime:
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(clock), zone)


def session(day: str, opens: str, closes: str) -> Session:
    return Session(date.fromisoformat(day), at(day, opens), at(day, closes))


# A week in a made-up calendar: Wednesday a holiday, Thursday an early close; the
# regular 09:30-16:00 weekday session is assumed outside the known days.
KNOWN = [session("2026-03-02", "09:30", "16:00"), session("2026-03-03", "09:30", "16:00"),
         session("2026-03-05", "09:30", "13:00"), session("2026-03-06", "09:30", "16:00")]


def week() -> Schedule:
    return Schedule("TEST", NEW_YORK, "America/New_York", time(9, 30), time(16), KNOWN)


@pytest.mark.parametrize(("moment", "is_open", "next_open", "next_close"), [
    (at("2026-03-02", "09:29:59"), False, at("2026-03-02", "09:30"), at("2026-03-02", "16:00")),
    (at("2026-03-02", "09:30"), True, at("2026-03-03", "09:30"), at("2026-03-02", "16:00")),
    (at("2026-03-02", "15:59:59"), True, at("2026-03-03", "09:30"), at("2026-03-02", "16:00")),
    (at("2026-03-02", "16:00"), False, at("2026-03-03", "09:30"), at("2026-03-03", "16:00")),
    (at("2026-03-04", "11:00"), False, at("2026-03-05", "09:30"), at("2026-03-05", "13:00")),
    (at("2026-03-05", "13:30"), False, at("2026-03-06", "09:30"), at("2026-03-06", "16:00")),
    (at("2026-03-07", "12:00"), False, at("2026-03-09", "09:30"), at("2026-03-09", "16:00")),
    (at("2026-03-10", "10:00"), True, at("2026-03-11", "09:30"), at("2026-03-10", "16:00")),
    (at("2026-02-27", "10:00"), True, at("2026-03-02", "09:30"), at("2026-02-27", "16:00")),
])
def test_schedule_says_whether_it_is_open_and_when_it_opens_and_closes_next(
        moment, is_open, next_open, next_close):
    schedule = week()
    assert schedule.is_open(moment.astimezone(UTC)) is is_open
    assert schedule.next_open(moment) == next_open
    assert schedule.next_close(moment) == next_close
    opened = at(next_close.date().isoformat(), "09:30")  # every session here opens 09:30
    assert schedule.open_since(moment) == (opened if is_open else None)


def test_answers_hold_when_time_goes_backwards_through_the_lookup_cache():
    schedule = week()
    moments = [at("2026-03-06", "10:00"), at("2026-03-04", "10:00"), at("2026-03-06", "10:00"),
               at("2026-03-05", "14:00"), at("2026-03-05", "12:59"), at("2026-03-09", "09:30")]
    assert [schedule.is_open(m) for m in moments] == [True, False, True, False, True, True]


def test_sessions_list_known_days_then_assumed_weekdays():
    days = [s.date.isoformat() for s in week().sessions(date(2026, 2, 27), date(2026, 3, 10))]
    assert days == ["2026-02-27", "2026-03-02", "2026-03-03", "2026-03-05", "2026-03-06",
                    "2026-03-09", "2026-03-10"]
    assert week().sessions(date(2026, 3, 7), date(2026, 3, 8)) == []
    assert week().sessions(date(2026, 3, 9), date(2026, 3, 1)) == []


def test_always_open_never_closes_and_lists_every_day():
    crypto = AlwaysOpen("CRYPTO")
    saturday = datetime(2026, 1, 3, 3, tzinfo=UTC)
    assert crypto.is_open(saturday)
    assert (crypto.next_open(saturday), crypto.next_close(saturday)) == (None, None)
    days = crypto.sessions(date(2025, 12, 31), date(2026, 1, 1))
    assert [(s.open.isoformat(), s.close.isoformat()) for s in days] == [
        ("2025-12-31T00:00:00+00:00", "2026-01-01T00:00:00+00:00"),
        ("2026-01-01T00:00:00+00:00", "2026-01-02T00:00:00+00:00")]


def market(symbol: str) -> OrderRequest:
    return OrderRequest(symbol, Side.BUY, OrderType.MARKET, Decimal(1))


def test_market_orders_are_refused_while_closed_and_resting_orders_are_not():
    saturday = at("2026-03-07", "12:00")
    with pytest.raises(MarketClosed) as caught:
        check_market_open(market("AAA"), week(), saturday)
    assert caught.value.code == "market_closed"
    assert caught.value.details == {"exchange": "TEST",
                                    "next_open": "2026-03-09T09:30:00-04:00"}
    limit = OrderRequest("AAA", Side.BUY, OrderType.LIMIT, Decimal(1), limit_price=Decimal(9))
    check_market_open(limit, week(), saturday)
    for tif in (TimeInForce.IOC, TimeInForce.FOK):
        with pytest.raises(MarketClosed):
            check_market_open(replace(limit, time_in_force=tif), week(), saturday)
    check_market_open(market("BTCUSDT"), AlwaysOpen("CRYPTO"), saturday)
    check_market_open(market("AAA"), week(), at("2026-03-09", "09:30"))


# -- the exchange calendars (exchange_calendars) ---------------------------------

@pytest.mark.parametrize(("exchange", "moment", "is_open"), [
    (Exchange.XNYS, at("2025-12-25", "10:00"), False),         # Christmas
    (Exchange.XNYS, at("2025-12-24", "12:59"), True),          # early close at 13:00
    (Exchange.XNYS, at("2025-12-24", "13:00"), False),
    (Exchange.XNYS, at("2026-01-03", "12:00"), False),         # a Saturday
    (Exchange.XNYS, at("2026-01-06", "03:00"), False),         # 03:00 in New York
    (Exchange.XNYS, at("2026-01-06", "10:00"), True),
    (Exchange.XNYS, at("2026-03-09", "09:30"), True),          # after the switch to EDT
    (Exchange.XNSE, at("2025-12-25", "10:00", KOLKATA), False),
    (Exchange.XNSE, at("2025-12-26", "09:15", KOLKATA), True),
    (Exchange.XNSE, at("2025-12-26", "15:30", KOLKATA), False),
    (Exchange.XBOM, at("2026-01-03", "10:00", KOLKATA), False),
    (Exchange.CRYPTO, at("2025-12-25", "03:00"), True),
])
def test_exchange_calendars_know_holidays_weekends_hours_and_early_closes(
        exchange, moment, is_open):
    assert schedule_of(exchange).is_open(moment) is is_open


def test_past_the_calendars_horizon_weekday_sessions_are_assumed():
    nse = schedule_of(Exchange.XNSE)
    assert nse.last is not None
    after = nse.last + timedelta(days=400)
    monday = after + timedelta(days=(7 - after.weekday()) % 7)
    assert nse.is_open(at(monday.isoformat(), "09:15", KOLKATA))
    assert not nse.is_open(at(monday.isoformat(), "09:14", KOLKATA))
    assert not nse.is_open(at((monday - timedelta(days=1)).isoformat(), "10:00", KOLKATA))


def test_market_hours_map_symbols_to_exchanges_unless_ignored():
    universe = Universe.parse("sim:AAPL,BTCUSDT,RELIANCE.NS,^NSEI")
    saturday = datetime(2026, 1, 3, 15, tzinfo=UTC)
    hours = MarketHours(universe)
    assert {s: hours.schedule(s).exchange for s in universe.instruments} == {
        "AAPL": "XNYS", "BTCUSDT": "CRYPTO", "RELIANCE.NS": "XNSE", "^NSEI": "XNSE"}
    assert [hours.is_open(s, saturday) for s in universe.instruments] == [False, True, False,
                                                                          False]
    with pytest.raises(MarketClosed):
        hours.check(market("AAPL"), saturday)
    ignored = MarketHours(universe, "ignore")
    assert all(ignored.is_open(s, saturday) for s in universe.instruments)
    ignored.check(market("AAPL"), saturday)
    with pytest.raises(ValueError):
        MarketHours(universe, "sometimes")


# -- staleness and the simulator ------------------------------------------------

FRIDAY_CLOSE = datetime(2026, 1, 2, 21, tzinfo=UTC)   # 16:00 in New York
MONDAY_OPEN = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
universe = Universe.parse("sim:AAA=100,BTCUSDT=65000,RRR.NS=2900.03")


def hub_at(clock: Clock, hours: MarketHours | None) -> PriceHub:
    stale = {symbol: timedelta(seconds=30) for symbol in universe.instruments}
    return PriceHub(universe, stale, clock, hours)


def test_a_closed_markets_last_price_is_not_stale_and_staleness_counts_from_the_open():
    clock = Clock(FRIDAY_CLOSE - timedelta(seconds=1))
    hub = hub_at(clock, MarketHours(universe))
    hub.publish(quote("AAA", "101", clock()))
    hub.publish(quote("BTCUSDT", "65000", clock()))
    clock.now = FRIDAY_CLOSE + timedelta(days=1)
    assert not hub.is_stale("AAA")
    assert hub.is_stale("BTCUSDT")
    assert hub.is_stale("RRR.NS")  # never priced
    clock.now = MONDAY_OPEN + timedelta(seconds=30)
    assert not hub.is_stale("AAA")
    clock.now = MONDAY_OPEN + timedelta(seconds=31)
    assert hub.is_stale("AAA")
    assert [q.symbol for q in hub.check_staleness()] == ["AAA", "BTCUSDT"]


def test_without_market_hours_staleness_is_unchanged():
    clock = Clock(FRIDAY_CLOSE)
    hub = hub_at(clock, None)
    hub.publish(quote("AAA", "101", clock()))
    clock.advance(timedelta(seconds=31))
    assert hub.is_stale("AAA")


def sim(clock: Clock, hours: MarketHours | None) -> SimFeed:
    return SimFeed(universe.from_source("sim"), seed=5, volatility=Decimal("0.01"),
                   interval=0.001, clock=clock, hours=hours)


def test_the_simulator_holds_closed_markets_still_and_moves_crypto():
    clock = Clock(FRIDAY_CLOSE + timedelta(days=1))
    hours = MarketHours(universe)
    steps = sim(clock, hours).steps(lambda symbol: hours.is_open(symbol, clock()))
    first = dict(next(steps))
    assert first["AAA"] == Decimal("100.00") and first["RRR.NS"] == Decimal("2900.05")
    later = [dict(next(steps)) for _ in range(20)]
    assert all(set(tick) == {"BTCUSDT"} for tick in later)
    assert len({tick["BTCUSDT"] for tick in later}) > 10
    clock.now = MONDAY_OPEN
    assert set(dict(next(steps))) == {"AAA", "BTCUSDT"}  # NSE is closed at New York's open


def test_simulated_prices_keep_to_the_tick():
    steps = sim(Clock(MONDAY_OPEN), None).steps()
    ticks = [dict(next(steps)) for _ in range(300)]
    assert all(tick["RRR.NS"] % Decimal("0.05") == 0 for tick in ticks)
    assert len({tick["RRR.NS"] for tick in ticks}) > 20


class Sink:
    def __init__(self, enough: int) -> None:
        self.quotes: list[Quote] = []
        self.enough = enough
        self.done = asyncio.Event()

    def publish(self, q: Quote) -> bool:
        self.quotes.append(q)
        if sum(1 for seen in self.quotes if seen.symbol == "BTCUSDT") >= self.enough:
            self.done.set()
        return True

    def backfill(self, symbol: str, bars: list[object]) -> None:
        pass


async def test_the_running_simulator_publishes_a_closed_stock_once_then_holds_it():
    sink = Sink(enough=25)
    task = asyncio.create_task(sim(Clock(FRIDAY_CLOSE + timedelta(days=1)),
                                   MarketHours(universe)).run(sink))
    async with asyncio.timeout(5):
        await sink.done.wait()
    task.cancel()
    assert [q.price for q in sink.quotes if q.symbol == "AAA"] == [Decimal("100.00")]
