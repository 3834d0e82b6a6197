"""Market data over REST and Socket.IO, against the real app and hub."""

import asyncio
import socket
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import aiohttp
import pytest

from bench.lightclient import LightClient
from feeds.replay import ReplayFeed, load_ticks
from handlers import keys
from tests.support import quote


def publish(api, symbol: str, price: str, at=None) -> None:
    hub = api.app[keys.MARKET].hub
    hub.publish(quote(symbol, price, at or hub.clock()))


def market(settings, **changes):
    return replace(settings, market=replace(settings.market, **changes))


async def subscribed(api, *symbols: str):
    tokens = await api.account(email=f"{'-'.join(symbols).lower()}@example.com".replace("^", ""))
    sock = await api.socket(tokens["access_token"])
    ack = await sock.call("subscribe", {"symbols": list(symbols)})
    assert ack["ok"], ack
    return sock


async def test_symbols_lists_the_universe_with_source_price_and_staleness(api):
    publish(api, "AAPL", "190.25")
    status, body = await api.call("GET", "/api/v1/market/symbols")
    assert status == 200
    by_symbol = {row["symbol"]: row for row in body["symbols"]}
    assert set(by_symbol) == {"BTCUSDT", "ETHUSDT", "SOLUSDT", "AAPL", "MSFT", "RELIANCE.NS",
                              "^NSEI", "USDINR"}
    assert by_symbol["AAPL"]["price"] == "190.25"
    assert by_symbol["AAPL"]["stale"] is False
    assert by_symbol["MSFT"] == {"symbol": "MSFT", "price": None, "ts": None, "source": "sim",
                                 "stale": True}


async def test_quote_accepts_any_spelling_and_unknown_symbols_are_404(api):
    publish(api, "BTCUSDT", "65000.5")
    status, body = await api.call("GET", "/api/v1/market/quotes/btc-usdt")
    assert (status, body["symbol"], body["price"]) == (200, "BTCUSDT", "65000.5")
    status, body = await api.call("GET", "/api/v1/market/quotes/%5ENSEI")
    assert (status, body["symbol"]) == (200, "^NSEI")
    status, body = await api.call("GET", "/api/v1/market/quotes/DOGE")
    assert (status, body["error"]["code"]) == (404, "unknown_symbol")
    status, body = await api.call("GET", "/api/v1/market/candles/DOGE")
    assert (status, body["error"]["code"]) == (404, "unknown_symbol")


async def test_candles_aggregate_ticks_by_interval(api, clock):
    start = clock().replace(second=0, microsecond=0)
    for offset, price in [(0, "10"), (10, "12"), (20, "9"), (70, "11")]:
        publish(api, "AAPL", price, start + timedelta(seconds=offset))
    status, body = await api.call("GET", "/api/v1/market/candles/AAPL?interval=1m&limit=5")
    assert status == 200
    assert [(c["o"], c["h"], c["l"], c["c"], c["ticks"]) for c in body["candles"]] == [
        ("10", "12", "9", "9", 3), ("11", "11", "11", "11", 1)]
    assert body["candles"][0]["t"] == int(start.timestamp()) * 1000
    _, body = await api.call("GET", "/api/v1/market/candles/AAPL?interval=1h")
    assert [c["c"] for c in body["candles"]][-1] == "11"
    _, body = await api.call("GET", "/api/v1/market/candles/AAPL?limit=1")
    assert len(body["candles"]) == 1 and body["interval"] == "1m"


@pytest.mark.parametrize(("query", "field"), [("interval=2m", "interval"), ("limit=0", "limit"),
                                              ("limit=1001", "limit"), ("limit=ten", "limit")])
async def test_bad_candle_queries_are_400(api, query, field):
    status, body = await api.call("GET", f"/api/v1/market/candles/AAPL?{query}")
    assert (status, body["error"]["details"]["field"]) == (400, field)


async def test_subscribe_acks_the_subscription_and_current_quotes(api):
    publish(api, "AAPL", "190")
    tokens = await api.account()
    sock = await api.socket(tokens["access_token"])
    ack = await sock.call("subscribe", {"symbols": ["aapl", "btc-usdt"]})
    assert ack["ok"] is True
    assert ack["symbols"] == ["AAPL", "BTCUSDT"]
    assert [(q["symbol"], q["price"]) for q in ack["quotes"]] == [("AAPL", "190"),
                                                                   ("BTCUSDT", None)]
    ack = await sock.call("subscribe", {"symbols": ["MSFT"]})
    assert ack["symbols"] == ["AAPL", "BTCUSDT", "MSFT"]
    ack = await sock.call("unsubscribe", {"symbols": ["AAPL"]})
    assert ack == {"ok": True, "symbols": ["BTCUSDT", "MSFT"]}


@pytest.mark.parametrize(("payload", "code"), [
    ({"symbols": ["AAPL", "DOGE"]}, "unknown_symbol"), ({"symbols": "AAPL"}, "validation_error"),
    ({}, "validation_error"), (["AAPL"], "validation_error")])
async def test_bad_subscriptions_get_error_acks_and_change_nothing(api, payload, code):
    sock = await subscribed(api, "MSFT")
    ack = await sock.call("subscribe", payload)
    assert (ack["ok"], ack["error"]["code"]) == (False, code)
    assert (await sock.call("subscribe", {"symbols": []}))["symbols"] == ["MSFT"]


async def test_subscriptions_per_connection_are_capped(servers, settings):
    api = await servers.start(market(settings, max_subscriptions=2))
    sock = await subscribed(api, "AAPL", "MSFT")
    ack = await sock.call("subscribe", {"symbols": ["BTCUSDT"]})
    assert ack["error"]["code"] == "validation_error"
    assert ack["error"]["details"]["limit"] == 2


async def test_each_client_receives_only_its_symbols(api):
    apple = await subscribed(api, "AAPL")
    bitcoin = await subscribed(api, "BTCUSDT")
    publish(api, "AAPL", "191")
    publish(api, "BTCUSDT", "65001")
    update = await apple.next("live_price")
    assert (update["symbol"], update["price"], update["source"], update["stale"]) == (
        "AAPL", "191", "sim", False)
    assert (await bitcoin.next("live_price"))["symbol"] == "BTCUSDT"
    publish(api, "AAPL", "192")
    assert (await apple.next("live_price"))["price"] == "192"
    assert [e for e, _ in bitcoin.received] == ["live_price"]
    assert "prices" not in apple.events and "prices" not in bitcoin.events


async def test_several_symbols_changing_in_one_window_arrive_as_one_prices_event(api):
    sock = await subscribed(api, "AAPL", "MSFT", "BTCUSDT")
    publish(api, "AAPL", "190")
    publish(api, "MSFT", "420")
    batch = await sock.next("prices")
    assert sorted((u["symbol"], u["price"]) for u in batch) == [("AAPL", "190"), ("MSFT", "420")]


async def test_ticks_within_a_window_are_coalesced_latest_price_wins(api):
    sock = await subscribed(api, "AAPL")
    for cents in range(100, 120):
        publish(api, "AAPL", f"190.{cents}")
    assert (await sock.next("live_price"))["price"] == "190.119"
    await asyncio.sleep(0)
    publish(api, "AAPL", "200")  # a marker after the window
    assert (await sock.next("live_price"))["price"] == "200"
    assert [data["price"] for _, data in sock.received] == ["190.119", "200"]


async def test_unsubscribed_symbols_stop_arriving(api):
    sock = await subscribed(api, "AAPL", "MSFT")
    await sock.call("unsubscribe", {"symbols": ["AAPL"]})
    publish(api, "AAPL", "190")
    publish(api, "MSFT", "420")
    assert (await sock.next("live_price"))["symbol"] == "MSFT"
    assert [data["symbol"] for _, data in sock.received] == ["MSFT"]


async def test_a_symbol_going_stale_is_pushed_to_subscribers(servers, settings, clock):
    api = await servers.start(market(settings, stale_after=timedelta(milliseconds=200)))
    sock = await subscribed(api, "AAPL")
    publish(api, "AAPL", "190")
    assert (await sock.next("live_price"))["stale"] is False
    clock.advance(timedelta(seconds=1))
    update = await sock.next("live_price")
    assert (update["price"], update["stale"]) == ("190", True)
    _, body = await api.call("GET", "/api/v1/market/quotes/AAPL")
    assert body["stale"] is True
    publish(api, "AAPL", "191")
    assert (await sock.next("live_price"))["stale"] is False


async def test_a_replay_file_feeds_the_app_end_to_end(servers, settings, tmp_path):
    path = tmp_path / "path.csv"
    path.write_text("ts,symbol,price\n0,AAPL,190\n1,AAPL,195.5\n2,MSFT,420\n3,AAPL,188\n")
    configured = market(settings, symbols="replay:AAPL,MSFT", replay_file=path,
                        replay_speed=0, replay_loop=False)
    api = await servers.start(configured, feeds=None)
    await asyncio.wait_for(api.app[keys.MARKET].tasks["replay"], 5)
    _, body = await api.call("GET", "/api/v1/market/quotes/AAPL")
    assert (body["price"], body["source"]) == ("188", "replay")
    _, body = await api.call("GET", "/api/v1/market/candles/AAPL")
    assert [(c["o"], c["h"], c["l"], c["c"]) for c in body["candles"]] == [
        ("190", "195.5", "188", "188")]


async def test_replay_feed_class_is_what_the_app_builds(servers, settings, tmp_path):
    path = tmp_path / "path.csv"
    path.write_text("ts,symbol,price\n0,AAPL,1\n")
    configured = market(settings, symbols="replay:AAPL", replay_file=path)
    api = await servers.start(configured, feeds=None)
    [feed] = api.app[keys.MARKET].feeds
    assert isinstance(feed, ReplayFeed)
    assert feed.ticks == load_ticks(path, api.app[keys.MARKET].universe)


async def test_coalesced_fanout_keeps_price_strings_exact(api):
    sock = await subscribed(api, "BTCUSDT")
    publish(api, "BTCUSDT", "65000.00000001")
    update = await sock.next("live_price")
    assert Decimal(update["price"]) == Decimal("65000.00000001")


def tiny_receive_buffer(addr_info):
    """A client socket whose kernel buffer fills after a couple of kilobytes."""
    family, kind, proto, _, _ = addr_info
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    return sock


async def test_a_client_that_cannot_keep_up_is_dropped_and_others_keep_receiving(servers,
                                                                                 settings):
    api = await servers.start(market(settings, price_window=0.001, slow_client_packets=20,
                                     slow_client_bytes=64 * 1024))
    everything = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "AAPL", "MSFT", "RELIANCE.NS", "^NSEI"]
    healthy = await subscribed(api, *everything)
    tokens = await api.account(email="slow@example.com")
    connector = aiohttp.TCPConnector(socket_factory=tiny_receive_buffer)
    async with aiohttp.ClientSession(connector=connector) as session:
        slow = LightClient(session, api.url, tokens["access_token"])
        await slow.connect()
        assert (await slow.call("subscribe", {"symbols": everything}))["ok"]
        slow.pause_reading()
        streamer = api.app[keys.STREAMER]
        async with asyncio.timeout(20):
            step = 0
            while streamer.dropped == 0:
                step += 1
                for symbol in everything:
                    publish(api, symbol, f"{step}.{'9' * 400}")
                await asyncio.sleep(0.002)
        await slow.close()
    publish(api, "AAPL", "12345")
    async with asyncio.timeout(5):
        while (await healthy.next("live_price"))["price"] != "12345":
            pass
    assert len(streamer.subscriptions) == 1


async def test_directly_written_frames_of_every_length_form_reach_clients_intact(api):
    everything = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "AAPL", "MSFT", "RELIANCE.NS", "^NSEI"]
    sock = await subscribed(api, *everything)
    publish(api, "AAPL", "1.5")  # a frame under 126 bytes of payload
    assert (await sock.next("live_price"))["price"] == "1.5"
    long_prices = {symbol: f"{n + 1}.{'7' * 12_000}" for n, symbol in enumerate(everything)}
    for symbol, price in long_prices.items():  # one `prices` frame of over 64 KiB
        publish(api, symbol, price)
    batch = await sock.next("prices")
    assert {u["symbol"]: u["price"] for u in batch} == long_prices
