"""What clients see of orders, trades, accounts and positions (plain JSON types)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from store.database import Document
from trading.fx import Conversion
from trading.money import from_units, show, show_units
from trading.orders import Side
from trading.trades import realized_pnl

Prices = dict[str, Decimal]


def _amount(units: int | None) -> str | None:
    return None if units is None else show_units(units)


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def order_view(order: Document, legs: list[Document] | None = None) -> dict[str, Any]:
    """An order as clients see it. Its legs (bracket, oto, oco) are their ids, or with
    legs (the leg documents) the legs themselves, nested."""
    filled = order.get("filled_quantity")
    if filled is None and order["status"] == "filled":
        filled = order["quantity"]
    leg_ids = order.get("legs")
    return {
        "id": order["_id"], "client_order_id": order["client_order_id"],
        "symbol": order["symbol"], "side": order["side"], "type": order["type"],
        "quantity": _amount(order["quantity"]), "limit_price": _amount(order.get("limit_price")),
        "stop_price": _amount(order.get("stop_price")),
        "stop_loss": _amount(order.get("stop_loss")),
        "trailing_amount": _amount(order.get("trailing_amount")),
        "trailing_percent": order.get("trailing_percent"),
        "target_price": _amount(order.get("target_price")),
        "time_in_force": order["time_in_force"], "status": order["status"],
        "reject_reason": order.get("reject_reason"), "reserved": _amount(order.get("reserved")),
        "filled_price": _amount(order.get("filled_price")), "trade_id": order.get("trade_id"),
        "created_at": _time(order["created_at"]), "filled_at": _time(order.get("filled_at")),
        "canceled_at": _time(order.get("canceled_at")),
        "replaces": order.get("replaces"), "replaced_by": order.get("replaced_by"),
        "stop_triggered_at": _time(order.get("stop_triggered_at")),
        "currency": order.get("currency"), "fx_rate": _amount(order.get("fx_rate")),
        "order_class": order.get("order_class", "simple"),
        "parent_id": order.get("parent_id"), "leg_role": order.get("leg_role"),
        "legs": (None if leg_ids is None else list(leg_ids) if legs is None
                 else [order_view(leg) for leg in legs]),
        "filled_quantity": _amount(filled),
        "fee": _amount(order.get("fee")), "liquidity": order.get("liquidity"),
        "trail_price": _amount(order.get("trail_price")),
        "trail_percent": order.get("trail_percent"), "hwm": _amount(order.get("hwm")),
    }


def unrealized_quote(trade: Document, prices: Prices) -> Decimal | None:
    """An open trade's PnL at the latest price, in its quote currency."""
    price = prices.get(trade["symbol"])
    if trade["status"] != "open" or price is None:
        return None
    return realized_pnl(Side(trade["side"]), from_units(trade["entry_price"]), price,
                        from_units(trade["quantity"]))


def fx_now(trade: Document, prices: Prices) -> Conversion:
    """A trade's conversion into the account currency at the latest rate (its entry
    rate while its pair has no price)."""
    return Conversion.recorded(trade, "entry_fx_rate").at(prices)


def unrealized(trade: Document, prices: Prices) -> Decimal | None:
    """An open trade's PnL at the latest price, in the account currency (latest rate)."""
    pnl = unrealized_quote(trade, prices)
    return None if pnl is None else fx_now(trade, prices).to_account(pnl)


def trade_view(trade: Document, prices: Prices) -> dict[str, Any]:
    quoted = unrealized_quote(trade, prices)
    pnl = None if quoted is None else fx_now(trade, prices).to_account(quoted)
    return {
        "id": trade["_id"], "order_id": trade["order_id"], "symbol": trade["symbol"],
        "side": trade["side"], "status": trade["status"],
        "quantity": _amount(trade["quantity"]),
        "initial_quantity": _amount(trade["initial_quantity"]),
        "entry_price": _amount(trade["entry_price"]),
        "stop_loss": _amount(trade.get("stop_loss")),
        "target_price": _amount(trade.get("target_price")),
        "trailing_amount": _amount(trade.get("trailing_amount")),
        "trailing_percent": trade.get("trailing_percent"),
        "margin": _amount(trade["margin"]), "fees": _amount(trade["fees"]),
        "realized_pnl": _amount(trade["realized_pnl"]),
        "unrealized_pnl": None if pnl is None else show(pnl),
        "unrealized_pnl_quote": None if quoted is None else show(quoted),
        "currency": trade.get("currency"), "entry_fx_rate": _amount(trade.get("entry_fx_rate")),
        "close_price": _amount(trade.get("close_price")), "close_reason": trade.get("close_reason"),
        "opened_at": _time(trade["opened_at"]), "closed_at": _time(trade.get("closed_at")),
        "exits": [{"quantity": _amount(e["quantity"]), "price": _amount(e["price"]),
                   "pnl": _amount(e["pnl"]), "pnl_quote": _amount(e.get("pnl_quote")),
                   "fx_rate": _amount(e.get("fx_rate")), "reason": e["reason"],
                   "at": _time(e["at"])}
                  for e in trade.get("exits", [])],
    }


def balances_view(account: Document) -> dict[str, Any]:
    """The account's stored balances (what account_update events carry)."""
    return {
        "currency": account["currency"], "initial_cash": _amount(account["initial"]),
        "cash": _amount(account["cash"]), "reserved": _amount(account["reserved"]),
        "margin_used": _amount(account["margin_used"]),
        "available": _amount(account["available"]),
        "realized_pnl": _amount(account["realized_pnl"]), "fees": _amount(account["fees"]),
    }


def account_view(account: Document, open_trades: list[Document],
                 prices: Prices) -> dict[str, Any]:
    """Balances plus the open trades valued at the latest prices."""
    open_pnl = sum((unrealized(t, prices) or Decimal(0) for t in open_trades), Decimal(0))
    return {**balances_view(account), "unrealized_pnl": show(open_pnl),
            "equity": show(from_units(account["cash"]) + open_pnl),
            "seq": account.get("event_seq", 0)}


@dataclass(frozen=True, slots=True)
class Holding:
    """A net position as the sum of its open lots: all a position row is made of."""

    symbol: str
    side: str
    quantity: int  # units
    cost: Decimal  # the sum of entry price times quantity, in the quote currency
    lots: int
    route: Document  # the newest lot: its currency and entry rate (fx_now)

    @classmethod
    def of(cls, lots: list[Document]) -> Holding:
        """The holding of lots of one symbol and side (at least one), in any order; its
        route is the newest lot's, as the database's sums take it."""
        newest = max(lots, key=lambda t: (t["opened_at"], t["_id"]))
        return cls(lots[0]["symbol"], lots[0]["side"], sum(int(t["quantity"]) for t in lots),
                   sum((from_units(t["entry_price"]) * from_units(t["quantity"])
                        for t in lots), Decimal(0)), len(lots), newest)

    @classmethod
    def summed(cls, symbol: str, rows: list[Document]) -> list[Holding]:
        """Holdings from the database's sums of a symbol's open lots (TradeStore.holdings)."""
        return [cls(symbol, row["side"], row["quantity"], row["cost"], row["lots"],
                    row["route"]) for row in rows]

    def plus(self, lot: Document) -> Holding:
        """This holding and a new lot of its side."""
        return Holding(self.symbol, self.side, self.quantity + int(lot["quantity"]),
                       self.cost + from_units(lot["entry_price"]) * from_units(lot["quantity"]),
                       self.lots + 1, lot)

    def less(self, lot: Document, units: int) -> list[Holding] | None:
        """This holding with units taken out of one of its lots ([]: flat); None if that
        cannot be told without the lots: the lot closes and it may be the newest, whose
        route the holding keeps."""
        quantity = self.quantity - units
        if quantity <= 0:
            return []
        closes = units == int(lot["quantity"])
        if closes and self.route.get("_id", lot["_id"]) == lot["_id"]:
            return None
        return [Holding(self.symbol, self.side, quantity,
                        self.cost - from_units(lot["entry_price"]) * from_units(units),
                        self.lots - closes, self.route)]


def holdings(open_trades: list[Document]) -> list[Holding]:
    """One holding per symbol and side of open trades, by symbol."""
    groups: dict[tuple[str, str], list[Document]] = defaultdict(list)
    for trade in open_trades:
        groups[(trade["symbol"], trade["side"])].append(trade)
    return [Holding.of(trades) for _, trades in sorted(groups.items())]


def position_row(holding: Holding, prices: Prices) -> dict[str, Any]:
    """A position as clients see it, in REST and in position_update: its unrealized PnL
    from the latest price, converted at the latest rate."""
    quantity, price = from_units(holding.quantity), prices.get(holding.symbol)
    fx = fx_now(holding.route, prices)  # every lot of a symbol has its route
    value = None if price is None else price * quantity
    pnl_quote = None if value is None else (
        value - holding.cost if holding.side == Side.BUY else holding.cost - value)
    return {
        "symbol": holding.symbol, "side": holding.side, "quantity": show(quantity),
        "average_entry": show((holding.cost / quantity).quantize(Decimal("1E-8"))),
        "market_price": None if price is None else show(price),
        "market_value": None if value is None else show(fx.to_account(value)),
        "unrealized_pnl": None if pnl_quote is None else show(fx.to_account(pnl_quote)),
        "currency": holding.route.get("currency"),
        "fx_rate": None if fx.route.same or not fx.route.currency else show(fx.rate),
        "market_value_quote": None if value is None else show(value),
        "unrealized_pnl_quote": None if pnl_quote is None else show(pnl_quote),
        "trades": holding.lots,
    }


def positions_view(open_trades: list[Document], prices: Prices) -> list[dict[str, Any]]:
    """One row per symbol and side: the aggregate of its open trades."""
    return [position_row(holding, prices) for holding in holdings(open_trades)]
