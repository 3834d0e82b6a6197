"""Message texts, kept in notifier/templates/<kind>.txt: a subject line, then the body."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

TEMPLATES = Path(__file__).with_name("templates")


@cache
def _template(kind: str) -> tuple[str, str]:
    subject, _, body = (TEMPLATES / f"{kind}.txt").read_text().partition("\n")
    return subject, body


# Amounts in the account's currency: shown with separators and two decimals.
MONEY = frozenset({"realized_pnl", "unrealized_pnl", "cash", "equity"})


def for_people(key: str, value: Any) -> str:
    """How a value reads in a message: money rounded, times in words, reasons spaced."""
    if value is None:
        return ""
    if key in MONEY:
        try:
            return f"{Decimal(str(value)).quantize(Decimal('0.01'), ROUND_HALF_EVEN):,}"
        except InvalidOperation:
            return str(value)
    if key.endswith("_at") and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value).astimezone(UTC)
        except ValueError:
            return value
        return f"{moment:%d %b %Y %H:%M} UTC"
    if key == "reason":
        return str(value).replace("_", " ")
    return str(value)


def render(kind: str, data: dict[str, Any]) -> tuple[str, str]:
    """Fill a template; a value that is missing or None is left out."""
    values: defaultdict[str, str] = defaultdict(
        str, {key: for_people(key, value) for key, value in data.items()})
    subject, body = _template(kind)
    return subject.format_map(values), body.format_map(values).rstrip() + "\n"
