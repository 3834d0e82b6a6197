"""Rules for what users type in: email, name, phone."""

from __future__ import annotations

import re

from trading.errors import InvalidInput

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE_SEPARATORS = re.compile(r"[\s().-]")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
MAX_EMAIL_CHARS = 254
MAX_NAME_CHARS = 100


def normalize_email(email: str, field: str = "email") -> str:
    """Trim and lower-case an email address, or raise if it is not one."""
    normalized = email.strip().lower()
    if len(normalized) > MAX_EMAIL_CHARS or not _EMAIL.match(normalized):
        raise InvalidInput("Enter a valid email address.", field=field)
    return normalized


def normalize_name(name: str, field: str = "name") -> str:
    normalized = " ".join(name.split())
    if not 1 <= len(normalized) <= MAX_NAME_CHARS:
        raise InvalidInput(f"Name must be 1 to {MAX_NAME_CHARS} characters.", field=field)
    return normalized


def normalize_phone(phone: str, field: str = "phone") -> str:
    """Return a phone number in E.164 form (+14155550100), or raise."""
    normalized = _PHONE_SEPARATORS.sub("", phone)
    if normalized.startswith("00"):
        normalized = "+" + normalized[2:]
    if not _E164.match(normalized):
        raise InvalidInput(
            "Phone must be in international format with country code, like +14155550100.",
            field=field)
    return normalized
