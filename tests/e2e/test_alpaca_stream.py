"""/stream: alpaca-py's TradingStream gets the user's order changes as trade_updates,
parsed by its own TradeUpdate model; hostile messages get the protocol's errors."""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import replace
from typing import Any

import aiohttp
import msgpack
import pytest
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, OrderStatus, TimeInForce, TradeEvent
from alpaca.trading.models import TradeUpdate
from alpaca.trading.requests import LimitOrderRequest, MarketOrderRequest
from alpaca.trading.stream import TradingStream

from handlers import keys
from handlers.alpaca.stream import TradeStream
from tests.e2e.trading_support import order, set_price
from tests.support import Api, until

KEYS = "/api/v1/me/api-keys"


async def trader(api: Api) -> tuple[str, dict[str, Any]]:
    """A new user's access token and API key, with AAPL priced at 100."""
    login = (await api.account())["access_token"]
    status, key = await api.call("POST", KEYS, {"name": "stream bot"}, token=login)
    assert status == 201, key
    set_price(api, "AAPL", "100")
    return login, dict(key)


def streams(api: Api) -> list[TradeStream]:
    """The server's /stream connections that are listening."""
    clients = [client for members in api.app[keys.SIO].manager.plain.rooms.values()
               for client in members]
    return [client.relay.__self__ for client in set(clients)  # type: ignore[union-attr]
            if isinstance(getattr(client.relay, "__self__", None), TradeStream)
            and client.relay.__self__.since is not None]  # type: ignore[union-attr]


class SdkStream:
    """alpaca-py's TradingStream, run in its own thread, its updates queued here."""

    def __init__(self, api: Api, key: dict[str, Any]) -> None:
        self.api = api
        self.sdk = TradingStream(key["key_id"], key["secret"],
                                 url_override=api.url.replace("http", "ws", 1) + "stream")
        self.updates: asyncio.Queue[TradeUpdate] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        async def handler(update: TradeUpdate) -> None:
            loop.call_soon_threadsafe(self.updates.put_nowait, update)

        self.sdk.subscribe_trade_updates(handler)
        self.thread = threading.Thread(target=self.sdk.run, daemon=True)

    async def __aenter__(self) -> SdkStream:
        self.thread.start()
        await until(lambda: streams(self.api))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.sdk.stop)
        for stream in streams(self.api):  # the SDK checks its stop flag between receives
            assert stream.client is not None
            await stream.client.ws.close()
        await asyncio.to_thread(self.thread.join, 10)
        assert not self.thread.is_alive()

    async def next(self) -> TradeUpdate:
        return await asyncio.wait_for(self.updates.get(), 5)


async def test_trading_stream_gets_new_fill_replaced_and_canceled_updates(api):
    _, key = await trader(api)
    bearer = key["token"]
    async with SdkStream(api, key) as stream:
        status, placed = await order(api, bearer, quantity="10")
        assert status == 201, placed
        new, fill = await stream.next(), await stream.next()
        assert (new.event, new.order.status) == (TradeEvent.NEW, OrderStatus.NEW)
        assert (fill.event, fill.order.status) == (TradeEvent.FILL, OrderStatus.FILLED)
        assert new.order.id == fill.order.id and fill.order.symbol == "AAPL"
        assert (fill.price, fill.qty, fill.position_qty) == (100, 10, 10)
        assert fill.execution_id is not None and new.execution_id is None

        status, resting = await order(api, bearer, type="limit", limit_price="90",
                                      quantity="1")
        assert status == 201, resting
        rested = await stream.next()
        assert (rested.event, rested.order.status) == (TradeEvent.NEW, OrderStatus.NEW)
        assert float(rested.order.limit_price or 0) == 90
        status, replaced = await api.call("PATCH", f"/api/v1/orders/{resting['order']['id']}",
                                          {"limit_price": "91"}, token=bearer)
        assert status == 200, replaced
        updates = [await stream.next(), await stream.next()]
        by_event = {update.event: update for update in updates}
        assert set(by_event) == {TradeEvent.REPLACED, TradeEvent.NEW}
        assert by_event[TradeEvent.REPLACED].order.id == rested.order.id
        replacement = by_event[TradeEvent.NEW].order
        assert float(replacement.limit_price or 0) == 91
        assert by_event[TradeEvent.REPLACED].order.replaced_by == replacement.id

        native_id = next(o["id"] for o in (await api.call(
            "GET", "/api/v1/orders", token=bearer))[1]["orders"] if o["status"] == "open")
        status, _ = await api.call("DELETE", f"/api/v1/orders/{native_id}", token=bearer)
        assert status == 200
        canceled = await stream.next()
        assert (canceled.event, canceled.order.id) == (TradeEvent.CANCELED, replacement.id)
        assert canceled.order.status == OrderStatus.CANCELED
        assert stream.updates.empty()


async def test_orders_placed_with_the_trading_client_come_as_updates_of_the_same_orders(api):
    _, key = await trader(api)
    client = TradingClient(key["key_id"], key["secret"], paper=True,
                           url_override=api.url.rstrip("/"))
    async with SdkStream(api, key) as stream:
        bought = await asyncio.to_thread(client.submit_order, MarketOrderRequest(
            symbol="AAPL", qty=3, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))
        new, fill = await stream.next(), await stream.next()
        assert (new.event, fill.event) == (TradeEvent.NEW, TradeEvent.FILL)
        assert new.order.id == fill.order.id == bought.id  # type: ignore[union-attr]
        assert (fill.qty, fill.position_qty) == (3, 3)
        resting = await asyncio.to_thread(client.submit_order, LimitOrderRequest(
            symbol="AAPL", qty=1, side=OrderSide.SELL, time_in_force=TimeInForce.GTC,
            limit_price=150))
        assert (await stream.next()).event == TradeEvent.NEW
        await asyncio.to_thread(client.cancel_order_by_id, resting.id)  # type: ignore[union-attr]
        canceled = await stream.next()
        assert (canceled.event, canceled.order.id) == (TradeEvent.CANCELED,
                                                       resting.id)  # type: ignore[union-attr]


async def test_another_users_orders_are_not_streamed(api):
    _, key = await trader(api)
    other = (await api.account("bob@example.com", "Bob"))["access_token"]
    async with SdkStream(api, key) as stream:
        assert (await order(api, other, quantity="1"))[0] == 201
        _, mine = await trader_order(api, key)
        assert (await stream.next()).order.client_order_id == mine["order"]["client_order_id"]


async def trader_order(api: Api, key: dict[str, Any]) -> tuple[int, Any]:
    return await order(api, key["token"], quantity="2")


# -- the protocol, by hand --

def url(api: Api) -> str:
    return api.url.replace("http", "ws", 1) + "stream"


async def receive(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    message = await ws.receive(timeout=5)
    if message.type == aiohttp.WSMsgType.BINARY:
        return dict(json.loads(message.data))
    assert message.type == aiohttp.WSMsgType.TEXT, message
    return dict(json.loads(message.data))


async def authorized(api: Api, session: aiohttp.ClientSession, auth: dict[str, Any]
                     ) -> aiohttp.ClientWebSocketResponse:
    ws = await session.ws_connect(url(api))
    await ws.send_str(json.dumps(auth))
    answer = await receive(ws)
    assert answer == {"stream": "authorization",
                      "data": {"action": "authenticate", "status": "authorized"}}, answer
    return ws


async def test_keys_in_either_form_and_an_access_token_are_let_in(api):
    login, key = await trader(api)
    async with aiohttp.ClientSession() as session:
        for auth in ({"action": "auth", "key": key["key_id"], "secret": key["secret"]},
                     {"action": "authenticate", "data": {"oauth_token": login}}):
            ws = await authorized(api, session, auth)
            await ws.send_str(json.dumps({"action": "listen",
                                          "data": {"streams": ["trade_updates", "news"]}}))
            assert await receive(ws) == {"stream": "listening",
                                         "data": {"streams": ["trade_updates"]}}
            assert (await order(api, login, quantity="1"))[0] == 201
            assert (await receive(ws))["data"]["event"] == "new"
            assert (await receive(ws))["data"]["event"] == "fill"
            await ws.close()


@pytest.mark.parametrize("first", [
    json.dumps({"action": "auth", "key": "PKNOPE", "secret": "nope"}),
    json.dumps({"action": "authenticate", "data": {"key_id": 1, "secret_key": None}}),
    json.dumps({"action": "authenticate", "data": {"oauth_token": "x" * 5000}}),
    json.dumps({"action": "listen", "data": {"streams": ["trade_updates"]}}),
    json.dumps({"action": "authenticate", "data": "ключ"}),
    "{not json",
    "[" * 5000 + "]" * 5000,
    "",
])
async def test_a_bad_first_message_is_unauthorized_and_closed(api, first):
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(url(api))
        await ws.send_str(first)
        answer = await receive(ws)
        assert answer["stream"] == "authorization"
        assert answer["data"]["status"] == "unauthorized"
        assert len(answer["data"]["message"]) < 300
        closed = await ws.receive(timeout=5)
        assert closed.type == aiohttp.WSMsgType.CLOSE and closed.data == 4401


@pytest.mark.parametrize("message", [
    "{bad json",
    b"\xc1\xc1\xc1",  # never valid MessagePack
    msgpack.packb({"action": "subscribe", "trades": ["AAPL"]}),
    json.dumps({"action": "dance"}),
    json.dumps({"action": "listen", "data": {"streams": ["trade_updates"] * 1000}}),
    json.dumps({"action": "listen", "data": {"streams": "trade_updates"}}),
    json.dumps({"action": "listen", "data": {"streams": ["🚀" * 100]}}),
    json.dumps({"action": "auth", "key": "again", "secret": "again"}),
    json.dumps(["listen"]),
    b"\x91" * 5000 + b"\x90",
])
async def test_a_bad_message_is_answered_with_an_error_and_the_stream_goes_on(api, message):
    login, _ = await trader(api)
    async with aiohttp.ClientSession() as session:
        ws = await authorized(api, session, {"action": "authenticate",
                                             "data": {"oauth_token": login}})
        if isinstance(message, bytes):
            await ws.send_bytes(message)
        else:
            await ws.send_str(message)
        answer = await receive(ws)
        assert answer["stream"] == "error", answer
        assert answer["data"]["code"] in (40010000, 40310000, 42210000)
        assert 0 < len(answer["data"]["message"]) < 300
        await ws.send_str(json.dumps({"action": "listen",
                                      "data": {"streams": ["trade_updates"]}}))
        assert (await receive(ws))["stream"] == "listening"
        await ws.close()


async def test_a_huge_message_closes_the_connection(api):
    login, _ = await trader(api)
    async with aiohttp.ClientSession() as session:
        ws = await authorized(api, session, {"action": "authenticate",
                                             "data": {"oauth_token": login}})
        await ws.send_str(json.dumps({"action": "listen", "data": {"streams": ["x" * 10**6]}}))
        closed = await ws.receive(timeout=5)
        assert closed.type == aiohttp.WSMsgType.CLOSE and closed.data == 1009


async def test_the_socket_cap_applies(servers, settings):
    api = await servers.start(replace(settings, limits=replace(settings.limits,
                                                               sockets_per_user=1)))
    login, _ = await trader(api)
    auth = {"action": "authenticate", "data": {"oauth_token": login}}
    async with aiohttp.ClientSession() as session:
        first = await authorized(api, session, auth)
        second = await session.ws_connect(url(api))
        await second.send_str(json.dumps(auth))
        answer = await receive(second)
        assert answer["data"]["status"] == "unauthorized"
        assert (await second.receive(timeout=5)).data == 4429
        await first.close()


async def test_an_order_placed_on_another_process_reaches_the_stream_through_redis(
        servers, redis_settings):
    first = await servers.start(redis_settings)
    second = await servers.start(replace(redis_settings, port=0))
    login, key = await trader(first)
    set_price(second, "AAPL", "100")
    async with aiohttp.ClientSession() as session:
        ws = await authorized(second, session, {"action": "auth", "key": key["key_id"],
                                                "secret": key["secret"]})
        await ws.send_str(json.dumps({"action": "listen",
                                      "data": {"streams": ["trade_updates"]}}))
        assert (await receive(ws))["stream"] == "listening"
        status, placed = await order(first, login, quantity="4")
        assert status == 201, placed
        new, fill = (await receive(ws))["data"], (await receive(ws))["data"]
        assert (new["event"], fill["event"]) == ("new", "fill")
        assert fill["order"]["client_order_id"] == placed["order"]["client_order_id"]
        assert (fill["qty"], fill["price"]) == ("4", "100")
        await ws.close()


async def test_revoking_the_key_closes_its_stream(api):
    login, key = await trader(api)
    async with aiohttp.ClientSession() as session:
        ws = await authorized(api, session, {"action": "auth", "key": key["key_id"],
                                             "secret": key["secret"]})
        status, _ = await api.call("DELETE", f"{KEYS}/{key['id']}", token=login)
        assert status == 204
        closed = await ws.receive(timeout=5)
        assert closed.type == aiohttp.WSMsgType.CLOSE and closed.data == 4401


async def test_a_client_that_does_not_authenticate_is_closed(api, monkeypatch):
    monkeypatch.setattr("handlers.alpaca.wire.AUTH_WITHIN", 0.3)
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(url(api))
        answer = await receive(ws)
        assert answer["data"] == {"action": "authenticate", "status": "unauthorized",
                                  "message": "auth timeout"}
        closed = await ws.receive(timeout=5)
        assert closed.type == aiohttp.WSMsgType.CLOSE and closed.data == 4401
