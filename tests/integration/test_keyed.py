"""Conditional updates by _id are atomic on the database, across a connection pool."""

from __future__ import annotations

import asyncio

import pytest

from store.database import connect
from store.keyed import Keyed


@pytest.fixture
async def collection(mongo_uri, db_name):  # type: ignore[no-untyped-def]
    client = await connect(mongo_uri)
    yield client[db_name]["guards"]
    await client.close()


async def test_only_one_of_many_concurrent_claims_wins(collection):  # type: ignore[no-untyped-def]
    keyed = Keyed(collection)
    await collection.insert_one({"_id": "t", "status": "open", "claims": 0})
    won = await asyncio.gather(*(keyed.update("t", {"status": "open"},
                                              {"$set": {"status": "closing"},
                                               "$inc": {"claims": 1}}) for _ in range(20)))
    assert sum(doc is not None for doc in won) == 1
    assert (await keyed.get("t"))["claims"] == 1


async def test_many_concurrent_withdrawals_never_overdraw(collection):  # type: ignore[no-untyped-def]
    keyed = Keyed(collection)
    await collection.insert_one({"_id": "a", "cash": 10})
    taken = await asyncio.gather(*(keyed.update("a", {"cash": {"$gte": 1}},
                                                {"$inc": {"cash": -1}}) for _ in range(50)))
    assert sum(doc is not None for doc in taken) == 10
    assert (await keyed.get("a"))["cash"] == 0


async def test_a_document_is_read_only_for_who_it_must_match(collection):  # type: ignore[no-untyped-def]
    keyed = Keyed(collection)
    await collection.insert_one({"_id": "o", "user_id": "ann"})
    assert await keyed.get("o", user_id="bob") is None
    assert (await keyed.get("o", user_id="ann")) == {"_id": "o", "user_id": "ann"}
