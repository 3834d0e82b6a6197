"""Socket.IO and /ws on the wire: JSON no client should send, unknown events, and the
per-user budget and cap, spoken packet by packet."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from itertools import count
from typing import Any

import aiohttp
import pytest
import socketio

from handlers import keys
from tests.e2e.test_plain_ws import PlainSocket, connect
from tests.support import until

DEEP = "[" * 50_000
# Packet JSON after the ack id, each refused by handlers/wire_json.py.
REFUSED = {
    "nesting": DEEP,
    "nesting after the name": '["get_account",' + DEEP,
    "nesting past 32": '["get_account",' + "[" * 40 + "]" * 40 + "]",
    "lone surrogate": '["place_order",{"symbol":"AAPL","note":"x\\ud800"}]',
    "NaN": '["place_order",{"symbol":"AAPL","side":"buy","quantity":NaN}]',
    "Infinity": '["create_alert",{"symbol":"AAPL","condition":"above","price":-Infinity}]',
}


class WireSocket:
    """Socket.IO spoken by hand (Engine.IO 4 over WebSocket): packets go out as written."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.ids = count(1)

    @classmethod
    async def open(cls, session: aiohttp.ClientSession | Any, url: str,
                   token: str) -> WireSocket:
        ws = await session.ws_connect(url.rstrip("/") + "/socket.io/?EIO=4&transport=websocket")
        assert (await ws.receive_str(timeout=5)).startswith("0")
        await ws.send_str("40" + json.dumps({"token": token}))
        connected = await ws.receive_str(timeout=5)
        assert connected.startswith("40{"), connected
        return cls(ws)

    async def send(self, text: str) -> int:
        """Send an event packet with an ack id, its JSON exactly as given; return the id."""
        ack_id = next(self.ids)
        await self.ws.send_str(f"42{ack_id}{text}")
        return ack_id

    async def ack(self, ack_id: int) -> Any:
        prefix = f"43{ack_id}["
        while True:
            packet = await self.ws.receive_str(timeout=5)
            if packet == "2":
                await self.ws.send_str("3")
            elif packet.startswith(prefix):
                return json.loads(packet[len(prefix) - 1:])[0]

    async def call(self, text: str) -> Any:
        return await self.ack(await self.send(text))


async def wire(api, token: str) -> WireSocket:  # type: ignore[no-untyped-def]
    return await WireSocket.open(api.client, "", token)


def limited(settings, **changes):  # type: ignore[no-untyped-def]
    return replace(settings, limits=replace(settings.limits, **changes))


@pytest.mark.parametrize("text", REFUSED.values(), ids=REFUSED.keys())
async def test_socket_io_json_no_client_should_send_gets_an_invalid_json_ack(api, text):
    tokens = await api.account()
    sock = await wire(api, tokens["access_token"])
    ack = await sock.call(text)
    assert ack["ok"] is False and ack["error"]["code"] == "invalid_json", ack
    assert (await sock.call('["whoami"]'))["ok"] is True  # the connection carries on
    assert len(api.app[keys.SIO].eio.sockets) == 1
    await sock.ws.close()


async def test_python_socketio_clients_get_invalid_json_for_what_they_can_send(api):
    tokens = await api.account()
    sock = await api.socket(tokens["access_token"])
    for data in ({"note": "x\ud800"}, {"quantity": float("nan")}, {"price": float("inf")},
                 {"a": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}):
        ack = await sock.call("place_order", data)
        assert (ack["ok"], ack["error"]["code"]) == (False, "invalid_json"), (data, ack)
    assert (await sock.call("whoami"))["ok"] is True


async def test_unknown_and_malformed_events_get_error_acks(api):
    tokens = await api.account()
    sock = await wire(api, tokens["access_token"])
    for text in ('["launch_rockets",{}]', '["connect",{}]', '["disconnect"]', '[1,2]', '[]',
                 '{"event":"whoami"}', '"whoami"'):
        ack = await sock.call(text)
        assert (ack["ok"], ack["error"]["code"]) == (False, "validation_error"), (text, ack)
    assert (await sock.call('["whoami"]'))["ok"] is True
    await sock.ws.close()


async def test_a_refused_auth_object_refuses_the_connection(api):
    ws = await api.client.ws_connect("/socket.io/?EIO=4&transport=websocket")
    assert (await ws.receive_str(timeout=5)).startswith("0")
    await ws.send_str('40{"token":"x\\ud800"}')
    refused = await ws.receive_str(timeout=5)
    assert refused.startswith("44") and json.loads(refused[2:])["data"]["code"] == "invalid_json"
    await ws.close()


@pytest.mark.parametrize(("text", "answer_id"), [
    ('{"type":"get_account","id":7,"data":' + DEEP, 7),
    ('{"id":"a-1","type":"get_account","data":' + "[" * 33 + "]" * 33 + "}", "a-1"),
    ('{"type":"place_order","id":8,"data":{"quantity":NaN}}', 8),
    ('{"type":"place_order","id":9,"data":{"note":"x\\ud800"}}', 9),
    ('{"type":"place_order","data":{"quantity":Infinity},"id":10}', None),
    (DEEP, None),
])
async def test_ws_json_no_client_should_send_gets_an_invalid_json_ack(api, text, answer_id):
    tokens = await api.account()
    sock = PlainSocket(await connect(api, tokens["access_token"]))
    await sock.ws.send_str(text)
    ack = await sock.receive()
    assert (ack["type"], ack["id"], ack["ok"]) == ("ack", answer_id, False)
    assert ack["error"]["code"] == "invalid_json"
    assert (await sock.call("get_account"))["ok"] is True
    await sock.ws.close()


async def test_every_ws_message_counts_against_the_connection_limit(servers, settings):
    api = await servers.start(limited(settings, socket_per_second=3))
    tokens = await api.account()
    sock = PlainSocket(await connect(api, tokens["access_token"]))
    await sock.ws.send_str("not json")
    assert (await sock.receive())["error"]["code"] == "invalid_json"
    assert (await sock.call("launch_rockets"))["error"]["code"] == "validation_error"
    await sock.ws.send_str(DEEP)
    assert (await sock.receive())["error"]["code"] == "invalid_json"
    refused = await sock.call("whoami")
    assert (refused["ok"], refused["error"]["code"]) == (False, "rate_limited")
    await sock.ws.close()


async def test_every_socket_io_message_counts_against_the_connection_limit(servers, settings):
    api = await servers.start(limited(settings, socket_per_second=3))
    tokens = await api.account()
    sock = await wire(api, tokens["access_token"])
    assert (await sock.call(DEEP))["error"]["code"] == "invalid_json"
    assert (await sock.call('["launch_rockets"]'))["error"]["code"] == "validation_error"
    assert (await sock.call('["whoami",{},{}]'))["error"]["code"] == "validation_error"
    assert (await sock.call('["whoami"]'))["error"]["code"] == "rate_limited"
    await sock.ws.close()


@pytest.mark.parametrize("shared", [False, True], ids=["in process", "in redis"])
async def test_a_users_messages_over_all_connections_share_one_budget(servers, settings,
                                                                      redis_settings, shared):
    api = await servers.start(limited(redis_settings if shared else settings,
                                      socket_per_second=10, socket_user_per_second=4))
    tokens = await api.account()
    bob = await api.account(email="bob@example.com", name="Bob")
    sio = await api.socket(tokens["access_token"])
    ws = PlainSocket(await connect(api, tokens["access_token"]))
    acks = [await sio.call("whoami"), await ws.call("whoami"), await sio.call("whoami")]
    ws_ack = await ws.call("whoami")
    assert [a["ok"] for a in acks] + [ws_ack["ok"]] == [True] * 4
    for over in (await sio.call("whoami"), await ws.call("whoami")):
        assert (over["ok"], over["error"]["code"]) == (False, "rate_limited"), over
        assert over["error"]["details"]["retry_after"] >= 1
    other = await api.socket(bob["access_token"])
    assert (await other.call("whoami"))["ok"] is True  # another user's budget is their own
    await ws.ws.close()


async def test_a_user_may_open_only_so_many_sockets(servers, settings):
    api = await servers.start(limited(settings, sockets_per_user=2))
    tokens = await api.account()
    bob = await api.account(email="bob@example.com", name="Bob")
    first = await api.socket(tokens["access_token"])
    plain = PlainSocket(await connect(api, tokens["access_token"]))
    assert (await plain.call("whoami"))["ok"] is True
    with pytest.raises(socketio.exceptions.ConnectionError):
        await api.socket(tokens["access_token"])
    error = api.sockets[-1].connect_error
    assert error["data"]["code"] == "limit_exceeded" and error["data"]["details"] == {"limit": 2}
    assert error["message"] == error["data"]["message"]
    over = await connect(api, tokens["access_token"])
    refused = await over.receive_json(timeout=5)
    assert refused["type"] == "error" and refused["error"]["code"] == "limit_exceeded"
    assert refused["error"]["details"] == {"limit": 2}
    assert (await over.receive(timeout=5)).type == aiohttp.WSMsgType.CLOSE
    assert over.close_code == 4429
    assert (await (await api.socket(bob["access_token"])).call("whoami"))["ok"] is True
    await first.close()
    await api.socket(tokens["access_token"])  # room again once one is closed
    await plain.ws.close()


async def test_a_zero_socket_cap_is_no_cap(servers, settings):
    api = await servers.start(limited(settings, sockets_per_user=0))
    tokens = await api.account()
    socks = [await api.socket(tokens["access_token"]) for _ in range(22)]
    assert (await socks[-1].call("whoami"))["ok"] is True


async def test_a_ws_client_gone_before_it_authenticates_is_one_debug_line(api, caplog):
    caplog.set_level(logging.DEBUG)
    await (await connect(api, None)).close()  # before sending the auth message

    def gone() -> list[logging.LogRecord]:
        return [r for r in caplog.records if "closed before it was let in" in r.getMessage()]
    await until(lambda: gone())
    assert [(r.levelno, r.exc_info) for r in gone()] == [(logging.DEBUG, None)]
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    tokens = await api.account()  # the server carries on
    assert (await PlainSocket(await connect(api, tokens["access_token"])).call("whoami"))["ok"]
