"""Tells users of closes and fills on the channels they chose, whoever made them."""

from __future__ import annotations

from typing import Any

from notifier.outbox import OutboxWorker
from notifier.preferences import preferences
from store.users import UserStore
from trading.events import OrderFilled, TradeClosed


class Notices:
    """Bus subscriber: a closed trade or a filled resting order becomes a notification
    (one per event and channel: the outbox's key makes a second request a no-op)."""

    def __init__(self, users: UserStore, outbox: OutboxWorker, currency: str) -> None:
        self.users, self.outbox, self.currency = users, outbox, currency

    async def trade_closed(self, closed: TradeClosed) -> None:
        await self._tell(closed.user_id, "trade_closed", f"closed:{closed.trade['id']}",
                         {**closed.trade, "reason": closed.reason})

    async def order_filled(self, filled: OrderFilled) -> None:
        order = filled.order  # the quantity it filled (a capped exit leg's is less)
        await self._tell(filled.user_id, "order_filled", f"filled:{order['id']}",
                         {**order, "quantity": order.get("filled_quantity") or order["quantity"]})

    async def _tell(self, user_id: str, kind: str, key: str, data: dict[str, Any]) -> None:
        user = await self.users.by_id(user_id)
        if user is None:
            return
        await self.outbox.request(user_id, kind, key, preferences(user)[kind],
                                  {**data, "currency": self.currency})
