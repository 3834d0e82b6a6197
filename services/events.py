"""User events: stored with a per-user sequence number, then published to the user."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from services.bus import MessageBus
from store.events import EventStore
from store.trading import AccountStore
from trading.errors import AccountGone
from trading.events import UserEvent, UserEventsStored

Event = UserEvent


class EventPublisher:
    def __init__(self, store: EventStore, accounts: AccountStore, bus: MessageBus,
                 clock: Callable[[], datetime]) -> None:
        self.store = store
        self.accounts = accounts
        self.bus = bus
        self.clock = clock

    async def publish(self, user_id: str, *events: Event) -> None:
        """Number, store and publish events, in order (outside any unit of work)."""
        account = await self.accounts.number_events(user_id, len(events))
        if account is None:
            raise AccountGone()
        last = account["event_seq"]
        await self.store.append_group([(user_id, list(events), last - len(events) + 1)],
                                      self.clock())
        await self.stored(user_id, last, list(events))

    async def stored(self, user_id: str, last_seq: int, events: list[Event]) -> None:
        """Tell the subscribers of events a unit of work stored, numbered up to last_seq."""
        await self.bus.publish(UserEventsStored(user_id, last_seq, events))
