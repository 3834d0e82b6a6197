"""Expired sessions and reset tokens: the database's TTL monitor deletes them.

This runs a secantusd-rs of its own, with the monitor's pass every second
(ttlMonitorSleepSecs; MongoDB's default, and the engine's, is 60), so the
shared test database is left as it is.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from store.database import connect, ensure_indexes, stored_time
from store.store import Store
from tests.services import DatabaseProcess


@pytest.fixture(scope="module")
def own_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseProcess]:
    process = DatabaseProcess(Path(tmp_path_factory.mktemp("ttl")))
    yield process
    process.stop()


@pytest.fixture
async def store(own_database: DatabaseProcess) -> AsyncIterator[Store]:
    client = await connect(own_database.uri)
    await client.admin.command("setParameter", 1, ttlMonitorSleepSecs=1)
    db = client["ttl"]
    await ensure_indexes(db)
    yield Store(db)
    await client.drop_database("ttl")
    await client.close()


async def eventually_gone(count: object, within: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while await count() > 0:  # type: ignore[operator]
        assert loop.time() < deadline, "the TTL monitor did not delete the expired records"
        await asyncio.sleep(0.2)


async def test_the_ttl_monitor_deletes_expired_sessions_and_tokens_only(store: Store) -> None:
    now = stored_time(datetime.now(UTC))
    past, future = now - timedelta(seconds=1), now + timedelta(hours=1)
    await store.sessions.create("old", "u1", "j", now, past)
    await store.sessions.create("live", "u1", "j", now, future)
    await store.resets.create("old", "u1", now, past)
    await store.verifications.create("old", "u1", now, past)
    await store.verifications.create("live", "u2", now, future)

    async def expired() -> int:
        return sum([await store.db[name].count_documents({"expires_at": {"$lte": now}})
                    for name in ("sessions", "password_resets", "email_verifications")])

    await eventually_gone(expired)
    assert [doc["_id"] async for doc in store.db["sessions"].find({})] == ["live"]
    assert await store.db["password_resets"].count_documents({}) == 0
    assert [doc["_id"] async for doc in store.db["email_verifications"].find({})] == ["live"]
    assert await store.sessions.active("live") is not None
