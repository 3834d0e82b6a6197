"""One object that holds every repository over PaperDesk's collections (store/layout.py)."""

from __future__ import annotations

import logging
from datetime import datetime

from store.activities import ActivityStore
from store.alerts import AlertStore
from store.api_keys import ApiKeyStore
from store.candles import CandleStore
from store.database import Database
from store.events import EventStore
from store.history import SnapshotStore
from store.layout import Collections
from store.leaderboard import BoardStore
from store.ledger import LedgerStore
from store.news import NewsStore
from store.outbox import InboxStore, OutboxStore
from store.resets import ResetStore
from store.sessions import SessionStore
from store.trading import AccountStore, OrderStore, TradeStore
from store.unit_of_work import UnitOfWork
from store.users import UserStore
from store.watchlists import WatchlistStore

log = logging.getLogger(__name__)


class Store:
    def __init__(self, db: Collections | Database) -> None:
        """db: the collections (store/layout.py), or the database that holds them."""
        self.db = db if isinstance(db, Collections) else Collections(db)
        main = self.db.main
        self.users = UserStore(self.db)
        self.sessions = SessionStore(main)
        self.api_keys = ApiKeyStore(main)
        self.resets = ResetStore(main)
        self.verifications = ResetStore(main, "email_verifications")
        self.watchlists = WatchlistStore(main)
        self.accounts = AccountStore(main)
        self.orders = OrderStore(main)
        self.trades = TradeStore(main)
        self.ledger = LedgerStore(main)
        self.events = EventStore(main)
        self.alerts = AlertStore(main)
        self.outbox = OutboxStore(main)
        self.inbox = InboxStore(main)
        self.candles = CandleStore(main)
        self.activities = ActivityStore(main)
        self.snapshots = SnapshotStore(main)
        self.news = NewsStore(main)
        self.board = BoardStore(main)
        self.unit_of_work = UnitOfWork(self.db)

    async def recover(self, now: datetime) -> None:
        """Finish multi-step work a crash interrupted (expired sessions and tokens are
        deleted by TTL indexes, store/database.py)."""
        for user_id in await self.users.pending_deletions():
            await self.users.purge(user_id)
            log.info("finished deleting an account interrupted by a restart")
        if await self.db.main.list_collection_names(filter={"name": "claims"}):
            # Earlier versions kept a copy of each order to hold its client_order_id;
            # the order's own unique index does that in the transaction that stores it.
            await self.db.main.drop_collection("claims")
            log.info("dropped the order claims of an earlier version")
