"""Reading and checking request bodies and socket payloads."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

from aiohttp import web

from handlers import wire_json
from trading.errors import InvalidInput, InvalidJSON
from trading.money import LARGEST, PLACES, RANGE, problem

Body = dict[str, Any]
# A plain decimal: ASCII digits only (re.ASCII), an optional point and a short exponent.
_PLAIN_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,6})?",
                            re.ASCII)
MAX_DECIMAL_CHARS = 64
_WHOLE = re.compile(r"-?[0-9]{1,20}", re.ASCII)
_LARGEST_INT = 10**20
E = TypeVar("E", bound=StrEnum)


async def read_json(request: web.Request) -> Body:
    """Return the request body as a JSON object, or raise InvalidJSON."""
    return payload(wire_json.loads(await request.read()), InvalidJSON)


def payload(data: Any, error: type[InvalidInput] = InvalidInput) -> Body:
    """Check that a body or socket payload is an object."""
    if not isinstance(data, dict):
        raise error("The payload must be a JSON object.")
    return data


def string(body: Body, name: str, *, max_chars: int = 1000) -> str:
    """Return a required string field."""
    if name not in body or body[name] is None:
        raise InvalidInput(f"'{name}' is required.", field=name)
    return _check_string(body[name], name, max_chars)


def optional_string(body: Body, name: str, *, max_chars: int = 1000) -> str | None:
    """Return a string field that may be missing or null."""
    value = body.get(name)
    return None if value is None else _check_string(value, name, max_chars)


def _check_string(value: Any, name: str, max_chars: int) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"'{name}' must be a string.", field=name)
    if len(value) > max_chars:
        raise InvalidInput(f"'{name}' must be at most {max_chars} characters.", field=name)
    return value


def integer_param(request: web.Request, name: str, *, default: int, low: int, high: int) -> int:
    """Read an integer query parameter within [low, high]."""
    raw = request.query.get(name)
    return default if raw is None else whole_number(raw, name, low=low, high=high)


def whole_number(raw: Any, name: str, *, low: int, high: int) -> int:
    """A whole number within [low, high], sent as a JSON integer or as ASCII digits."""
    if isinstance(raw, str) and _WHOLE.fullmatch(raw):
        raw = int(raw)
    if isinstance(raw, bool) or not isinstance(raw, int) or not low <= raw <= high:
        raise InvalidInput(f"'{name}' must be a whole number from {low} to {high}.",
                           field=name)
    return raw


def required_decimal(body: Body, name: str) -> Decimal:
    number = decimal(body, name)
    if number is None:
        raise InvalidInput(f"'{name}' is required.", field=name)
    return number


def decimal(body: Body, name: str) -> Decimal | None:
    """Read an exact amount sent as a string ("0.5") or a JSON number; None if absent.

    Only plain decimals with ASCII digits are taken (no "1_0", "NaN", "Infinity",
    full-width or Arabic-Indic digits), at most MAX_DECIMAL_CHARS long with an
    exponent of at most six digits, so nothing huge is ever built from one; and
    only amounts the books keep exactly (trading.money: at most 8 decimal places,
    at most 92233720368.54775807 in size). "10.00" and 1.0 are exact, and taken.
    """
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidInput(f"'{name}' must be a number or a numeric string.", field=name)
    if isinstance(value, int) and abs(value) > _LARGEST_INT:
        text = "1e99"  # out of range, without turning a 4,000-digit int into text
    else:
        text = repr(value) if isinstance(value, float) else str(value).strip()
    if len(text) > MAX_DECIMAL_CHARS or not _PLAIN_DECIMAL.fullmatch(text):
        raise InvalidInput(f"'{name}' must be a plain decimal number such as \"12.5\" "
                           f"(ASCII digits, an optional point and exponent).", field=name)
    number = Decimal(text)
    if (why := problem(number)) is not None:
        raise InvalidInput(f"'{name}' {why}: {RANGE}.", field=name,
                           details={"largest": str(LARGEST), "decimals": PLACES})
    return number


def choice(body: Body, name: str, kind: type[E], default: E | None = None) -> E:
    """Read one of an enumeration's values."""
    value = body.get(name)
    if value is None and default is not None:
        return default
    try:
        return kind(str(value))
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise InvalidInput(f"'{name}' must be one of: {allowed}.", field=name) from None


_MOMENT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9:.]{2,15}(Z|[+-][0-9]{2}:?[0-9]{2})?)?",
                     re.ASCII)


def moment(raw: Any, name: str) -> datetime:
    """An ISO 8601 date or time ("2026-01-02", "2026-01-02T15:04:05Z"); UTC unless it
    says otherwise."""
    bad = InvalidInput(f"'{name}' must be an ISO 8601 date or time such as "
                       "2026-01-02T15:04:05Z.", field=name)
    if not isinstance(raw, str) or not _MOMENT.fullmatch(raw):
        raise bad
    try:
        parsed = datetime.fromisoformat(raw)
        # In UTC, as it is compared and stored: a year-1 or year-9999 time with an
        # offset may fall outside what a datetime holds.
        return (parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
                ).astimezone(UTC)
    except (ValueError, OverflowError):
        raise bad from None
