"""Every integer PaperDesk stores is a 64-bit BSON integer.

PyMongo writes a Python int that fits in 32 bits as a BSON int32. Amounts are
counts of 10^-8 (trading.money), so a counter created as 0 and moved by
``$inc`` of a few dollars is int32 + int32, and a store that adds them in 32
bits wraps at 2^31 units ($21.47483648): FerretDB 1.24 did. Written as int64
from the start, no counter or increment is ever 32-bit, whatever the server.

``Int64Collection`` is the one place this happens (store/layout.py's
Collections hands out only these, through ``Int64Database``): every document, update and
replacement it writes has its ints made ``bson.Int64`` (in place, so a caller
keeps seeing the ``_id`` an insert adds). Filters are left alone: MongoDB
compares int32 and int64 by value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bson import Int64
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from store.database import Database, Document


def int64s(value: Any) -> Any:
    """value with every int inside it (not bools) made Int64; dicts and lists in place.

    On every write's path: exact type checks, not isinstance against the abstract
    collection types, which cost several times as much.
    """
    kind = type(value)
    if kind is int:
        return Int64(value)
    if kind is Converted:
        return value
    if kind is dict:
        for key, item in value.items():
            if type(item) in _CONVERTED:
                value[key] = int64s(item)
    elif kind is list:
        for index, item in enumerate(value):
            if type(item) in _CONVERTED:
                value[index] = int64s(item)
    elif kind is tuple:
        return [int64s(item) for item in value]
    return value


# The exact types int64s changes or looks inside (PaperDesk writes plain dicts and lists).
_CONVERTED = frozenset({int, dict, list, tuple})


class Converted(dict):  # type: ignore[type-arg]
    """A document built with its ints Int64 already: int64s leaves it as
    it is instead of walking it again."""


class Int64Collection(AsyncCollection[Document]):
    """A collection whose writes store every int as int64 (module docstring).

    ``bulk_write`` requests are built by the caller: build their documents
    and updates with ``int64s`` (store/keyed.py does).
    """

    async def insert_one(self, document: Any, *args: Any, **kwargs: Any) -> Any:
        return await super().insert_one(int64s(document), *args, **kwargs)

    async def insert_many(self, documents: Iterable[Any], *args: Any, **kwargs: Any) -> Any:
        return await super().insert_many([int64s(doc) for doc in documents], *args, **kwargs)

    async def update_one(self, filter: Mapping[str, Any], update: Any,
                         *args: Any, **kwargs: Any) -> Any:
        return await super().update_one(filter, int64s(update), *args, **kwargs)

    async def update_many(self, filter: Mapping[str, Any], update: Any,
                          *args: Any, **kwargs: Any) -> Any:
        return await super().update_many(filter, int64s(update), *args, **kwargs)

    async def replace_one(self, filter: Mapping[str, Any], replacement: Any,
                          *args: Any, **kwargs: Any) -> Any:
        return await super().replace_one(filter, int64s(replacement), *args, **kwargs)

    async def find_one_and_update(self, filter: Mapping[str, Any], update: Any,
                                  *args: Any, **kwargs: Any) -> Any:
        return await super().find_one_and_update(filter, int64s(update), *args, **kwargs)

    async def find_one_and_replace(self, filter: Mapping[str, Any],
                                   replacement: Any, *args: Any, **kwargs: Any) -> Any:
        return await super().find_one_and_replace(filter, int64s(replacement), *args,
                                                  **kwargs)


class Int64Database(AsyncDatabase[Document]):
    """A database whose collections are Int64Collections."""

    def __getitem__(self, name: str) -> AsyncCollection[Document]:
        return Int64Collection(self, name)

    def get_collection(self, name: str, *args: Any, **kwargs: Any) -> AsyncCollection[Document]:
        return Int64Collection(self, name, False, *args, **kwargs)


def int64_database(database: Database) -> Database:
    """database, with every write through its collections storing ints as int64."""
    if isinstance(database, Int64Database):
        return database
    return Int64Database(database.client, database.name, database.codec_options,
                         database.read_preference, database.write_concern,
                         database.read_concern)
