"""Alpaca's Market Data API: alpaca-py's historical data clients read PaperDesk's candles
and live prices, and bad queries get Alpaca's errors."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from alpaca.common.exceptions import APIError
from alpaca.data.historical import CryptoHistoricalDataClient, StockHistoricalDataClient
from alpaca.data.requests import (
    CryptoBarsRequest,
    CryptoLatestQuoteRequest,
    CryptoLatestTradeRequest,
    CryptoSnapshotRequest,
    StockBarsRequest,
    StockLatestBarRequest,
    StockLatestQuoteRequest,
    StockLatestTradeRequest,
    StockSnapshotRequest,
)
from alpaca.data.timeframe import TimeFrame

from tests.e2e.trading_support import set_price
from tests.support import Api

KEYS = "/api/v1/me/api-keys"


async def api_key(api: Api) -> dict[str, Any]:
    login = (await api.account())["access_token"]
    status, key = await api.call("POST", KEYS, {"name": "data bot"}, token=login)
    assert status == 201, key
    return dict(key)


def stock_client(api: Api, key: dict[str, Any]) -> StockHistoricalDataClient:
    return StockHistoricalDataClient(key["key_id"], key["secret"],
                                     url_override=api.url.rstrip("/"))


def minutes_of_prices(api: Api, later: Any, symbol: str, prices: list[str]) -> None:
    """One price a minute (each in a new 1m candle)."""
    for price in prices:
        set_price(api, symbol, price)
        later(minutes=1)


async def test_stock_client_reads_bars_latest_trades_quotes_and_snapshots(api, clock, later):
    key = await api_key(api)
    start = clock() - timedelta(minutes=1)
    minutes_of_prices(api, later, "AAPL", ["100", "101", "102.5"])
    set_price(api, "MSFT", "420")
    client = stock_client(api, key)

    bars = await asyncio.to_thread(client.get_stock_bars, StockBarsRequest(
        symbol_or_symbols=["AAPL", "MSFT"], timeframe=TimeFrame.Minute, start=start))
    assert [bar.close for bar in bars["AAPL"]] == [100, 101, 102.5]
    assert [bar.close for bar in bars["MSFT"]] == [420]
    assert all(bar.symbol == "AAPL" and bar.volume == 0 and bar.trade_count == 1
               for bar in bars["AAPL"])
    assert bars["AAPL"][0].timestamp < bars["AAPL"][1].timestamp

    trades = await asyncio.to_thread(client.get_stock_latest_trade, StockLatestTradeRequest(
        symbol_or_symbols=["AAPL", "MSFT"]))
    assert (trades["AAPL"].price, trades["MSFT"].price) == (102.5, 420)
    quotes = await asyncio.to_thread(client.get_stock_latest_quote, StockLatestQuoteRequest(
        symbol_or_symbols="AAPL"))
    assert (quotes["AAPL"].bid_price, quotes["AAPL"].ask_price) == (102.5, 102.5)
    latest = await asyncio.to_thread(client.get_stock_latest_bar, StockLatestBarRequest(
        symbol_or_symbols="AAPL"))
    assert latest["AAPL"].close == 102.5

    snapshots = await asyncio.to_thread(client.get_stock_snapshot, StockSnapshotRequest(
        symbol_or_symbols=["AAPL", "MSFT"]))
    aapl = snapshots["AAPL"]
    assert aapl.latest_trade is not None and aapl.latest_trade.price == 102.5
    assert aapl.minute_bar is not None and aapl.minute_bar.close == 102.5
    assert aapl.daily_bar is not None and aapl.daily_bar.close == 102.5
    assert snapshots["MSFT"].latest_quote is not None
    assert snapshots["MSFT"].latest_quote.ask_price == 420


async def test_bars_come_a_page_at_a_time_over_the_symbols_with_next_page_token(api, clock,
                                                                                later):
    start = clock() - timedelta(minutes=1)
    minutes_of_prices(api, later, "AAPL", ["100", "101"])
    set_price(api, "MSFT", "420")
    query = {"symbols": "MSFT,AAPL", "timeframe": "1Min", "start": start.isoformat(),
             "limit": "1"}
    seen, token, pages = [], None, 0
    while pages < 5:
        status, page = await api.call("GET", "/v2/stocks/bars",
                                      params={**query, **({"page_token": token} if token
                                                          else {})})
        assert status == 200, page
        seen += [(symbol, bar["c"]) for symbol, bars in page["bars"].items() for bar in bars]
        token, pages = page["next_page_token"], pages + 1
        if token is None:
            break
    assert seen == [("AAPL", 100), ("AAPL", 101), ("MSFT", 420)]
    status, newest = await api.call("GET", "/v2/stocks/AAPL/bars", params={
        "timeframe": "1Min", "start": start.isoformat(), "sort": "desc"})
    assert status == 200
    assert (newest["symbol"], [bar["c"] for bar in newest["bars"]]) == ("AAPL", [101, 100])


async def test_crypto_client_maps_alpaca_pairs_to_the_configured_ones(api, clock, later):
    start = clock() - timedelta(minutes=1)
    minutes_of_prices(api, later, "BTCUSDT", ["65000", "65100.5"])
    client = CryptoHistoricalDataClient(url_override=api.url.rstrip("/"))
    bars = await asyncio.to_thread(client.get_crypto_bars, CryptoBarsRequest(
        symbol_or_symbols="BTC/USD", timeframe=TimeFrame.Minute, start=start))
    assert [bar.close for bar in bars["BTC/USD"]] == [65000, 65100.5]
    trades = await asyncio.to_thread(client.get_crypto_latest_trade, CryptoLatestTradeRequest(
        symbol_or_symbols=["BTC/USD", "ETHUSDT"]))
    assert trades["BTC/USD"].price == 65100.5
    assert "ETHUSDT" not in trades  # no price yet: left out, as Alpaca leaves it out
    quotes = await asyncio.to_thread(client.get_crypto_latest_quote, CryptoLatestQuoteRequest(
        symbol_or_symbols="BTC/USD"))
    assert quotes["BTC/USD"].bid_price == 65100.5
    snapshots = await asyncio.to_thread(client.get_crypto_snapshot, CryptoSnapshotRequest(
        symbol_or_symbols="BTC/USD"))
    assert snapshots["BTC/USD"].latest_trade is not None
    assert snapshots["BTC/USD"].minute_bar is not None


async def test_a_wrong_key_is_told_as_alpaca_tells_it(api):
    client = StockHistoricalDataClient("PKNOTAKEYATALL000000", "x" * 40,
                                       url_override=api.url.rstrip("/"))
    with pytest.raises(APIError) as refused:
        await asyncio.to_thread(client.get_stock_latest_trade,
                                StockLatestTradeRequest(symbol_or_symbols="AAPL"))
    assert (refused.value.status_code, refused.value.code) == (401, 40110000)


@pytest.mark.parametrize(("path", "params", "field"), [
    ("/v2/stocks/bars", {"symbols": "AAPL", "timeframe": "7Min"}, "timeframe"),
    ("/v2/stocks/bars", {"symbols": "AAPL", "timeframe": "1Week"}, "timeframe"),
    ("/v2/stocks/bars", {"symbols": "AAPL", "timeframe": ""}, "timeframe"),
    ("/v2/stocks/bars", {"symbols": "AAPL", "timeframe": "1Min", "limit": "0"}, "limit"),
    ("/v2/stocks/bars", {"symbols": "AAPL", "timeframe": "1Min", "limit": "99999999999"},
     "limit"),
    ("/v2/stocks/bars", {"symbols": "AAPL", "timeframe": "1Min", "start": "yesterday"},
     "start"),
    ("/v2/stocks/bars", {"symbols": "AAPL", "timeframe": "1Min", "sort": "up"}, "sort"),
    ("/v2/stocks/bars", {"symbols": "AAPL", "timeframe": "1Min", "page_token": "%%%"},
     "page_token"),
    ("/v2/stocks/bars", {"symbols": "AAPL", "timeframe": "1Min", "page_token": "x" * 5000},
     "page_token"),
    ("/v2/stocks/bars", {"symbols": "", "timeframe": "1Min"}, "symbols"),
    ("/v2/stocks/bars", {"timeframe": "1Min"}, "symbols"),
    ("/v2/stocks/trades/latest", {"symbols": "NOPE"}, "symbols"),
    ("/v2/stocks/trades/latest", {"symbols": "BTCUSDT"}, "symbols"),
    ("/v2/stocks/quotes/latest", {"symbols": "ÄPFEL,苹果"}, "symbols"),
    ("/v2/stocks/snapshots", {"symbols": ",".join(f"S{n}" for n in range(500))}, "symbols"),
    ("/v2/stocks/snapshots", {"symbols": "A" * 3000}, "symbols"),
    ("/v1beta3/crypto/us/latest/trades", {"symbols": "AAPL"}, "symbols"),
    ("/v1beta3/crypto/us/latest/trades", {"symbols": "DOGE/USD"}, "symbols"),
    ("/v1beta3/crypto/mars/latest/trades", {"symbols": "BTC/USD"}, "loc"),
])
async def test_bad_queries_get_alpacas_error_body(api, path, params, field):
    status, body = await api.call("GET", path, params=params)
    assert status == 422, body
    assert body["code"] == 42210000
    assert body["field"] == field
    assert isinstance(body["message"], str) and body["message"]
    assert len(body["message"]) < 300
