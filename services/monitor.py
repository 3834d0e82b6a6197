"""The price monitor: stop-losses, targets and resting orders act on every tick.

Trailing stops (of trades, and trailing_stop orders) follow each better price in
memory and are saved at most once a second, and when the monitor stops.

Every trigger lives in a TriggerIndex, rebuilt from the database at start-up
and kept in step with every change the engine reports. Each fresh tick takes
the triggers it crosses and fires them in tasks of their own, so a slow write
never holds up the next tick or another symbol. Fires go through the engine's
conditional updates, so a fire racing a manual exit, or another fire, acts
once. A tick for a stale symbol (an old price arriving late) fires nothing;
the first fresh tick that crosses a level does. A repeating alert that fired
rests (its cooldown, never less than the alerts' minimum) and is watched again
from the first tick of its symbol after that, by the app's clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from decimal import Decimal

from feeds.hub import PriceHub
from services.alerts import AlertService
from services.engine import TradingEngine
from store.database import Document
from trading.assets import rules_for
from trading.errors import FxUnavailable, NotFound, OrderNotOpen, TradeNotOpen
from trading.events import Changed
from trading.market import Quote
from trading.money import from_units, to_units
from trading.orders import OrderStatus, OrderType, Side, trail_improves, trail_stop
from trading.trades import CloseReason, TradeStatus, improves, trailing_level
from trading.triggers import (
    AlertStatus,
    Direction,
    Kind,
    Trigger,
    TriggerIndex,
    entry_direction,
    exit_direction,
)

log = logging.getLogger(__name__)

STOP_WAIT = 10.0
TRAIL_SAVE_EVERY = 1.0
# Day orders are looked for every 30 housekeeping ticks (30 s): the search scans
# the open orders, and expiring up to half a minute late is harmless.
EXPIRE_EVERY_TICKS = 30


def trailing_stop(trade: Document, best: Decimal | None = None) -> Decimal | None:
    """The current level of a trade's trailing stop (None without one)."""
    amount, percent = trade.get("trailing_amount"), trade.get("trailing_percent")
    if amount is None and percent is None:
        return None
    best = best if best is not None else from_units(trade["trail_best"])
    return trailing_level(Side(trade["side"]), best,
                          None if amount is None else from_units(amount),
                          None if percent is None else Decimal(percent))


def trade_triggers(trade: Document, best: Decimal | None = None) -> list[Trigger]:
    """The stop-loss, trailing stop and target of an open trade (any of them, or none)."""
    if trade["status"] != TradeStatus.OPEN:
        return []
    side = Side(trade["side"])
    legs = ((Kind.STOP_LOSS, trade.get("stop_loss")), (Kind.TARGET, trade.get("target_price")))
    triggers = [Trigger(f"{kind}:{trade['_id']}", trade["symbol"], from_units(level),
                        exit_direction(side, kind), kind, f"trade:{trade['_id']}",
                        trade["user_id"])
                for kind, level in legs if level is not None]
    trailing = trailing_stop(trade, best)
    if trailing is not None:
        triggers.append(Trigger(f"{Kind.TRAILING_STOP}:{trade['_id']}", trade["symbol"],
                                trailing, exit_direction(side, Kind.TRAILING_STOP),
                                Kind.TRAILING_STOP, f"trade:{trade['_id']}",
                                trade["user_id"]))
    return triggers


def rearm_at(alert: Document, min_cooldown: timedelta) -> datetime | None:
    """When an alert resting after a fire may fire again (None: no rest).

    A repeating alert rests until its stored armed_at, and never less than
    min_cooldown after its last fire, whatever cooldown it was stored with.
    """
    times = [] if alert["armed_at"] is None else [alert["armed_at"]]
    if alert["repeat"] and alert["triggered_at"] is not None:
        times.append(alert["triggered_at"] + min_cooldown)
    return max(times, default=None)


def alert_triggers(alert: Document, now: datetime,
                   min_cooldown: timedelta = timedelta(0)) -> list[Trigger]:
    """An active alert's level, unless it is resting after a fire (rearm_at)."""
    if alert["status"] != AlertStatus.ACTIVE or ((at := rearm_at(alert, min_cooldown)) is not None
                                       and at > now):
        return []
    return [Trigger(f"alert:{alert['_id']}", alert["symbol"], from_units(alert["price"]),
                    Direction(alert["direction"]), Kind.ALERT, f"alert:{alert['_id']}",
                    alert["user_id"])]


def order_triggers(order: Document, stop: Decimal | None = None) -> list[Trigger]:
    """The entry level of a resting limit or stop order; any price for a market order
    waiting for its market's open (opg: its symbol has no ticks while it is closed). A
    trailing_stop order's is its stop (stop: where it has moved since it was saved)."""
    if order["status"] != OrderStatus.OPEN:
        return []
    order_type = OrderType(order["type"])
    if order_type == OrderType.TRAILING_STOP:
        level = stop if stop is not None else from_units(order["stop_price"])
        return [Trigger(f"order:{order['_id']}", order["symbol"], level,
                        entry_direction(Side(order["side"]), OrderType.STOP), Kind.STOP,
                        f"order:{order['_id']}", order["user_id"])]
    if order_type == OrderType.MARKET:
        return [Trigger(f"order:{order['_id']}", order["symbol"], Decimal(0), Direction.ABOVE,
                        Kind.STOP, f"order:{order['_id']}", order["user_id"])]
    if order_type == OrderType.STOP_LIMIT:  # its stop first, then its limit
        order_type = (OrderType.STOP if order.get("stop_triggered_at") is None
                      else OrderType.LIMIT)
    level = order["limit_price"] if order_type == OrderType.LIMIT else order["stop_price"]
    kind = Kind.LIMIT if order_type == OrderType.LIMIT else Kind.STOP
    return [Trigger(f"order:{order['_id']}", order["symbol"], from_units(level),
                    entry_direction(Side(order["side"]), order_type), kind,
                    f"order:{order['_id']}", order["user_id"])]


class Monitor:
    def __init__(self, engine: TradingEngine, hub: PriceHub, alerts: AlertService) -> None:
        self.engine = engine
        self.hub = hub
        self.alerts = alerts
        self.index = TriggerIndex()
        self.tasks: set[asyncio.Task[None]] = set()
        # Alerts resting after a fire, by id, and per symbol (when each may fire
        # again, id) in time order; entries of alerts changed since are skipped.
        self._resting_alerts: dict[str, Document] = {}
        self._rearms: dict[str, list[tuple[datetime, str]]] = {}
        # Trades with trailing stops and trailing_stop orders, by symbol and then by
        # ref ("trade:<id>", "order:<id>"): the document and its best price so far.
        self.trailing: dict[str, dict[str, tuple[Document, Decimal]]] = {}
        self._unsaved_bests: dict[str, tuple[Decimal, Decimal | None]] = {}  # best, stop
        self._saver: asyncio.Task[None] | None = None
        self.fired = 0
        # With several processes: whether this one may still fire (its fencing
        # token is current in the database).
        self.may_fire: Callable[[], Awaitable[bool]] | None = None

    async def start(self) -> None:
        """Watch every trigger in the database, and every change from now on."""
        self.engine.bus.subscribe(Changed, self.on_changed)
        await self.rebuild()
        self.hub.listeners.append(self.on_quote)
        # Prices that arrived while the index was loading: what they cross fires now.
        for quote in list(self.hub.last.values()):
            self.on_quote(quote)
        self._saver = asyncio.create_task(self._save_bests(), name="monitor:housekeeping")

    async def stop(self) -> None:
        self.hub.listeners.remove(self.on_quote)
        self.engine.bus.unsubscribe(Changed, self.on_changed)
        if self._saver is not None:
            self._saver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._saver
        await self._flush_bests()
        if self.tasks:  # let fires under way finish their writes
            await asyncio.wait(self.tasks, timeout=STOP_WAIT)

    def forget_user(self, user_id: str) -> None:
        """Drop a deleted account's triggers and trailing stops."""
        self.index.remove_user(user_id)
        for followed in self.trailing.values():
            for ref in [r for r, (document, _) in followed.items()
                        if document["user_id"] == user_id]:
                followed.pop(ref)
                self._unsaved_bests.pop(ref, None)
        for alert_id in [a for a, alert in self._resting_alerts.items()
                         if alert["user_id"] == user_id]:
            del self._resting_alerts[alert_id]

    async def rebuild(self) -> None:
        """Load every open trade's exits and every resting order from the database."""
        self.index = TriggerIndex()
        self.trailing.clear()
        self._resting_alerts.clear()
        self._rearms.clear()
        db = self.engine.store.db
        async for trade in db["trades"].find({"status": TradeStatus.OPEN}):
            self.on_change("trade", trade)
        async for order in db["orders"].find({"status": OrderStatus.OPEN}):
            self.on_change("order", order)
        for alert in await self.engine.store.alerts.active():
            self.on_change("alert", alert)
        log.info("monitor watching %d triggers", len(self.index))

    async def reload(self, kind: str, ref: str, user_id: str) -> None:
        """Take a trade, order or alert that another process changed from the database."""
        store = self.engine.store
        lookup = {"trade": store.trades.get, "order": store.orders.get,
                  "alert": store.alerts.get}[kind]
        document = await lookup(user_id, ref)
        if document is None:
            self.index.remove_ref(f"{kind}:{ref}")
        else:
            self.on_change(kind, document)

    def on_changed(self, message: Changed) -> None:
        self.on_change(message.kind, dict(message.document))

    def on_change(self, kind: str, document: Document) -> None:
        """Engine watcher: replace the triggers of a trade or order with its current ones."""
        ref = f"{kind}:{document['_id']}"
        self.index.remove_ref(ref)
        if kind == "alert":
            now, rest = self.engine.now(), self.alerts.min_cooldown
            triggers = alert_triggers(document, now, rest)
            self._resting_alerts.pop(document["_id"], None)
            at = rearm_at(document, rest)
            if document["status"] == AlertStatus.ACTIVE and at is not None and at > now:
                self._resting_alerts[document["_id"]] = document
                heapq.heappush(self._rearms.setdefault(document["symbol"], []),
                               (at, document["_id"]))
        elif kind == "trade":
            triggers = trade_triggers(document, self._follow(kind, document))
        else:
            best = self._follow(kind, document)
            triggers = order_triggers(document, None if best is None
                                      else self._order_stop(document, best))
        for trigger in triggers:
            self.index.add(trigger)

    def _follow(self, kind: str, document: Document) -> Decimal | None:
        """Track the best price of a trade with a trailing stop or of a trailing_stop
        order; return it (None: it does not trail)."""
        ref = f"{kind}:{document['_id']}"
        followed = self.trailing.setdefault(document["symbol"], {})
        if kind == "trade":
            trails = document["status"] == TradeStatus.OPEN and trailing_stop(document) is not None
            fields, stored = ("trailing_amount", "trailing_percent"), "trail_best"
        else:
            trails = (document["status"] == OrderStatus.OPEN
                      and document["type"] == OrderType.TRAILING_STOP)
            fields, stored = ("trail_price", "trail_percent"), "hwm"
        if not trails:
            followed.pop(ref, None)
            self._unsaved_bests.pop(ref, None)
            return None
        best = from_units(document[stored])
        known = followed.get(ref)
        same_trail = known is not None and all(
            known[0].get(k) == document.get(k) for k in fields)
        if known is not None and same_trail and self._improves(ref, document, known[1], best):
            best = known[1]  # the stored best lags the live one by up to a second
        followed[ref] = (document, best)
        return best

    @staticmethod
    def _improves(ref: str, document: Document, price: Decimal, best: Decimal) -> bool:
        """Whether price moves the trailing stop of a trade (a long's up) or of a
        trailing_stop order (a sell's up)."""
        side = Side(document["side"])
        if ref.startswith("trade:"):
            return improves(side, price, best)
        return trail_improves(side, price, best)

    def _order_stop(self, order: Document, hwm: Decimal) -> Decimal:
        """A trailing_stop order's stop behind hwm, on its instrument's tick."""
        instrument = self.engine.hub.universe.instruments.get(order["symbol"])
        rules = (instrument.rules if instrument is not None  # no longer configured
                 else rules_for(order["symbol"], ""))
        amount, percent = order.get("trail_price"), order.get("trail_percent")
        return trail_stop(Side(order["side"]), hwm,
                          None if amount is None else from_units(amount),
                          None if percent is None else Decimal(percent), rules.tick(hwm))

    def _trail(self, symbol: str, price: Decimal) -> None:
        """Move trailing stops behind a price that improves on their best."""
        for ref, (document, best) in list(self.trailing.get(symbol, {}).items()):
            if not self._improves(ref, document, price, best):
                continue
            self.trailing[symbol][ref] = (document, price)
            if ref.startswith("trade:"):
                self._unsaved_bests[ref] = (price, None)
                for trigger in trade_triggers(document, price):
                    if trigger.kind == Kind.TRAILING_STOP:
                        self.index.add(trigger)
                continue
            stop = self._order_stop(document, price)
            self._unsaved_bests[ref] = (price, stop)
            for trigger in order_triggers(document, stop):
                self.index.add(trigger)

    async def _save_bests(self) -> None:
        """Persist moved trailing stops each second; expire ended day orders every 30 s."""
        ticks = 0
        while True:
            await asyncio.sleep(TRAIL_SAVE_EVERY)
            await self._flush_bests()
            ticks += 1
            if ticks % EXPIRE_EVERY_TICKS == 0:
                try:
                    await self.engine.resting.expire_day_orders()
                except Exception:
                    log.exception("could not expire day orders")

    async def _flush_bests(self) -> None:
        pending, self._unsaved_bests = self._unsaved_bests, {}
        store = self.engine.store
        for ref, (best, stop) in pending.items():
            kind, doc_id = ref.split(":", 1)
            try:
                if stop is None:
                    await store.trades.save_trail_best(doc_id, to_units(best))
                else:
                    await store.orders.save_hwm(doc_id, to_units(best), to_units(stop))
            except Exception:
                log.exception("could not save the trailing best of %s %s", kind, doc_id)

    def _rearm_due(self, symbol: str) -> None:
        """Watch again the alerts of symbol whose rest after a fire is over."""
        queue = self._rearms.get(symbol)
        if not queue:
            return
        now, rest = self.engine.now(), self.alerts.min_cooldown
        while queue and queue[0][0] <= now:
            _, alert_id = heapq.heappop(queue)
            alert = self._resting_alerts.get(alert_id)
            if alert is None or ((at := rearm_at(alert, rest)) is not None and at > now):
                continue  # changed since: its newer entry is still queued, or it is gone
            del self._resting_alerts[alert_id]
            for trigger in alert_triggers(alert, now, rest):
                self.index.add(trigger)

    def on_quote(self, quote: Quote) -> None:
        """Hub listener: fire what a fresh tick crosses; one fire per trade or order."""
        if self.hub.is_stale(quote.symbol):
            return
        seen: set[str] = set()
        self._rearm_due(quote.symbol)
        fired = self.index.take_crossed(quote.symbol, quote.price)
        self._trail(quote.symbol, quote.price)  # after: a new best cannot cross its own stop
        for trigger in fired:
            if trigger.ref in seen:
                continue  # the other leg of a trade whose stop-loss fires on this tick
            seen.add(trigger.ref)
            task = asyncio.create_task(self.fire(trigger, quote.price))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def fire(self, trigger: Trigger, price: Decimal) -> None:
        kind, ref = trigger.ref.split(":", 1)
        try:
            if self.may_fire is not None and not await self.may_fire():
                log.warning("not firing %s: this process no longer leads", trigger.key)
                return
            if kind == "trade":
                await self.engine.trades.exit(trigger.user_id, ref,
                                              reason=CloseReason(trigger.kind), price=price)
            elif kind == "alert":
                await self.alerts.fire(trigger.user_id, ref, price)
            else:
                if trigger.level == 0 and not self._open(trigger.symbol):
                    self.index.add(trigger)  # opg: a tick before the open; wait for another
                    return
                order = await self.engine.store.orders.get(trigger.user_id, ref)
                if order is not None:
                    await self.engine.resting.fill(order, price)
            self.fired += 1
        except (TradeNotOpen, OrderNotOpen, NotFound):
            pass  # closed, filled or cancelled by someone else first
        except FxUnavailable as error:  # no fresh rate into the account currency yet
            log.info("not firing %s: %s", trigger.key, error.message)
            await self._resync(kind, trigger)
        except Exception:
            log.exception("firing %s failed; it will fire again on the next crossing",
                          trigger.key)
            await self._resync(kind, trigger)

    def _open(self, symbol: str) -> bool:
        hours = self.hub.hours
        return hours is None or hours.is_open(symbol, self.engine.now())

    async def _resync(self, kind: str, trigger: Trigger) -> None:
        await self.reload(kind, trigger.ref.split(":", 1)[1], trigger.user_id)
