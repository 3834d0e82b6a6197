"""The MongoDB client, start-up ping and indexes."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any, Protocol

from pymongo import ASCENDING, AsyncMongoClient, IndexModel
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
    """The database did not answer at start-up; the message is one line."""

# Every index the queries rely on, created at start-up (idempotent).
INDEXES: dict[str, list[IndexModel]] = {
    "users": [IndexModel([("email", ASCENDING)], unique=True, name="email_unique")],
    "sessions": [IndexModel([("user_id", ASCENDING)], name="user_id")],
    "password_resets": [IndexModel([("user_id", ASCENDING)], name="user_id")],
    "email_verifications": [IndexModel([("user_id", ASCENDING)], name="user_id")],
    "watchlists": [IndexModel([("user_id", ASCENDING)], name="user_id")],
    "accounts": [IndexModel([("user_id", ASCENDING)], name="user_id")],
    "orders": [
        IndexModel([("user_id", ASCENDING), ("client_order_id", ASCENDING)], unique=True,
                   name="client_order_id_unique"),
        IndexModel([("user_id", ASCENDING), ("status", ASCENDING)], name="user_status"),
    ],
    "claims": [IndexModel([("user_id", ASCENDING), ("client_order_id", ASCENDING)], unique=True,
                          name="client_order_id_unique")],
    "trades": [IndexModel([("user_id", ASCENDING), ("status", ASCENDING)], name="user_status")],
    "ledger": [IndexModel([("user_id", ASCENDING)], name="user_id")],
    "alerts": [IndexModel([("user_id", ASCENDING), ("status", ASCENDING)], name="user_status")],
    "notifications": [IndexModel([("user_id", ASCENDING)], name="user_id")],
    "outbox": [IndexModel([("status", ASCENDING), ("next_attempt_at", ASCENDING)],
                          name="status_due"),
               IndexModel([("user_id", ASCENDING)], name="user_id")],
    "outbox_due": [IndexModel([("next_attempt_at", ASCENDING)], name="next_attempt_at")],
    "events": [IndexModel([("user_id", ASCENDING), ("seq", ASCENDING)], unique=True,
                          name="user_seq_unique")],
}


# While the database is down, a request waits at most this long for it, then gets
# 503 unavailable (clients retry; a hung request helps nobody).
GIVE_UP_MS = 2000


def open_client(uri: str, max_pool_size: int = 100) -> AsyncMongoClient[Document]:
    """Create a client; it connects lazily on first use."""
    return AsyncMongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=GIVE_UP_MS,
                            connectTimeoutMS=GIVE_UP_MS, appname="paperdesk",
                            maxPoolSize=max_pool_size)


async def is_ferretdb(client: AsyncMongoClient[Document]) -> bool:
    """Whether the server is FerretDB (its buildInfo names its own version)."""
    info = await client.admin.command("buildInfo")
    return "ferretdbVersion" in info


async def connect(uri: str, within: float = 30.0) -> AsyncMongoClient[Document]:
    """Open a client that is safe for conditional updates on this server.

    FerretDB 1.x applies a filtered update as read, modify, write without
    isolation between connections: two concurrent guarded $inc can both pass
    their filter and one of them is lost. Requests on one connection run one at
    a time, so against FerretDB the client keeps a single connection (FerretDB's
    SQLite store serialises writes anyway, so this costs no write throughput).
    MongoDB applies single-document updates atomically and keeps its pool.
    """
    client = open_client(uri)
    try:
        await wait_until_ready(client.get_database("admin"), within)
        if not await is_ferretdb(client):
            return client
    except BaseException:
        await client.close()
        raise
    await client.close()
    log.info("FerretDB detected: one connection, so conditional updates stay atomic")
    return open_client(uri, max_pool_size=1)


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


async def ensure_indexes(db: ByName, attempts: int = 5) -> None:
    """Create every index in INDEXES that does not exist yet.

    Existing indexes are skipped rather than re-declared: FerretDB 1.24 panics
    (and drops the connection) when createIndexes names several indexes that
    all exist already. It also drops the connection when two processes create
    the same indexes at once (several servers starting on a fresh database), so
    a dropped connection is retried: by then the other process made them.
    """
    for attempt in range(1, attempts + 1):
        try:
            for collection, indexes in INDEXES.items():
                existing = {index["name"]
                            async for index in await db[collection].list_indexes()}
                missing = [index for index in indexes if index.document["name"] not in existing]
                if missing:
                    await db[collection].create_indexes(missing)
            break
        except (AutoReconnect, OperationFailure) as exc:
            if attempt == attempts:
                raise
            log.info("creating indexes failed (%s); retrying", type(exc).__name__)
            await asyncio.sleep(0.2 * attempt)
    log.debug("indexes ensured on %d collections", len(INDEXES))
