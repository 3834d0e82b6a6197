"""Message texts, kept in notifier/templates/<kind>.txt: a subject line, then the body."""

from __future__ import annotations

from collections import defaultdict
from functools import cache
from pathlib import Path
from typing import Any

TEMPLATES = Path(__file__).with_name("templates")


@cache
def _template(kind: str) -> tuple[str, str]:
    subject, _, body = (TEMPLATES / f"{kind}.txt").read_text().partition("\n")
    return subject, body


def render(kind: str, data: dict[str, Any]) -> tuple[str, str]:
    """Fill a template; a value that is missing or None is left out."""
    values: defaultdict[str, str] = defaultdict(str, {
        key: "" if value is None else str(value).replace("_", " ") if key == "reason"
        else str(value) for key, value in data.items()})
    subject, body = _template(kind)
    return subject.format_map(values), body.format_map(values).rstrip() + "\n"
