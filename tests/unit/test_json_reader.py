"""The one JSON reader of every transport refuses what no client should send."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from bson import Int64

from handlers.wire_json import MAX_DEPTH, dumps, loads
from trading.errors import InvalidJSON


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_nesting_up_to_the_limit_is_read_and_deeper_is_refused_without_recursion():
    assert loads(nested(MAX_DEPTH)) is not None
    for depth in (MAX_DEPTH + 1, 5_000, 50_000):
        with pytest.raises(InvalidJSON, match="nested"):
            loads(nested(depth))
    with pytest.raises(InvalidJSON, match="nested"):
        loads('{"a":' * 40 + "1" + "}" * 40)


@pytest.mark.parametrize("text", [r'{"name": "x\ud800"}', r'["\udfff"]', r'{"\ud800": 1}',
                                  r'{"a": [{"b": "ok \udc00 not"}]}'])
def test_lone_surrogates_are_refused_anywhere(text):
    with pytest.raises(InvalidJSON, match="Unicode"):
        loads(text)


def test_surrogate_pairs_and_other_unicode_are_read():
    assert loads(r'{"e": "\ud83d\ude00", "n": "Zo\u00eb \u6771\u4eac"}') == {
        "e": "\U0001f600", "n": "Zo\u00eb \u6771\u4eac"}
    assert loads('{"n": "caf\u00e9"}'.encode()) == {"n": "caf\u00e9"}


@pytest.mark.parametrize("text", ["NaN", "[Infinity]", '{"a": -Infinity}', "{", "", b"\xff\xfe",
                                  "1" * 5000])
def test_what_is_not_json_is_refused(text):
    with pytest.raises(InvalidJSON):
        loads(text)


def test_dumps_is_compact():
    assert dumps({"a": [1, "b"]}) == '{"a":[1,"b"]}'


def test_dumps_writes_what_orjson_refuses_as_the_json_module_does():
    value = {"big": 2**70, "lone": "\ud800", 1: Int64(2**63 - 1), "text": "Zürich 東京 🚀"}
    assert json.loads(dumps(value)) == json.loads(json.dumps(value))
    assert json.loads(dumps(value, separators=(",", ":"))) == json.loads(json.dumps(value))
    assert dumps({"n": Int64(-2**63), "s": "é"}) == '{"n":-9223372036854775808,"s":"é"}'


@pytest.mark.parametrize("value", [datetime(2026, 1, 1, tzinfo=UTC), object(), {"a": {1.5}}])
def test_dumps_refuses_what_the_json_module_refuses(value):
    with pytest.raises(TypeError):
        dumps(value)
