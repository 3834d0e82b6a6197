"""Minimal reproducers of where the embedded engine (secantusd-rs 0.5.3-beta.193) differs
from MongoDB 8 in what the money paths could meet. Each states MongoDB's behaviour and
runs against any TEST_MONGO_URI; against secantusd-rs it is expected to fail (xfail,
not strict, so a fixed engine shows up as XPASS). The money paths do not depend on
either. A unit of work whose bulkWrite comes first (a market fill that knows its
account) reads nothing and so asks for no snapshot, and the engine takes such a
bulkWrite; its account update is guarded, and a conflict there, labelled or not, makes
the fill start again the long way. Every other unit of work writes the account
before its bulkWrite, and racing moves conflict on the account (a labelled, retried
error) before their inserts."""

from __future__ import annotations

import os

import pytest
from pymongo import AsyncMongoClient, InsertOne
from pymongo.errors import ClientBulkWriteException, PyMongoError
from pymongo.read_concern import ReadConcern

EMBEDDED = not os.environ.get("TEST_MONGO_URI")
engine_edge = pytest.mark.xfail(EMBEDDED, strict=False,
                                reason="secantusd-rs 0.5.3-beta.193 differs from MongoDB here")


@pytest.fixture
async def client(mongo_uri):  # type: ignore[no-untyped-def]
    opened: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongo_uri)
    yield opened
    await opened.close()


@engine_edge
async def test_a_bulk_write_may_be_the_first_command_of_a_transaction(client, db_name):
    namespace = f"{db_name}.edges"
    async with client.start_session() as session:
        await session.start_transaction(read_concern=ReadConcern("snapshot"))
        # The driver sends the transaction's read concern with its first command.
        await client.bulk_write([InsertOne({"_id": 1}, namespace=namespace)], session=session)
        await session.commit_transaction()
    assert await client[db_name]["edges"].count_documents({}) == 1


@engine_edge
async def test_a_write_conflict_in_a_bulk_write_is_a_transient_transaction_error(
        client, db_name):
    collection = client[db_name]["edges"]
    await collection.insert_one({"_id": "seen"})
    namespace = f"{db_name}.edges"
    async with client.start_session() as first, client.start_session() as second:
        await first.start_transaction()
        await second.start_transaction()
        await collection.find_one({"_id": "seen"}, session=first)
        await collection.find_one({"_id": "seen"}, session=second)
        await client.bulk_write([InsertOne({"_id": "k"}, namespace=namespace)], session=first)
        with pytest.raises(PyMongoError) as conflict:
            await client.bulk_write([InsertOne({"_id": "k"}, namespace=namespace)],
                                    session=second)
        await first.abort_transaction()
    # with_transaction retries only what carries this label.
    error = conflict.value
    assert error.has_error_label("TransientTransactionError"), (
        type(error).__name__, getattr(error, "details", None))
    assert not isinstance(error, ClientBulkWriteException) or error.error is not None
