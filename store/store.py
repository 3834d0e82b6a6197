"""One object that holds every repository over PaperDesk's collections (store/layout.py)."""

from __future__ import annotations

import logging
from datetime import datetime

from store.alerts import AlertStore
from store.check import repair_wrapped
from store.database import Database
from store.events import EventStore
from store.keyed import OneConnection
from store.lanes import Lanes
from store.layout import Collections
from store.ledger import LedgerStore
from store.outbox import InboxStore, OutboxStore
from store.resets import ResetStore
from store.sessions import SessionStore
from store.trading import AccountStore, OrderStore, TradeStore
from store.users import UserStore
from store.watchlists import WatchlistStore

log = logging.getLogger(__name__)


class Store:
    def __init__(self, db: Collections | Database, check_here: bool = False,
                 alone: bool = False) -> None:
        """db: the collections (store/layout.py), or one database that holds them all.
        check_here: test update guards in this process (FerretDB; see store/keyed.py).
        alone: no other process writes to this database (no cluster)."""
        self.db = db if isinstance(db, Collections) else Collections(db)
        self.ferretdb = check_here
        # Against FerretDB, calls take turns on each database's one connection.
        turns = {d.name: OneConnection() for d in self.db.databases} if check_here else {}

        def at(collection: str) -> tuple[Database, OneConnection | None]:
            database = self.db.database(collection)
            return database, turns.get(database.name)

        main, main_one = at("users")
        self.users = UserStore(self.db, main_one)
        self.sessions = SessionStore(main, main_one)
        self.resets = ResetStore(main)
        self.verifications = ResetStore(main, "email_verifications")
        self.watchlists = WatchlistStore(main)
        self.accounts = AccountStore(*at("accounts"), alone=alone)
        self.orders = OrderStore(*at("claims"), orders=at("orders"))
        self.trades = TradeStore(*at("trades"))
        self.ledger = LedgerStore(*at("ledger"))
        self.events = EventStore(*at("events"))
        self.alerts = AlertStore(*at("alerts"))
        self.outbox = OutboxStore(main, main_one)
        self.inbox = InboxStore(main, main_one)
        # One connection against FerretDB: let fires go before notifications.
        self.lanes = Lanes(enabled=check_here)

    async def recover(self, now: datetime) -> None:
        """Finish multi-step work a crash interrupted, and drop dead records."""
        for user_id in await self.users.pending_deletions():
            await self.users.purge(user_id)
            log.info("finished deleting an account interrupted by a restart")
        if self.ferretdb:  # counters it added in 32 bits before every write was 64-bit
            await repair_wrapped(self.db)
        if claimed := await self.orders.claim_earlier_orders():
            log.info("claimed %d orders stored by an earlier version", claimed)
        # FerretDB has no TTL indexes, so expired records are removed here.
        await self.sessions.purge_expired(now)
        await self.resets.purge_expired(now)
        await self.verifications.purge_expired(now)
