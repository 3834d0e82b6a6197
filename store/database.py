"""The MongoDB client, start-up ping and indexes."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any, Protocol

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import (
    AutoReconnect,
    OperationFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
)

log = logging.getLogger(__name__)

Document = dict[str, Any]
Units = int  # amounts: counts of 10^-8 (trading.money)
Database = AsyncDatabase[Document]


class ByName(Protocol):
    """Collections by name: a database, or store/layout.py's Collections."""

    def __getitem__(self, name: str) -> AsyncCollection[Document]: ...


# Errors that mean "the database is not answering right now" (503, not 500).
DATABASE_DOWN = (ServerSelectionTimeoutError, AutoReconnect)


def stored_time(moment: datetime) -> datetime:
    """Truncate to milliseconds, the precision BSON dates keep."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


class DatabaseUnavailable(Exception):
    """The database did not answer at start-up, or cannot keep the books; the message is
    one line."""


def _expiry_ttl(name: str = "expires_at_ttl") -> IndexModel:
    """A TTL index: the server deletes a document once its ``expires_at`` has passed
    (its monitor runs every 60 s, so readers still check the time themselves)."""
    return IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0, name=name)


# Every index the queries rely on, created at start-up (idempotent).
INDEXES: dict[str, list[IndexModel]] = {
    "users": [IndexModel([("email", ASCENDING)], unique=True, name="email_unique"),
              IndexModel([("leaderboard", ASCENDING), ("_id", ASCENDING)], name="leaderboard"),
              IndexModel([("leaderboard_changed_at", ASCENDING)], sparse=True,
                         name="leaderboard_changed_at")],
    # The computed leaderboard: pages by rank of one pass's board (store/leaderboard.py).
    "leaderboard": [IndexModel([("gen", ASCENDING), ("kind", ASCENDING), ("rank", ASCENDING)],
                               name="gen_kind_rank"),
                    IndexModel([("user_id", ASCENDING), ("gen", ASCENDING)], name="user_gen")],
    "sessions": [IndexModel([("user_id", ASCENDING)], name="user_id"), _expiry_ttl()],
    "api_keys": [IndexModel([("key_id", ASCENDING)], unique=True, name="key_id_unique"),
                 IndexModel([("user_id", ASCENDING)], name="user_id")],
    "password_resets": [IndexModel([("user_id", ASCENDING)], name="user_id"), _expiry_ttl()],
    "email_verifications": [IndexModel([("user_id", ASCENDING)], name="user_id"), _expiry_ttl()],
    "watchlists": [IndexModel([("user_id", ASCENDING)], name="user_id")],
    "accounts": [IndexModel([("user_id", ASCENDING)], name="user_id")],
    "orders": [
        IndexModel([("user_id", ASCENDING), ("client_order_id", ASCENDING)], unique=True,
                   name="client_order_id_unique"),
        IndexModel([("user_id", ASCENDING), ("status", ASCENDING)], name="user_status"),
        IndexModel([("user_id", ASCENDING), ("status", ASCENDING), ("filled_at", ASCENDING),
                    ("_id", ASCENDING)], name="user_status_filled"),  # activities: fills
        # Day orders and legs to expire, looked for every 30 s across every user.
        IndexModel([("status", ASCENDING), ("expires_at", ASCENDING)], name="status_expires"),
    ],
    # A user's open lots of a symbol and side (what a fill closes, what it adds to).
    "trades": [IndexModel([("user_id", ASCENDING), ("status", ASCENDING), ("symbol", ASCENDING),
                           ("side", ASCENDING)], name="user_status_symbol_side"),
               # activities (exits as fills) and performance (trades closed in a period)
               IndexModel([("user_id", ASCENDING), ("exits.at", ASCENDING)],
                          name="user_exits_at")],
    "ledger": [IndexModel([("user_id", ASCENDING)], name="user_id"),
               IndexModel([("user_id", ASCENDING), ("at", ASCENDING), ("_id", ASCENDING)],
                          name="user_at")],  # activities: cash movements
    "equity_snapshots": [IndexModel([("user_id", ASCENDING), ("at", ASCENDING)],
                                    name="user_at"), _expiry_ttl()],
    "equity_days": [IndexModel([("user_id", ASCENDING), ("period", ASCENDING),
                                ("day", ASCENDING)], name="user_period_day")],
    "equity_marks": [IndexModel([("user_id", ASCENDING), ("period", ASCENDING)],
                                name="user_period"),
                     IndexModel([("watch", ASCENDING), ("_id", ASCENDING)], name="watch")],
    "alerts": [IndexModel([("user_id", ASCENDING), ("status", ASCENDING)], name="user_status")],
    "notifications": [IndexModel([("user_id", ASCENDING)], name="user_id")],
    "outbox": [IndexModel([("status", ASCENDING), ("next_attempt_at", ASCENDING)],
                          name="status_due"),
               IndexModel([("user_id", ASCENDING)], name="user_id")],
    "events": [IndexModel([("user_id", ASCENDING), ("seq", ASCENDING)], unique=True,
                          name="user_seq_unique")],
    # Pages of one symbol's candles of one timeframe; intraday ones expire (store/candles.py).
    "candles": [IndexModel([("s", ASCENDING), ("tf", ASCENDING), ("t", ASCENDING)],
                           name="symbol_timeframe_start"), _expiry_ttl()],
    # Headlines: one per link (_id) and per title, newest first, expiring (store/news.py).
    "news": [IndexModel([("title_key", ASCENDING)], unique=True, name="title_key_unique"),
             IndexModel([("published_at", DESCENDING), ("_id", DESCENDING)],
                        name="published"),
             IndexModel([("symbols", ASCENDING), ("published_at", DESCENDING),
                         ("_id", DESCENDING)], name="symbol_published"), _expiry_ttl()],
}


# While the database is down, a request waits at most this long for it, then gets
# 503 unavailable (clients retry; a hung request helps nobody).
GIVE_UP_MS = 2000


def open_client(uri: str, max_pool_size: int = 100) -> AsyncMongoClient[Document]:
    """Create a client; it connects lazily on first use."""
    return AsyncMongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=GIVE_UP_MS,
                            connectTimeoutMS=GIVE_UP_MS, appname="paperdesk",
                            maxPoolSize=max_pool_size)


# MongoDB 8.0's wire version: the first with the cross-collection bulkWrite command.
MIN_WIRE_VERSION = 25


def refusal(hello: Document) -> str | None:
    """Why a server whose hello this is cannot keep PaperDesk's books, or None.

    Money moves are multi-document transactions, which a replica set (one node
    is enough) or a sharded cluster offers and a standalone server does not.
    """
    if hello.get("setName") is None and hello.get("msg") != "isdbgrid":
        return ("MONGO_URI must name a replica set (one node is enough; Atlas always is): "
                "this server is standalone, and PaperDesk's money moves are transactions")
    if hello.get("maxWireVersion", 0) < MIN_WIRE_VERSION:
        return ("MONGO_URI must name MongoDB 8.0 or later (or a server speaking its wire "
                f"protocol, version {MIN_WIRE_VERSION}); this one speaks version "
                f"{hello.get('maxWireVersion', 0)}")
    return None


async def connect(uri: str, within: float = 30.0) -> AsyncMongoClient[Document]:
    """Open a client on a server that can keep the books (``refusal``), or raise
    DatabaseUnavailable with one line saying why not."""
    client = open_client(uri)
    try:
        await wait_until_ready(client.get_database("admin"), within)
        if (why := refusal(await client.admin.command("hello"))) is not None:
            raise DatabaseUnavailable(why)
    except BaseException:
        await client.close()
        raise
    return client


async def end_abandoned_transactions(db: ByName) -> None:
    """End every session on the server, and with them the transactions a process killed
    part-way left open: until the server's transactionLifetimeLimitSeconds (60 s by
    default) they hold the documents they wrote, and every write of those waits.

    Run at start-up, and by a newly elected leader (the one before may have died
    mid-close). Transactions another live process has under way are ended too;
    the driver retries them whole (a TransientTransactionError), so each still
    commits once. A read of theirs cut off is answered with an error.
    """
    try:
        await db["accounts"].database.client.admin.command("killAllSessions", [])
    except OperationFailure as exc:  # not allowed to: abandoned ones expire on their own
        log.warning("could not end abandoned transactions: %s", exc)


async def ping(db: Database, within: float = 2.0) -> None:
    """Raise unless the database answers a ping within the given seconds."""
    await asyncio.wait_for(db.command("ping"), within)


async def wait_until_ready(db: Database, within: float = 30.0) -> None:
    """Ping until the server answers, or raise after the given seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        try:
            await ping(db)
            return
        except (PyMongoError, TimeoutError) as exc:
            if loop.time() > deadline:
                raise DatabaseUnavailable(
                    f"The database did not answer within {within:.0f} s: {exc}") from None
            await asyncio.sleep(0.1)


INDEX_NOT_FOUND = 27
# Indexes of earlier versions that one in INDEXES replaces: dropped where found.
REPLACED = {"trades": ("user_status",)}


async def ensure_indexes(db: ByName) -> None:
    """Create every index in INDEXES (createIndexes leaves those that exist alone), then
    drop those REPLACED names (another process starting at once may drop one first)."""
    for collection, indexes in INDEXES.items():
        await db[collection].create_indexes(indexes)
    for collection, names in REPLACED.items():
        present = await db[collection].index_information()
        for name in names:
            if name not in present:
                continue
            try:
                await db[collection].drop_index(name)
            except OperationFailure as error:
                if error.code != INDEX_NOT_FOUND:
                    raise
                continue
            log.info("dropped the %s index of %s, which a newer one replaces", name,
                     collection)
    log.debug("indexes ensured on %d collections", len(INDEXES))
