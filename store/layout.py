"""Which database each collection is kept in.

On MongoDB every collection is in the one database MONGO_DB names.

FerretDB (SQLite) keeps each database in one SQLite file, and SQLite lets
one writer at a time into a file. So there the books (orders, trades and the
ledger) and the events each get a database of their own (``paperdesk_books``
and ``paperdesk_events`` beside ``paperdesk``), reached through a connection
of their own: a group of market orders then writes its events and its books
at the same time, while the next group's claims and charges go into the main
file (server/fills.py). Against one file, those writes queued behind each
other (docs/BENCHMARKS.md).

Nothing here needs a transaction across files: every write is of one
document or one insert, as before, and multi-step work is journaled as
store/trading.py describes.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping

from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from store.database import Database, Document, connect, is_ferretdb, open_client
from store.int64 import int64_database
from store.keyed import Keyed, insert_new

log = logging.getLogger(__name__)

# On FerretDB: collection -> the suffix of the database it is kept in.
APART: dict[str, str] = {"orders": "books", "trades": "books", "ledger": "books",
                         "events": "events"}


def database_names(main: str, ferretdb: bool = True) -> list[str]:
    """The names of every database PaperDesk keeps under main (the main one first)."""
    if not ferretdb:
        return [main]
    return [main, *dict.fromkeys(f"{main}_{suffix}" for suffix in APART.values())]


class Collections:
    """PaperDesk's collections by name, each in the database it is kept in.

    ``collections["orders"]`` is the orders collection wherever it is kept;
    ``main`` is the database of every collection not in ``apart``. The clients
    given are closed by ``close``.
    """

    def __init__(self, main: Database, apart: Mapping[str, Database] | None = None,
                 clients: list[AsyncMongoClient[Document]] | None = None) -> None:
        # Every write through these stores its ints as int64 (store/int64.py).
        self.main = int64_database(main)
        self.apart = {name: int64_database(db) for name, db in (apart or {}).items()}
        self._clients = clients or []

    def database(self, collection: str) -> Database:
        return self.apart.get(collection, self.main)

    def __getitem__(self, collection: str) -> AsyncCollection[Document]:
        return self.database(collection)[collection]

    @property
    def databases(self) -> list[Database]:
        """Every database, the main one first."""
        found = {self.main.name: self.main}
        for database in self.apart.values():
            found.setdefault(database.name, database)
        return list(found.values())

    async def close(self) -> None:
        for client in self._clients:
            await client.close()


async def open_collections(uri: str, name: str) -> tuple[Collections, bool]:
    """Connect to the server at uri and lay PaperDesk's collections under name out on
    it (module docstring); return them and whether the server is FerretDB."""
    client = await connect(uri)
    clients = [client]
    try:
        ferretdb = await is_ferretdb(client)
        databases = {name: client[name]}
        for other in database_names(name, ferretdb)[1:]:
            # A connection each, as connect() keeps one for the main database there.
            clients.append(open_client(uri, max_pool_size=1))
            databases[other] = clients[-1][other]
    except BaseException:
        for opened in clients:
            await opened.close()
        raise
    return _laid_out(name, databases, ferretdb, clients), ferretdb


def laid_out(client: AsyncMongoClient[Document], name: str, ferretdb: bool = True,
             ) -> Collections:
    """PaperDesk's collections under name, all through one client (to read them, as
    tests and tools do)."""
    return _laid_out(name, {db: client[db] for db in database_names(name, ferretdb)},
                     ferretdb, [])


def _laid_out(name: str, databases: dict[str, Database], ferretdb: bool,
              clients: list[AsyncMongoClient[Document]]) -> Collections:
    apart = {collection: databases[f"{name}_{suffix}"]
             for collection, suffix in APART.items()} if ferretdb else {}
    return Collections(databases[name], apart, clients)


async def move_apart(collections: Collections, batch: int = 1000) -> int:
    """Move documents that an earlier layout kept in the main database into the
    database their collection is kept in now; return how many moved.

    Copies first, skipping any already there, then drops the old collection, so
    a stop at any point loses nothing and the next start finishes the move.
    """
    moved = 0
    for name, database in collections.apart.items():
        old = collections.main[name]
        if not await old.estimated_document_count():
            continue
        target = Keyed(database[name])
        async for chunk in _chunks(old, batch):
            moved += len(chunk) - len(await insert_new(target, chunk))
        await old.drop()
        log.info("moved %s into the database %s", name, database.name)
    return moved


async def _chunks(collection: AsyncCollection[Document],
                  size: int) -> AsyncIterator[list[Document]]:
    chunk: list[Document] = []
    async for doc in collection.find({}):
        chunk.append(doc)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
