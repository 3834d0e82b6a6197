"""Net positions as a trader closes them: all or part of one symbol's, or all of them.

A close is a market order of the other side (Alpaca's model): it goes through the
same fill as any order, so the lots it closes, first in first out, are closed in
its one unit of work (services/context.py net_fill).
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import Any

from services.engine import TradingEngine
from services.views import order_view, positions_view
from trading.errors import InvalidInput, NotFound, PaperDeskError
from trading.money import from_units, show
from trading.orders import OrderRequest, OrderStatus, OrderType, Side
from trading.trades import TradeStatus

MAX_POSITIONS = 10_000  # open lots read for one user's positions


async def position(engine: TradingEngine, user_id: str, symbol: str) -> dict[str, Any]:
    """The user's net position in symbol, or NotFound."""
    lots = await engine.store.trades.find(user_id, status=TradeStatus.OPEN, symbol=symbol,
                                          limit=MAX_POSITIONS)
    rows = positions_view(lots, engine.prices())
    if not rows:
        raise NotFound(f"No open position in {symbol}.")
    return rows[0]


async def close_position(engine: TradingEngine, user_id: str, symbol: str,
                         quantity: Decimal | None = None,
                         percentage: Decimal | None = None) -> dict[str, Any]:
    """Close all of a position, or quantity of it, or percentage of it, at the market;
    the order that does it."""
    if quantity is not None and percentage is not None:
        raise InvalidInput("Send qty or percentage, not both.", field="percentage")
    if quantity is not None and quantity <= 0:
        raise InvalidInput("'qty' must be greater than zero.", field="qty")
    if percentage is not None and not 0 < percentage <= 100:
        raise InvalidInput("'percentage' must be above 0 and at most 100.", field="percentage")
    held = {side: units for side, units in
            (await engine.store.trades.held(user_id, symbol)).items() if units}
    if not held:
        raise NotFound(f"No open position in {symbol}.")
    side, units = max(held.items(), key=lambda item: item[1])  # one side, netted
    side, size = Side(side), from_units(units)
    decimals = engine.hub.universe.instruments[symbol].quantity_decimals
    if percentage is not None:
        quantity = (size * percentage / 100).quantize(Decimal(1).scaleb(-decimals),
                                                      rounding=ROUND_DOWN)
        if quantity <= 0:
            raise InvalidInput(f"{show(percentage)}% of {show(size)} {symbol} is less than the "
                               "smallest quantity that trades.", field="percentage")
    if quantity is not None and quantity > size:
        raise InvalidInput(f"The position holds {show(size)} {symbol}.", field="qty",
                           details={"held": show(size)})
    request = OrderRequest(symbol=symbol, side=Side.SELL if side == Side.BUY else Side.BUY,
                           type=OrderType.MARKET,
                           quantity=size if quantity is None else quantity, reduce_only=True)
    return {"order": order_view(await engine.place_order(user_id, request))}


async def close_all(engine: TradingEngine, user_id: str,
                    cancel_orders: bool = False) -> dict[str, Any]:
    """Close every position at the market (after cancelling every open order, if asked);
    each symbol's outcome: its order, or the error that stopped it."""
    cancelled = 0
    if cancel_orders:
        for order in await engine.store.orders.find(user_id, status=OrderStatus.OPEN,
                                                    limit=MAX_POSITIONS):
            try:
                await engine.resting.cancel(user_id, order["_id"])
                cancelled += 1
            except PaperDeskError:
                pass  # filled or ended meanwhile
    lots = await engine.store.trades.find(user_id, status=TradeStatus.OPEN,
                                          limit=MAX_POSITIONS)
    closed = []
    for symbol in sorted({lot["symbol"] for lot in lots}):
        try:
            done = await close_position(engine, user_id, symbol)
            closed.append({"symbol": symbol, "status": "closed", "order": done["order"]})
        except PaperDeskError as error:
            closed.append({"symbol": symbol, "status": "failed", "error": error.to_dict()})
    return {"closed": closed, "orders_cancelled": cancelled}
