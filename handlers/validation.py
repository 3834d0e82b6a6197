"""Reading and checking request bodies and socket payloads."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, TypeVar

from aiohttp import web

from handlers import wire_json
from trading.errors import InvalidInput, InvalidJSON

Body = dict[str, Any]
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
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"'{name}' must be a whole number.", field=name) from None
    if not low <= value <= high:
        raise InvalidInput(f"'{name}' must be between {low} and {high}.", field=name)
    return value


def required_decimal(body: Body, name: str) -> Decimal:
    number = decimal(body, name)
    if number is None:
        raise InvalidInput(f"'{name}' is required.", field=name)
    return number


def decimal(body: Body, name: str) -> Decimal | None:
    """Read an exact number sent as a string ("0.5") or a JSON number; None if absent."""
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidInput(f"'{name}' must be a number or a numeric string.", field=name)
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidInput(f"'{name}' is not a number.", field=name) from None
    if not number.is_finite():
        raise InvalidInput(f"'{name}' must be finite.", field=name)
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
