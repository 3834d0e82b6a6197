"""Net positions: a symbol's open lots all lie on one side; an order of the other side
closes them first in, first out, and only what is left over opens a lot its way.

Lots are stored trades (plain mappings in storage units, trading/money.py); these
functions only compute, the services write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from trading.fx import IDENTITY, Conversion
from trading.money import from_units, round_money, to_units
from trading.orders import Side
from trading.trades import CloseReason, TradeStatus, realized_pnl

Lot = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class LotExit:
    """What taking units out of one lot at a price does (all in storage units; money in
    the account currency, pnl_quote and fee_quote before conversion)."""

    lot_id: str
    held: int       # the lot's quantity before
    units: int      # taken out
    margin: int     # margin released
    pnl: int        # realized
    fee: int        # commission on the exit
    update: dict[str, Any]  # the lot's update ($inc, $push, and $set if it closes)
    pnl_quote: int = 0
    fee_quote: int = 0

    @property
    def closes(self) -> bool:
        return self.units == self.held

    @property
    def cash(self) -> int:
        """What the exit adds to cash: the realized PnL less the fee."""
        return self.pnl - self.fee


def exit_lot(lot: Lot, units: int, price: Decimal, reason: CloseReason, fee_quote: int,
             now: datetime, fx: Conversion = IDENTITY) -> LotExit:
    """Take units (at most the lot's quantity) out of a lot at price, for fee_quote
    (storage units, in the quote currency: the exit's share of its fill's fee,
    AccountRules.fee); its realized PnL and fee converted into the account currency by
    fx (the exit's rate)."""
    held = int(lot["quantity"])
    if not 0 < units <= held:
        raise ValueError(f"cannot take {units} units out of a lot of {held}")
    amount = from_units(units)
    pnl_quote = round_money(realized_pnl(Side(lot["side"]), from_units(lot["entry_price"]),
                                         price, amount))
    pnl = to_units(fx.to_account(pnl_quote))
    fee = to_units(fx.to_account(from_units(fee_quote)))
    margin = int(lot["margin"]) if units == held else int(lot["margin"]) * units // held
    record = {"quantity": units, "price": to_units(price), "pnl": pnl, "reason": reason.value,
              "at": now}
    if conversion := fx.record():
        record |= {"pnl_quote": to_units(pnl_quote), "fx_rate": conversion["fx_rate"]}
    update: dict[str, Any] = {"$inc": {"quantity": -units, "margin": -margin,
                                       "realized_pnl": pnl, "fees": fee},
                              "$push": {"exits": record}}
    if units == held:
        update["$set"] = {"status": TradeStatus.CLOSED, "closed_at": now,
                          "close_price": record["price"], "close_reason": reason.value}
    return LotExit(str(lot["_id"]), held, units, margin, pnl, fee, update,
                   to_units(pnl_quote), fee_quote)


def first_in_first_out(lots: Sequence[Lot], units: int) -> list[tuple[Lot, int]]:
    """The lots an order of units closes, oldest first, and how much of each."""
    taken: list[tuple[Lot, int]] = []
    for lot in sorted(lots, key=lambda lot: (lot["opened_at"], lot["_id"])):
        if units <= 0:
            break
        take = min(units, int(lot["quantity"]))
        taken.append((lot, take))
        units -= take
    return taken


def exits_account_changes(exits: Sequence[LotExit]) -> dict[str, int]:
    """What closing these lots does to the account (an $inc)."""
    cash = sum(e.cash for e in exits)
    margin = sum(e.margin for e in exits)
    return {"cash": cash, "available": cash + margin, "margin_used": -margin,
            "realized_pnl": sum(e.pnl for e in exits), "fees": sum(e.fee for e in exits)}
