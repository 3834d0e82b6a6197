"""Delivery channels: email (SMTP via aiosmtplib) and in-app (stored, then pushed)."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from datetime import datetime
from email.message import EmailMessage

import aiosmtplib
import socketio

from notifier.base import Message
from store.outbox import InboxStore


class EmailChannel:
    name = "email"

    def __init__(self, host: str, port: int, sender: str, username: str | None = None,
                 password: str | None = None, start_tls: bool | None = None,
                 use_tls: bool = False, timeout: float = 30.0) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password = username, password
        self.start_tls, self.use_tls, self.timeout = start_tls, use_tls, timeout

    async def send(self, message: Message) -> None:
        email = EmailMessage()
        email["Subject"] = message.subject
        email["From"] = self.sender
        email["To"] = message.to
        if message.key:  # the same id on a retry lets mail clients drop a duplicate
            email["Message-ID"] = f"<{message.key.replace(':', '.')}@paperdesk>"
        email.set_content(message.text)
        email.add_alternative(f"<pre style=\"font-family: sans-serif\">"
                              f"{html.escape(message.text)}</pre>", subtype="html")
        await aiosmtplib.send(email, hostname=self.host, port=self.port,
                              username=self.username, password=self.password,
                              start_tls=self.start_tls, use_tls=self.use_tls,
                              timeout=self.timeout)


class InAppChannel:
    """Keeps the notification for GET /notifications and pushes it to the user's sockets."""

    name = "in_app"

    def __init__(self, inbox: InboxStore, sio: socketio.AsyncServer,
                 clock: Callable[[], datetime]) -> None:
        self.inbox = inbox
        self.sio = sio
        self.clock = clock

    async def send(self, message: Message) -> None:
        note = {"_id": message.key, "user_id": message.user_id, "kind": message.kind,
                "title": message.subject, "body": message.text, "read_at": None,
                "created_at": self.clock()}
        if await self.inbox.add(note):
            await self.sio.emit("notification", {"notification": inbox_view(note)},
                                room=f"user:{message.user_id}")


def inbox_view(note: Mapping[str, object]) -> dict[str, object]:
    read_at, created_at = note.get("read_at"), note["created_at"]
    return {"id": note["_id"], "kind": note["kind"], "title": note["title"],
            "body": note["body"], "read": read_at is not None,
            "created_at": created_at.isoformat() if isinstance(created_at, datetime) else None}
