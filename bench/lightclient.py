"""A minimal Socket.IO client (Engine.IO 4 over WebSocket, Socket.IO 5 packets).

It does only what a load generator needs: connect with a token, call events
with acks, answer pings, and hand every event to a callback with its arrival
time. With no reconnection logic or per-packet machinery it costs a fraction of
python-socketio's client, so benchmarks measure the server, not the client.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from itertools import count
from typing import Any

import aiohttp

OnEvent = Callable[[str, Any, float], None]
# Called with the raw text of each event packet instead of parsing it.
OnRaw = Callable[[str, float], None]


class RefusedError(Exception):
    """The server refused the Socket.IO connection (connect_error)."""


class LightClient:
    def __init__(self, session: aiohttp.ClientSession, url: str, token: str,
                 on_event: OnEvent | None = None, on_raw: OnRaw | None = None) -> None:
        base = url.rstrip("/").replace("http://", "ws://").replace("https://", "wss://")
        self.endpoint = f"{base}/socket.io/?EIO=4&transport=websocket"
        self.session = session
        self.token = token
        self.on_event = on_event or (lambda name, data, at: None)
        self.on_raw = on_raw
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self._ids = count(1)
        self._acks: dict[int, asyncio.Future[Any]] = {}
        self._reader: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        self.ws = await self.session.ws_connect(self.endpoint, autoping=True)
        opening = await self.ws.receive_str()
        if not opening.startswith("0"):
            raise RefusedError(f"unexpected opening packet {opening[:40]!r}")
        await self.ws.send_str("40" + json.dumps({"token": self.token}))
        answer = await self.ws.receive_str()
        if answer.startswith("44"):
            raise RefusedError(json.loads(answer[2:]).get("message", "refused"))
        self._reader = asyncio.create_task(self._read())

    async def call(self, event: str, data: Any, within: float = 10.0) -> Any:
        assert self.ws is not None
        ack_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._acks[ack_id] = future
        await self.ws.send_str(f"42{ack_id}" + json.dumps([event, data]))
        return await asyncio.wait_for(future, within)

    def pause_reading(self) -> None:
        """Stop reading from the socket (to play a client that cannot keep up)."""
        if self._reader is not None:
            self._reader.cancel()

    async def _read(self) -> None:
        assert self.ws is not None
        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            text: str = message.data
            if text == "2":
                await self.ws.send_str("3")
            elif text.startswith("42"):
                if self.on_raw is not None:
                    self.on_raw(text, time.time())
                    continue
                name, *rest = json.loads(text[2:])
                self.on_event(name, rest[0] if rest else None, time.time())
            elif text.startswith("43"):
                bracket = text.index("[")
                future = self._acks.pop(int(text[2:bracket]), None)
                if future is not None and not future.done():
                    future.set_result(json.loads(text[bracket:])[0])

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self.ws is not None:
            await self.ws.close()
