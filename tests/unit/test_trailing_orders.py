"""trailing_stop orders: their stop behind the best price so far, on the tick, and the
requests they refuse."""

from decimal import Decimal as D

import pytest

from trading.assets import rules_for
from trading.errors import InvalidInput, InvalidPrice
from trading.orders import (
    OrderClass,
    OrderRequest,
    OrderType,
    Side,
    TimeInForce,
    trail_improves,
    trail_stop,
    validate_order,
)

CENT = D("0.01")


@pytest.mark.parametrize(("side", "hwm", "amount", "percent", "stop"), [
    (Side.SELL, "100", "5", None, "95"),
    (Side.BUY, "100", "5", None, "105"),
    (Side.SELL, "110", None, "10", "99"),
    (Side.BUY, "80", None, "10", "88"),
    # Off the tick: rounded away from the price, the trail never narrower than asked.
    (Side.SELL, "100.37", None, "3", "97.35"),   # 97.3589
    (Side.BUY, "100.37", None, "3", "103.39"),   # 103.3811
    (Side.SELL, "100.005", "1", None, "99"),      # 99.005
    (Side.BUY, "100.005", "1", None, "101.01"),   # 101.005
])
def test_the_stop_trails_the_best_price_on_the_tick_away_from_it(side, hwm, amount, percent,
                                                                  stop):
    got = trail_stop(side, D(hwm), None if amount is None else D(amount),
                     None if percent is None else D(percent), CENT)
    assert got == D(stop)


def test_a_sell_stop_never_reaches_zero():
    assert trail_stop(Side.SELL, D("0.02"), None, D("99.9"), CENT) == CENT


@pytest.mark.parametrize(("side", "price", "moves"), [
    (Side.SELL, "101", True), (Side.SELL, "99", False), (Side.SELL, "100", False),
    (Side.BUY, "99", True), (Side.BUY, "101", False), (Side.BUY, "100", False)])
def test_a_sells_best_is_the_high_and_a_buys_the_low(side, price, moves):
    assert trail_improves(side, D(price), D("100")) is moves


def request(**fields):
    base = {"symbol": "AAPL", "side": Side.SELL, "type": OrderType.TRAILING_STOP,
            "quantity": D(10), "trail_price": D(5)}
    return OrderRequest(**{**base, **fields})


def test_a_trailing_stop_refers_to_the_market_price():
    rules = rules_for("AAPL", "yahoo")
    assert validate_order(request(), 0, D(100), rules) == D(100)
    assert validate_order(request(trail_price=None, trail_percent=D("2.5")), 0, D(100),
                          rules) == D(100)


@pytest.mark.parametrize(("fields", "error", "field"), [
    ({"trail_price": None}, InvalidPrice, "trail_price"),
    ({"trail_percent": D(1)}, InvalidPrice, "trail_percent"),
    ({"trail_price": D(0)}, InvalidPrice, "trail_price"),
    ({"trail_price": D(-1)}, InvalidPrice, "trail_price"),
    ({"trail_price": D("NaN")}, InvalidPrice, "trail_price"),
    ({"trail_price": D(100)}, InvalidPrice, "trail_price"),  # at the price: a sell's stop 0
    ({"trail_price": D("0.005")}, InvalidPrice, "trail_price"),  # off the tick
    ({"trail_price": None, "trail_percent": D(0)}, InvalidPrice, "trail_percent"),
    ({"trail_price": None, "trail_percent": D(100)}, InvalidPrice, "trail_percent"),
    ({"trail_price": None, "trail_percent": D("Infinity")}, InvalidPrice, "trail_percent"),
    ({"stop_price": D(95)}, InvalidPrice, "stop_price"),
    ({"limit_price": D(95)}, InvalidPrice, "limit_price"),
    ({"time_in_force": TimeInForce.IOC}, InvalidInput, "time_in_force"),
    ({"time_in_force": TimeInForce.OPG}, InvalidInput, "time_in_force"),
    ({"order_class": OrderClass.OTO}, InvalidInput, "order_class"),
])
def test_bad_trailing_stops_are_refused(fields, error, field):
    with pytest.raises(error) as refused:
        validate_order(request(**fields), 0, D(100), rules_for("AAPL", "yahoo"))
    assert refused.value.details["field"] == field


@pytest.mark.parametrize("field", ["trail_price", "trail_percent"])
def test_a_trail_is_only_for_trailing_stops(field):
    order = OrderRequest(symbol="AAPL", side=Side.SELL, type=OrderType.LIMIT,
                         quantity=D(1), limit_price=D(100), **{field: D(5)})
    with pytest.raises(InvalidPrice) as refused:
        validate_order(order, 0, None)
    assert refused.value.details["field"] == field


def test_a_trail_below_a_dollar_keeps_the_tick_of_the_price_it_trails():
    # 0.005 is on the sub-dollar tick (0.0001), not on the tick at $100 (0.01).
    with pytest.raises(InvalidPrice):
        validate_order(request(trail_price=D("0.005")), 0, D(100), rules_for("AAPL", "yahoo"))
    assert validate_order(request(trail_price=D("0.005")), 0, D("0.5"),
                          rules_for("AAPL", "yahoo")) == D("0.5")
