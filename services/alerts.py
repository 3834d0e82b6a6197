"""Price alerts: created by users, fired by the monitor once per crossing.

A repeating alert rests at least ``min_cooldown`` between two fires, whatever
cooldown it was stored with (alerts stored before the minimum existed may say
0), and a user keeps at most so many alerts active at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from config.settings import LimitSettings
from feeds.hub import PriceHub
from notifier.outbox import OutboxWorker
from services.auth import new_id
from services.engine import TradingEngine
from services.events import Event, EventPublisher
from store.database import Document, stored_time
from store.events import run_document
from store.store import Store
from store.unit_of_work import Writes
from trading.errors import AccountGone, Conflict, InvalidInput, LimitExceeded, NotFound
from trading.events import Changed
from trading.intel import HIGHEST_LEVEL, INDEX_SYMBOLS
from trading.money import from_units, show, to_units
from trading.orders import check_price
from trading.triggers import AlertStatus, Condition, Direction, alert_direction

# The longest cooldown an alert may ask for (a day), unless the minimum is longer.
MAX_COOLDOWN = 86_400
DEFAULT_MIN_COOLDOWN = LimitSettings().alert_min_cooldown


def cooldown_range(minimum: timedelta) -> tuple[int, int]:
    """The cooldowns (whole seconds) a repeating alert may have."""
    low = math.ceil(minimum.total_seconds())
    return low, max(MAX_COOLDOWN, low)


def check_cooldown(repeat: bool, cooldown: int, minimum: timedelta) -> None:
    """Refuse a repeating alert whose cooldown is outside cooldown_range."""
    low, high = cooldown_range(minimum)
    if repeat and not low <= cooldown <= high:
        raise InvalidInput(f"'cooldown' of a repeating alert must be {low} to {high} seconds.",
                           field="cooldown", details={"min": low, "max": high})


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
                 clock: Callable[[], datetime], *,
                 min_cooldown: timedelta = DEFAULT_MIN_COOLDOWN) -> None:
        self.store = store
        # The shortest rest between two fires of a repeating alert (ALERT_MIN_COOLDOWN).
        self.min_cooldown = min_cooldown
        self.outbox = outbox
        self.hub = hub
        self.engine = engine
        self.events = events
        self.clock = clock
        # The level of a symbol that is no market's: a Fear & Greed index (services/intel.py).
        self.level_of: Callable[[str], Decimal | None] = lambda symbol: None

    def now(self) -> datetime:
        return stored_time(self.clock())

    async def _changed(self, alert: Document) -> Document:
        """Tell the subscribers (the price monitor, the cluster) the alert's new state."""
        await self.events.bus.publish(Changed("alert", alert))
        return alert

    def _direction(self, symbol: str, condition: Condition, price: Decimal) -> str:
        quote = self.hub.last.get(symbol)
        now = self.level_of(symbol) if quote is None else quote.price
        return alert_direction(condition, price, now).value

    @staticmethod
    def check_level(symbol: str, price: Decimal) -> None:
        """An index alert's level is on the index's scale, 0 to 100."""
        if symbol in INDEX_SYMBOLS and price > HIGHEST_LEVEL:
            raise InvalidInput(f"An alert on {symbol} has a 'price' (level) of at most 100.",
                               field="price")

    def rest_after_fire(self, alert: Document) -> timedelta:
        """How long a repeating alert rests after a fire: its cooldown, at least the
        minimum."""
        return max(timedelta(seconds=alert["cooldown"]), self.min_cooldown)

    async def create(self, user_id: str, symbol: str, condition: Condition, price: Decimal,
                     note: str | None, channels: list[str], repeat: bool,
                     cooldown: int, *, max_active: int = 0) -> Document:
        """Store a new active alert.

        max_active (0: no cap) is the most active alerts the user may have. The
        alert is stored first and the user's active alerts counted after, and it
        is taken back if they are over the cap: of creations racing for the last
        place, none is kept unless it counted itself within the cap, so the cap
        is never passed (both may be refused; a retry then gets the place).
        """
        check_price(price, "price")
        self.check_level(symbol, price)
        check_cooldown(repeat, cooldown, self.min_cooldown)
        now, alert_id = self.now(), new_id()
        alert = {"_id": alert_id, "user_id": user_id, "symbol": symbol,
                 "condition": condition.value, "price": to_units(price),
                 "direction": self._direction(symbol, condition, price), "note": note,
                 "channels": channels, "repeat": repeat, "cooldown": cooldown,
                 "status": AlertStatus.ACTIVE, "fired": 0, "armed_at": None, "triggered_at": None,
                 "triggered_price": None, "created_at": now, "updated_at": now}
        await self.store.alerts.insert(alert)
        if max_active > 0 and await self.store.alerts.count_active(user_id) > max_active:
            await self.store.alerts.remove(alert_id)
            raise LimitExceeded(f"At most {max_active} active alerts; cancel one first.",
                                limit=max_active)
        return await self._changed(alert)

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
            self.check_level(alert["symbol"], changes["price"])
        if "repeat" in changes or "cooldown" in changes:  # (fires rest the minimum anyway)
            merged = {**alert, **changes}
            check_cooldown(merged["repeat"], merged["cooldown"], self.min_cooldown)
        price = changes.get("price", from_units(alert["price"]))
        condition = Condition(str(changes.get("condition", alert["condition"])))
        stored = {**changes, "price": to_units(price), "condition": condition.value,
                  "direction": self._direction(alert["symbol"], condition, price),
                  "updated_at": self.now()}
        updated = await self.store.alerts.update(user_id, alert_id,
                                                 {"status": AlertStatus.ACTIVE}, stored)
        if updated is None:
            raise Conflict("Only an active alert can be changed.",
                           details={"status": alert["status"]})
        return await self._changed(updated)

    async def cancel(self, user_id: str, alert_id: str) -> Document:
        alert = await self.get(user_id, alert_id)
        cancelled = await self.store.alerts.update(
            user_id, alert_id, {"status": AlertStatus.ACTIVE},
            {"status": AlertStatus.CANCELLED, "updated_at": self.now()})
        return await self._changed(cancelled) if cancelled is not None else alert

    async def fire(self, user_id: str, alert_id: str, price: Decimal) -> Document | None:
        """Fire an alert once per crossing, as one unit of work: the alert's firing, the
        user's event and the notifier's outbox rows are committed together."""
        alert = await self.store.alerts.get(user_id, alert_id)
        if alert is None or alert["status"] != AlertStatus.ACTIVE:
            return None
        await self.engine.ensure_account(user_id)
        now = self.now()
        changes: dict[str, Any] = {"triggered_at": now, "triggered_price": to_units(price)}
        if alert["repeat"]:
            changes["armed_at"] = now + self.rest_after_fire(alert)
            if alert["condition"] == Condition.CROSSES:  # next time, the way back
                changes["direction"] = (Direction.ABOVE if alert["direction"] == Direction.BELOW
                                        else Direction.BELOW).value
        else:
            changes["status"] = AlertStatus.TRIGGERED
        view = alert_view({**alert, **changes})
        rows = await self.outbox.rows(
            user_id, "alert_triggered", f"alert:{alert_id}:{alert['fired'] + 1}",
            alert["channels"], {"symbol": view["symbol"], "condition": view["condition"],
                                "level": view["price"], "price": show(price),
                                "note": view["note"]})
        done = await self.store.unit_of_work.run(
            lambda writes: self._fire(writes, alert, changes, rows, price, now))
        if done is None:
            return None  # fired by someone else first
        fired, last_seq, events = done
        self.outbox.added()
        await self._changed(fired)
        await self.events.stored(user_id, last_seq, events)
        return fired

    @staticmethod
    async def _fire(writes: Writes, alert: Document, changes: Document, rows: list[Document],
                    price: Decimal, now: datetime
                    ) -> tuple[Document, int, list[Event]] | None:
        user_id = alert["user_id"]
        fired = await writes.update("alerts", alert["_id"],
                                    {"status": AlertStatus.ACTIVE, "fired": alert["fired"]},
                                    {"$set": changes, "$inc": {"fired": 1}})
        if fired is None:
            return None
        account = await writes.update("accounts", user_id, {}, {"$inc": {"event_seq": 1}})
        if account is None:
            raise AccountGone()
        events: list[Event] = [("alert_triggered", {"alert": alert_view(fired),
                                                    "price": show(price)})]
        writes.insert("events", run_document(user_id, events, account["event_seq"], now))
        for row in rows:
            writes.insert("outbox", row)
        return fired, account["event_seq"], events
