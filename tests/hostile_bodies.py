"""Schemathesis hooks (SCHEMATHESIS_HOOKS=tests/hostile_bodies.py): besides the bodies
the schema describes, send each with one field made hostile.

The values are those that once froze or crashed the server: huge exponents,
amounts beyond what the books keep, not-quite-decimals, lone surrogates and
nesting deeper than the JSON reader takes. Every one must get a 4xx in the
documented error shape, never a 5xx.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import strategies as st


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


HOSTILE: list[Any] = [
    "1e999990", "-1e5000", "92233720368.55", 1e20, 10**30, "0.000000001", "1_0", "NaN",
    "Infinity", "\uff11\uff10", "x\ud800", "\udfff", "\u202eevil\u202c", "\x00\x1b[2J",
    "x" * 100_000, _nested(100), {"$gt": ""}, [], {},
]


@schemathesis.hook
def flatmap_body(context: Any, body: Any) -> st.SearchStrategy[Any]:
    if not isinstance(body, dict) or not body:
        return st.just(body)
    hostile = st.tuples(st.sampled_from(sorted(body)), st.sampled_from(HOSTILE)).map(
        lambda change: {**body, change[0]: change[1]})
    return st.one_of(st.just(body), hostile)
