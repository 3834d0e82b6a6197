"""What the store's integration tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from store.database import connect, ensure_indexes
from store.store import Store


@pytest.fixture
async def store(mongo_uri: str, db_name: str) -> AsyncIterator[Store]:
    """The store of a fresh database of the test's own, with every index."""
    client = await connect(mongo_uri)
    db = client[db_name]
    await ensure_indexes(db)
    yield Store(db)
    await client.close()
