"""Trades (lots), their money, and the account rules that price them."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from trading.assets import AssetClass
from trading.fees import FeeSchedule, Liquidity, flat
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
    # Without fees: commission as a fraction of traded value (0.001 for 0.1%) and
    # slippage as a fraction of price, for every asset class, maker or taker.
    commission_rate: Decimal = Decimal(0)
    slippage_rate: Decimal = Decimal(0)
    # Fees and slippage by asset class (trading/fees.py).
    fees: FeeSchedule | None = None

    @property
    def schedule(self) -> FeeSchedule:
        return self.fees if self.fees is not None else flat(self.commission_rate,
                                                            self.slippage_rate)

    def fill_price(self, side: Side, price: Decimal, asset_class: AssetClass,
                   opening: bool = True) -> Decimal:
        """The price a taker fill gets: worse than the quote by the class's slippage."""
        slippage = self.schedule.slippage(asset_class)
        buying = (side == Side.BUY) == opening
        factor = 1 + slippage if buying else 1 - slippage
        return round_money(price * factor)

    def margin(self, side: Side, price: Decimal, quantity: Decimal) -> Decimal:
        rate = self.long_margin_rate if side == Side.BUY else self.short_margin_rate
        return round_money(price * quantity * rate)

    def fee(self, asset_class: AssetClass, side: Side, price: Decimal, quantity: Decimal,
            liquidity: Liquidity) -> Decimal:
        """What a fill (side: the fill's own) of quantity at price costs."""
        return self.schedule.fee(asset_class, side, price, quantity, liquidity)
