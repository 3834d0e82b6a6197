"""Delivery channels: email (SMTP via aiosmtplib) and in-app (stored, then pushed)."""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from email.message import EmailMessage

import aiosmtplib
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client as TwilioClient

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


# Sends (user_id, event, data) to the user's open sockets (given by the transports).
Push = Callable[[str, str, dict[str, object]], Awaitable[None]]


class InAppChannel:
    """Keeps the notification for GET /notifications and pushes it to the user's sockets."""

    name = "in_app"

    def __init__(self, inbox: InboxStore, push: Push, clock: Callable[[], datetime]) -> None:
        self.inbox = inbox
        self.push = push
        self.clock = clock

    async def send(self, message: Message) -> None:
        note = {"_id": message.key, "user_id": message.user_id, "kind": message.kind,
                "title": message.subject, "body": message.text, "read_at": None,
                "created_at": self.clock()}
        if await self.inbox.add(note):
            await self.push(message.user_id, "notification",
                            {"notification": inbox_view(note)})


def inbox_view(note: Mapping[str, object]) -> dict[str, object]:
    read_at, created_at = note.get("read_at"), note["created_at"]
    return {"id": note["_id"], "kind": note["kind"], "title": note["title"],
            "body": note["body"], "read": read_at is not None,
            "created_at": created_at.isoformat() if isinstance(created_at, datetime) else None}


class SmsChannel:
    """SMS through Twilio's Messages API, with twilio's async HTTP client."""

    name = "sms"

    def __init__(self, account_sid: str, auth_token: str, from_number: str,
                 api_url: str | None = None) -> None:
        self.account_sid, self.auth_token = account_sid, auth_token
        self.from_number, self.api_url = from_number, api_url
        self._http: AsyncTwilioHttpClient | None = None
        self._client: TwilioClient | None = None

    def _twilio(self) -> TwilioClient:
        if self._client is None:  # its HTTP session must be made inside the event loop
            self._http = AsyncTwilioHttpClient()
            self._client = TwilioClient(self.account_sid, self.auth_token,
                                        http_client=self._http)
            if self.api_url is not None:
                self._client.api.base_url = self.api_url
        return self._client

    async def send(self, message: Message) -> None:
        body = f"{message.subject}\n{message.text}"[:1600]  # Twilio's limit
        await self._twilio().messages.create_async(to=message.to, from_=self.from_number,
                                                   body=body)

    async def aclose(self) -> None:
        if self._http is not None and self._http.session is not None:
            await self._http.session.close()
