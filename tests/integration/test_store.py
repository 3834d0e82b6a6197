"""Repositories against the real database: conditional updates and recovery."""

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from bson import Int64

from handlers import wire_json
from store.database import connect, ensure_indexes, stored_time
from store.events import run_document
from store.unit_of_work import DuplicateKey, Stale, Writes
from trading.errors import EmailTaken

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def live() -> datetime:
    """The time now: sessions and tokens expire by the server's clock (TTL indexes), so
    those that must stay put while a test runs expire after it, not after NOW."""
    return stored_time(datetime.now(UTC))


async def test_guarded_inc_is_exact_under_concurrency(store):
    """Fifty concurrent withdrawals of 10 from 100: exactly ten succeed.

    This is the property every money move relies on, over a connection pool.
    """
    accounts = store.db["race"]
    await accounts.insert_one({"_id": "a", "cash": 100})
    results = await asyncio.gather(*(accounts.update_one(
        {"_id": "a", "cash": {"$gte": 10}}, {"$inc": {"cash": -10}}) for _ in range(50)))
    assert sum(result.modified_count for result in results) == 10
    assert (await accounts.find_one({"_id": "a"}))["cash"] == 0


def user(user_id: str, email: str) -> dict:
    return {"_id": user_id, "email": email, "name": "N", "phone": None,
            "password_hash": "h", "created_at": NOW, "updated_at": NOW}


async def test_unique_email_is_enforced_by_the_database(store):
    await store.users.create(user("u1", "a@example.com"))
    with pytest.raises(EmailTaken):
        await store.users.create(user("u2", "a@example.com"))


async def test_rotation_is_a_single_winner_compare_and_swap(store):
    now = live()
    await store.sessions.create("s1", "u1", "jti-0", now, now + timedelta(days=1))
    results = await asyncio.gather(*(
        store.sessions.rotate("s1", "jti-0", f"jti-{n}", now, now + timedelta(days=1))
        for n in range(1, 6)))
    winners = [doc for doc in results if doc is not None]
    assert len(winners) == 1
    assert (await store.sessions.get("s1"))["refresh_jti"] == winners[0]["refresh_jti"]


async def test_revoked_or_expired_sessions_do_not_rotate(store):
    now = live()
    await store.sessions.create("s1", "u1", "j", now, now + timedelta(days=1))
    await store.sessions.create("s2", "u1", "j", now, now + timedelta(seconds=1))
    assert await store.sessions.revoke("s1", now, "logout")
    assert not await store.sessions.revoke("s1", now, "logout")  # once
    assert await store.sessions.rotate("s1", "j", "k", now, now) is None
    assert await store.sessions.rotate("s2", "j", "k", now + timedelta(seconds=2), now) is None


async def test_revoke_user_keeps_the_named_session(store):
    now = live()
    for sid in ("s1", "s2", "s3"):
        await store.sessions.create(sid, "u1", "j", now, now + timedelta(days=1))
    await store.sessions.create("other", "u2", "j", now, now + timedelta(days=1))
    assert sorted(await store.sessions.revoke_user("u1", now, "pw", keep="s2")) == ["s1", "s3"]
    assert await store.sessions.active("s2") is not None
    assert await store.sessions.active("other") is not None


async def test_reset_token_is_consumed_once_even_concurrently(store):
    now = live()
    await store.resets.create("hash", "u1", now, now + timedelta(minutes=30))
    results = await asyncio.gather(*(store.resets.consume("hash", now) for _ in range(5)))
    assert results.count("u1") == 1
    assert results.count(None) == 4


async def test_recovery_finishes_an_interrupted_account_deletion(store):
    await store.users.create(user("u1", "a@example.com"))
    await store.users.create(user("u2", "b@example.com"))
    now = live()
    await store.sessions.create("s1", "u1", "j", now, now + timedelta(days=1))
    await store.sessions.create("s2", "u2", "j", now, now + timedelta(days=1))
    # A crash right after the first step of a deletion:
    await store.db["users"].update_one({"_id": "u1"}, {"$set": {"deleting_at": NOW}})
    assert await store.users.by_email("a@example.com") is None

    await store.recover(NOW)

    assert await store.db["users"].count_documents({}) == 1
    assert await store.db["sessions"].count_documents({"user_id": "u1"}) == 0
    assert await store.sessions.active("s2") is not None


async def test_a_session_past_its_expiry_is_refused_before_the_ttl_monitor_deletes_it(store):
    # Expiring an hour from the server's now: the TTL monitor leaves it; read an hour
    # and a bit later, it is over all the same.
    now = live()
    await store.sessions.create("s1", "u1", "j", now, now + timedelta(hours=1))
    after = now + timedelta(hours=1, seconds=1)
    assert await store.sessions.active("s1", now) is not None
    assert await store.sessions.active("s1", now + timedelta(hours=1)) is None  # at expires_at
    assert await store.sessions.active("s1", after) is None
    assert await store.sessions.rotate("s1", "j", "k", after, after + timedelta(days=1)) is None
    assert (await store.sessions.get("s1"))["refresh_jti"] == "j"  # still stored, unchanged


async def test_active_reckons_expiry_by_the_time_now_unless_told(store):
    now = live()
    await store.sessions.create("past", "u1", "j", now, now - timedelta(seconds=1))
    await store.sessions.create("live", "u1", "j", now, now + timedelta(minutes=5))
    assert await store.sessions.active("past") is None
    assert await store.sessions.active("live") is not None
    assert await store.sessions.active("past", now - timedelta(seconds=2)) is not None


async def test_a_reset_token_past_its_expiry_is_refused_before_the_ttl_monitor_deletes_it(
        store):
    now = live()
    await store.resets.create("hash", "u1", now, now + timedelta(hours=1))
    assert await store.resets.consume("hash", now + timedelta(hours=1)) is None
    assert await store.db["password_resets"].count_documents({"_id": "hash"}) == 1
    assert await store.resets.consume("hash", now) == "u1"


@pytest.mark.parametrize("collection", ["sessions", "password_resets", "email_verifications"])
async def test_expiring_records_have_a_ttl_index_on_expires_at(store, collection):
    indexes = {index["name"]: index async for index in await store.db[collection].list_indexes()}
    ttl = indexes["expires_at_ttl"]
    assert dict(ttl["key"]) == {"expires_at": 1}
    assert ttl["expireAfterSeconds"] == 0


async def test_recovery_leaves_sessions_and_tokens_to_the_ttl_indexes(store):
    now = live()
    await store.sessions.create("old", "u1", "j", now, now + timedelta(minutes=5))
    await store.resets.create("old", "u1", now, now + timedelta(minutes=5))
    await store.recover(now + timedelta(hours=1))  # no purge by the caller's clock
    assert await store.sessions.get("old") is not None
    assert await store.db["password_resets"].count_documents({}) == 1


async def test_events_come_back_as_stored_in_order(store):
    data = {"order": {"id": "o1", "quantity": "1.5", "filled_at": "2026-01-05T12:00:00Z",
                      "stop_loss": None, "exits": [{"price": "101"}]}}
    cash = {"account": {"cash": "9"}}
    # One call: u1's 1-3 follow on, one run; u2's, between, leave u1's 4 a run of its own;
    # u1's 5 and 6 follow on, stored by another call.
    await store.events.append_group([
        ("u1", [("order_update", data), ("trade_update", {"event": "opened"})], 1),
        ("u1", [("account_update", cash)], 3),
        ("u2", [("account_update", cash)], 1),
        ("u1", [("account_update", cash)], 4)], NOW)
    await store.events.append_group([
        ("u1", [("account_update", {"account": {"cash": "8"}}),
                ("account_update", {"account": {"cash": "7"}})], 5)], NOW)
    stored = [doc async for doc in store.db["events"].find({"user_id": "u1"}).sort("seq", 1)]
    assert [(doc["seq"], doc["last"]) for doc in stored] == [(1, 3), (4, 4), (5, 6)]
    assert stored[0]["events"] == [  # an array of documents, queryable like any other
        {"type": "order_update", "data": data},
        {"type": "trade_update", "data": {"event": "opened"}},
        {"type": "account_update", "data": cash}]
    assert await store.db["events"].count_documents(
        {"events.data.order.id": "o1"}) == 1
    events = await store.events.after("u1", 0, 10)
    assert [(e["seq"], e["type"], e["data"], e["at"]) for e in events] == [
        (1, "order_update", data, NOW), (2, "trade_update", {"event": "opened"}, NOW),
        (3, "account_update", cash, NOW), (4, "account_update", cash, NOW),
        (5, "account_update", {"account": {"cash": "8"}}, NOW),
        (6, "account_update", {"account": {"cash": "7"}}, NOW)]
    # From inside a run, across runs, up to a limit.
    assert [e["seq"] for e in await store.events.after("u1", 2, 3)] == [3, 4, 5]
    assert [e["seq"] for e in await store.events.after("u1", 1, 1)] == [2]
    assert [e["seq"] for e in await store.events.after("u1", 4, 10)] == [5, 6]
    assert [e["seq"] for e in await store.events.after("u1", 5, 10)] == [6]
    assert await store.events.after("u1", 6, 10) == []
    assert [(e["seq"], e["data"]) for e in await store.events.after("u2", 0, 10)] == [(1, cash)]


async def test_event_data_round_trips_non_ascii_nested_and_big_ints(store):
    data = {
        "note": "Zürich — 東京 🚀 \"quoted\" $dollar a.b \u0000 end",
        "deep": {"a": [1, [2, {"b": [3, {"c": None}]}], (4, 5)], "empty": {}, "none": []},
        "ints": [0, -1, 2**31 - 1, 2**31, -2**31 - 1, 2**53 + 1, 2**63 - 1, -2**63],
        "flags": [True, False], "ratio": 0.125, "price": "123456789.12345678",
    }
    sent = json.loads(json.dumps(data))  # the tuple as JSON (and BSON) has it: a list
    events = [("alert_triggered", data), ("trade_update", {"fired": 2**62})]
    document = run_document("u1", events, 1, NOW)
    await store.events.append_group([("u1", events, 1)], NOW)

    got = await store.events.after("u1", 0, 10)
    assert [(e["type"], e["data"]) for e in got] == [
        ("alert_triggered", sent), ("trade_update", {"fired": 2**62})]
    ints = got[0]["data"]["ints"]
    assert ints == data["ints"]
    assert all(type(value) is Int64 for value in ints)  # stored int64, read back as Int64
    assert type(got[0]["data"]["flags"][0]) is bool
    # As the wire has them (GET /api/v1/events): plain JSON numbers, exactly.
    wire = json.loads(json.dumps({"seq": got[0]["seq"], "type": got[0]["type"],
                                  **got[0]["data"]}, separators=(",", ":")))
    assert wire == {"seq": 1, "type": "alert_triggered", **sent}
    # The caller's events, published afterwards, hold the same values: the JSON every
    # transport writes of them is what was sent.
    assert document["events"][0]["data"] is data
    assert json.loads(wire_json.dumps(["alert_triggered", data])) == ["alert_triggered", sent]


def placed(order_id: str, user_id: str, client_order_id: str, status: str = "new") -> dict:
    return {"_id": order_id, "user_id": user_id, "client_order_id": client_order_id,
            "fingerprint": "f", "status": status, "created_at": NOW}


async def test_a_client_order_id_is_taken_once_by_units_of_work_racing_for_it(store):
    async def claim(order_id: str) -> str:
        async def work(writes: Writes) -> None:
            # As every money move: the account first (racing moves conflict there and
            # start again), then the inserts.
            await writes.update("accounts", "u1", {}, {"$inc": {"event_seq": 1}})
            writes.insert("orders", placed(order_id, "u1", "same"))
        try:
            await store.unit_of_work.run(work)
        except DuplicateKey as taken:
            return taken.collection
        return "won"

    await store.accounts.get_or_create("u1", 0, "USD", NOW)
    results = await asyncio.gather(*(claim(f"c{n}") for n in range(8)))
    assert sorted(results) == ["orders"] * 7 + ["won"]
    holder = await store.orders.holder("u1", "same")
    assert holder is not None and results[int(holder["_id"][1:])] == "won"
    assert await store.orders.holder("u2", "same") is None


async def test_the_order_claims_of_earlier_versions_are_dropped_at_start_up(store):
    await store.db["orders"].insert_many([placed(f"o{n}", "u1", f"k{n}", "filled")
                                          for n in range(3)])
    await store.db["claims"].insert_one(placed("o0", "u1", "k0"))
    await store.recover(NOW)
    assert await store.db.main.list_collection_names(filter={"name": "claims"}) == []
    assert (await store.orders.holder("u1", "k2"))["_id"] == "o2"
    await store.recover(NOW)  # nothing to drop: nothing happens


async def test_an_index_a_newer_one_replaces_is_dropped_and_the_newer_one_made(mongo_uri,
                                                                                db_name):
    client = await connect(mongo_uri)
    db = client[f"{db_name}_replaced"]
    await db["trades"].create_index([("user_id", 1), ("status", 1)], name="user_status")
    await ensure_indexes(db)
    await ensure_indexes(db)  # again: nothing left to drop
    names = set(await db["trades"].index_information())
    assert "user_status" not in names and "user_status_symbol_side" in names
    await client.drop_database(f"{db_name}_replaced")
    await client.close()


async def test_a_replacement_in_a_unit_of_work_writes_int64s_and_a_gone_document_is_stale(
        store):
    await store.db["trades"].insert_one({"_id": "t1", "user_id": "u1", "quantity": 5})

    async def replace(doc_id: str) -> None:
        async def work(writes: Writes) -> None:
            lot = await writes.get("trades", "t1")
            writes.replace_later("trades", doc_id, {**lot, "quantity": 0, "margin": 2**40,
                                                    "exits": [{"pnl": -3}]})
        await store.unit_of_work.run(work)

    await replace("t1")
    stored = await store.db["trades"].find_one({"_id": "t1"})
    assert stored == {"_id": "t1", "user_id": "u1", "quantity": 0, "margin": 2**40,
                      "exits": [{"pnl": -3}]}
    assert {type(stored["quantity"]), type(stored["margin"]),
            type(stored["exits"][0]["pnl"])} == {Int64}
    with pytest.raises(Stale):
        await replace("gone")
    assert await store.db["trades"].count_documents({}) == 1


async def test_processes_starting_at_once_each_drop_a_replaced_index_without_failing(
        mongo_uri, db_name):
    """Cluster mode: every process runs ensure_indexes at start-up, with no lock. Two that
    find the index a newer one replaces must both start (the second finds it gone)."""
    clients = [await connect(mongo_uri) for _ in range(2)]
    name = f"{db_name}_replaced_race"
    try:
        await clients[0][name]["trades"].create_index([("user_id", 1), ("status", 1)],
                                                      name="user_status")
        await asyncio.gather(*(ensure_indexes(client[name]) for client in clients))
        names = set(await clients[0][name]["trades"].index_information())
        assert "user_status" not in names and "user_status_symbol_side" in names
    finally:
        await clients[0].drop_database(name)
        for client in clients:
            await client.close()
