"""Give FerretDB's SQLite tables an index that its lookups by _id can use.

FerretDB 1.24 keeps each collection in a SQLite table with one JSON column,
and creates the ``_id_`` unique index on the expression ``_ferretdb_sjson->"_id"``.
Its queries and updates by _id, though, filter on ``_ferretdb_sjson->'$._id'``.
Both mean the same path, but SQLite uses an index on an expression only for
that same expression as written, so every lookup by _id reads the whole table
(at 3,000 trades, 136 ms per update and 71 ms per read; docs/BENCHMARKS.md).

This adds, beside FerretDB's own, an index on exactly the expression its
queries use. SQLite keeps it up to date on every write like any other index;
FerretDB does not list it (it is not a MongoDB index) and drops it with the
table. It changes what is fast, never what is stored or found.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from pathlib import Path

log = logging.getLogger(__name__)

SUFFIX = "_paperdesk_id"
# The `->` operator arrived in SQLite 3.38.
NEEDS = (3, 38, 0)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def add_id_lookups(database_file: Path) -> int:
    """Index _id lookups on every collection table of one FerretDB database; return how many."""
    if sqlite3.sqlite_version_info < NEEDS:
        log.info("SQLite %s is too old to index FerretDB's _id lookups", sqlite3.sqlite_version)
        return 0
    if not database_file.is_file():
        return 0
    with contextlib.closing(sqlite3.connect(database_file, timeout=10)) as connection:
        tables = [row[0] for row in connection.execute(
            'SELECT table_name FROM "_ferretdb_collections"')]
        indexes = {row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index'")}
        missing = [table for table in tables if table + SUFFIX not in indexes]
        for table in missing:
            # Table names come from FerretDB's own catalogue, quoted.
            connection.execute(
                f"CREATE INDEX IF NOT EXISTS {_quoted(table + SUFFIX)} "
                f"ON {_quoted(table)} (_ferretdb_sjson->'$._id')")
        connection.commit()
    return len(missing)
