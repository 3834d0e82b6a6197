"""Orders: what a client may ask for, and the states an order moves through."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal
from enum import StrEnum
from typing import Any

from trading.assets import AssetRules
from trading.errors import (
    IllegalTransition,
    InvalidInput,
    InvalidPrice,
    InvalidQuantity,
    StopPriceCrossed,
)
from trading.money import RANGE, problem, show


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"  # at stop_price it becomes a limit order at limit_price
    # A stop that follows the best price since placement (hwm) by trail_price or
    # trail_percent: below it for a sell, above it for a buy (trail_stop).
    TRAILING_STOP = "trailing_stop"


class TimeInForce(StrEnum):
    GTC = "gtc"  # until filled or cancelled
    DAY = "day"  # until the end of the day (00:00 UTC)
    IOC = "ioc"  # fill now, or not at all (there are no partial fills here)
    FOK = "fok"  # fill now, wholly, or not at all
    OPG = "opg"  # a market order placed while its market is closed, filled at the open


class OrderClass(StrEnum):
    SIMPLE = "simple"    # one order
    BRACKET = "bracket"  # an entry and two exit legs, one cancels the other
    OTO = "oto"          # an entry and one exit leg (one triggers other)
    OCO = "oco"          # two exits of a position held: one cancels the other


class OrderStatus(StrEnum):
    NEW = "new"            # accepted, not yet filled or resting
    HELD = "held"          # an exit leg waiting for its entry to fill
    OPEN = "open"          # resting, funds reserved
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    REPLACED = "replaced"  # a PATCH made a new order of it (its replaced_by)


TERMINAL = frozenset({OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED,
                      OrderStatus.EXPIRED, OrderStatus.REPLACED})
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.NEW: frozenset({OrderStatus.OPEN, OrderStatus.FILLED, OrderStatus.REJECTED,
                                OrderStatus.HELD}),
    # A leg rests when its entry fills, and ends with it if the entry never does.
    OrderStatus.HELD: frozenset({OrderStatus.OPEN, OrderStatus.CANCELED, OrderStatus.REJECTED}),
    OrderStatus.OPEN: frozenset({OrderStatus.FILLED, OrderStatus.CANCELED,
                                 OrderStatus.EXPIRED, OrderStatus.REJECTED,
                                 OrderStatus.REPLACED}),
    **{status: frozenset() for status in TERMINAL},
}


def transition(current: OrderStatus, target: OrderStatus) -> OrderStatus:
    """Return target if an order may move there from current, else raise."""
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(f"An order cannot go from {current} to {target}.")
    return target


def moved(order: Mapping[str, Any], target: OrderStatus
          ) -> tuple[dict[str, Any], dict[str, Any]]:
    """The guard and the change of a stored order's move to target, through the table:
    ({"status": its status}, {"status": target}); IllegalTransition if it may not."""
    current = OrderStatus(order["status"])
    return {"status": current}, {"status": transition(current, target)}


def ended_as(order: Mapping[str, Any], target: OrderStatus) -> dict[str, Any]:
    """A copy of an order not yet stored, moved to target through the table."""
    return {**order, "status": transition(OrderStatus(order["status"]), target)}


@dataclass(frozen=True, slots=True)
class ExitLegs:
    """The exit legs of a bracket, oto or oco order, as sent (trading/brackets.py)."""

    take_profit: Decimal | None = None  # the take-profit leg's limit price
    stop_price: Decimal | None = None   # the stop-loss leg's stop
    stop_limit: Decimal | None = None   # its limit, making it a stop-limit order


@dataclass(frozen=True, slots=True)
class OrderRequest:
    symbol: str
    side: Side
    type: OrderType
    quantity: Decimal
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    stop_loss: Decimal | None = None
    target_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    client_order_id: str | None = None
    trailing_amount: Decimal | None = None
    trailing_percent: Decimal | None = None
    # A market order may say how much to spend (in the quote currency) instead of
    # quantity; the engine turns it into the quantity it buys at the price then.
    notional: Decimal | None = None
    order_class: OrderClass = OrderClass.SIMPLE
    exits: ExitLegs | None = None
    # A trailing_stop order's trail: an amount (Alpaca's trail_price) or a percentage.
    # Not trailing_amount/trailing_percent, which set the trailing stop of the trade
    # an order opens.
    trail_price: Decimal | None = None
    trail_percent: Decimal | None = None
    # A close of a position (DELETE /positions): fills no more than the position holds
    # when it fills, and never opens the other side.
    reduce_only: bool = False

    @property
    def at_open(self) -> bool:
        """A market order that waits for its market's next open (time in force opg)."""
        return self.time_in_force == TimeInForce.OPG

    @property
    def worst_price(self) -> Decimal | None:
        """The price a resting order's reservation is counted at: its limit, if it has
        one, else its stop."""
        return self.limit_price if self.limit_price is not None else self.stop_price


def marketable(side: Side, limit: Decimal, price: Decimal) -> bool:
    """Whether a limit order would fill at price: a buy at or below its limit, a sell at
    or above."""
    return price <= limit if side == Side.BUY else price >= limit


def quantity_for(notional: Decimal, price: Decimal, decimals: int) -> Decimal:
    """How much notional buys at price, rounded down to what trades."""
    return (notional / price).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_DOWN)


def check_quantity(quantity: Decimal, decimals: int, field: str = "quantity") -> None:
    if not quantity.is_finite() or quantity <= 0:
        raise InvalidQuantity("Quantity must be greater than zero.", field=field)
    if (why := problem(quantity)) is not None:
        raise InvalidQuantity(f"'{field}' {why}: {RANGE}.", field=field)
    if quantity != quantity.quantize(Decimal(1).scaleb(-decimals)):  # "10.00" is whole
        raise InvalidQuantity(f"Quantity allows at most {decimals} decimal places.",
                              field=field, details={"decimals": decimals})


def check_price(price: Decimal, field: str) -> None:
    if not price.is_finite() or price <= 0:
        raise InvalidPrice("Prices must be greater than zero.", field=field)
    if (why := problem(price)) is not None:
        raise InvalidPrice(f"'{field}' {why}: {RANGE}.", field=field)


def check_exit_levels(side: Side, reference: Decimal, stop_loss: Decimal | None,
                      target: Decimal | None) -> None:
    """A long's stop-loss is below and its target above the reference; a short's mirrored."""
    for value, field in ((stop_loss, "stop_loss"), (target, "target_price")):
        if value is not None:
            check_price(value, field)
    below, above = (stop_loss, target) if side == Side.BUY else (target, stop_loss)
    if below is not None and below >= reference:
        field = "stop_loss" if side == Side.BUY else "target_price"
        raise InvalidPrice(f"{field} must be below {reference} for a {side} order.",
                           field=field)
    if above is not None and above <= reference:
        field = "target_price" if side == Side.BUY else "stop_loss"
        raise InvalidPrice(f"{field} must be above {reference} for a {side} order.",
                           field=field)


def check_stop_uncrossed(order: OrderRequest, price: Decimal | None) -> None:
    """A stop or stop_limit order's stop is beyond the current price (price; None: not
    known): above it for a buy, below it for a sell, as Alpaca requires. A stop the
    price has already reached would fill on the next tick."""
    stop = order.stop_price
    if price is None or stop is None or order.type not in (OrderType.STOP,
                                                           OrderType.STOP_LIMIT):
        return
    if order.side == Side.BUY and stop <= price:
        where = "above"
    elif order.side == Side.SELL and stop >= price:
        where = "below"
    else:
        return
    raise StopPriceCrossed(
        f"A {order.side} {order.type} order's stop_price must be {where} the current price "
        f"of {order.symbol} ({show(price)}); {show(stop)} has already been reached. Send a "
        "market or limit order to trade now.",
        details={"field": "stop_price", "price": show(price)})


def check_trailing(amount: Decimal | None, percent: Decimal | None) -> None:
    """A trailing stop trails by an amount or by a percentage, not both."""
    if amount is not None and percent is not None:
        raise InvalidPrice("Send trailing_amount or trailing_percent, not both.",
                           field="trailing_percent")
    if amount is not None:
        check_price(amount, "trailing_amount")
    if percent is not None and not (0 < percent < 100 and percent.is_finite()):
        raise InvalidPrice("trailing_percent must be above 0 and below 100.",
                           field="trailing_percent")


def check_trail_order(order: OrderRequest, market_price: Decimal | None) -> Decimal | None:
    """A trailing_stop order: one trail, no limit or stop price, gtc or day, and (with the
    market price) a sell's trail below it. Its reference: the market price."""
    amount, percent = order.trail_price, order.trail_percent
    if (amount is None) == (percent is None):
        raise InvalidPrice("A trailing_stop order needs trail_price or trail_percent "
                           "(one of them).", field="trail_price" if amount is None
                           else "trail_percent")
    for field in ("limit_price", "stop_price"):
        if getattr(order, field) is not None:
            raise InvalidPrice(f"A trailing_stop order takes no {field}: its stop follows "
                               "the price.", field=field)
    if amount is not None:
        check_price(amount, "trail_price")
        if market_price is not None and order.side == Side.SELL and amount >= market_price:
            raise InvalidPrice(f"A sell trailing stop's trail_price must be below the price "
                               f"({market_price}).", field="trail_price")
    if percent is not None and not (percent.is_finite() and 0 < percent < 100):
        raise InvalidPrice("trail_percent must be above 0 and below 100.",
                           field="trail_percent")
    if order.time_in_force not in (TimeInForce.GTC, TimeInForce.DAY):
        raise InvalidInput("A trailing_stop order's time_in_force is gtc or day.",
                           field="time_in_force")
    if order.order_class != OrderClass.SIMPLE:
        raise InvalidInput("A trailing_stop order is a simple order.", field="order_class")
    return market_price


def trail_stop(side: Side, hwm: Decimal, amount: Decimal | None, percent: Decimal | None,
               tick: Decimal) -> Decimal:
    """A trailing_stop order's stop: trail behind its best price so far (hwm), below it
    for a sell, above it for a buy, rounded to the tick away from the price (the trail
    is never narrower than asked: a sell's stop down, a buy's up)."""
    if side == Side.SELL:
        raw = hwm - amount if amount is not None else hwm * (100 - (percent or 0)) / 100
        stop = (raw / tick).to_integral_value(rounding=ROUND_FLOOR) * tick
        return max(stop, tick)  # a stop at or below zero would never fire
    raw = hwm + amount if amount is not None else hwm * (100 + (percent or 0)) / 100
    return (raw / tick).to_integral_value(rounding=ROUND_CEILING) * tick


def trail_improves(side: Side, price: Decimal, hwm: Decimal) -> bool:
    """Whether a price moves a trailing_stop order's stop: a higher one a sell's, a lower
    one a buy's."""
    return price > hwm if side == Side.SELL else price < hwm


def validate_order(order: OrderRequest, quantity_decimals: int,
                   market_price: Decimal | None, rules: AssetRules | None = None) -> Decimal:
    """Check an order against its instrument; return the price its exit levels refer to.

    With rules, also the instrument's tick, step, minimum size and notional."""
    check_quantity(order.quantity, quantity_decimals)
    check_trailing(order.trailing_amount, order.trailing_percent)
    if order.type == OrderType.TRAILING_STOP:
        reference = check_trail_order(order, market_price)
    elif order.trail_price is not None or order.trail_percent is not None:
        field = "trail_price" if order.trail_price is not None else "trail_percent"
        raise InvalidPrice(f"{field} is for trailing_stop orders.", field=field)
    elif order.type == OrderType.MARKET:
        if order.limit_price is not None or order.stop_price is not None:
            raise InvalidPrice("A market order takes no limit_price or stop_price.",
                               field="limit_price" if order.limit_price else "stop_price")
        reference = market_price
        if order.time_in_force == TimeInForce.OPG and order.order_class != OrderClass.SIMPLE:
            raise InvalidInput("time_in_force opg is for simple market orders.",
                               field="time_in_force")
    else:
        needs = {OrderType.LIMIT: ("limit_price",), OrderType.STOP: ("stop_price",),
                 OrderType.STOP_LIMIT: ("stop_price", "limit_price")}[order.type]
        for field in ("limit_price", "stop_price"):
            price = getattr(order, field)
            if field in needs and price is None:
                raise InvalidPrice(f"A {order.type} order needs {field}.", field=field)
            if field not in needs and price is not None:
                raise InvalidPrice(f"A {order.type} order takes no {field}.", field=field)
            if price is not None:
                check_price(price, field)
        if order.time_in_force in (TimeInForce.IOC, TimeInForce.FOK) and (
                order.type != OrderType.LIMIT):
            raise InvalidInput(f"time_in_force {order.time_in_force} is for market and "
                               "limit orders.", field="time_in_force")
        if order.time_in_force == TimeInForce.OPG:
            raise InvalidInput("time_in_force opg is for market orders.", field="time_in_force")
        reference = order.worst_price
    if reference is not None:
        check_exit_levels(order.side, reference, order.stop_loss, order.target_price)
    if rules is not None:
        check_order_rules(order, rules, reference)
    return reference if reference is not None else Decimal(0)


def check_order_rules(order: OrderRequest, rules: AssetRules, reference: Decimal | None) -> None:
    """Refuse an order that breaks its instrument's rules (400, the rule in the message).

    reference is the price the order is valued at: the market price of a market
    order, the limit or stop price of a resting one (None: not known).
    """
    prices = (("limit_price", order.limit_price), ("stop_price", order.stop_price),
              ("stop_loss", order.stop_loss), ("target_price", order.target_price),
              ("trail_price", order.trail_price))
    for field, price in prices:
        # A trail is a distance: the tick at the price it trails applies to it.
        if price is None:
            continue
        at = reference if field == "trail_price" and reference is not None else price
        if price % (tick := rules.tick(at)) != 0:
            raise InvalidPrice(f"'{field}' must be a multiple of the tick size {tick} "
                               f"(price_increment) for {order.symbol}.", field=field,
                               details={"rule": "price_increment",
                                        "price_increment": str(tick)})
    if order.quantity % rules.step != 0:
        raise InvalidQuantity(f"Quantity must be a multiple of the step size {rules.step} "
                              f"(min_trade_increment) for {order.symbol}.", field="quantity",
                              details={"rule": "min_trade_increment",
                                       "min_trade_increment": str(rules.step)})
    if order.quantity < rules.min_order_size:
        raise InvalidQuantity(f"Quantity must be at least {rules.min_order_size} "
                              f"(min_order_size) for {order.symbol}.", field="quantity",
                              details={"rule": "min_order_size",
                                       "min_order_size": str(rules.min_order_size)})
    # A close of a position takes what is held, whatever it is worth now.
    if reference is not None and order.quantity * reference < rules.min_notional \
            and not order.reduce_only:
        raise InvalidQuantity(
            f"The order's value (quantity x price) must be at least {rules.min_notional} "
            f"{rules.quote_currency} (min_notional) for {order.symbol}.", field="quantity",
            details={"rule": "min_notional", "min_notional": str(rules.min_notional)})

