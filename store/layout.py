"""PaperDesk's collections: every one in the database MONGO_DB names."""

from __future__ import annotations

from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from store.database import Database, Document, connect
from store.int64 import int64_database


class Collections:
    """PaperDesk's collections by name (``collections["orders"]``), in ``main``.

    Every write through them stores its ints as int64 (store/int64.py). The
    client given is closed by ``close``.
    """

    def __init__(self, main: Database, client: AsyncMongoClient[Document] | None = None) -> None:
        self.main = int64_database(main)
        self._client = client

    def __getitem__(self, collection: str) -> AsyncCollection[Document]:
        return self.main[collection]

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()


async def open_collections(uri: str, name: str) -> Collections:
    """Connect to the server at uri (store/database.py: connect) and return the
    collections of the database name, closed with the client."""
    client = await connect(uri)
    return Collections(client[name], client)


def laid_out(client: AsyncMongoClient[Document], name: str) -> Collections:
    """PaperDesk's collections under name through a client of the caller's (to read
    them, as tests and tools do)."""
    return Collections(client[name])
