"""Random trading sessions against the real engine and database (Hypothesis).

After every step the books must balance: cash = initial + ledger, reserved and
margin equal the sums over open orders and trades, nothing is half-done. With
shorts disabled and full margin, no balance may go negative either.
"""

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from feeds.hub import PriceHub
from services.bus import MessageBus
from services.engine import TradingEngine
from services.events import EventPublisher
from services.reset import reset_account
from store.check import check_books
from store.database import ensure_indexes
from store.layout import open_collections
from store.store import Store
from trading.errors import PaperDeskError
from trading.market import Quote, Universe
from trading.orders import OrderRequest, OrderType, Side
from trading.trades import AccountRules, CloseReason

USER = "trader"
prices = st.decimals(min_value=Decimal(1), max_value=Decimal(500), places=2)
quantities = st.integers(min_value=1, max_value=400).map(Decimal)
symbols = st.sampled_from(["AAA", "BBB"])


class TradingSession(RuleBasedStateMachine):
    account_rules = AccountRules(commission_rate=Decimal("0.001"), slippage_rate=Decimal("0.0005"))
    mongo_uri = ""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.now = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
        self.db_name = f"stateful_{uuid.uuid4().hex[:10]}"
        self.db = self.run(open_collections(self.mongo_uri, self.db_name))
        self.run(ensure_indexes(self.db))
        universe = Universe.parse("sim:AAA=100,BBB=50")
        stale = {symbol: timedelta(days=1) for symbol in universe.instruments}
        self.hub = PriceHub(universe, stale, lambda: self.now)
        store = Store(self.db)
        events = EventPublisher(store.events, store.accounts, MessageBus(), lambda: self.now)
        self.engine = TradingEngine(store, self.hub, self.account_rules, Decimal(100_000),
                                    "USD", events, lambda: self.now)

    def run(self, coroutine):  # type: ignore[no-untyped-def]
        return self.loop.run_until_complete(coroutine)

    def attempt(self, coroutine) -> None:  # type: ignore[no-untyped-def]
        # Refusals are fine; the books must balance either way.
        with contextlib.suppress(PaperDeskError):
            self.run(coroutine)

    def teardown(self) -> None:
        self.run(self.db.main.client.drop_database(self.db_name))
        self.run(self.db.close())
        self.loop.close()

    @initialize()
    def open_prices(self) -> None:
        for symbol, price in (("AAA", "100"), ("BBB", "50")):
            self.hub.publish(Quote(symbol, Decimal(price), self.now, "sim"))

    @rule(symbol=symbols, price=prices)
    def move_price(self, symbol: str, price: Decimal) -> None:
        self.now = self.now.replace(microsecond=(self.now.microsecond + 1000) % 1_000_000)
        self.hub.publish(Quote(symbol, price, self.now, "sim"))

    @rule(symbol=symbols, side=st.sampled_from(Side), quantity=quantities)
    def market_order(self, symbol: str, side: Side, quantity: Decimal) -> None:
        self.attempt(self.engine.place_order(USER, OrderRequest(symbol, side, OrderType.MARKET,
                                                                quantity)))

    @rule(symbol=symbols, side=st.sampled_from(Side), quantity=quantities, price=prices,
          kind=st.sampled_from([OrderType.LIMIT, OrderType.STOP]))
    def resting_order(self, symbol: str, side: Side, quantity: Decimal, price: Decimal,
                      kind: OrderType) -> None:
        price_field = "limit_price" if kind == OrderType.LIMIT else "stop_price"
        request = OrderRequest(symbol, side, kind, quantity, **{price_field: price})
        self.attempt(self.engine.place_order(USER, request))

    @rule(pick=st.integers(min_value=0, max_value=50))
    def cancel(self, pick: int) -> None:
        orders = self.run(self.engine.store.orders.find(USER, status="open"))
        if orders:
            self.attempt(self.engine.resting.cancel(USER, orders[pick % len(orders)]["_id"]))

    @rule(pick=st.integers(min_value=0, max_value=50), part=st.integers(min_value=0, max_value=4))
    def exit_trade(self, pick: int, part: int) -> None:
        trades = self.run(self.engine.store.trades.find(USER, status="open"))
        if trades:
            trade = trades[pick % len(trades)]
            held = trade["quantity"] // 10**8
            quantity = Decimal(max(1, held * part // 4)) if part else None
            self.attempt(self.engine.trades.exit(USER, trade["_id"], quantity,
                                                CloseReason.MANUAL))

    @rule()
    def exit_all(self) -> None:
        self.attempt(self.engine.trades.exit_all(USER))

    @rule()
    def reset(self) -> None:
        self.attempt(reset_account(self.engine, USER))

    @invariant()
    def books_balance(self) -> None:
        assert self.run(check_books(self.db)) == []


class LongOnlySession(TradingSession):
    account_rules = AccountRules(allow_shorts=False, commission_rate=Decimal("0.001"),
                         slippage_rate=Decimal("0.0005"))

    @invariant()
    def nothing_negative(self) -> None:
        account = self.run(self.engine.store.accounts.get(USER))
        if account is not None:
            for field in ("cash", "reserved", "margin_used", "available"):
                assert account[field] >= 0, (field, account[field])


RUN = settings(max_examples=12, stateful_step_count=25, deadline=None, derandomize=True,
               suppress_health_check=[HealthCheck.too_slow], database=None)


@pytest.mark.timeout(240)
@pytest.mark.parametrize("machine", [TradingSession, LongOnlySession],
                         ids=["with_shorts", "long_only"])
def test_random_sessions_keep_the_books(machine, mongo_uri):
    machine.mongo_uri = mongo_uri
    run_state_machine_as_test(machine, settings=RUN)
