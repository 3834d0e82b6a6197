"""Which channels each kind of notification uses, per user."""

from __future__ import annotations

from typing import Any

from notifier.outbox import CHANNELS
from trading.errors import InvalidInput

# Kinds a user may route; alerts name their channels themselves.
DEFAULTS: dict[str, list[str]] = {
    "trade_closed": ["in_app", "email"],
    "order_filled": ["in_app", "email"],
    "notice": ["in_app", "email"],
}


def preferences(user: dict[str, Any]) -> dict[str, list[str]]:
    """The user's channels per kind, defaults filled in."""
    chosen = user.get("notification_preferences") or {}
    return {kind: list(chosen.get(kind, channels)) for kind, channels in DEFAULTS.items()}


def validate(raw: Any) -> dict[str, list[str]]:
    """Check a {kind: [channels]} mapping sent by a client."""
    if not isinstance(raw, dict):
        raise InvalidInput("'preferences' must map kinds to lists of channels.",
                           field="preferences")
    checked = {}
    for kind, channels in raw.items():
        if kind not in DEFAULTS:
            raise InvalidInput(f"Unknown kind {str(kind)[:40]!r}; one of: {', '.join(DEFAULTS)}.",
                               field="preferences")
        if not isinstance(channels, list) or not all(c in CHANNELS for c in channels):
            raise InvalidInput(f"Channels for {kind} must be a list of: {', '.join(CHANNELS)}.",
                               field="preferences")
        checked[kind] = list(dict.fromkeys(channels))
    return checked
