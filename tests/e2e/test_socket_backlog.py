"""Clients that send commands but never read: every path out is bounded, and they are
dropped as soon as what waits for them passes SLOW_CLIENT_PACKETS or SLOW_CLIENT_BYTES."""

from __future__ import annotations

import asyncio
import json
import socket
from dataclasses import replace
from typing import Any

import aiohttp

from handlers import keys
from tests.e2e.test_plain_ws import PlainSocket, connect
from tests.e2e.test_socket_wire import WireSocket
from tests.support import quote, until

LIMIT_BYTES = 64 * 1024
LIMIT_PACKETS = 40
SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "AAPL", "MSFT", "RELIANCE.NS", "^NSEI"]


def tiny_receive_buffer(addr_info: Any) -> socket.socket:
    """A client socket whose kernel buffer fills after a couple of kilobytes."""
    family, kind, proto, _, _ = addr_info
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    return sock


async def server(servers, settings):  # type: ignore[no-untyped-def]
    """No message limits (the client sends as fast as it can), tight backlog limits,
    and long prices so that each subscribe ack is a few kilobytes."""
    api = await servers.start(replace(
        settings, limits=replace(settings.limits, socket_per_second=0, socket_user_per_second=0),
        market=replace(settings.market, slow_client_packets=LIMIT_PACKETS,
                       slow_client_bytes=LIMIT_BYTES)))
    hub = api.app[keys.MARKET].hub
    for n, symbol in enumerate(SYMBOLS):
        hub.publish(quote(symbol, f"{n + 1}.{'9' * 400}", hub.clock()))
    return api


class Writes:
    """Wakes the test after each write the server checks, and notes the largest backlog
    any client had then (measured apart from the check's own verdict)."""

    def __init__(self, api, monkeypatch) -> None:  # type: ignore[no-untyped-def]
        self.sio = api.app[keys.SIO]
        self.backlog = backlog = self.sio.backlog
        self.written = asyncio.Event()
        self.peak_packets = self.peak_bytes = 0
        check_socket, check_transport = backlog.check_socket, backlog.check_transport

        def socket_written(sio: Any, eio_sid: str, *args: Any) -> bool:
            self.note(*backlog.socket_backlog(sio, eio_sid))
            return bool(check_socket(sio, eio_sid, *args))

        def transport_written(transport: Any, name: str) -> bool:
            self.note(0, 0 if transport.is_closing() else transport.get_write_buffer_size())
            return bool(check_transport(transport, name))
        monkeypatch.setattr(backlog, "check_socket", socket_written)
        monkeypatch.setattr(backlog, "check_transport", transport_written)

    def note(self, packets: int, size: int) -> None:
        self.peak_packets = max(self.peak_packets, packets)
        self.peak_bytes = max(self.peak_bytes, size)
        self.written.set()

    async def until_dropped(self, send: Any) -> int:
        """Send commands, one after each write of the server, until it drops the client."""
        sent = 0
        async with asyncio.timeout(30):
            while self.backlog.dropped == 0:
                self.written.clear()
                try:
                    await send()
                except ConnectionError:
                    break
                sent += 1
                await self.written.wait()
        return sent

    def held(self) -> int:
        """Bytes this process holds for every Socket.IO client now."""
        return sum(self.backlog.socket_backlog(self.sio, eio_sid)[1]
                   for eio_sid in list(self.sio.eio.sockets))


async def test_a_socket_io_client_that_never_reads_is_dropped(servers, settings, monkeypatch):
    api = await server(servers, settings)
    tokens = await api.account()
    healthy = await api.socket(tokens["access_token"])
    writes = Writes(api, monkeypatch)
    command = json.dumps(["subscribe", {"symbols": SYMBOLS}])
    async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(socket_factory=tiny_receive_buffer)) as session:
        slow = await WireSocket.open(session, api.url, tokens["access_token"])
        sent = await writes.until_dropped(lambda: slow.send(command))
        assert writes.backlog.dropped == 1
        # Dropped when it first went over: never more than one ack past either limit.
        assert writes.peak_packets <= LIMIT_PACKETS + 1
        assert writes.peak_bytes <= LIMIT_BYTES + 4096
        assert sent > LIMIT_PACKETS  # it was the backlog, not the first ack, that did it
    await until(lambda: len(api.app[keys.SIO].eio.sockets) == 1)  # let go of, too
    assert writes.held() < 4096
    assert (await healthy.call("whoami"))["ok"] is True


async def test_a_ws_client_that_never_reads_is_dropped(servers, settings, monkeypatch):
    api = await server(servers, settings)
    tokens = await api.account()
    healthy = PlainSocket(await connect(api, tokens["access_token"]))
    writes = Writes(api, monkeypatch)
    command = json.dumps({"type": "subscribe", "id": 1, "data": {"symbols": SYMBOLS}})
    plain = api.app[keys.SIO].manager.plain
    async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(socket_factory=tiny_receive_buffer)) as session:
        slow = await session.ws_connect(api.url.rstrip("/") + "/ws", headers={
            "Authorization": f"Bearer {tokens['access_token']}"})
        sent = await writes.until_dropped(lambda: slow.send_str(command))
        assert writes.backlog.dropped == 1
        assert writes.peak_bytes <= LIMIT_BYTES + 4096
        assert sent > 2
    await until(lambda: plain.of_user(tokens["user"]["id"]) == 1)  # let go of, too
    assert (await healthy.call("whoami"))["ok"] is True
    await healthy.ws.close()
