"""The pure trading domain: money, order rules, the state table, PnL and costs."""

import random
from decimal import Decimal as D

import pytest
from bson import Int64

from trading.assets import AssetClass
from trading.errors import IllegalTransition, InvalidPrice, InvalidQuantity, StopPriceCrossed
from trading.fees import Liquidity
from trading.money import SCALE, from_units, show, show_units, to_units
from trading.orders import (
    TRANSITIONS,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    check_exit_levels,
    check_stop_uncrossed,
    transition,
    validate_order,
)
from trading.trades import AccountRules, realized_pnl


@pytest.mark.parametrize("amount", ["0", "1", "0.00000001", "-12.5", "92233720368.54775807",
                                    "65000.12345678"])
def test_money_round_trips_through_fixed_point_exactly(amount):
    assert from_units(to_units(D(amount))) == D(amount)


@pytest.mark.parametrize("amount", ["0.000000001", "92233720368.54775808", "1E+12"])
def test_amounts_finer_or_larger_than_storage_are_refused(amount):
    with pytest.raises(ValueError):
        to_units(D(amount))


def test_show_writes_plain_decimals():
    assert [show(D(x)) for x in ("100.00", "1E+2", "0.10", "-0", "1E-8")] == [
        "100", "100", "0.1", "0", "0.00000001"]


def test_show_units_writes_what_show_writes_of_the_amount():
    rng = random.Random(7)
    edges = [0, 1, -1, 5, -5, 10, SCALE, -SCALE, SCALE + 1, 12_345_000_000, 2**63 - 1,
             -(2**63 - 1), -2**63]
    for units in edges + [rng.randint(-2**63, 2**63 - 1) for _ in range(20_000)] + [
            rng.randint(-10**12, 10**12) for _ in range(20_000)]:
        assert show_units(units) == show_units(Int64(units)) == show(from_units(units))


def test_every_status_has_a_row_and_terminal_states_are_final():
    assert set(TRANSITIONS) == set(OrderStatus)
    assert transition(OrderStatus.NEW, OrderStatus.FILLED) == OrderStatus.FILLED
    assert transition(OrderStatus.OPEN, OrderStatus.CANCELED) == OrderStatus.CANCELED
    for final in (OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED,
                  OrderStatus.EXPIRED):
        for target in OrderStatus:
            with pytest.raises(IllegalTransition):
                transition(final, target)
    with pytest.raises(IllegalTransition):
        transition(OrderStatus.NEW, OrderStatus.CANCELED)


def order(**fields) -> OrderRequest:
    return OrderRequest(**{"symbol": "AAPL", "side": Side.BUY, "type": OrderType.MARKET,
                           "quantity": D(10), **fields})


@pytest.mark.parametrize(("fields", "decimals", "error", "field"), [
    ({"quantity": D(0)}, 0, InvalidQuantity, "quantity"),
    ({"quantity": D("-1")}, 0, InvalidQuantity, "quantity"),
    ({"quantity": D("1.5")}, 0, InvalidQuantity, "quantity"),
    ({"quantity": D("0.0000001")}, 6, InvalidQuantity, "quantity"),
    ({"type": OrderType.LIMIT}, 0, InvalidPrice, "limit_price"),
    ({"type": OrderType.STOP}, 0, InvalidPrice, "stop_price"),
    ({"type": OrderType.LIMIT, "limit_price": D(0)}, 0, InvalidPrice, "limit_price"),
    ({"limit_price": D(100)}, 0, InvalidPrice, "limit_price"),
    ({"stop_loss": D(101)}, 0, InvalidPrice, "stop_loss"),
    ({"target_price": D(99)}, 0, InvalidPrice, "target_price"),
    ({"side": Side.SELL, "stop_loss": D(99)}, 0, InvalidPrice, "stop_loss"),
    ({"side": Side.SELL, "target_price": D(101)}, 0, InvalidPrice, "target_price"),
])
def test_invalid_orders_name_the_field(fields, decimals, error, field):
    with pytest.raises(error) as caught:
        validate_order(order(**fields), decimals, D(100))
    assert caught.value.details["field"] == field


def test_valid_orders_return_their_reference_price():
    assert validate_order(order(stop_loss=D(95), target_price=D(110)), 0, D(100)) == D(100)
    assert validate_order(order(quantity=D("0.123456")), 6, D(100)) == D(100)
    limit = order(type=OrderType.LIMIT, limit_price=D(90), stop_loss=D(85), target_price=D(100))
    assert validate_order(limit, 0, None) == D(90)
    short = order(side=Side.SELL, stop_loss=D(105), target_price=D(90))
    assert validate_order(short, 0, D(100)) == D(100)


@pytest.mark.parametrize(("side", "order_type", "stop"), [
    (Side.BUY, OrderType.STOP, "99"), (Side.BUY, OrderType.STOP, "100"),
    (Side.BUY, OrderType.STOP_LIMIT, "90"), (Side.SELL, OrderType.STOP, "101"),
    (Side.SELL, OrderType.STOP, "100"), (Side.SELL, OrderType.STOP_LIMIT, "100.01"),
])
def test_a_stop_the_price_has_reached_is_refused_naming_the_price(side, order_type, stop):
    with pytest.raises(StopPriceCrossed) as caught:
        check_stop_uncrossed(order(side=side, type=order_type, stop_price=D(stop),
                                   limit_price=D(stop)), D("100.00"))
    where = "above" if side == Side.BUY else "below"
    assert caught.value.code == "stop_price_crossed"
    assert f"stop_price must be {where} the current price of AAPL (100)" in caught.value.message
    assert caught.value.details == {"field": "stop_price", "price": "100"}


@pytest.mark.parametrize(("side", "order_type", "stop", "price"), [
    (Side.BUY, OrderType.STOP, "100.01", "100"), (Side.SELL, OrderType.STOP_LIMIT, "99.99", "100"),
    (Side.BUY, OrderType.STOP, "1", None),  # no price yet: it rests until one comes
    (Side.BUY, OrderType.LIMIT, None, "100"), (Side.BUY, OrderType.TRAILING_STOP, "90", "100"),
])
def test_a_stop_beyond_the_price_or_no_stop_passes(side, order_type, stop, price):
    check_stop_uncrossed(order(side=side, type=order_type,
                               stop_price=None if stop is None else D(stop)),
                         None if price is None else D(price))


def test_exit_levels_may_be_left_out_one_at_a_time():
    check_exit_levels(Side.BUY, D(100), D(90), None)
    check_exit_levels(Side.BUY, D(100), None, D(110))
    check_exit_levels(Side.SELL, D(100), None, None)


@pytest.mark.parametrize(("side", "entry", "exit_price", "quantity", "pnl"), [
    (Side.BUY, "100", "110", "2", "20"), (Side.BUY, "100", "90", "2", "-20"),
    (Side.SELL, "100", "90", "2", "20"), (Side.SELL, "100", "110", "2", "-20"),
    (Side.BUY, "65000.5", "65001.25", "0.001", "0.00075"),
])
def test_realized_pnl_for_longs_and_shorts(side, entry, exit_price, quantity, pnl):
    assert realized_pnl(side, D(entry), D(exit_price), D(quantity)) == D(pnl)


def test_rules_price_margin_commission_and_slippage_against_the_trader():
    rules = AccountRules(long_margin_rate=D("0.2"), short_margin_rate=D("0.5"),
                         commission_rate=D("0.001"), slippage_rate=D("0.0005"))
    stock = AssetClass.US_EQUITY
    assert rules.fill_price(Side.BUY, D(100), stock) == D("100.05")
    assert rules.fill_price(Side.SELL, D(100), stock) == D("99.95")
    assert rules.fill_price(Side.BUY, D(100), stock, opening=False) == D("99.95")  # to close
    assert rules.fill_price(Side.SELL, D(100), stock, opening=False) == D("100.05")
    assert rules.margin(Side.BUY, D(100), D(10)) == D(200)
    assert rules.margin(Side.SELL, D(100), D(10)) == D(500)
    for asset_class in AssetClass:  # COMMISSION_RATE: every class, maker or taker
        for liquidity in Liquidity:
            assert rules.fee(asset_class, Side.BUY, D("100.05"), D(10),
                             liquidity) == D("1.0005")
    assert AccountRules().fee(stock, Side.BUY, D(100), D(10), Liquidity.TAKER) == D(0)


def test_a_stored_order_moves_only_through_the_table():
    from trading.orders import ended_as, moved

    assert moved({"status": "open"}, OrderStatus.CANCELED) == (
        {"status": OrderStatus.OPEN}, {"status": OrderStatus.CANCELED})
    assert ended_as({"_id": "o1", "status": "new"}, OrderStatus.OPEN) == {
        "_id": "o1", "status": OrderStatus.OPEN}
    for status, target in (("filled", OrderStatus.CANCELED), ("new", OrderStatus.EXPIRED),
                           ("canceled", OrderStatus.OPEN)):
        with pytest.raises(IllegalTransition):
            moved({"status": status}, target)
        with pytest.raises(IllegalTransition):
            ended_as({"status": status}, target)
