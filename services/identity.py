"""Rules for what users type in: email, name, phone."""

from __future__ import annotations

import re
import unicodedata

from trading.errors import InvalidInput

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE_SEPARATORS = re.compile(r"[\s().-]")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
MAX_EMAIL_CHARS = 254
MAX_NAME_CHARS = 100

# Characters a name may not carry, removed wherever they are: controls (C0, DEL, C1;
# the whitespace ones are turned into spaces first) and Unicode's default-ignorable
# code points, which show as nothing but can reorder the text around them (bidi
# embeddings, overrides, isolates and marks), hide text (tag characters, zero
# width spaces, fillers that look blank) or split what looks like one word.
# Kept, because text needs them: ZWNJ and ZWJ (U+200C, U+200D: Persian and Indic
# scripts, emoji sequences), variation selectors (U+FE00-FE0F, U+E0100-E01EF:
# emoji presentation) and the tag sequence of a subdivision flag after U+1F3F4.
_INVISIBLE = re.compile(
    "[\x00-\x1f\x7f-\x9f"                      # C0, DEL and C1 controls
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f"
    "\u200b\u200e\u200f"                         # zero width space, LRM, RLM
    "\u202a-\u202e"                              # bidi embeddings and overrides
    "\u2060-\u206f"                              # word joiner, isolates, operators
    "\u3164\ufeff\uffa0\ufff0-\ufffb"             # Hangul filler, BOM, annotations
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"  # shorthand and musical formatting
    "\U000e0000-\U000e00ff\U000e01f0-\U000e0fff]")  # tags (see _FLAG_TAGS)
# A character that shows as nothing, kept in a name but not enough for one.
_BLANK_BRAILLE = "\u2800"
# A subdivision flag: a black flag, tag letters or digits, and a cancel tag.
_FLAG_TAGS = re.compile("\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f")


def normalize_email(email: str, field: str = "email") -> str:
    """Trim and lower-case an email address, or raise if it is not one."""
    normalized = email.strip().lower()
    if len(normalized) > MAX_EMAIL_CHARS or not _EMAIL.match(normalized):
        raise InvalidInput("Enter a valid email address.", field=field)
    return normalized


def normalize_name(name: str, field: str = "name", max_chars: int = MAX_NAME_CHARS) -> str:
    """Return a display name fit to show anywhere, or raise.

    Whitespace runs become one space; controls and invisible formatting
    characters (see _INVISIBLE) are removed, not refused, so a name pasted with a
    stray mark still works and only what shows is kept; the result is NFC. A name
    with nothing visible left, or longer than max_chars, is refused.
    """
    if any(unicodedata.category(char) == "Cs" for char in name):
        raise InvalidInput("Name must be valid Unicode.", field=field)
    text = " ".join(unicodedata.normalize("NFC", name).split())  # before: \t, \n are controls
    flags = [match.group() for match in _FLAG_TAGS.finditer(text)]
    parts = [_INVISIBLE.sub("", part) for part in _FLAG_TAGS.split(text)]
    kept = parts[0] + "".join(flag + part for flag, part in zip(flags, parts[1:], strict=True))
    normalized = " ".join(kept.split())
    if not 1 <= len(normalized) <= max_chars:
        raise InvalidInput(f"Name must be 1 to {max_chars} characters.", field=field)
    if not any(unicodedata.category(char)[0] in "LNPS" and char != _BLANK_BRAILLE
               for char in normalized):
        raise InvalidInput("Name must have a visible character.", field=field)
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
