"""/ws: the same commands, acks and events as Socket.IO, as plain JSON messages."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from tests.e2e.trading_support import set_price
from tests.support import Api


class PlainSocket:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.ids = 0
        self.events: list[dict[str, Any]] = []

    async def receive(self) -> dict[str, Any]:
        message = await self.ws.receive(timeout=5)
        assert message.type == aiohttp.WSMsgType.TEXT, message
        return dict(json.loads(message.data))

    async def call(self, kind: str, data: Any = None) -> dict[str, Any]:
        self.ids += 1
        await self.ws.send_json({"type": kind, "id": self.ids, "data": data})
        while (message := await self.receive())["type"] != "ack":
            self.events.append(message)
        assert message["id"] == self.ids
        return message

    async def next(self, kind: str) -> dict[str, Any]:
        for index, event in enumerate(self.events):
            if event["type"] == kind:
                return self.events.pop(index)
        while (message := await self.receive())["type"] != kind:
            self.events.append(message)
        return message


async def connect(api: Api, token: str | None, **kwargs: Any) -> aiohttp.ClientWebSocketResponse:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return await api.client.ws_connect("/ws", headers=headers, **kwargs)


async def test_commands_and_events_over_a_plain_websocket(api):
    tokens = await api.account()
    set_price(api, "AAPL", "100")
    sock = PlainSocket(await connect(api, tokens["access_token"]))
    assert (await sock.call("whoami"))["user"]["email"] == "ann@example.com"
    subscribed = await sock.call("subscribe", {"symbols": ["AAPL"]})
    assert subscribed["ok"] and subscribed["symbols"] == ["AAPL"]
    placed = await sock.call("place_order", {"symbol": "AAPL", "side": "buy", "quantity": "2",
                                            "stop_loss": "95"})
    assert placed["ok"] and placed["order"]["status"] == "filled"
    opened = await sock.next("trade_update")
    assert (opened["event"], opened["trade"]["quantity"]) == ("opened", "2")
    assert (await sock.next("account_update"))["seq"] > opened["seq"]
    set_price(api, "AAPL", "101")
    while (price := await sock.next("live_price"))["price"] != "101":
        assert price["price"] == "100"  # the price from before, in the first window
    assert price["symbol"] == "AAPL"
    refused = await sock.call("place_order", {"symbol": "AAPL", "side": "buy", "quantity": "-1"})
    assert refused["ok"] is False and refused["error"]["code"] == "invalid_quantity"
    await sock.ws.close()


async def test_bad_messages_get_error_acks_and_the_connection_stays(api):
    tokens = await api.account()
    ws = await connect(api, tokens["access_token"])
    sock = PlainSocket(ws)
    await ws.send_str("not json")
    assert (await sock.receive())["error"]["code"] == "invalid_json"
    await ws.send_json(["a", "list"])
    assert (await sock.receive())["error"]["code"] == "validation_error"
    unknown = await sock.call("launch_rockets", {})
    assert unknown["error"]["code"] == "validation_error"
    assert (await sock.call("get_account"))["ok"] is True
    await ws.close()


async def test_a_first_auth_message_can_carry_the_token(api):
    tokens = await api.account()
    ws = await connect(api, None)
    await ws.send_json({"type": "auth", "id": "a1", "data": {"token": tokens["access_token"]}})
    sock = PlainSocket(ws)
    accepted = await sock.receive()
    assert (accepted["type"], accepted["id"], accepted["ok"]) == ("ack", "a1", True)
    assert (await sock.call("whoami"))["ok"] is True
    await ws.close()


async def test_without_a_valid_token_the_connection_is_refused_and_closed(api):
    ws = await connect(api, "not-a-token")
    message = await PlainSocket(ws).receive()
    assert (message["type"], message["error"]["code"]) == ("error", "invalid_token")
    closing = await ws.receive(timeout=5)
    assert closing.type == aiohttp.WSMsgType.CLOSE and ws.close_code == 4401


async def test_logging_out_closes_the_sessions_plain_websockets(api):
    tokens = await api.account()
    ws = await connect(api, tokens["access_token"])
    sock = PlainSocket(ws)
    assert (await sock.call("whoami"))["ok"] is True  # the server has let it in
    status, _ = await api.call("POST", "/api/v1/auth/logout", token=tokens["access_token"])
    assert status == 204
    assert (await sock.receive())["type"] == "session_revoked"
    assert (await ws.receive(timeout=5)).type == aiohttp.WSMsgType.CLOSE


async def test_events_reach_a_plain_websocket_on_another_process(servers, redis_settings):
    from dataclasses import replace
    first = await servers.start(redis_settings)
    second = await servers.start(replace(redis_settings, port=0))
    tokens = await first.account()
    sock = PlainSocket(await connect(first, tokens["access_token"]))
    assert (await sock.call("whoami"))["ok"]
    status, _ = await second.call("PATCH", "/api/v1/me", {"name": "Through Redis"},
                                  token=tokens["access_token"])
    assert status == 200
    assert (await sock.next("profile_update"))["user"]["name"] == "Through Redis"
    await sock.ws.close()


async def test_browsers_from_other_origins_may_not_open_it(api):
    tokens = await api.account()
    response = await api.client.get("/ws", headers={
        "Origin": "http://evil.example", "Authorization": f"Bearer {tokens['access_token']}",
        "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
    assert response.status == 403
