"""Alpaca's real-time data streams: alpaca-py's StockDataStream and CryptoDataStream get
trades, quotes and minute bars of the live prices; hostile messages get the
protocol's errors."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import aiohttp
import msgpack
import pytest
from alpaca.data.live import CryptoDataStream, StockDataStream
from alpaca.data.live.websocket import DataStream as SdkDataStream

from handlers.alpaca.data_stream import FEED
from tests.e2e.trading_support import set_price
from tests.support import Api, until

KEYS = "/api/v1/me/api-keys"


async def api_key(api: Api) -> dict[str, Any]:
    login = (await api.account())["access_token"]
    status, key = await api.call("POST", KEYS, {"name": "data bot"}, token=login)
    assert status == 201, key
    return dict(key)


def subscribed(api: Api, channel: str, symbol: str) -> bool:
    return bool(api.app[FEED].subscribers[channel].get(symbol))


class Running:
    """An alpaca-py data stream run in its own thread; what its handlers get, queued."""

    def __init__(self, api: Api, sdk: SdkDataStream) -> None:
        self.api, self.sdk = api, sdk
        self.got: asyncio.Queue[Any] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        async def handler(item: Any) -> None:
            loop.call_soon_threadsafe(self.got.put_nowait, item)

        self.handler = handler
        self.thread = threading.Thread(target=sdk.run, daemon=True)

    async def __aenter__(self) -> Running:
        self.thread.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.sdk.stop)
        for streams in self.api.app[FEED].subscribers.values():
            for members in list(streams.values()):
                for stream in list(members):  # the SDK checks its stop flag between receives
                    assert stream.client is not None
                    await stream.client.ws.close()
        await asyncio.to_thread(self.thread.join, 10)
        assert not self.thread.is_alive()

    async def next(self) -> Any:
        return await asyncio.wait_for(self.got.get(), 5)


def ws_url(api: Api, path: str) -> str:
    return api.url.replace("http", "ws", 1) + path.lstrip("/")


async def test_stock_stream_gets_trades_quotes_and_a_bar_when_a_minute_closes(api, later):
    key = await api_key(api)
    sdk = StockDataStream(key["key_id"], key["secret"], url_override=ws_url(api, "/v2/iex"))
    running = Running(api, sdk)
    sdk.subscribe_trades(running.handler, "AAPL")
    sdk.subscribe_quotes(running.handler, "AAPL")
    sdk.subscribe_bars(running.handler, "AAPL")
    async with running:
        await until(lambda: subscribed(api, "bars", "AAPL"))
        set_price(api, "MSFT", "420")  # not subscribed: nothing comes
        set_price(api, "AAPL", "100")
        got = [await running.next(), await running.next()]
        trade = next(item for item in got if type(item).__name__ == "Trade")
        quote = next(item for item in got if type(item).__name__ == "Quote")
        assert (trade.symbol, trade.price, trade.size) == ("AAPL", 100, 0)
        assert (quote.bid_price, quote.ask_price) == (100, 100)
        assert trade.timestamp.tzinfo is not None
        set_price(api, "AAPL", "101")
        later(minutes=1)
        set_price(api, "AAPL", "102")
        got = [await running.next() for _ in range(5)]
        bars = [item for item in got if type(item).__name__ == "Bar"]
        assert [(bar.symbol, bar.open, bar.close, bar.trade_count) for bar in bars] == [
            ("AAPL", 100, 101, 2)]
        assert running.got.empty()


async def test_crypto_stream_names_pairs_as_they_were_asked_for(api):
    key = await api_key(api)
    sdk = CryptoDataStream(key["key_id"], key["secret"],
                           url_override=ws_url(api, "/v1beta3/crypto/us"))
    running = Running(api, sdk)
    sdk.subscribe_trades(running.handler, "BTC/USD")
    async with running:
        await until(lambda: subscribed(api, "trades", "BTCUSDT"))
        set_price(api, "BTCUSDT", "65000.5")
        trade = await running.next()
        assert (trade.symbol, trade.price) == ("BTC/USD", 65000.5)


# -- the protocol, by hand --

MSGPACK = {"Content-Type": "application/msgpack"}


class Raw:
    """A data stream client speaking MessagePack or JSON."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, packed: bool) -> None:
        self.ws, self.packed = ws, packed

    async def send(self, message: Any) -> None:
        if self.packed:
            await self.ws.send_bytes(msgpack.packb(message))
        else:
            await self.ws.send_str(json.dumps(message))

    async def receive(self) -> list[dict[str, Any]]:
        message = await self.ws.receive(timeout=5)
        if self.packed:
            assert message.type == aiohttp.WSMsgType.BINARY, message
            return list(msgpack.unpackb(message.data, timestamp=3))
        assert message.type == aiohttp.WSMsgType.TEXT, message
        return list(json.loads(message.data))


async def raw(api: Api, session: aiohttp.ClientSession, key: dict[str, Any] | None,
              packed: bool = True, path: str = "/v2/iex") -> Raw:
    ws = await session.ws_connect(ws_url(api, path), headers=MSGPACK if packed else {})
    client = Raw(ws, packed)
    assert await client.receive() == [{"T": "success", "msg": "connected"}]
    if key is not None:
        await client.send({"action": "auth", "key": key["key_id"], "secret": key["secret"]})
        assert await client.receive() == [{"T": "success", "msg": "authenticated"}]
    return client


async def test_json_clients_get_json_with_rfc3339_times(api):
    key = await api_key(api)
    async with aiohttp.ClientSession() as session:
        client = await raw(api, session, key, packed=False)
        await client.send({"action": "subscribe", "trades": ["AAPL"], "quotes": ["*"]})
        [answer] = await client.receive()
        assert (answer["T"], answer["trades"], answer["quotes"], answer["bars"]) == (
            "subscription", ["AAPL"], ["*"], [])
        set_price(api, "BTCUSDT", "65000")  # a crypto pair: not on the stock feed
        set_price(api, "AAPL", "100")
        messages = await client.receive()
        assert {(m["T"], m["S"], m["p"] if m["T"] == "t" else m["bp"]) for m in messages} == {
            ("t", "AAPL", 100), ("q", "AAPL", 100)}
        assert all(m["t"].endswith("Z") for m in messages)
        await client.send({"action": "unsubscribe", "trades": ["AAPL"], "quotes": ["*"]})
        [answer] = await client.receive()
        assert (answer["trades"], answer["quotes"]) == ([], [])


async def test_before_auth_other_messages_are_refused_and_a_wrong_key_is_closed(api):
    async with aiohttp.ClientSession() as session:
        client = await raw(api, session, None)
        await client.send({"action": "subscribe", "trades": ["AAPL"]})
        assert await client.receive() == [{"T": "error", "code": 401,
                                           "msg": "not authenticated"}]
        await client.ws.send_bytes(b"\xc1")
        assert (await client.receive())[0]["code"] == 400
        await client.send({"action": "auth", "key": "PKWRONG", "secret": "wrong"})
        assert await client.receive() == [{"T": "error", "code": 402, "msg": "auth failed"}]
        closed = await client.ws.receive(timeout=5)
        assert closed.type == aiohttp.WSMsgType.CLOSE


@pytest.mark.parametrize(("message", "code"), [
    (b"\xc1\xc1", 400),
    ("{not json", 400),
    ({"action": "dance"}, 400),
    (["subscribe"], 400),
    ({"action": "subscribe", "trades": "AAPL"}, 400),
    ({"action": "subscribe", "trades": ["NOPE"]}, 400),
    ({"action": "subscribe", "trades": ["BTC/USD"]}, 400),  # crypto, on the stock feed
    ({"action": "subscribe", "quotes": ["ÄPFEL", "苹果"]}, 400),
    ({"action": "subscribe", "trades": [""]}, 400),
    ({"action": "subscribe", "trades": ["A" * 5000]}, 400),
    ({"action": "subscribe", "trades": [{"$gt": ""}]}, 400),
    ({"action": "subscribe", "trades": [f"S{n}" for n in range(10_000)]}, 405),
    ({"action": "subscribe", "trades": ["AAPL"], "bars": [f"S{n}" for n in range(51)]}, 405),
    (b"\x91" * 5000 + b"\x90", 400),
    ({"action": "auth", "key": "again", "secret": "again"}, 403),
])
async def test_a_bad_message_gets_the_protocols_error_and_the_stream_goes_on(api, message,
                                                                             code):
    key = await api_key(api)
    async with aiohttp.ClientSession() as session:
        client = await raw(api, session, key)
        if isinstance(message, bytes):
            await client.ws.send_bytes(message)
        elif isinstance(message, str):
            await client.ws.send_str(message)
        else:
            await client.send(message)
        [answer] = await client.receive()
        assert (answer["T"], answer["code"]) == ("error", code), answer
        assert 0 < len(answer["msg"]) < 300
        await client.send({"action": "subscribe", "trades": ["MSFT"]})
        [answer] = await client.receive()
        assert (answer["T"], answer["trades"]) == ("subscription", ["MSFT"])


async def test_a_message_over_the_size_limit_closes_the_connection(api):
    key = await api_key(api)
    async with aiohttp.ClientSession() as session:
        client = await raw(api, session, key)
        await client.ws.send_bytes(msgpack.packb({"action": "subscribe",
                                                  "trades": ["X" * 300_000]}))
        closed = await client.ws.receive(timeout=5)
        assert closed.type == aiohttp.WSMsgType.CLOSE and closed.data == 1009


async def test_a_client_that_does_not_authenticate_is_closed(api, monkeypatch):
    monkeypatch.setattr("handlers.alpaca.wire.AUTH_WITHIN", 0.3)
    async with aiohttp.ClientSession() as session:
        quiet = await raw(api, session, None)
        assert await quiet.receive() == [{"T": "error", "code": 404, "msg": "auth timeout"}]
        assert (await quiet.ws.receive(timeout=5)).type == aiohttp.WSMsgType.CLOSE
    monkeypatch.setattr("handlers.alpaca.wire.AUTH_WITHIN", 10.0)
    async with aiohttp.ClientSession() as session:
        chatty = await raw(api, session, None)
        for _ in range(10):
            await chatty.send({"action": "subscribe", "trades": ["AAPL"]})
            assert (await chatty.receive())[0]["code"] == 401
        await chatty.send({"action": "subscribe", "trades": ["AAPL"]})
        assert (await chatty.receive())[0]["code"] == 401
        assert (await chatty.ws.receive(timeout=5)).type == aiohttp.WSMsgType.CLOSE
