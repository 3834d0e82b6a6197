"""Bracket, oto and oco orders in the pure domain: what is refused, the legs built, and
the held status in the state table."""

from decimal import Decimal as D

import pytest

from trading.assets import rules_for
from trading.brackets import LegRole, leg_requests, oco_parent, validate_class
from trading.errors import IllegalTransition, InvalidInput, InvalidPrice, InvalidQuantity
from trading.orders import (
    TERMINAL,
    ExitLegs,
    OrderClass,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    transition,
)

LEGS = ExitLegs(take_profit=D(110), stop_price=D(95))


def bracket(**fields) -> OrderRequest:
    return OrderRequest(**{"symbol": "AAPL", "side": Side.BUY, "type": OrderType.MARKET,
                           "quantity": D(10), "order_class": OrderClass.BRACKET,
                           "exits": LEGS, **fields})


def test_legs_are_held_until_their_entry_fills_then_rest_or_end_with_it():
    assert transition(OrderStatus.NEW, OrderStatus.HELD) == OrderStatus.HELD
    for target in (OrderStatus.OPEN, OrderStatus.CANCELED, OrderStatus.REJECTED):
        assert transition(OrderStatus.HELD, target) == target
    for target in (OrderStatus.FILLED, OrderStatus.EXPIRED, OrderStatus.REPLACED):
        with pytest.raises(IllegalTransition):
            transition(OrderStatus.HELD, target)  # a held leg must rest before it fills
    assert OrderStatus.HELD not in TERMINAL
    for final in TERMINAL:
        with pytest.raises(IllegalTransition):
            transition(final, OrderStatus.HELD)


def test_a_bracket_makes_a_take_profit_limit_and_a_stop_of_the_other_side():
    request = bracket(time_in_force=TimeInForce.DAY,
                      exits=ExitLegs(take_profit=D(110), stop_price=D(95), stop_limit=D(94)))
    assert validate_class(request, D(100), rules_for("AAPL", "sim")) == request.exits
    (tp_role, tp), (sl_role, sl) = leg_requests(request)
    assert (tp_role, tp.side, tp.type, tp.limit_price, tp.quantity, tp.time_in_force) == (
        LegRole.TAKE_PROFIT, Side.SELL, OrderType.LIMIT, D(110), D(10), TimeInForce.DAY)
    assert (sl_role, sl.side, sl.type, sl.stop_price, sl.limit_price) == (
        LegRole.STOP_LOSS, Side.SELL, OrderType.STOP_LIMIT, D(95), D(94))


def test_an_oco_rests_its_take_profit_as_the_parent_and_its_stop_as_the_leg():
    request = OrderRequest(symbol="AAPL", side=Side.SELL, type=OrderType.LIMIT,
                           quantity=D(5), order_class=OrderClass.OCO, exits=LEGS)
    validate_class(request, D(100))
    parent = oco_parent(request)
    assert (parent.type, parent.limit_price, parent.side) == (OrderType.LIMIT, D(110),
                                                              Side.SELL)
    [(role, leg)] = leg_requests(parent)
    assert (role, leg.side, leg.type, leg.stop_price) == (LegRole.STOP_LOSS, Side.SELL,
                                                          OrderType.STOP, D(95))


def test_a_short_bracket_mirrors_its_levels():
    request = bracket(side=Side.SELL, exits=ExitLegs(take_profit=D(90), stop_price=D(105)))
    validate_class(request, D(100))
    assert [leg.side for _, leg in leg_requests(request)] == [Side.BUY, Side.BUY]
    with pytest.raises(InvalidPrice):
        validate_class(bracket(side=Side.SELL), D(100))  # a long's levels on a short


@pytest.mark.parametrize(("fields", "reference", "error", "field"), [
    ({"exits": ExitLegs(take_profit=D(99), stop_price=D(95))}, D(100), InvalidPrice,
     "take_profit.limit_price"),
    ({"exits": ExitLegs(take_profit=D(110), stop_price=D(100))}, D(100), InvalidPrice,
     "stop_loss.stop_price"),
    ({"exits": ExitLegs(take_profit=D(110), stop_price=D(95), stop_limit=D(96))}, D(100),
     InvalidPrice, "stop_loss.limit_price"),
    ({"exits": ExitLegs(take_profit=D(110))}, D(100), InvalidInput, "stop_loss.stop_price"),
    ({"exits": ExitLegs(stop_price=D(95))}, D(100), InvalidInput, "take_profit.limit_price"),
    ({"exits": None}, D(100), InvalidInput, "take_profit"),
    ({"exits": ExitLegs(take_profit=D("NaN"), stop_price=D(95))}, None, InvalidPrice,
     "take_profit.limit_price"),
    ({"exits": ExitLegs(take_profit=D(110), stop_price=D(-1))}, None, InvalidPrice,
     "stop_loss.stop_price"),
    ({"exits": ExitLegs(take_profit=D(110), stop_limit=D(94))}, None, InvalidPrice,
     "stop_loss.stop_price"),
    ({"type": OrderType.STOP, "stop_price": D(101)}, D(101), InvalidInput, "type"),
    ({"time_in_force": TimeInForce.FOK}, D(100), InvalidInput, "time_in_force"),
    ({"target_price": D(120)}, D(100), InvalidInput, "target_price"),
    ({"trailing_percent": D(1)}, D(100), InvalidInput, "trailing_percent"),
    ({"notional": D(1000)}, D(100), InvalidInput, "notional"),
    ({"order_class": OrderClass.OTO}, D(100), InvalidInput, "stop_loss"),
    ({"order_class": OrderClass.SIMPLE}, D(100), InvalidInput, "order_class"),
    ({"order_class": OrderClass.OCO}, None, InvalidInput, "type"),
    ({"order_class": OrderClass.OCO, "type": OrderType.LIMIT, "limit_price": D(110)}, None,
     InvalidPrice, "limit_price"),
    ({"order_class": OrderClass.OCO, "type": OrderType.LIMIT, "side": Side.SELL,
      "exits": ExitLegs(take_profit=D(95), stop_price=D(96))}, None, InvalidPrice,
     "take_profit.limit_price"),
])
def test_invalid_brackets_name_the_field(fields, reference, error, field):
    with pytest.raises(error) as raised:
        validate_class(bracket(**fields), reference)
    assert raised.value.details["field"] == field


def test_leg_prices_keep_the_tick_and_the_minimum_notional():
    with pytest.raises(InvalidPrice) as raised:
        validate_class(bracket(exits=ExitLegs(take_profit=D("110.001"), stop_price=D(95))),
                       D(100), rules_for("AAPL", "sim"))
    assert raised.value.details["rule"] == "price_increment"
    crypto = OrderRequest(symbol="BTCUSDT", side=Side.BUY, type=OrderType.MARKET,
                          quantity=D("0.0001"), order_class=OrderClass.BRACKET,
                          exits=ExitLegs(take_profit=D(70000), stop_price=D(40000)))
    with pytest.raises(InvalidQuantity) as raised:
        validate_class(crypto, D(60000), rules_for("BTCUSDT", "sim"))
    assert raised.value.details["rule"] == "min_notional"


def test_a_simple_order_has_no_legs():
    simple = OrderRequest(symbol="AAPL", side=Side.BUY, type=OrderType.MARKET, quantity=D(1),
                          stop_loss=D(90))
    assert validate_class(simple, D(100)) is None
    assert leg_requests(simple) == []
