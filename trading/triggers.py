"""Price triggers: which resting levels a tick crosses, in O(log n + k).

Per symbol, triggers that fire when the price rises to a level (``ABOVE``) and
those that fire when it falls to one (``BELOW``) are kept in two lists sorted
by level. A tick at price p fires every ABOVE trigger with level <= p (a
prefix of its list) and every BELOW trigger with level >= p (a suffix), so a
tick that crosses nothing costs two bisections however many triggers rest.

Crossing rules: a long's stop-loss and a short's target are BELOW; a long's
target and a short's stop-loss are ABOVE; a limit buy and a stop sell are
BELOW; a limit sell and a stop buy are ABOVE.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from sortedcontainers import SortedKeyList

from trading.orders import OrderType, Side


class AlertStatus(StrEnum):
    ACTIVE = "active"        # watching the price (a repeating alert stays active)
    TRIGGERED = "triggered"  # a one-shot alert that fired (final)
    CANCELLED = "cancelled"  # taken back by its user (final)


class Direction(StrEnum):
    ABOVE = "above"  # fires when the price is at or above the level
    BELOW = "below"  # fires when the price is at or below the level


class Kind(StrEnum):
    STOP_LOSS = "stop_loss"
    TRAILING_STOP = "trailing_stop"
    TARGET = "target"
    LIMIT = "limit"
    STOP = "stop"
    ALERT = "alert"


# When one tick fires several triggers of the same trade, the first listed wins.
PRIORITY = {Kind.STOP_LOSS: 0, Kind.TRAILING_STOP: 1, Kind.TARGET: 2, Kind.LIMIT: 3,
            Kind.STOP: 3, Kind.ALERT: 3}


class Condition(StrEnum):
    ABOVE = "above"
    BELOW = "below"
    CROSSES = "crosses"


def alert_direction(condition: Condition, level: Decimal, price: Decimal | None) -> Direction:
    """Which way an alert waits: 'crosses' waits for the side the price is not on now."""
    if condition == Condition.ABOVE:
        return Direction.ABOVE
    if condition == Condition.BELOW:
        return Direction.BELOW
    return Direction.BELOW if price is not None and price > level else Direction.ABOVE


@dataclass(frozen=True, slots=True)
class Trigger:
    key: str          # unique, e.g. "stop_loss:<trade id>"
    symbol: str
    level: Decimal
    direction: Direction
    kind: Kind
    ref: str          # the trade or order it acts on
    user_id: str

    def crossed_by(self, price: Decimal) -> bool:
        return price >= self.level if self.direction == Direction.ABOVE else price <= self.level


def exit_direction(side: Side, kind: Kind) -> Direction:
    """Which way the price must move to hit a trade's stop-loss, trailing stop or target."""
    long_falls = (kind in (Kind.STOP_LOSS, Kind.TRAILING_STOP)) == (side == Side.BUY)
    return Direction.BELOW if long_falls else Direction.ABOVE


def entry_direction(side: Side, order_type: OrderType) -> Direction:
    """Which way the price must move to fill a resting limit or stop order."""
    buying_cheap = (order_type == OrderType.LIMIT) == (side == Side.BUY)
    return Direction.BELOW if buying_cheap else Direction.ABOVE


def _by_level(trigger: Trigger) -> tuple[Decimal, str]:
    return (trigger.level, trigger.key)


class TriggerIndex:
    def __init__(self) -> None:
        self._lists: dict[tuple[str, Direction], SortedKeyList] = {}
        self._by_key: dict[str, Trigger] = {}
        self._by_ref: dict[str, set[str]] = {}

    def __len__(self) -> int:
        return len(self._by_key)

    def __contains__(self, key: str) -> bool:
        return key in self._by_key

    def add(self, trigger: Trigger) -> None:
        """Add a trigger, replacing one with the same key."""
        self.remove(trigger.key)
        side = (trigger.symbol, trigger.direction)
        if side not in self._lists:
            self._lists[side] = SortedKeyList(key=_by_level)
        self._lists[side].add(trigger)
        self._by_key[trigger.key] = trigger
        self._by_ref.setdefault(trigger.ref, set()).add(trigger.key)

    def remove(self, key: str) -> Trigger | None:
        trigger = self._by_key.pop(key, None)
        if trigger is not None:
            self._lists[(trigger.symbol, trigger.direction)].remove(trigger)
            keys = self._by_ref[trigger.ref]
            keys.discard(key)
            if not keys:
                del self._by_ref[trigger.ref]
        return trigger

    def remove_ref(self, ref: str) -> None:
        """Remove every trigger of one trade or order (both legs of an OCO pair)."""
        for key in list(self._by_ref.get(ref, ())):
            self.remove(key)

    def remove_user(self, user_id: str) -> int:
        """Remove every trigger of one user (their account is gone); return how many."""
        keys = [key for key, trigger in self._by_key.items() if trigger.user_id == user_id]
        for key in keys:
            self.remove(key)
        return len(keys)

    def crossed(self, symbol: str, price: Decimal) -> list[Trigger]:
        """The triggers a tick at price crosses, without removing them."""
        fired: list[Trigger] = []
        above = self._lists.get((symbol, Direction.ABOVE))
        if above:
            # Levels <= price: everything before the first key above (price, any key).
            fired.extend(above.islice(0, above.bisect_key_right((price, "\uffff"))))
        below = self._lists.get((symbol, Direction.BELOW))
        if below:
            fired.extend(below.islice(below.bisect_key_left((price, "")), len(below)))
        return fired

    def take_crossed(self, symbol: str, price: Decimal) -> list[Trigger]:
        """Remove and return what a tick crosses, one trade's stop-loss before its target."""
        fired = self.crossed(symbol, price)
        for trigger in fired:
            self.remove(trigger.key)
        return sorted(fired, key=lambda t: (t.ref, PRIORITY[t.kind]))
