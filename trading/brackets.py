"""Bracket, OTO and OCO orders: exit legs that are orders of their own (Alpaca's model).

    bracket  an entry (market or limit) and two exit legs: a take-profit limit and a
             stop-loss stop (or stop-limit); when one leg fills the other is cancelled
    oto      an entry and one of those legs
    oco      two exits of a position already held, no entry: the take-profit limit
             is the parent order, the stop-loss its one leg; one cancels the other

Legs are of the other side and the entry's quantity. A bracket's or an oto's legs
are held until the entry fills, then rest; an oco's rest at once. This module
checks the request and builds the legs' requests; the services store them.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from enum import StrEnum

from trading.assets import AssetRules
from trading.errors import InvalidInput, InvalidPrice, InvalidQuantity
from trading.money import LARGEST, RANGE
from trading.orders import (
    ExitLegs,
    OrderClass,
    OrderRequest,
    OrderType,
    Side,
    TimeInForce,
    check_price,
)

TAKE_PROFIT, STOP, STOP_LIMIT = ("take_profit.limit_price", "stop_loss.stop_price",
                                 "stop_loss.limit_price")
ENTRY_TYPES = (OrderType.MARKET, OrderType.LIMIT)


class LegRole(StrEnum):
    TAKE_PROFIT = "take_profit"
    STOP_LOSS = "stop_loss"


def named(order_class: OrderClass) -> str:
    """An order class with its article, for messages: "A bracket", "An oco"."""
    return f"{'An' if order_class.value[0] in 'aeiou' else 'A'} {order_class.value}"


def other_side(side: Side) -> Side:
    return Side.SELL if side == Side.BUY else Side.BUY


def exit_side(order: OrderRequest) -> Side:
    """The side of an order's exit legs: an oco is itself the exit; others exit their entry."""
    return order.side if order.order_class == OrderClass.OCO else other_side(order.side)


def _leg_prices(exits: ExitLegs) -> list[tuple[str, Decimal]]:
    return [(field, price) for field, price in ((TAKE_PROFIT, exits.take_profit),
                                                (STOP, exits.stop_price),
                                                (STOP_LIMIT, exits.stop_limit))
            if price is not None]


def check_class_fields(order: OrderRequest) -> ExitLegs | None:
    """Refuse fields an order class does not take; the exits of a non-simple order."""
    exits = order.exits
    if order.order_class == OrderClass.SIMPLE:
        if exits is not None:
            raise InvalidInput("take_profit and stop_loss objects are for bracket, oco and "
                               "oto orders; set order_class.", field="order_class")
        return None
    kind = named(order.order_class)
    if exits is None or (exits.take_profit is None and exits.stop_price is None):
        raise InvalidInput(f"{kind} order needs take_profit and/or stop_loss.",
                           field="take_profit")
    for name in ("stop_loss", "target_price", "trailing_amount", "trailing_percent",
                 "notional"):
        if getattr(order, name) is not None:
            raise InvalidInput(f"{kind} order takes no {name}: its exits are its legs "
                               "(take_profit and stop_loss objects).", field=name)
    if order.time_in_force not in (TimeInForce.GTC, TimeInForce.DAY):
        raise InvalidInput(f"{kind} order is gtc or day.", field="time_in_force")
    if exits.stop_limit is not None and exits.stop_price is None:
        raise InvalidPrice("stop_loss needs stop_price.", field=STOP)
    both = exits.take_profit is not None and exits.stop_price is not None
    if order.order_class in (OrderClass.BRACKET, OrderClass.OCO) and not both:
        missing = TAKE_PROFIT if exits.take_profit is None else STOP
        raise InvalidInput(f"{kind} order needs take_profit and stop_loss.", field=missing)
    if order.order_class == OrderClass.OTO and both:
        raise InvalidInput("An oto order has one leg: take_profit or stop_loss.",
                           field="stop_loss")
    if order.order_class == OrderClass.OCO:
        if order.type != OrderType.LIMIT:
            raise InvalidInput("An oco order is of type limit (its take-profit).", field="type")
        for name in ("limit_price", "stop_price"):
            if getattr(order, name) is not None:
                raise InvalidPrice(f"An oco order's prices are its take_profit and stop_loss; "
                                   f"it takes no {name}.", field=name)
    elif order.type not in ENTRY_TYPES:
        raise InvalidInput(f"{kind} order's entry is market or limit.", field="type")
    for field, price in _leg_prices(exits):
        check_price(price, field)
    return exits


def check_leg_levels(side: Side, reference: Decimal | None, exits: ExitLegs) -> None:
    """Exit legs of side (sell: closing a long) against the entry's price (reference;
    None: not known): a long's take-profit above it and its stop below, a short's
    mirrored; a stop-limit's limit no better than its stop."""
    up = 1 if side == Side.SELL else -1  # the take-profit's direction from the reference
    above, below = ("above", "below") if up == 1 else ("below", "above")
    tp, stop, stop_limit = exits.take_profit, exits.stop_price, exits.stop_limit
    if reference is not None:
        if tp is not None and (tp - reference) * up <= 0:
            raise InvalidPrice(f"take_profit.limit_price must be {above} {reference}.",
                               field=TAKE_PROFIT)
        if stop is not None and (stop - reference) * up >= 0:
            raise InvalidPrice(f"stop_loss.stop_price must be {below} {reference}.",
                               field=STOP)
    if tp is not None and stop is not None and (tp - stop) * up <= 0:
        raise InvalidPrice(f"take_profit.limit_price must be {above} stop_loss.stop_price.",
                           field=TAKE_PROFIT)
    if stop is not None and stop_limit is not None and (stop_limit - stop) * up > 0:
        raise InvalidPrice(f"stop_loss.limit_price must be at or {below} its stop_price.",
                           field=STOP_LIMIT)


def check_leg_rules(order: OrderRequest, exits: ExitLegs, rules: AssetRules) -> None:
    """Each leg price on the instrument's tick, each leg worth its minimum notional and
    no more than the books keep (a leg's reservation or fill is valued at its price)."""
    for field, price in _leg_prices(exits):
        if order.quantity * price > LARGEST:
            raise InvalidInput(f"The leg at {field} is worth {order.quantity} x {price}, which "
                               f"is too large: {RANGE}.", field=field,
                               details={"largest": str(LARGEST)})
        if price % (tick := rules.tick(price)) != 0:
            raise InvalidPrice(f"'{field}' must be a multiple of the tick size {tick} "
                               f"(price_increment) for {order.symbol}.", field=field,
                               details={"rule": "price_increment",
                                        "price_increment": str(tick)})
        if order.quantity * price < rules.min_notional:
            raise InvalidQuantity(
                f"The leg at {field} must be worth at least {rules.min_notional} "
                f"{rules.quote_currency} (min_notional) for {order.symbol}.", field="quantity",
                details={"rule": "min_notional", "min_notional": str(rules.min_notional)})


def validate_class(order: OrderRequest, reference: Decimal | None,
                   rules: AssetRules | None = None) -> ExitLegs | None:
    """Check a bracket, oto or oco order's legs (reference: the entry's price, or for an
    oco the market's; None: not known); its exits (None for a simple order)."""
    exits = check_class_fields(order)
    if exits is None:
        return None
    check_leg_levels(exit_side(order), reference, exits)
    if rules is not None:
        check_leg_rules(order, exits, rules)
    return exits


def oco_parent(order: OrderRequest) -> OrderRequest:
    """An oco order as it rests: its take-profit limit (the stop-loss is its leg)."""
    if order.exits is None:
        raise InvalidInput("An oco order needs take_profit.", field="take_profit")
    return replace(order, limit_price=order.exits.take_profit)


def leg_requests(order: OrderRequest) -> list[tuple[LegRole, OrderRequest]]:
    """The legs of a bracket, oto or oco order, each an order of the exit side and the
    order's quantity (an oco's take-profit is the parent itself, not a leg)."""
    exits = order.exits
    if exits is None or order.order_class == OrderClass.SIMPLE:
        return []
    side = exit_side(order)
    base = OrderRequest(symbol=order.symbol, side=side, type=OrderType.LIMIT,
                        quantity=order.quantity, time_in_force=order.time_in_force)
    legs: list[tuple[LegRole, OrderRequest]] = []
    if exits.take_profit is not None and order.order_class != OrderClass.OCO:
        legs.append((LegRole.TAKE_PROFIT, replace(base, limit_price=exits.take_profit)))
    if exits.stop_price is not None:
        kind = OrderType.STOP if exits.stop_limit is None else OrderType.STOP_LIMIT
        legs.append((LegRole.STOP_LOSS, replace(base, type=kind, stop_price=exits.stop_price,
                                                limit_price=exits.stop_limit)))
    return legs
