"""Reads and conditional updates of one document by its _id.

``update`` is one ``find_one_and_update({"_id": id, **guard}, update)``, which
the database applies atomically: of several racing updates guarded on the same
state, one wins.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

from store.database import Document


class Keyed:
    """A collection whose single documents are read and changed by _id."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def get(self, doc_id: Any, **must: Any) -> Document | None:
        """The document with this _id, if it also matches must (for example its owner)."""
        return await self.collection.find_one({"_id": doc_id, **must})

    async def update(self, doc_id: Any, guard: Mapping[str, Any],
                     update: Mapping[str, Any]) -> Document | None:
        """Apply update if the document still matches guard; return it after, or None."""
        return await self.collection.find_one_and_update(
            {"_id": doc_id, **guard}, update, return_document=ReturnDocument.AFTER)


DUPLICATE_KEY = 11000


async def insert_new(keyed: Keyed, docs: list[Document]) -> set[int]:
    """Insert docs in one call, skipping any whose key is taken; return the skipped indexes."""
    if not docs:
        return set()
    return await skipping_taken(keyed.collection.insert_many(docs, ordered=False))


async def skipping_taken(bulk: Awaitable[object]) -> set[int]:
    """Await an unordered bulk write; return the indexes of its writes that found their key
    taken (the rest were applied). Any other failure is raised."""
    try:
        await bulk
    except BulkWriteError as error:
        errors = error.details.get("writeErrors", [])
        if error.details.get("writeConcernErrors") or any(
                e.get("code") != DUPLICATE_KEY for e in errors):
            raise
        return {e["index"] for e in errors}
    return set()
