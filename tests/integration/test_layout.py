"""Which database each collection is kept in (store/layout.py), against the real server."""

import pytest

from server import keys
from store.database import ensure_indexes
from store.layout import APART, database_names, laid_out, move_apart, open_collections


@pytest.fixture
async def collections(mongo_uri, db_name):
    opened, ferretdb = await open_collections(mongo_uri, db_name)
    if not ferretdb:
        await opened.close()
        pytest.skip("the collections are laid apart on FerretDB only")
    await ensure_indexes(opened)
    yield opened
    await opened.close()


async def test_on_ferretdb_the_books_and_the_events_have_a_database_and_a_connection_each(
        collections, db_name):
    assert [db.name for db in collections.databases] == [
        db_name, f"{db_name}_books", f"{db_name}_events"] == database_names(db_name)
    assert {name: collections[name].database.name for name in APART} == {
        "orders": f"{db_name}_books", "trades": f"{db_name}_books",
        "ledger": f"{db_name}_books", "events": f"{db_name}_events"}
    assert collections["accounts"].database.name == collections["claims"].database.name == db_name
    # Each database through a client of its own (one connection each).
    assert len({id(db.client) for db in collections.databases}) == 3
    # Read through one client, the same collections are found in the same places.
    one = laid_out(collections.main.client, db_name)
    assert {name: one[name].full_name for name in (*APART, "accounts")} == {
        name: collections[name].full_name for name in (*APART, "accounts")}


def documents(collection: str, count: int) -> list[dict]:
    return [{"_id": f"{collection}{n}", "user_id": "u1", "n": n} for n in range(count)]


async def test_documents_an_earlier_layout_kept_in_the_main_database_move_once(collections):
    for name in APART:
        await collections.main[name].insert_many(documents(name, 3))
    # A move that stopped half-way: some orders were copied already.
    await collections["orders"].insert_one(documents("orders", 1)[0])
    assert await move_apart(collections, batch=2) == 11
    for name in APART:
        found = [doc async for doc in collections[name].find({}).sort("_id", 1)]
        assert found == documents(name, 3), name
        assert name not in await collections.main.list_collection_names()
    assert await move_apart(collections) == 0


async def test_a_server_finds_the_orders_an_earlier_layout_kept(servers, settings, mongo_uri,
                                                                 db_name):
    opened, ferretdb = await open_collections(mongo_uri, db_name)
    try:
        if not ferretdb:
            pytest.skip("the collections are laid apart on FerretDB only")
        await ensure_indexes(opened.main)  # everything in one database, as before
        await opened.main["orders"].insert_one({
            "_id": "o1", "user_id": "u1", "client_order_id": "c1", "status": "filled"})
    finally:
        await opened.close()
    api = await servers.start(settings)
    store = api.app[keys.STORE]
    assert await store.orders.get("u1", "o1") is not None
    assert "orders" not in await store.db.main.list_collection_names()
