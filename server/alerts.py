"""Price alerts: created by users, fired by the monitor once per crossing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from feeds.hub import PriceHub
from notifier.outbox import OutboxWorker
from server.auth import new_id
from server.engine import TradingEngine
from server.events import EventPublisher
from store.database import Document, stored_time
from store.store import Store
from trading.errors import Conflict, NotFound
from trading.money import from_units, show, to_units
from trading.orders import check_price
from trading.triggers import Condition, Direction, alert_direction


def alert_view(alert: Document) -> dict[str, Any]:
    triggered = alert.get("triggered_price")
    return {
        "id": alert["_id"], "symbol": alert["symbol"], "condition": alert["condition"],
        "price": show(from_units(alert["price"])), "note": alert["note"],
        "channels": alert["channels"], "repeat": alert["repeat"], "cooldown": alert["cooldown"],
        "status": alert["status"], "fired": alert["fired"],
        "triggered_at": None if alert["triggered_at"] is None
        else alert["triggered_at"].isoformat(),
        "triggered_price": None if triggered is None else show(from_units(triggered)),
        "created_at": alert["created_at"].isoformat(),
    }


class AlertService:
    def __init__(self, store: Store, hub: PriceHub, engine: TradingEngine,
                 events: EventPublisher, outbox: OutboxWorker,
                 clock: Callable[[], datetime]) -> None:
        self.store = store
        self.outbox = outbox
        self.hub = hub
        self.engine = engine
        self.events = events
        self.clock = clock
        # Called with ("alert", document) after every change (the monitor listens).
        self.watchers: list[Callable[[str, Document], None]] = []

    def now(self) -> datetime:
        return stored_time(self.clock())

    def _changed(self, alert: Document) -> Document:
        for watcher in self.watchers:
            watcher("alert", alert)
        return alert

    def _direction(self, symbol: str, condition: Condition, price: Decimal) -> str:
        quote = self.hub.last.get(symbol)
        return alert_direction(condition, price, None if quote is None else quote.price).value

    async def create(self, user_id: str, symbol: str, condition: Condition, price: Decimal,
                     note: str | None, channels: list[str], repeat: bool,
                     cooldown: int) -> Document:
        check_price(price, "price")
        now = self.now()
        alert = {"_id": new_id(), "user_id": user_id, "symbol": symbol,
                 "condition": condition.value, "price": to_units(price),
                 "direction": self._direction(symbol, condition, price), "note": note,
                 "channels": channels, "repeat": repeat, "cooldown": cooldown,
                 "status": "active", "fired": 0, "armed_at": None, "triggered_at": None,
                 "triggered_price": None, "created_at": now, "updated_at": now}
        await self.store.alerts.insert(alert)
        return self._changed(alert)

    async def get(self, user_id: str, alert_id: str) -> Document:
        alert = await self.store.alerts.get(user_id, alert_id)
        if alert is None:
            raise NotFound("No such alert.")
        return alert

    async def update(self, user_id: str, alert_id: str, changes: dict[str, Any]) -> Document:
        """Change an active alert (price, condition, note, channels, repeat, cooldown)."""
        alert = await self.get(user_id, alert_id)
        if "price" in changes:
            check_price(changes["price"], "price")
        price = changes.get("price", from_units(alert["price"]))
        condition = Condition(str(changes.get("condition", alert["condition"])))
        stored = {**changes, "price": to_units(price), "condition": condition.value,
                  "direction": self._direction(alert["symbol"], condition, price),
                  "updated_at": self.now()}
        updated = await self.store.alerts.update(user_id, alert_id, {"status": "active"}, stored)
        if updated is None:
            raise Conflict("Only an active alert can be changed.",
                           details={"status": alert["status"]})
        return self._changed(updated)

    async def cancel(self, user_id: str, alert_id: str) -> Document:
        alert = await self.get(user_id, alert_id)
        cancelled = await self.store.alerts.update(user_id, alert_id, {"status": "active"},
                                                   {"status": "cancelled",
                                                    "updated_at": self.now()})
        return self._changed(cancelled) if cancelled is not None else alert

    async def fire(self, user_id: str, alert_id: str, price: Decimal) -> Document | None:
        """Record a firing once, tell the user's sockets, and ask the notifier to deliver."""
        alert = await self.store.alerts.get(user_id, alert_id)
        if alert is None or alert["status"] != "active":
            return None
        now = self.now()
        changes: dict[str, Any] = {"triggered_at": now, "triggered_price": to_units(price)}
        if alert["repeat"]:
            changes["armed_at"] = now + timedelta(seconds=alert["cooldown"])
            if alert["condition"] == Condition.CROSSES:  # next time, the way back
                changes["direction"] = (Direction.ABOVE if alert["direction"] == Direction.BELOW
                                        else Direction.BELOW).value
        else:
            changes["status"] = "triggered"
        fired = await self.store.alerts.fire(alert, changes)
        if fired is None:
            return None  # fired by someone else first
        self._changed(fired)
        view = alert_view(fired)
        await self.outbox.request(user_id, "alert_triggered", f"alert:{alert_id}:{fired['fired']}",
                                  fired["channels"], {
                                      "symbol": view["symbol"], "condition": view["condition"],
                                      "level": view["price"], "price": show(price),
                                      "note": view["note"]})
        await self.engine.ensure_account(user_id)
        await self.events.publish(user_id, ("alert_triggered", {"alert": view,
                                                                "price": show(price)}))
        return fired
