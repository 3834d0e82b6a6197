"""Account activities: fills (from orders and trades' exits) and cash movements (from the
ledger, and the initial cash), merged into one list a page at a time.

Every activity has a time and a place among its source's (an order's id, a trade's
id and exit number, a ledger entry's id); the list is ordered by (time, source,
place), newest first unless asked otherwise, and a page's cursor is its last
activity's position. Each source reads at most a page from its index after that
position; the page is the first ``limit`` of their merge. Anything stored later
sorts after what was read (newest first: before the first page), so following
cursors never skips or repeats an activity.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.views import order_view
from store.activities import ActivityStore
from store.database import Document
from trading.activities import (
    CASH_TYPES,
    LEDGER_REASONS,
    ActivityType,
    Position,
    Source,
    Window,
    activity_type_of,
)
from trading.money import show_units
from trading.orders import Side


@dataclass(frozen=True, slots=True)
class Activity:
    position: Position
    view: dict[str, Any]

    @property
    def order(self) -> tuple[datetime, int, Any]:
        key: Any = self.position.key
        if self.position.source == Source.EXIT_FILL:  # trade id, then the exit's number
            trade_id, _, n = key.rpartition(":")
            key = (trade_id, int(n))
        return self.position.at, self.position.source, key


# Ledger reasons whose reference names a trade or an order.
REFERENCED = ("commission", "realized_pnl")


def _amount(units: int | None) -> str | None:
    return None if units is None else show_units(units)


def _activity(kind: ActivityType, activity_id: str, at: datetime, **fields: Any) -> dict[str, Any]:
    view = {"id": activity_id, "activity_type": kind.value, "transaction_time": at.isoformat(),
            "symbol": None, "side": None, "qty": None, "price": None, "net_amount": None,
            "order_id": None, "trade_id": None, "description": ""}
    view.update(fields)
    return view


def _order_fill(order: Document) -> Activity:
    view = order_view(order)
    return Activity(Position(order["filled_at"], Source.ORDER_FILL, order["_id"]), _activity(
        ActivityType.FILL, f"order:{order['_id']}", order["filled_at"],
        symbol=view["symbol"], side=view["side"], qty=view["filled_quantity"],
        price=view["filled_price"], order_id=view["id"], trade_id=view["trade_id"],
        description=f"{view['type']} order filled"))


def _exit_fill(found: Document) -> Activity:
    exit_, trade_id, n = found["exit"], found["_id"], int(found["n"])
    closing = Side.SELL if found["side"] == Side.BUY else Side.BUY
    return Activity(Position(exit_["at"], Source.EXIT_FILL, f"{trade_id}:{n}"), _activity(
        ActivityType.FILL, f"exit:{trade_id}:{n}", exit_["at"], symbol=found["symbol"],
        side=closing.value, qty=_amount(exit_["quantity"]), price=_amount(exit_["price"]),
        trade_id=trade_id, description=f"trade closed in part or whole ({exit_['reason']})"))


def _by_exit(entry: Document) -> bool:
    """Whether a ledger entry is a trade's exit's (its reference the trade's id; others
    name an order: its fill's fee, or what closing lots made). services/trades.py names
    an exit's entries exit:<trade id>:..."""
    return str(entry["_id"]).startswith("exit:")


def _cash(entry: Document, trades: dict[str, Document],
          orders: dict[str, Document]) -> Activity:
    kind = activity_type_of(entry["reason"])
    fields: dict[str, Any] = {"net_amount": _amount(entry["amount"])}
    if entry["reason"] in REFERENCED:
        if _by_exit(entry) and (trade := trades.get(entry["reference"])) is not None:
            fields.update(symbol=trade["symbol"], trade_id=trade["_id"])
        elif (order := orders.get(entry["reference"])) is not None:
            fields.update(symbol=order["symbol"], order_id=order["_id"],
                          trade_id=order.get("trade_id"))
    descriptions = {ActivityType.FEE: "commission", ActivityType.PNL: "realized P&L",
                    ActivityType.RESET: "account reset: cash back to the initial amount"}
    fields["description"] = descriptions.get(kind, entry["reason"])
    return Activity(Position(entry["at"], Source.LEDGER, entry["_id"]),
                    _activity(kind, f"ledger:{entry['_id']}", entry["at"], **fields))


def _transfer(account: Document) -> Activity:
    return Activity(Position(account["created_at"], Source.TRANSFER, account["_id"]),
                    _activity(ActivityType.TRANSFER, f"transfer:{account['_id']}",
                              account["created_at"], net_amount=_amount(account["initial"]),
                              description="initial cash"))


def _in_window(activity: Activity, window: Window) -> bool:
    at = activity.position.at
    if (window.after is not None and at <= window.after) or (
            window.until is not None and at > window.until):
        return False
    if window.position is None:
        return True
    mark = Activity(window.position, {}).order
    return activity.order < mark if window.descending else activity.order > mark


async def list_activities(store: ActivityStore, account: Document, kinds: frozenset[ActivityType],
                          window: Window, limit: int, now: datetime) -> list[Activity]:
    """Up to limit + 1 of the account's activities of these kinds in the window, in its
    order (one more than a page: whether another page follows)."""
    user_id, wanted = account["_id"], limit + 1
    found: list[Activity] = []
    if ActivityType.FILL in kinds:
        found += [_order_fill(o) for o in await store.order_fills(user_id, window, wanted)]
        found += [_exit_fill(e) for e in await store.exits(
            user_id, window, wanted, account["created_at"], now)]
    if kinds & CASH_TYPES:
        known = {reason: kind in kinds for reason, kind in LEDGER_REASONS.items()}
        if ActivityType.ADJUSTMENT in kinds:  # any reason but the known ones not wanted
            entries = await store.cash(user_id, window, wanted,
                                       excluded=[r for r, wants in known.items() if not wants])
        else:
            entries = await store.cash(user_id, window, wanted,
                                       included=[r for r, wants in known.items() if wants])
        named = [e for e in entries if e["reason"] in REFERENCED]
        trades, orders = await store.symbols_of(
            user_id, sorted({e["reference"] for e in named if _by_exit(e)}),
            sorted({e["reference"] for e in named if not _by_exit(e)}))
        found += [_cash(entry, trades, orders) for entry in entries]
    if ActivityType.TRANSFER in kinds:
        transfer = _transfer(account)
        if _in_window(transfer, window):
            found.append(transfer)
    found.sort(key=lambda activity: activity.order, reverse=window.descending)
    return found[:wanted]
