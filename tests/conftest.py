"""Fixtures: real services for the session, a clean database for each test."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pymongo import MongoClient

from config.intel import IntelSettings
from config.settings import MarketSettings, NewsSettings, Settings
from notifier.base import RecordingChannel
from tests.services import DatabaseProcess, RedisProcess
from tests.support import Clock, Servers

TEST_SECRET = "test-secret-" + "x" * 40


@pytest.fixture(scope="session")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseProcess | None]:
    """A real secantusd-rs for the session, unless TEST_MONGO_URI names a MongoDB."""
    if os.environ.get("TEST_MONGO_URI"):
        yield None
        return
    process = DatabaseProcess(tmp_path_factory.mktemp("database"))
    yield process
    process.stop()


@pytest.fixture(scope="session")
def mongo_uri(database: DatabaseProcess | None) -> str:
    return database.uri if database is not None else os.environ["TEST_MONGO_URI"]


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisProcess]:
    server = RedisProcess(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
def db_name(mongo_uri: str) -> Iterator[str]:
    """A database of this test's own, dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    yield name
    client: MongoClient[dict[str, object]] = MongoClient(mongo_uri)
    client.drop_database(name)
    client.close()


@pytest.fixture
def settings(mongo_uri: str, db_name: str, tmp_path: Path) -> Settings:
    """Every market open (MARKET_HOURS=ignore): the suite runs on any day at any hour;
    tests of market hours enforce them at a moment of their choosing. No news feed is
    fetched and no intelligence source polled (tests of them point the sources at
    local stand-ins)."""
    return Settings(port=0, mongo_uri=mongo_uri, mongo_db=db_name, data_dir=tmp_path / "data",
                    jwt_secret=TEST_SECRET, bcrypt_cost=4, market=MarketSettings(hours="ignore"),
                    news=NewsSettings(enabled=False), intel=IntelSettings(sources=()))


@pytest.fixture
def redis_settings(settings: Settings, redis_server: RedisProcess) -> Settings:
    return replace(settings, redis_url=redis_server.url)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(UTC))


@pytest.fixture
def email() -> RecordingChannel:
    return RecordingChannel("email")


@pytest.fixture
async def servers(clock: Clock, email: RecordingChannel) -> AsyncIterator[Servers]:
    """Starts apps on demand; everything is stopped when the test ends."""
    started = Servers(clock, email)
    yield started
    await started.close()


@pytest.fixture
async def api(servers: Servers, settings: Settings):  # type: ignore[no-untyped-def]
    """One running server on this test's database."""
    return await servers.start(settings)


@pytest.fixture
def later(clock: Clock):  # type: ignore[no-untyped-def]
    def advance(**kwargs: float) -> None:
        clock.advance(timedelta(**kwargs))
    return advance
