"""One object that holds every repository over one database."""

from __future__ import annotations

import logging
from datetime import datetime

from store.alerts import AlertStore
from store.database import Database
from store.events import EventStore
from store.keyed import OneConnection
from store.lanes import Lanes
from store.ledger import LedgerStore
from store.outbox import InboxStore, OutboxStore
from store.resets import ResetStore
from store.sessions import SessionStore
from store.trading import AccountStore, OrderStore, TradeStore
from store.users import UserStore
from store.watchlists import WatchlistStore

log = logging.getLogger(__name__)


class Store:
    def __init__(self, db: Database, check_here: bool = False, alone: bool = False) -> None:
        """check_here: test update guards in this process (FerretDB; see store/keyed.py).
        alone: no other process writes to this database (no cluster)."""
        self.db = db
        one = OneConnection() if check_here else None
        self.users = UserStore(db, one)
        self.sessions = SessionStore(db, one)
        self.resets = ResetStore(db)
        self.verifications = ResetStore(db, "email_verifications")
        self.watchlists = WatchlistStore(db)
        self.accounts = AccountStore(db, one, alone=alone)
        self.orders = OrderStore(db, one)
        self.trades = TradeStore(db, one)
        self.ledger = LedgerStore(db, one)
        self.events = EventStore(db, one)
        self.alerts = AlertStore(db, one)
        self.outbox = OutboxStore(db, one)
        self.inbox = InboxStore(db, one)
        # One connection against FerretDB: let fires go before notifications.
        self.lanes = Lanes(enabled=check_here)

    async def recover(self, now: datetime) -> None:
        """Finish multi-step work a crash interrupted, and drop dead records."""
        for user_id in await self.users.pending_deletions():
            await self.users.purge(user_id)
            log.info("finished deleting an account interrupted by a restart")
        if claimed := await self.orders.claim_earlier_orders():
            log.info("claimed %d orders stored by an earlier version", claimed)
        # FerretDB has no TTL indexes, so expired records are removed here.
        await self.sessions.purge_expired(now)
        await self.resets.purge_expired(now)
        await self.verifications.purge_expired(now)
