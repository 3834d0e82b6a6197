"""The exit legs of bracket, oto and oco orders, as REST bodies and socket payloads send
them: ``take_profit: {limit_price}`` and ``stop_loss: {stop_price, limit_price?}``."""

from __future__ import annotations

from decimal import Decimal

from handlers.validation import Body, decimal, required_decimal
from trading.brackets import named
from trading.errors import InvalidInput
from trading.orders import ExitLegs, OrderClass


def _leg(body: Body, name: str, fields: tuple[str, ...]) -> Body | None:
    """A leg object of a bracket, oto or oco order (None if absent): only fields, each a
    decimal, read under their full names (take_profit.limit_price)."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidInput(f"'{name}' must be an object with {' and '.join(fields)}.",
                           field=name)
    unknown = sorted(str(key)[:40] for key in set(value) - set(fields))
    if unknown:
        raise InvalidInput(f"'{name}' takes {' and '.join(fields)} only, not {unknown[0]!r}.",
                           field=f"{name}.{unknown[0]}")
    return {f"{name}.{key}": value.get(key) for key in fields}


def exits_of(body: Body, order_class: OrderClass) -> tuple[ExitLegs | None, Decimal | None]:
    """The exit legs of a bracket, oto or oco order, or the stop_loss level of a simple
    order's trade (both are sent as stop_loss: an object for legs, a price for a level)."""
    if order_class == OrderClass.SIMPLE:
        if body.get("take_profit") is not None:
            raise InvalidInput("take_profit is for bracket, oco and oto orders; set "
                               "order_class (or send target_price for the trade's target).",
                               field="take_profit")
        return None, decimal(body, "stop_loss")
    take_profit = _leg(body, "take_profit", ("limit_price",))
    stop_loss = _leg(body, "stop_loss", ("stop_price", "limit_price"))
    if take_profit is None and stop_loss is None:
        raise InvalidInput(f"{named(order_class)} order needs take_profit and/or stop_loss.",
                           field="take_profit")
    if take_profit is not None:
        required_decimal(take_profit, "take_profit.limit_price")
    if stop_loss is not None:
        required_decimal(stop_loss, "stop_loss.stop_price")
    return ExitLegs(
        take_profit=None if take_profit is None else decimal(take_profit,
                                                             "take_profit.limit_price"),
        stop_price=None if stop_loss is None else decimal(stop_loss, "stop_loss.stop_price"),
        stop_limit=None if stop_loss is None else decimal(stop_loss, "stop_loss.limit_price"),
    ), None
