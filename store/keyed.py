"""Reads and conditional updates of one document by its _id, fast and exact on both servers.

MongoDB applies ``find_one_and_update({"_id": id, **guard}, update)`` atomically
and finds the document through its primary index, so that is what runs there.

FerretDB 1.24 (SQLite) looks a filter up by _id only when the filter is
exactly ``{"_id": value}``; a filter with any other field makes it decode every
document of the collection in turn, so a guarded update grows slower with
every order and trade stored (at 1,000 trades about 190 ms, against 2 ms by
_id alone). Against FerretDB the guard is therefore checked here: under a
lock per document, read it by _id, test the guard (``matches``), then update
it by _id. Every write through a Keyed collection takes the same lock, so
within this process the check and the write are one step, as they were
inside FerretDB on the one connection this process keeps (see
store/database.py: connect). FerretDB gives two processes no more isolation
than that either way.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, ParamSpec, TypeVar

from pymongo import ReturnDocument, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

from store.database import Document
from store.int64 import int64s
from store.lanes import URGENT

_MISSING = object()
T = TypeVar("T")
P = ParamSpec("P")
# For update_each: from a document as it is, its update and the document after it.
Change = Callable[[Document], tuple[Mapping[str, Any], Document]]


def _lookup(doc: Mapping[str, Any], path: str) -> Any:
    value: Any = doc
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def _equals(value: Any, wanted: Any) -> bool:
    """MongoDB equality: null matches a missing field, and an array matches its elements."""
    if value is _MISSING:
        return wanted is None
    if isinstance(value, list) and not isinstance(wanted, list):
        return any(_same(item, wanted) for item in value)
    return _same(value, wanted)


def _compare(value: Any, op: str, bound: Any) -> bool:
    if value is _MISSING or value is None or isinstance(value, bool) or isinstance(bound, bool):
        return False
    try:
        if op == "$gte":
            return bool(value >= bound)
        if op == "$gt":
            return bool(value > bound)
        if op == "$lte":
            return bool(value <= bound)
        return bool(value < bound)
    except TypeError:  # different kinds of value never compare in a MongoDB filter
        return False


def _condition(value: Any, condition: Any) -> bool:
    if not (isinstance(condition, Mapping) and condition
            and all(key.startswith("$") for key in condition)):
        return _equals(value, condition)
    for op, operand in condition.items():
        if op == "$ne":
            ok = not _equals(value, operand)
        elif op == "$in":
            ok = any(_equals(value, item) for item in operand)
        elif op == "$nin":
            ok = not any(_equals(value, item) for item in operand)
        elif op in ("$gte", "$gt", "$lte", "$lt"):
            ok = _compare(value, op, operand)
        else:
            raise ValueError(f"guard operator {op} is not supported")
        if not ok:
            return False
    return True


def matches(doc: Mapping[str, Any], guard: Mapping[str, Any]) -> bool:
    """Whether doc satisfies guard, as a MongoDB filter would decide.

    Supports what the stores use: equality (dotted paths, null, array
    elements), $ne, $in, $nin, $gt, $gte, $lt and $lte.
    """
    return all(_condition(_lookup(doc, path), condition) for path, condition in guard.items())


class _Locks:
    """One asyncio lock per key, kept only while someone holds or waits for it."""

    def __init__(self) -> None:
        self._held: dict[Any, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: Any) -> AsyncIterator[None]:
        lock, users = self._held.get(key, (asyncio.Lock(), 0))
        self._held[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._held[key]
            if users == 1:
                del self._held[key]
            else:
                self._held[key] = (lock, users - 1)


class OneConnection:
    """Against FerretDB: guards are checked here, and database calls take turns.

    PyMongo's pool lets a task that has just finished a call start the next
    one before the tasks already waiting for the connection, so with one
    connection some requests waited seconds while others went through (p99
    over 8 s in bench/orders.py). Calls made through ``call`` queue here
    instead, first come first served, except that calls made inside
    ``Lanes.urgent()`` (the monitor's fires) go before the others.
    """

    def __init__(self) -> None:
        self._busy = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._normal: deque[asyncio.Future[None]] = deque()

    async def call(self, fn: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        await self._take_turn()
        try:
            return await fn(*args, **kwargs)
        finally:
            self._pass_turn()

    async def _take_turn(self) -> None:
        if not self._busy:  # while free, nobody waits (a turn passes straight on)
            self._busy = True
            return
        turn = asyncio.get_running_loop().create_future()
        queue = self._urgent if URGENT.get() else self._normal
        queue.append(turn)
        try:
            await turn  # the turn is handed over by _pass_turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._pass_turn()  # handed the turn just as it was cancelled
            else:
                with contextlib.suppress(ValueError):  # _pass_turn may have dropped it
                    queue.remove(turn)
            raise

    def _pass_turn(self) -> None:
        for queue in (self._urgent, self._normal):
            while queue:
                turn = queue.popleft()
                if not turn.done():
                    turn.set_result(None)
                    return
        self._busy = False


class Keyed:
    """A collection whose single documents are read and changed by _id.

    With ``remember`` (against FerretDB, when this process is the only one
    writing the collection), the document each update returns is kept, and
    the next guarded update of that document tests its guard on the kept
    copy instead of reading it again: every write of the collection goes
    through this object under the document's lock, so the copy is what the
    database holds. A failed or cancelled call forgets the copy (the write
    may or may not have happened). Writes made elsewhere must say so
    (``holding`` and ``forget``, or ``remember_as``).
    """

    def __init__(self, collection: AsyncCollection[Document],
                 one: OneConnection | None = None, remember: int = 0) -> None:
        self.collection = collection
        # Against FerretDB: test guards in this process (module docstring).
        self.one = one
        self._locks = _Locks()
        self.remember = remember if one is not None else 0  # at most this many documents
        self._known: dict[Any, Document] = {}

    async def call(self, fn: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run one database call, in turn when there is one connection."""
        if self.one is None:
            return await fn(*args, **kwargs)
        return await self.one.call(fn, *args, **kwargs)

    async def get(self, doc_id: Any, **must: Any) -> Document | None:
        """The document with this _id, if it also matches must (for example its owner)."""
        doc = await self.call(self.collection.find_one, {"_id": doc_id})
        return doc if doc is not None and matches(doc, must) else None

    async def update(self, doc_id: Any, guard: Mapping[str, Any],
                     update: Mapping[str, Any]) -> Document | None:
        """Apply update if the document still matches guard; return it after, or None."""
        if self.one is None:
            return await self.collection.find_one_and_update(
                {"_id": doc_id, **guard}, update, return_document=ReturnDocument.AFTER)
        async with self._locks.hold(doc_id):
            try:
                if guard:
                    current = await self._current(doc_id)
                    if current is None or not matches(current, guard):
                        return None
                after = await self.call(self.collection.find_one_and_update, {"_id": doc_id},
                                        update, return_document=ReturnDocument.AFTER)
            except BaseException:
                self.forget(doc_id)
                raise
            self.remember_as(doc_id, after)
            return after

    async def update_each(self, changes: Sequence[tuple[Any, Mapping[str, Any], Change]],
                          ) -> list[Document | None]:
        """Several guarded updates of different documents, written in one call.

        Only with ``remember``: each (doc_id, guard, change) has its guard tested
        on the kept copy (read first if there is none), and change works out
        both the update and the document after it, which becomes the copy.
        Returns, in order, each document after its update, or None where its
        guard failed (nothing is written for it).
        """
        if not self.remember:
            raise TypeError("update_each needs the copies this process keeps")
        doc_ids = [doc_id for doc_id, _, _ in changes]
        if len(set(doc_ids)) != len(doc_ids):
            raise ValueError("update_each changes each document once")
        results: list[Document | None] = []
        writes: list[tuple[Any, Mapping[str, Any], Document]] = []
        async with self.holding(doc_ids):
            try:
                for doc_id, guard, change in changes:
                    current = await self._current(doc_id)
                    if current is None or not matches(current, guard):
                        results.append(None)
                        continue
                    update, after = change(current)
                    writes.append((doc_id, update, after))
                    results.append(after)
                if writes:
                    result = await self.call(self.collection.bulk_write, [
                        UpdateOne({"_id": doc_id}, int64s(update)) for doc_id, update, _ in writes],
                        ordered=False)
                    if result.matched_count != len(writes):
                        raise RuntimeError("a document being updated is gone")
            except BaseException:
                for doc_id in doc_ids:
                    self.forget(doc_id)
                raise
            for doc_id, _, after in writes:
                self.remember_as(doc_id, after)
        return results

    async def _current(self, doc_id: Any) -> Document | None:
        """The document as it is: its kept copy, or else read (and kept). Call with its
        lock held."""
        current = self._known.get(doc_id)
        if current is None:
            current = await self.call(self.collection.find_one, {"_id": doc_id})
            self.remember_as(doc_id, current)
        return current

    @contextlib.asynccontextmanager
    async def holding(self, doc_ids: list[Any]) -> AsyncIterator[None]:
        """Hold the locks of several documents (for a write of them all in one call)."""
        async with contextlib.AsyncExitStack() as stack:
            for doc_id in sorted(set(doc_ids)):  # one order for all: no deadlock
                await stack.enter_async_context(self._locks.hold(doc_id))
            yield

    def known(self, doc_id: Any) -> Document | None:
        """The kept copy of a document, if any (see the class docstring)."""
        return self._known.get(doc_id)

    def remember_as(self, doc_id: Any, doc: Document | None) -> None:
        """Keep doc as the document's copy (None: forget it). Call with its lock held."""
        self.forget(doc_id)
        if doc is None or not self.remember:
            return
        if len(self._known) >= self.remember:
            del self._known[next(iter(self._known))]  # the one kept longest ago
        self._known[doc_id] = doc

    def forget(self, doc_id: Any) -> None:
        self._known.pop(doc_id, None)


DUPLICATE_KEY = 11000


async def insert_new(keyed: Keyed, docs: list[Document]) -> set[int]:
    """Insert docs in one call, skipping any whose key is taken; return the skipped indexes."""
    if not docs:
        return set()
    try:
        await keyed.call(keyed.collection.insert_many, docs, ordered=False)
    except BulkWriteError as error:
        errors = error.details.get("writeErrors", [])
        if error.details.get("writeConcernErrors") or any(
                e.get("code") != DUPLICATE_KEY for e in errors):
            raise
        return {e["index"] for e in errors}
    return set()
