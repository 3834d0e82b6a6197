"""Names of the rooms events are sent to (Socket.IO and /ws clients alike)."""

from __future__ import annotations


def user_room(user_id: str) -> str:
    """The room every socket of one user joins; user events go here."""
    return f"user:{user_id}"


def session_room(session_id: str) -> str:
    """The room of the sockets opened with one login session's tokens."""
    return f"session:{session_id}"
