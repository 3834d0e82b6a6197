"""The Binance adapter against a local server speaking Binance's combined-stream format."""

import asyncio
import json
import logging
from decimal import Decimal

import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

from feeds.base import Backoff
from feeds.binance import BinanceFeed
from tests.unit.test_hub_and_feeds import Recorder
from trading.market import Universe

universe = Universe.parse("binance:BTC-USDT,ETHUSDT")


class FakeBinance:
    """Accepts /stream connections and hands each one to the test."""

    def __init__(self) -> None:
        self.connections: asyncio.Queue[tuple[web.WebSocketResponse, str]] = asyncio.Queue()
        self.app = web.Application()
        self.app.router.add_get("/stream", self.stream)

    async def stream(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(request)
        done = asyncio.get_running_loop().create_future()
        ws.done = done  # type: ignore[attr-defined]
        await self.connections.put((ws, request.query["streams"]))
        await done  # the test decides when this connection ends
        return ws


def trade(symbol: str, price: str, millis: int = 1_772_461_800_000) -> str:
    return json.dumps({"stream": f"{symbol.lower()}@trade", "data": {
        "e": "trade", "E": millis + 5, "s": symbol, "t": 1, "p": price, "q": "0.1",
        "T": millis, "m": False, "M": True}})


@pytest.fixture
async def binance():
    fake = FakeBinance()
    server = TestServer(fake.app)
    await server.start_server()
    yield fake, str(server.make_url("")).rstrip("/").replace("http://", "ws://")
    while not fake.connections.empty():
        ws, _ = fake.connections.get_nowait()
        ws.done.set_result(None)
    await server.close()


def feed(url: str, **options) -> BinanceFeed:
    return BinanceFeed(universe.from_source("binance"), url=url,
                       backoff=Backoff(first=0.01, most=0.05), **options)


async def test_trades_become_quotes_with_exact_prices_and_exchange_times(binance):
    fake, url = binance
    sink = Recorder()
    task = asyncio.create_task(feed(url).run(sink))
    ws, streams = await asyncio.wait_for(fake.connections.get(), 5)
    assert sorted(streams.split("/")) == ["btcusdt@trade", "ethusdt@trade"]
    await ws.send_str(trade("BTCUSDT", "64123.45000000"))
    await ws.send_str(trade("ETHUSDT", "3456.7", millis=1_772_461_801_000))
    await sink.wait_for(quotes=2)
    task.cancel()
    first, second = sink.quotes
    assert (first.symbol, first.price, first.source) == ("BTC-USDT", Decimal("64123.45"),
                                                         "binance")
    assert first.ts.timestamp() == 1_772_461_800
    assert (second.symbol, second.price) == ("ETHUSDT", Decimal("3456.7"))


async def test_mini_ticker_stream_uses_the_close_price(binance):
    fake, url = binance
    sink = Recorder()
    task = asyncio.create_task(feed(url, stream="miniTicker").run(sink))
    ws, streams = await asyncio.wait_for(fake.connections.get(), 5)
    assert "btcusdt@miniTicker" in streams
    await ws.send_str(json.dumps({"stream": "btcusdt@miniTicker", "data": {
        "e": "24hrMiniTicker", "E": 1_772_461_800_000, "s": "BTCUSDT", "c": "65000.1",
        "o": "1", "h": "2", "l": "0.5", "v": "10", "q": "20"}}))
    await sink.wait_for(quotes=1)
    task.cancel()
    assert sink.quotes[0].price == Decimal("65000.1")


async def test_malformed_messages_are_logged_skipped_and_the_feed_keeps_running(binance,
                                                                               caplog):
    fake, url = binance
    sink = Recorder()
    task = asyncio.create_task(feed(url).run(sink))
    ws, _ = await asyncio.wait_for(fake.connections.get(), 5)
    with caplog.at_level(logging.WARNING):
        for bad in ["not json", json.dumps({"data": {"e": "trade", "s": "BTCUSDT"}}),
                    json.dumps({"data": {"e": "trade", "s": "BTCUSDT", "p": "-1", "T": 1}}),
                    json.dumps([1, 2, 3]), json.dumps({"result": None, "id": 1})]:
            await ws.send_str(bad)
        await ws.send_str(trade("BTCUSDT", "1.5"))
        await sink.wait_for(quotes=1)
    task.cancel()
    assert [q.price for q in sink.quotes] == [Decimal("1.5")]
    assert sum("malformed Binance message" in r.getMessage() for r in caplog.records) == 4


async def test_a_dropped_connection_is_reopened_and_resubscribed(binance):
    fake, url = binance
    sink = Recorder()
    binance_feed = feed(url)
    task = asyncio.create_task(binance_feed.run(sink))
    ws, first_streams = await asyncio.wait_for(fake.connections.get(), 5)
    await ws.send_str(trade("BTCUSDT", "1"))
    await sink.wait_for(quotes=1)
    await ws.close()
    ws.done.set_result(None)
    again, streams = await asyncio.wait_for(fake.connections.get(), 5)
    assert streams == first_streams
    await again.send_str(trade("BTCUSDT", "2", millis=1_772_461_802_000))
    await sink.wait_for(quotes=2)
    task.cancel()
    assert binance_feed.connections == 2


async def test_a_silent_stream_is_reconnected_by_the_watchdog(binance):
    fake, url = binance
    sink = Recorder()
    task = asyncio.create_task(feed(url, silence_timeout=0.2).run(sink))
    await asyncio.wait_for(fake.connections.get(), 5)  # then says nothing
    ws, _ = await asyncio.wait_for(fake.connections.get(), 5)
    await ws.send_str(trade("ETHUSDT", "3000"))
    await sink.wait_for(quotes=1)
    task.cancel()


async def test_an_old_connection_is_renewed_before_binances_24_hour_cut(binance):
    fake, url = binance
    sink = Recorder()
    binance_feed = feed(url, max_age=0.3, silence_timeout=10)
    task = asyncio.create_task(binance_feed.run(sink))
    ws, _ = await asyncio.wait_for(fake.connections.get(), 5)
    await ws.send_str(trade("BTCUSDT", "1"))
    await asyncio.wait_for(fake.connections.get(), 5)
    task.cancel()
    assert binance_feed.connections == 2


async def test_server_pings_are_answered(binance):
    fake, url = binance
    task = asyncio.create_task(feed(url).run(Recorder()))
    ws, _ = await asyncio.wait_for(fake.connections.get(), 5)
    await ws.ping(b"keepalive")
    message = await asyncio.wait_for(ws.receive(), 5)
    task.cancel()
    assert (message.type, message.data) == (WSMsgType.PONG, b"keepalive")


async def test_an_unreachable_server_is_retried_with_backoff_and_logged_once(
        unused_tcp_port, caplog):
    sink = Recorder()
    binance_feed = feed(f"ws://127.0.0.1:{unused_tcp_port}")
    with caplog.at_level(logging.INFO, logger="feeds.binance"):
        task = asyncio.create_task(binance_feed.run(sink))
        await asyncio.sleep(0.3)
    assert not task.done()  # still trying, not crashed
    assert binance_feed.backoff.attempt >= 2
    task.cancel()
    [line] = [r.getMessage() for r in caplog.records]
    assert line.startswith("Binance prices are down (ClientConnectorError: Cannot connect")


async def test_a_source_back_after_an_outage_is_logged_once(binance, caplog):
    fake, url = binance
    sink = Recorder()
    binance_feed = feed(url)
    binance_feed.outage.failed("ClientConnectorError: refused", 0.01)  # as if it had been down
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="feeds.binance"):
        task = asyncio.create_task(binance_feed.run(sink))
        ws, _ = await asyncio.wait_for(fake.connections.get(), 5)
        await ws.send_str(trade("BTCUSDT", "1"))
        await ws.send_str(trade("BTCUSDT", "2"))
        await sink.wait_for(quotes=2)
    task.cancel()
    assert [r.getMessage() for r in caplog.records] == [
        "Binance prices are back after 0 s (1 failed attempts)"]
