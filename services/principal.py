"""Who a request or connection speaks for: a login session, or an API key."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a verified access token or API key speaks for.

    session_id names what revoking ends (its sockets leave with it): a login
    session, or for an API key "apikey:<key's id>" (services/api_keys.py).
    """

    user_id: str
    session_id: str
    # An API key's public key_id and scope ("trading" or "read"); None for a login.
    key_id: str | None = None
    scope: str | None = None

    @property
    def via_key(self) -> bool:
        return self.key_id is not None

    @property
    def read_only(self) -> bool:
        return self.scope == "read"

    @property
    def bucket(self) -> str:
        """What its requests count against: its user's budget, or a key's own."""
        return self.user_id if self.key_id is None else f"apikey:{self.key_id}"
