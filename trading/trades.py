"""Trades (lots), their money, and the account rules that price them."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from trading.money import round_money
from trading.orders import Side


class TradeStatus(StrEnum):
    OPEN = "open"      # holds a quantity; exits reduce it
    CLOSED = "closed"  # its last exit took the rest (final)


class CloseReason(StrEnum):
    MANUAL = "manual"
    STOP_LOSS = "stop_loss"
    TARGET = "target"
    TRAILING_STOP = "trailing_stop"
    EXIT_ALL = "exit_all"
    RESET = "reset"
    ORDER = "order"  # an order of the other side closed it (a net position shrank)


def trailing_level(side: Side, best: Decimal, amount: Decimal | None,
                   percent: Decimal | None) -> Decimal:
    """A trailing stop's level: the distance behind the best price since entry."""
    distance = amount if amount is not None else round_money(best * (percent or 0) / 100)
    return best - distance if side == Side.BUY else best + distance


def improves(side: Side, price: Decimal, best: Decimal) -> bool:
    """Whether a price is better for the trade than its best so far."""
    return price > best if side == Side.BUY else price < best


def direction(side: Side) -> int:
    """+1 for a long (bought) trade, -1 for a short (sold) one."""
    return 1 if side == Side.BUY else -1


def realized_pnl(side: Side, entry: Decimal, exit_price: Decimal, quantity: Decimal) -> Decimal:
    return (exit_price - entry) * quantity * direction(side)


@dataclass(frozen=True, slots=True)
class AccountRules:
    """How fills are priced and what they cost (configuration, no state)."""

    # Fraction of a trade's value held as margin: 1 means fully funded, 0.2 means 5x.
    long_margin_rate: Decimal = Decimal(1)
    short_margin_rate: Decimal = Decimal(1)
    allow_shorts: bool = True
    # Commission as a fraction of traded value, e.g. 0.001 for 0.1%.
    commission_rate: Decimal = Decimal(0)
    # Slippage as a fraction of price, against the trader.
    slippage_rate: Decimal = Decimal(0)

    def fill_price(self, side: Side, price: Decimal, opening: bool = True) -> Decimal:
        """The price a market fill gets: worse than the quote by the slippage."""
        buying = (side == Side.BUY) == opening
        factor = 1 + self.slippage_rate if buying else 1 - self.slippage_rate
        return round_money(price * factor)

    def margin(self, side: Side, price: Decimal, quantity: Decimal) -> Decimal:
        rate = self.long_margin_rate if side == Side.BUY else self.short_margin_rate
        return round_money(price * quantity * rate)

    def commission(self, price: Decimal, quantity: Decimal) -> Decimal:
        return round_money(price * quantity * self.commission_rate)
