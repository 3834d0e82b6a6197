"""Guards checked in this process decide as the database's own filter does."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymongo import MongoClient

from store.database import connect
from store.keyed import Keyed, OneConnection, matches

BASE = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)

scalars = st.one_of(st.none(), st.integers(-3, 3), st.sampled_from(["a", "b", "open"]),
                    st.integers(0, 3).map(lambda n: BASE + timedelta(seconds=n)))
numbers = st.integers(-3, 3) | st.integers(0, 3).map(lambda n: BASE + timedelta(seconds=n))
names = st.sampled_from(["a", "b", "c"])
# Shaped like the stored documents the guards look at: plain values, a list
# of op ids (pending_ops) and a step that is null or names its op (pending).
documents = st.fixed_dictionaries({}, optional={
    "x": scalars, "y": scalars, "ops": st.lists(names, max_size=3),
    "pending": st.none() | st.fixed_dictionaries({"op": names})})


def conditions(values: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.one_of(
        values, st.fixed_dictionaries({"$ne": values}),
        st.fixed_dictionaries({"$in": st.lists(values, min_size=1, max_size=3)}),
        st.fixed_dictionaries({"$nin": st.lists(values, min_size=1, max_size=3)}),
        st.dictionaries(st.sampled_from(["$gt", "$gte", "$lt", "$lte"]), numbers, min_size=1))


guards = st.fixed_dictionaries({}, optional={
    "x": conditions(scalars), "y": conditions(scalars), "ops": conditions(names),
    "pending": st.none() | st.fixed_dictionaries({"$ne": st.none()}),
    "pending.op": conditions(st.none() | names)})


@pytest.fixture
async def collection(mongo_uri, db_name):
    client = await connect(mongo_uri)
    yield client[db_name]["guards"]
    await client.close()


@pytest.fixture
def sync_collection(mongo_uri, db_name):
    client: MongoClient[dict[str, object]] = MongoClient(mongo_uri, tz_aware=True)
    yield client[db_name]["guards"]
    client.close()


@settings(max_examples=300, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=documents, guard=guards)
def test_a_guard_checked_here_decides_as_the_database_filter_does(sync_collection, doc, guard):
    sync_collection.replace_one({"_id": 1}, doc, upsert=True)
    database_says = sync_collection.count_documents({"_id": 1, **guard}) == 1
    assert matches({"_id": 1, **doc}, guard) == database_says, (doc, guard)


def test_unsupported_guard_operators_are_refused():
    with pytest.raises(ValueError, match=r"\$exists"):
        matches({"x": 1}, {"x": {"$exists": True}})


@pytest.mark.parametrize("check_here", [False, True])
async def test_only_one_of_many_concurrent_claims_wins(collection, check_here):
    keyed = Keyed(collection, OneConnection() if check_here else None)
    await collection.insert_one({"_id": "t", "status": "open", "claims": 0})
    won = await asyncio.gather(*(keyed.update("t", {"status": "open"},
                                              {"$set": {"status": "closing"},
                                               "$inc": {"claims": 1}}) for _ in range(20)))
    assert sum(doc is not None for doc in won) == 1
    assert (await keyed.get("t"))["claims"] == 1


def counting(keyed: Keyed, fail: set[str] | None = None) -> list[str]:
    """Record the name of every database call keyed makes; fail those named in fail once."""
    calls: list[str] = []
    original = keyed.call

    async def call(fn, *args, **kwargs):
        calls.append(fn.__name__)
        if fail and fn.__name__ in fail:
            fail.discard(fn.__name__)
            raise ConnectionError("dropped")
        return await original(fn, *args, **kwargs)

    keyed.call = call  # type: ignore[method-assign]
    return calls


async def test_a_remembered_document_is_not_read_again_until_a_call_fails(collection):
    keyed = Keyed(collection, OneConnection(), remember=10)
    await collection.insert_one({"_id": "a", "cash": 100})
    calls = counting(keyed)
    take = {"$inc": {"cash": -30}}
    assert (await keyed.update("a", {"cash": {"$gte": 30}}, take))["cash"] == 70
    assert (await keyed.update("a", {"cash": {"$gte": 30}}, take))["cash"] == 40
    assert calls == ["find_one", "find_one_and_update", "find_one_and_update"]
    # The copy refuses what the database would, without asking it.
    assert await keyed.update("a", {"cash": {"$gte": 50}}, take) is None
    assert len(calls) == 3
    # A call that fails may have written or not: the next update reads again.
    failing = counting(keyed, fail={"find_one_and_update"})
    with pytest.raises(ConnectionError):
        await keyed.update("a", {"cash": {"$gte": 30}}, take)
    assert keyed.known("a") is None
    assert (await keyed.update("a", {"cash": {"$gte": 30}}, take))["cash"] == 10
    assert failing == ["find_one_and_update", "find_one", "find_one_and_update"]


def take(amount: int):
    """An update_each change: take amount from cash, worked out on the copy."""
    def change(doc):
        return {"$inc": {"cash": -amount}}, {**doc, "cash": doc["cash"] - amount}
    return change


async def test_updates_of_several_documents_go_in_one_call_with_guards_tested_on_copies(
        collection):
    keyed = Keyed(collection, OneConnection(), remember=10)
    await collection.insert_many([{"_id": "a", "cash": 100}, {"_id": "b", "cash": 20}])
    calls = counting(keyed)
    guard = {"cash": {"$gte": 30}}
    after = await keyed.update_each([("a", guard, take(30)), ("b", guard, take(30))])
    assert after == [{"_id": "a", "cash": 70}, None]  # b could not pay: nothing written
    assert calls == ["find_one", "find_one", "bulk_write"]
    assert await keyed.update_each([("b", {"cash": 20}, take(5)), ("a", guard, take(30))]) == [
        {"_id": "b", "cash": 15}, {"_id": "a", "cash": 40}]
    assert calls[3:] == ["bulk_write"]  # no reads: both copies were kept
    assert [await collection.find_one({"_id": n}) for n in "ab"] == [
        keyed.known("a"), keyed.known("b")]
    # A failed call may have written or not: both copies are forgotten, and read again.
    counting(keyed, fail={"bulk_write"})
    with pytest.raises(ConnectionError):
        await keyed.update_each([("a", guard, take(30)), ("b", {}, take(5))])
    assert keyed.known("a") is None and keyed.known("b") is None
    assert [doc["cash"] for doc in await keyed.update_each([
        ("a", guard, take(30)), ("b", {}, take(5))])] == [10, 10]
    # Refused: without copies, the same document twice, or a document that is gone.
    with pytest.raises(TypeError):
        await Keyed(collection, OneConnection()).update_each([("a", {}, take(1))])
    with pytest.raises(ValueError):
        await keyed.update_each([("a", {}, take(1)), ("a", {}, take(1))])
    await collection.delete_one({"_id": "b"})  # behind the copy's back
    with pytest.raises(RuntimeError):
        await keyed.update_each([("a", {}, take(1)), ("b", {}, take(1))])
    assert keyed.known("a") is None and keyed.known("b") is None
    assert await keyed.update_each([("a", {}, take(1)), ("b", {}, take(1))]) == [
        {"_id": "a", "cash": 8}, None]  # read again: a had paid 1, b is gone


async def test_concurrent_updates_one_by_one_and_in_groups_are_exact(collection):
    keyed = Keyed(collection, OneConnection(), remember=10)
    await collection.insert_many([{"_id": "a", "cash": 100}, {"_id": "b", "cash": 100}])
    guard = {"cash": {"$gte": 10}}
    results = await asyncio.gather(
        *(keyed.update_each([("a", guard, take(10)), ("b", guard, take(10))])
          for _ in range(8)),
        *(keyed.update(n, guard, {"$inc": {"cash": -10}}) for n in "ab" for _ in range(8)))
    grouped = [doc for result in results[:8] for doc in result]
    single = results[8:]
    assert sum(doc is not None for doc in grouped + single) == 20
    assert [(await collection.find_one({"_id": n}))["cash"] for n in "ab"] == [0, 0]
    assert [keyed.known(n)["cash"] for n in "ab"] == [0, 0]


@pytest.mark.parametrize("remember", [0, 10])
async def test_many_concurrent_withdrawals_with_or_without_copies_are_exact(collection,
                                                                            remember):
    keyed = Keyed(collection, OneConnection(), remember=remember)
    await collection.insert_one({"_id": "a", "cash": 100})
    results = await asyncio.gather(*(keyed.update("a", {"cash": {"$gte": 10}},
                                                  {"$inc": {"cash": -10}}) for _ in range(50)))
    assert sum(doc is not None for doc in results) == 10
    assert (await collection.find_one({"_id": "a"}))["cash"] == 0
    assert (keyed.known("a") or {}).get("cash") == (0 if remember else None)


async def test_copies_are_kept_for_a_bounded_number_of_documents_and_never_on_mongodb(
        collection):
    keyed = Keyed(collection, OneConnection(), remember=2)
    await collection.insert_many([{"_id": n, "v": 0} for n in range(3)])
    for n in range(3):
        await keyed.update(n, {"v": 0}, {"$inc": {"v": 1}})
    assert [keyed.known(n) for n in range(3)] == [None, {"_id": 1, "v": 1}, {"_id": 2, "v": 1}]
    on_mongodb = Keyed(collection, None, remember=2)  # the database checks guards there
    await on_mongodb.update(0, {"v": 0}, {"$inc": {"v": 1}})
    assert on_mongodb.known(0) is None
