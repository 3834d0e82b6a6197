"""The one JSON reader of every transport: REST bodies, /ws messages and Socket.IO packets.

Python's json module accepts what no client should send and a server should
never hold: nesting deep enough to exhaust the interpreter's recursion (a
RecursionError, or worse, in whatever walks the value next), lone UTF-16
surrogates (``"\\ud800"``, which can never be encoded again, so the first
log line or database write fails), and the non-standard constants NaN and
Infinity. ``loads`` refuses all three with InvalidJSON, and ``dumps`` writes
compact JSON: orjson's (UTF-8, about ten times as fast as the json module on an
order's events; a NaN or an infinity, which no view holds, as null, which is JSON),
or the json module's for what orjson will not write (a lone surrogate, an int past
64 bits, a key that is not a string).
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from trading.errors import InvalidJSON

# Deeper than any payload of ours (the deepest is three levels); far below the
# interpreter's recursion limit, so nothing that walks a value can overflow.
MAX_DEPTH = 32
# A \u escape of a UTF-16 surrogate: a lone one survives json.loads as a lone
# surrogate. Only payloads with such an escape are walked to look for one.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")


def _no_constant(name: str) -> Any:
    raise InvalidJSON(f"{name} is not JSON: send numbers as digits or strings.")


def loads(text: str | bytes | bytearray) -> Any:
    """Parse JSON text, or raise InvalidJSON saying what is wrong with it."""
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise InvalidJSON(f"JSON may be nested at most {MAX_DEPTH} levels deep.") from None
    except (ValueError, UnicodeDecodeError):  # JSONDecodeError, bad UTF-8, huge integers
        raise InvalidJSON() from None
    raw = text if isinstance(text, str) else bytes(text).decode("utf-8", "replace")
    _check(value, surrogates=_SURROGATE_ESCAPE.search(raw) is not None)
    return value


_COMPACT = json.JSONEncoder(separators=(",", ":"))
_PACKET_OPTIONS = {"separators": (",", ":")}  # what Socket.IO's packets ask for
# Datetimes and dataclasses fall back to the json module, which refuses them, as it
# always did: a moment goes out as PaperDesk shows it (an ISO string it made), never in
# a form an encoder picked.
_AS_JSON_MODULE = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def dumps(value: Any, **options: Any) -> str:
    """Compact JSON text (the Socket.IO packet encoder calls this too)."""
    if not options or options == _PACKET_OPTIONS:
        try:
            return orjson.dumps(value, option=_AS_JSON_MODULE).decode()
        except TypeError:  # orjson.JSONEncodeError: the json module decides
            return _COMPACT.encode(value)
    options.setdefault("separators", (",", ":"))
    return json.dumps(value, **options)


def _check(value: Any, *, surrogates: bool) -> None:
    """Refuse nesting beyond MAX_DEPTH and, when asked to look, lone surrogates."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children: Any = item.values()
            if surrogates:
                for key in item:
                    _check_text(key)
        elif isinstance(item, list):
            children = item
        else:
            if surrogates and isinstance(item, str):
                _check_text(item)
            continue
        if depth > MAX_DEPTH:
            raise InvalidJSON(f"JSON may be nested at most {MAX_DEPTH} levels deep.")
        pending.extend((child, depth + 1) for child in children)


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidJSON("Strings must be valid Unicode (a lone UTF-16 surrogate "
                          "is not).") from None
