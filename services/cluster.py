"""Several server processes on one Redis and one database: one leader, many servers.

Without REDIS_URL none of this runs: the process is alone and does everything.
With it, every process serves REST and sockets, and exactly one, the leader,
runs the price feeds and the monitor:

- Leadership is a Redis lease (``SET NX PX``) naming this process. The leader
  renews it every RENEW_EVERY; one that cannot renew it before it lapses steps
  down by itself, so a lost leader stops acting within LEASE_TTL and another
  process takes over within LEASE_TTL + RENEW_EVERY.
- Each new leader takes the next fencing token from the database (one
  ``$inc``), and every monitor fire first checks that the token is still the
  current one there: a deposed leader that has not noticed yet acts on nothing.
- Ticks: the leader's feeds publish to ``<namespace>:ticks``; every process, the leader too,
  feeds its own price hub from that channel, so each serves its own sockets and
  no process opens a second upstream connection.
- Revoked sessions: a process that ends sessions announces them on the same
  channel, and every other process disconnects its sockets of them.
- Trigger changes: every process announces the trades, orders and alerts it
  changes on ``<namespace>:changes``; the leader reloads each from the database into its index.
  When its subscription comes back after a Redis outage, in which messages may
  have been lost, the leader rebuilds the index from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

import redis.asyncio as aioredis
from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError
from redis.exceptions import RedisError

from feeds.base import Backoff
from store.database import Document
from trading.market import Quote

log = logging.getLogger(__name__)

LEASE_TTL = 3.0
RENEW_EVERY = 1.0

# Take the lease if free; renew or release it only while it is still ours.
_RENEW = "if redis.call('GET', KEYS[1]) == ARGV[1] then " \
         "return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end"
_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then " \
           "return redis.call('DEL', KEYS[1]) else return 0 end"


def channel_names(namespace: str) -> tuple[str, str, str]:
    """The lease key and the tick and change channels of one deployment.

    The namespace (``paperdesk:<MONGO_DB>``) keeps deployments that share a
    Redis apart.
    """
    return f"{namespace}:leader", f"{namespace}:ticks", f"{namespace}:changes"


class Lease:
    """A Redis key that at most one process holds, for LEASE_TTL at a time."""

    def __init__(self, redis: aioredis.Redis, key: str, holder: str,
                 ttl: float = LEASE_TTL) -> None:
        self.redis, self.key, self.holder = redis, key, holder
        self.ttl_ms = int(ttl * 1000)

    async def acquire(self) -> bool:
        return bool(await self.redis.set(self.key, self.holder, nx=True, px=self.ttl_ms))

    async def renew(self) -> bool:
        return bool(await self.redis.eval(_RENEW, 1, self.key, self.holder, self.ttl_ms))

    async def release(self) -> None:
        await self.redis.eval(_RELEASE, 1, self.key, self.holder)


async def next_fence(db: AsyncDatabase[Document]) -> int:
    """Take the next fencing token; it invalidates every earlier leader's."""
    doc = await db["cluster"].find_one_and_update(
        {"_id": "monitor"}, {"$inc": {"fence": 1}}, upsert=True,
        return_document=ReturnDocument.AFTER)
    if doc is None:  # cannot happen with upsert; keeps the type checker honest
        raise RuntimeError("no fencing token")
    return int(doc["fence"])


async def fence_holds(db: AsyncDatabase[Document], fence: int) -> bool:
    """Whether fence is still the current token (no later leader took over)."""
    return await db["cluster"].find_one({"_id": "monitor", "fence": fence}) is not None


def quote_message(quotes: list[Quote]) -> str:
    return json.dumps({"quotes": [[q.symbol, str(q.price), q.ts.isoformat(), q.source]
                                  for q in quotes]})


class Sink(Protocol):
    def publish(self, quote: Quote) -> bool: ...


def deliver(message: dict[str, Any], hub: Sink) -> None:
    """Hand a tick-channel message to a hub (the inverse of quote_message)."""
    for symbol, price, ts, source in message.get("quotes", []):
        hub.publish(Quote(symbol, Decimal(price), datetime.fromisoformat(ts), source))


class Outgoing:
    """Messages for one channel, sent in order by a task (listeners cannot await)."""

    def __init__(self, redis: aioredis.Redis, channel: str) -> None:
        self.redis, self.channel = redis, channel
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._send(), name=f"publish:{self.channel}")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    def put(self, message: str) -> None:
        self.queue.put_nowait(message)

    async def _send(self) -> None:
        while True:
            message = await self.queue.get()
            try:
                await self.redis.publish(self.channel, message)
            except RedisError as exc:  # ticks are transient; changes are resynced
                log.warning("could not publish on %s: %s", self.channel, exc)


class TickPublisher:
    """The leader feeds' sink: quotes go to every process through Redis."""

    def __init__(self, out: Outgoing) -> None:
        self.out = out
        self.batch: list[Quote] = []

    def publish(self, quote: Quote) -> bool:
        if not self.batch:  # one message per loop turn carries every quote of that turn
            asyncio.get_running_loop().call_soon(self._flush)
        self.batch.append(quote)
        return True

    def _flush(self) -> None:
        batch, self.batch = self.batch, []
        self.out.put(quote_message(batch))


class Hooks(Protocol):
    async def elected(self, fence: int) -> None: ...

    async def deposed(self) -> None: ...

    async def changed(self, kind: str, ref: str, user_id: str) -> None: ...

    async def resubscribed(self) -> None: ...


class Cluster:
    """This process's part: campaign for the lease, relay ticks and changes."""

    def __init__(self, redis: aioredis.Redis, db: AsyncDatabase[Document], hub: Sink,
                 hooks: Hooks, namespace: str) -> None:
        self.redis, self.db, self.hub, self.hooks = redis, db, hub, hooks
        self.node = secrets.token_hex(6)
        lease_key, self.tick_channel, self.change_channel = channel_names(namespace)
        self.lease = Lease(redis, lease_key, self.node)
        self.fence: int | None = None
        self._serving = False
        self.ticks = Outgoing(redis, self.tick_channel)
        self.changes = Outgoing(redis, self.change_channel)
        self.tasks: list[asyncio.Task[None]] = []
        self.subscribed = asyncio.Event()
        self.changed: asyncio.Queue[tuple[str, str, str]] = asyncio.Queue()
        # Called with the ids of sessions another process revoked.
        # Sessions another process ended (its sockets of them must go here too).
        self.on_revoked: list[Callable[[list[str]], Awaitable[None]]] = []

    @property
    def leader(self) -> bool:
        """Holding the lease, with the feeds and the monitor running."""
        return self.fence is not None and self._serving

    @property
    def _holding(self) -> bool:
        return self.fence is not None

    async def start(self) -> None:
        self.ticks.start()
        self.changes.start()
        self.tasks = [asyncio.create_task(self._listen(), name="cluster:listen"),
                      asyncio.create_task(self._campaign(), name="cluster:campaign"),
                      asyncio.create_task(self._apply_changes(), name="cluster:changes")]
        await self.subscribed.wait()  # no tick is missed once the server serves

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._holding:
            await self._step_down()
            with contextlib.suppress(RedisError):
                await self.lease.release()  # a successor need not wait for it to lapse
        await self.ticks.stop()
        await self.changes.stop()

    def announce_revoked(self, session_ids: list[str]) -> None:
        """Auth hook: every other process ends its sockets of these sessions too."""
        self.changes.put(json.dumps({"node": self.node, "kind": "sessions",
                                     "ids": session_ids}))

    def announce(self, kind: str, document: Document) -> None:
        """Engine watcher: tell the leader that a trade, order or alert changed."""
        self.changes.put(json.dumps({"node": self.node, "kind": kind, "id": document["_id"],
                                     "user_id": document["user_id"]}))

    async def holds_fence(self, fence: int) -> bool:
        return self.fence == fence and await fence_holds(self.db, fence)

    async def _campaign(self) -> None:
        loop = asyncio.get_running_loop()
        renewed_at = 0.0
        while True:
            try:
                if self._holding:
                    if await self.lease.renew():
                        renewed_at = loop.time()
                    else:
                        log.warning("lost the leader lease")
                        await self._step_down()
                elif await self.lease.acquire():
                    renewed_at = loop.time()
                    if not await self._take_over():
                        await self.lease.release()  # another process may try sooner
            except RedisError as exc:
                log.warning("leader lease: %s", exc)
            if self._holding and loop.time() - renewed_at > LEASE_TTL - RENEW_EVERY / 2:
                log.warning("could not renew the leader lease in time; stepping down")
                await self._step_down()
            await asyncio.sleep(RENEW_EVERY)

    async def _take_over(self) -> bool:
        """Lead: take the next fencing token and start the leader's duties. Whether it
        did; a database that does not answer leaves the lease to be won again, rather
        than ending the campaign."""
        try:
            fence = await next_fence(self.db)
            log.info("leading the cluster (node %s, fence %d)", self.node, fence)
            self.fence = fence
            await self.hooks.elected(fence)
        except PyMongoError as exc:
            log.warning("could not take over the cluster: %s", type(exc).__name__)
            if self.fence is not None:
                await self._step_down()
            return False
        self._serving = True
        return True

    async def _step_down(self) -> None:
        self.fence, self._serving = None, False
        log.info("no longer leading the cluster (node %s)", self.node)
        await self._run(self.hooks.deposed(), "step down")

    async def _run(self, work: Awaitable[None], what: str) -> None:
        try:
            await work
        except Exception:
            log.exception("could not %s", what)

    async def _listen(self) -> None:
        """Feed the hub from the tick channel and the leader's index from the change
        channel, reconnecting."""
        backoff = Backoff(first=0.2, most=5.0)
        first = True
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.tick_channel, self.change_channel)
                self.subscribed.set()
                if not first and self._holding:
                    await self._run(self.hooks.resubscribed(), "resynchronise triggers")
                first = False
                backoff.reset()
                async for message in pubsub.listen():
                    await self._receive(message)
            except (RedisError, OSError) as exc:
                delay = backoff.next_delay()
                log.warning("cluster channels lost (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _receive(self, message: dict[str, Any]) -> None:
        channel = message["channel"].decode()
        try:
            data = json.loads(message["data"])
            if channel == self.tick_channel:
                deliver(data, self.hub)
            elif data["node"] == self.node:
                pass  # this process acted on its own change already
            elif data["kind"] == "sessions":
                for callback in self.on_revoked:
                    await callback(data["ids"])
            elif self._holding:
                self.changed.put_nowait((data["kind"], data["id"], data["user_id"]))
        except Exception:
            log.exception("bad message on %s", channel)

    async def _apply_changes(self) -> None:
        """Reload changed documents one at a time, apart from the tick path."""
        while True:
            kind, ref, user_id = await self.changed.get()
            if self._holding:
                await self._run(self.hooks.changed(kind, ref, user_id), f"reload {kind} {ref}")
