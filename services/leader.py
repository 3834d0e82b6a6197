"""What the cluster's leader does: run the feeds, the monitor, and what else is added."""

from __future__ import annotations

import logging
from functools import partial
from typing import Protocol

from feeds.service import Market
from services.cluster import Cluster, TickPublisher
from services.engine import TradingEngine
from services.monitor import Monitor
from store.database import end_abandoned_transactions

log = logging.getLogger(__name__)


class Duty(Protocol):
    """Work only the leader does (the news poller): started when elected."""

    def start(self) -> None: ...

    async def stop(self) -> None: ...


class LeaderDuties:
    """The cluster's hooks: taken up when this process is elected, dropped when deposed."""

    def __init__(self, engine: TradingEngine, monitor: Monitor, market: Market) -> None:
        self.engine, self.monitor, self.market = engine, monitor, market
        self.cluster: Cluster | None = None
        self.leading = False
        self.also: list[Duty] = []

    async def elected(self, fence: int) -> None:
        if self.cluster is None:
            raise RuntimeError("LeaderDuties.cluster is not set")
        self.monitor.may_fire = partial(self.cluster.holds_fence, fence)
        # A leader that died mid-close left its transactions open: they would hold the
        # trades and accounts they wrote for a minute.
        await end_abandoned_transactions(self.engine.store.db)
        await self.monitor.start()
        self.leading = True
        self.market.start_feeds(TickPublisher(self.cluster.ticks))
        for duty in self.also:
            duty.start()

    async def deposed(self) -> None:
        if not self.leading:
            return
        self.leading = False
        for duty in self.also:
            await duty.stop()
        await self.market.stop_feeds()
        await self.monitor.stop()

    async def changed(self, kind: str, ref: str, user_id: str) -> None:
        await self.monitor.reload(kind, ref, user_id)

    async def resubscribed(self) -> None:
        await self.monitor.rebuild()
