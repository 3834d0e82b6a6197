"""What this process knows of an account: its balances as its last fill or exit here
left them, and the positions they learnt.

A fill or an exit that finds the account as known guards its account update by every
balance known (event_seq among them, which every change of a position moves), so
when that update matches, what is known of the account's positions is true too,
and the command need not read or sum the position's lots. When it does not match
(another process, a resting fill, a reset changed the account), the command takes
the long way and reads them. A command that learns an account replaces what is
known of it whole, so a command never pairs one command's balances with another's
positions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.views import Holding
from store.database import Document

# What a command that knows its account guards: every field a fill's events show.
BALANCES = ("cash", "reserved", "margin_used", "available", "realized_pnl", "fees", "initial",
            "event_seq")
KNOWN_ACCOUNTS = 10_000  # accounts this process remembers


@dataclass(frozen=True)
class Known:
    """An account as a command here left it, and the positions known with it (a symbol
    missing: not known; None: flat)."""

    account: Document
    holdings: dict[str, Holding | None] = field(default_factory=dict)

    def guard(self) -> dict[str, Any]:
        """The filter that matches the account only while it is as known."""
        return {name: self.account[name] for name in BALANCES}

    def less(self, lot: Document, units: int) -> list[Holding] | None:
        """The lot's position with units taken out of it, if known ([]: flat)."""
        holding = self.holdings.get(lot["symbol"])
        if holding is None or holding.side != lot["side"]:
            return None
        return holding.less(lot, units)


class KnownAccounts:
    """Known accounts by user, at most KNOWN_ACCOUNTS of them."""

    def __init__(self) -> None:
        self._known: dict[str, Known] = {}

    def get(self, user_id: str) -> Known | None:
        return self._known.get(user_id)

    def forget(self, user_id: str) -> None:
        self._known.pop(user_id, None)

    def learnt(self, user_id: str, account: Document, holdings: dict[str, list[Holding]],
               *, read: bool, was: Known | None = None) -> None:
        """A command left the account so, and the positions of these symbols so. read:
        it read the account (what it learnt is all that is known); else it changed it
        from was, which it found as known (the other positions are still true)."""
        known = {} if read or was is None else dict(was.holdings)
        for symbol, after in holdings.items():
            if len(after) <= 1:
                known[symbol] = after[0] if after else None
            else:  # both sides open (lots from before net positions): not known
                known.pop(symbol, None)
        if len(self._known) >= KNOWN_ACCOUNTS and user_id not in self._known:
            self._known.clear()
        self._known[user_id] = Known(account, known)
