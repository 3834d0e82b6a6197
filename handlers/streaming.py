"""Live prices to Socket.IO clients: subscriptions and coalescing.

Clients with the same set of subscribed symbols share a room, so each window's
update for that set is encoded once and written to all of them. Within a
window only the latest quote of a symbol is kept, so a client never queues
more than one update per symbol per window. One changed symbol goes out as
`live_price`; several as one `prices` list. Fan-out is local to this process
(not through Redis): with several processes each one serves its own clients.
A client that cannot keep up is dropped where it is written to, as on every
other path out (handlers/frames.py: Backlog).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from itertools import count
from typing import Any

import socketio

from config.settings import MarketSettings
from feeds.hub import PriceHub
from handlers.frames import backlog_of, send_local
from handlers.plain_clients import PlainClient, event_message, frame
from trading.errors import InvalidInput
from trading.market import Quote

log = logging.getLogger(__name__)


def symbol_room(symbol: str) -> str:
    return f"symbol:{symbol}"


@dataclass(slots=True)
class _Group:
    room: str
    members: set[str] = field(default_factory=set)


class PriceStreamer:
    def __init__(self, sio: socketio.AsyncServer, hub: PriceHub,
                 settings: MarketSettings) -> None:
        self.sio = sio
        self.hub = hub
        self.window = settings.price_window
        self.per_tick = settings.fanout == "per_tick"
        self.limit = settings.max_subscriptions
        self.subscriptions: dict[str, frozenset[str]] = {}
        self.groups: dict[frozenset[str], _Group] = {}
        self._group_ids = count(1)
        self._pending: dict[str, Quote] = {}
        self._ticks: asyncio.Queue[Quote] = asyncio.Queue()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        # Plain-WebSocket (/ws) clients: the same grouping, without Socket.IO rooms.
        self.plain: dict[PlainClient, frozenset[str]] = {}
        self.plain_groups: dict[frozenset[str], set[PlainClient]] = {}

    @property
    def dropped(self) -> int:
        """Clients dropped for falling behind (on any path out), for operators and tests."""
        backlog = backlog_of(self.sio)
        return 0 if backlog is None else backlog.dropped

    # -- lifecycle --------------------------------------------------------

    def start(self) -> None:
        self.hub.listeners.append(self.on_quote)
        self.hub.stale_listeners.append(self.on_quote)
        sender = self._send_each_tick() if self.per_tick else self._send_windows()
        self._tasks = [asyncio.create_task(sender, name="prices:send")]

    async def stop(self) -> None:
        self.hub.listeners.remove(self.on_quote)
        self.hub.stale_listeners.remove(self.on_quote)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- subscriptions ----------------------------------------------------

    async def subscribe(self, sid: str, symbols: list[str]) -> frozenset[str]:
        current = self.subscriptions.get(sid, frozenset())
        wanted = current | set(symbols)
        if len(wanted) > self.limit:
            raise InvalidInput(f"At most {self.limit} subscriptions per connection.",
                               field="symbols", details={"limit": self.limit})
        await self._move(sid, current, wanted)
        return wanted

    async def unsubscribe(self, sid: str, symbols: list[str]) -> frozenset[str]:
        current = self.subscriptions.get(sid, frozenset())
        wanted = current - set(symbols)
        await self._move(sid, current, wanted)
        return wanted

    def subscribe_plain(self, client: PlainClient, symbols: list[str]) -> frozenset[str]:
        wanted = self.plain.get(client, frozenset()) | set(symbols)
        if len(wanted) > self.limit:
            raise InvalidInput(f"At most {self.limit} subscriptions per connection.",
                               field="symbols", details={"limit": self.limit})
        self._move_plain(client, wanted)
        return wanted

    def unsubscribe_plain(self, client: PlainClient, symbols: list[str]) -> frozenset[str]:
        wanted = self.plain.get(client, frozenset()) - set(symbols)
        self._move_plain(client, wanted)
        return wanted

    def forget_plain(self, client: PlainClient) -> None:
        self._move_plain(client, frozenset())

    def _move_plain(self, client: PlainClient, new: frozenset[str]) -> None:
        old = self.plain.pop(client, None)
        # The symbol rooms carry other events of a symbol (news) to /ws clients too.
        plain_rooms = getattr(self.sio.manager, "plain", None)
        if plain_rooms is not None:
            for symbol in (old or frozenset()) - new:
                plain_rooms.leave(client, symbol_room(symbol))
            for symbol in new - (old or frozenset()):
                plain_rooms.join(client, symbol_room(symbol))
        if old is not None:
            members = self.plain_groups[old]
            members.discard(client)
            if not members:
                del self.plain_groups[old]
        if new:
            self.plain[client] = new
            self.plain_groups.setdefault(new, set()).add(client)

    def forget(self, sid: str) -> None:
        """Drop a disconnected client (Socket.IO already removed it from rooms)."""
        current = self.subscriptions.pop(sid, None)
        if current is not None:
            self._leave_group(sid, current)

    async def _move(self, sid: str, old: frozenset[str], new: frozenset[str]) -> None:
        if old == new:
            return
        if old:
            room = self._leave_group(sid, old)
            await self.sio.leave_room(sid, room)
        for symbol in old - new:
            await self.sio.leave_room(sid, symbol_room(symbol))
        for symbol in new - old:
            await self.sio.enter_room(sid, symbol_room(symbol))
        if new:
            group = self.groups.get(new)
            if group is None:
                group = self.groups[new] = _Group(f"prices:{next(self._group_ids)}")
            group.members.add(sid)
            self.subscriptions[sid] = new
            await self.sio.enter_room(sid, group.room)
        else:
            self.subscriptions.pop(sid, None)

    def _leave_group(self, sid: str, symbols: frozenset[str]) -> str:
        group = self.groups[symbols]
        group.members.discard(sid)
        if not group.members:
            del self.groups[symbols]
        return group.room

    # -- sending ----------------------------------------------------------

    def on_quote(self, quote: Quote) -> None:
        """Hub listener: note the quote; the sender task does the writing."""
        if self.per_tick:
            self._ticks.put_nowait(quote)
        else:
            self._pending[quote.symbol] = quote
            self._wake.set()

    async def _send_windows(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(self.window)
            self._wake.clear()
            batch, self._pending = self._pending, {}
            try:
                self._send_batch(batch)
            except Exception:
                log.exception("failed to send a price batch")

    def _send_batch(self, batch: dict[str, Quote]) -> None:
        payloads = {symbol: self.hub.payload(quote) for symbol, quote in batch.items()}
        for symbols, group in list(self.groups.items()):
            changed = _changed(symbols, payloads)
            if len(changed) == 1:
                send_local(self.sio, group.room, [("live_price", changed[0])])
            elif changed:
                send_local(self.sio, group.room, [("prices", changed)])
        for symbols, clients in list(self.plain_groups.items()):
            changed = _changed(symbols, payloads)
            if changed:
                encoded = frame(event_message("live_price", changed[0]) if len(changed) == 1
                                else event_message("prices", changed))
                for client in list(clients):
                    client.write(encoded)

    async def _send_each_tick(self) -> None:
        """The baseline: one room emit per tick, no coalescing."""
        while True:
            quote = await self._ticks.get()
            await self.sio.emit("live_price", self.hub.payload(quote),
                                room=symbol_room(quote.symbol), ignore_queue=True)


def _changed(symbols: frozenset[str], payloads: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The payloads of a window that a set of subscribed symbols cares about."""
    if len(symbols) < len(payloads):
        return [payloads[s] for s in symbols if s in payloads]
    return [p for s, p in payloads.items() if s in symbols]
