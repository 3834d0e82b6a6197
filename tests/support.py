"""Helpers for tests that drive the real app over HTTP and Socket.IO."""

from __future__ import annotations

import asyncio
import sys
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import aiohttp
import socketio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from config.settings import Settings
from feeds.base import Feed
from notifier.base import RecordingChannel
from server.app import create_app
from trading.market import Quote

PASSWORD = "correct horse battery"
NO_FEEDS: list[Feed] = []


async def until(condition: Callable[[], object], within: float = 5.0) -> None:
    """Poll a condition that another thread changes (no event to await there)."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - the state lives in another thread
            await asyncio.sleep(0.005)


class Clock:
    """The app's clock, moved by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def quote(symbol: str, price: str, at: datetime, source: str = "sim") -> Quote:
    return Quote(symbol, Decimal(price), at, source)


class Api:
    """A running app and an HTTP client for it."""

    def __init__(self, client: TestClient[web.Request, web.Application]) -> None:
        self.client = client
        self.app = client.app
        self.url = str(client.make_url("/"))
        self.sockets: list[SocketClient] = []

    async def call(self, method: str, path: str, body: Any = None, token: str | None = None,
                   **kwargs: Any) -> tuple[int, Any]:
        """Send a request and return (status, JSON body or None)."""
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if body is not None:
            kwargs["json"] = body
        async with self.client.request(method, path, headers=headers, **kwargs) as response:
            text = await response.text()
            if response.content_type == "application/json":
                return response.status, await response.json()
            assert not text, f"unexpected non-JSON body: {text[:200]}"
            return response.status, None

    async def register(self, email: str = "ann@example.com", password: str = PASSWORD,
                       name: str = "Ann", **extra: Any) -> dict[str, Any]:
        status, body = await self.call("POST", "/api/v1/auth/register",
                                       {"email": email, "password": password, "name": name,
                                        **extra})
        assert status == 201, body
        return dict(body["user"])

    async def login(self, email: str = "ann@example.com",
                    password: str = PASSWORD) -> dict[str, Any]:
        status, body = await self.call("POST", "/api/v1/auth/login",
                                       {"email": email, "password": password})
        assert status == 200, body
        return dict(body)

    async def account(self, email: str = "ann@example.com", name: str = "Ann") -> dict[str, Any]:
        """Register and log in; return the token pair with the user under 'user'."""
        user = await self.register(email=email, name=name)
        return {**await self.login(email), "user": user}

    async def socket(self, token: str | None = None, headers: dict[str, str] | None = None,
                     **auth: Any) -> SocketClient:
        """Connect a Socket.IO client (raises socketio.exceptions.ConnectionError if refused)."""
        client = SocketClient()
        self.sockets.append(client)
        await client.connect(self.url, auth if token is None else {"token": token, **auth},
                             headers)
        return client


class SocketClient:
    """A python-socketio client that records every event it receives."""

    def __init__(self) -> None:
        # Our own HTTP session, closed by close() even when a connect is refused.
        self.http = aiohttp.ClientSession()
        self.sio = socketio.AsyncClient(reconnection=False, http_session=self.http)
        self.events: dict[str, asyncio.Queue[Any]] = defaultdict(asyncio.Queue)
        self.received: list[tuple[str, Any]] = []
        self.connect_error: Any = None
        self.refused = asyncio.Event()  # connect_error came, at connect or after
        self.disconnected = asyncio.Event()
        self.sio.on("*", self._record)
        self.sio.on("connect_error", self._refused)
        self.sio.on("disconnect", self._gone)

    async def _record(self, event: str, data: Any = None) -> None:
        self.received.append((event, data))
        self.events[event].put_nowait(data)

    async def _refused(self, data: Any) -> None:
        self.connect_error = data
        self.refused.set()

    async def _gone(self, reason: Any = None) -> None:
        self.disconnected.set()

    async def connect(self, url: str, auth: dict[str, Any],
                      headers: dict[str, str] | None = None) -> None:
        await self.sio.connect(url, auth=auth, headers=headers or {}, transports=["websocket"],
                               wait_timeout=5)

    async def call(self, event: str, data: Any = None) -> Any:
        return await self.sio.call(event, data, timeout=5)

    async def next(self, event: str, within: float = 5.0) -> Any:
        """Wait for the next event of this name and return its payload."""
        return await asyncio.wait_for(self.events[event].get(), within)

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()
        await self.http.close()


class Servers:
    """Starts apps (several may share a database) and stops them all at the end."""

    def __init__(self, clock: Clock, email: RecordingChannel) -> None:
        self.clock = clock
        self.email = email
        self.running: list[Api] = []

    async def start(self, settings: Settings, feeds: list[Feed] | None = NO_FEEDS) -> Api:
        """Start an app. By default no feed runs (tests publish prices into the hub);
        feeds=None runs the configured ones."""
        return await self.start_app(create_app(settings, clock=self.clock, email=self.email,
                                               feeds=None if feeds is None else list(feeds)))

    async def start_app(self, app: web.Application, port: int | None = None) -> Api:
        """Serve an app (on `port` when its settings must know its own address)."""
        client = TestClient(TestServer(app, port=port))
        await client.start_server()
        api = Api(client)
        self.running.append(api)
        return api

    async def stop(self, api: Api) -> None:
        for sock in api.sockets:
            await sock.close()
        await api.client.close()
        self.running.remove(api)

    async def close(self) -> None:
        watchdog = asyncio.get_running_loop().call_later(20, dump_tasks)
        try:
            for api in list(self.running):
                await self.stop(api)
        finally:
            watchdog.cancel()


def dump_tasks() -> None:
    """Print where every task waits (a stop that takes this long is stuck somewhere)."""
    for task in asyncio.all_tasks():
        print(f"--- {task.get_name()}", file=sys.stderr)
        task.print_stack(limit=12, file=sys.stderr)
