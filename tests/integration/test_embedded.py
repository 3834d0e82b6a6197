"""The embedded database: secantusd-rs as a child process, and FerretDB data left alone."""

from __future__ import annotations

import logging
from pathlib import Path

from pymongo import AsyncMongoClient

from store.embedded import EmbeddedDatabase
from tests.services import ROOT

BINARY = ROOT / ".tools" / "bin" / "secantusd-rs"


async def test_it_serves_a_replica_set_and_says_once_that_old_ferretdb_data_is_not_read(
        tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    old = tmp_path / "ferretdb" / "paperdesk.sqlite"
    old.parent.mkdir()
    old.write_bytes(b"an earlier version's data")
    embedded = EmbeddedDatabase(BINARY, tmp_path)
    with caplog.at_level(logging.WARNING, logger="store.embedded"):
        uri = await embedded.start()
    try:
        client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(uri)
        hello = await client.admin.command("hello")
        assert hello["isWritablePrimary"] and hello["setName"]  # transactions need one
        await client.close()
    finally:
        await embedded.stop()
    warnings = [r.getMessage() for r in caplog.records if "not read" in r.getMessage()]
    assert len(warnings) == 1 and "ferretdb" in warnings[0]
    assert old.read_bytes() == b"an earlier version's data"
    assert (tmp_path / "secantus").is_dir()
    assert embedded.process is None
