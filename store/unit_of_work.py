"""A unit of work: one command's writes committed together, or not at all.

``UnitOfWork.run(work)`` runs ``work(writes)`` in one multi-document
transaction (snapshot reads, majority and journaled commit), retried as the
driver documents: the whole transaction on a TransientTransactionError (a
write conflict with another transaction, a failover), the commit on an
UnknownTransactionCommitResult. A write conflict is started again whole even
when the server does not label it TransientTransactionError (MongoDB always
does; secantusd-rs 0.5.3 does not, for a conflict met by a write inside the
transaction). A request gives up after ``DEADLINE``
seconds, so a database that does not answer gives a clear error, not a
two-minute hang. ``work`` may run more than once, so it must only read and
write through ``writes`` and keep what it learns in its result.

``Writes`` reads and updates through the transaction's session, and gathers
the new documents of every collection, and any updates whose result the work
need not read, into one cross-collection bulkWrite (MongoDB 8.0): a command's
inserts cost one round trip. A unit of work that knows every document it
changes (``run(work, reads=False)``) is that bulkWrite and the commit: two
round trips. Its updates are guarded, and if one finds its document changed
the whole unit is abandoned with ``Stale``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import pymongo
from pymongo import InsertOne, ReplaceOne, ReturnDocument, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import ClientBulkWriteException, OperationFailure
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from store.database import Document
from store.int64 import int64s
from store.layout import Collections

T = TypeVar("T")
DEADLINE = 5.0  # seconds a command may take, its retries included
DUPLICATE_KEY = 11000
WRITE_CONFLICT = 112


class Writes:
    """The reads and writes of one transaction (module docstring)."""

    def __init__(self, collections: Collections, session: AsyncClientSession) -> None:
        self.collections, self.session = collections, session
        self._writes: list[InsertOne[Document] | UpdateOne | ReplaceOne[Document]] = []
        self._into: list[str] = []  # the collection of each write
        self._updates = 0

    async def get(self, collection: str, doc_id: Any, **must: Any) -> Document | None:
        """The document with this _id, as the transaction sees it, if it matches must."""
        return await self.collections[collection].find_one({"_id": doc_id, **must},
                                                            session=self.session)

    async def find(self, collection: str, query: Mapping[str, Any],
                   sort: list[tuple[str, int]] | None = None, limit: int = 0,
                   without: tuple[str, ...] = ()) -> list[Document]:
        """The documents that match query, as the transaction sees them (limit 0: all),
        without the fields named."""
        projection = dict.fromkeys(without, 0) or None
        cursor = self.collections[collection].find(query, projection, session=self.session,
                                                   limit=limit)
        if sort:
            cursor = cursor.sort(sort)
        return [doc async for doc in cursor]

    async def aggregate(self, collection: str, pipeline: list[Document]) -> list[Document]:
        """What pipeline makes of collection, as the transaction sees it."""
        cursor = await self.collections[collection].aggregate(pipeline, session=self.session)
        return [doc async for doc in cursor]

    async def count(self, collection: str, query: Mapping[str, Any]) -> int:
        """How many documents match query, as the transaction sees them."""
        return await self.collections[collection].count_documents(query, session=self.session)

    async def update(self, collection: str, doc_id: Any, guard: Mapping[str, Any],
                     update: Mapping[str, Any]) -> Document | None:
        """Apply update to the document if it matches guard; return it after, or None."""
        return await self.collections[collection].find_one_and_update(
            {"_id": doc_id, **guard}, update, return_document=ReturnDocument.AFTER,
            session=self.session)

    async def ids(self, collection: str, query: Mapping[str, Any]) -> list[Any]:
        """The _ids of the documents that match query, as the transaction sees them."""
        cursor = self.collections[collection].find(query, {"_id": 1}, session=self.session)
        return [doc["_id"] async for doc in cursor]

    async def update_many(self, collection: str, query: Mapping[str, Any],
                          update: Mapping[str, Any]) -> int:
        """Apply update to every document that matches query; how many changed."""
        result = await self.collections[collection].update_many(query, update,
                                                                session=self.session)
        return result.modified_count

    def insert(self, collection: str, doc: Document) -> None:
        """Insert doc with the others, in flush."""
        self._writes.append(InsertOne(int64s(doc), namespace=self._namespace(collection)))
        self._into.append(collection)

    def update_later(self, collection: str, doc_id: Any, guard: Mapping[str, Any],
                     update: Mapping[str, Any]) -> None:
        """Apply update to the document if it matches guard, in flush, in order with the
        inserts; flush raises Stale if it did not match."""
        self._writes.append(UpdateOne({"_id": doc_id, **guard}, int64s(dict(update)),
                                      namespace=self._namespace(collection)))
        self._into.append(collection)
        self._updates += 1

    def replace_later(self, collection: str, doc_id: Any, doc: Document) -> None:
        """Replace the document with doc, in flush, in order with the other writes; flush
        raises Stale if it is gone. For a document the transaction read and changed
        whole: the engine writes a replacement for less than an update."""
        self._writes.append(ReplaceOne({"_id": doc_id}, int64s(doc),
                                       namespace=self._namespace(collection)))
        self._into.append(collection)
        self._updates += 1

    def _namespace(self, collection: str) -> str:
        return f"{self.collections.main.name}.{collection}"

    async def flush(self) -> None:
        """Write what was gathered so far, in one call, in order; raise DuplicateKey
        (naming the collection) if an insert takes a key that is taken, Stale if an
        update found its document changed."""
        writes, into, updates = self._writes, self._into, self._updates
        self._writes, self._into, self._updates = [], [], 0
        if not writes:
            return
        try:
            result = await self.collections.main.client.bulk_write(writes, session=self.session)
        except ClientBulkWriteException as error:
            failures = error.details.get("writeErrors") or []
            for failed in failures:
                if failed.get("code") == WRITE_CONFLICT:  # another transaction wrote it
                    raise Conflict(into[failed["idx"]]) from None
            if updates and (error.details.get("nMatched") or 0) < updates:
                raise Stale(_updated(into, writes)) from None  # its inserts then collided
            for failed in failures:
                if failed.get("code") == DUPLICATE_KEY:
                    raise DuplicateKey(into[failed["idx"]]) from None
            raise
        if result.matched_count != updates:
            raise Stale(_updated(into, writes))


class DuplicateKey(Exception):
    """An insert of a unit of work took a unique key another document holds."""

    def __init__(self, collection: str) -> None:
        super().__init__(f"a unique key of {collection} is taken")
        self.collection = collection


def _updated(into: list[str],
             writes: list[InsertOne[Document] | UpdateOne | ReplaceOne[Document]]) -> str:
    return ", ".join(sorted({collection for collection, write in zip(into, writes, strict=True)
                             if not isinstance(write, InsertOne)}))


class Conflict(Exception):
    """Another transaction wrote a document this one writes: the whole unit of work is
    started again."""

    def __init__(self, collection: str) -> None:
        super().__init__(f"a write to {collection} conflicted with another transaction")


def _conflicted(error: Exception) -> bool:
    """A write conflict the driver will not start again itself (it has no label)."""
    if isinstance(error, Conflict):
        return True
    return (isinstance(error, OperationFailure) and error.code == WRITE_CONFLICT
            and not error.has_error_label("TransientTransactionError"))


class Stale(Exception):
    """A guarded update of a unit of work found its document changed since it was read."""

    def __init__(self, collection: str) -> None:
        super().__init__(f"a document of {collection} changed")
        self.collection = collection


class UnitOfWork:
    def __init__(self, collections: Collections) -> None:
        self.collections = collections

    async def run(self, work: Callable[[Writes], Awaitable[T]], *, reads: bool = True) -> T:
        """Run work in one transaction and commit it (module docstring). reads=False:
        work only writes (its guards decide), so the transaction takes no snapshot."""
        async def attempt(session: AsyncClientSession) -> T:
            writes = Writes(self.collections, session)
            result = await work(writes)
            await writes.flush()
            return result

        with pymongo.timeout(DEADLINE):
            while True:
                try:
                    async with self.collections.main.client.start_session() as session:
                        return await session.with_transaction(
                            attempt, read_concern=ReadConcern("snapshot") if reads else None,
                            write_concern=WriteConcern("majority", j=True))
                except (Conflict, OperationFailure) as error:
                    if not _conflicted(error):
                        raise
