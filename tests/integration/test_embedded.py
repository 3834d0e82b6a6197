"""The embedded database (secantusd-rs as a child process), and which servers are taken."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pymongo import AsyncMongoClient

from store.database import MIN_WIRE_VERSION, DatabaseUnavailable, connect, refusal
from store.embedded import EmbeddedDatabase
from tests.services import ROOT, DatabaseProcess

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


async def test_a_standalone_server_is_refused_with_one_line_saying_why(tmp_path: Path) -> None:
    standalone = DatabaseProcess(tmp_path, options=("--standalone",))
    try:
        with pytest.raises(DatabaseUnavailable) as refused:
            await connect(standalone.uri, within=10)
    finally:
        standalone.stop()
    message = str(refused.value)
    assert "replica set" in message and "\n" not in message


def test_servers_older_than_mongodb_8_are_refused_and_replica_sets_of_8_taken() -> None:
    assert refusal({"setName": "rs", "maxWireVersion": MIN_WIRE_VERSION}) is None
    assert refusal({"msg": "isdbgrid", "maxWireVersion": MIN_WIRE_VERSION}) is None
    assert "8.0" in (refusal({"setName": "rs", "maxWireVersion": 21}) or "")
    assert "replica set" in (refusal({"maxWireVersion": MIN_WIRE_VERSION}) or "")
