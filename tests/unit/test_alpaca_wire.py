"""The Alpaca transport's pure parts: ids inside UUIDs, Alpaca's crypto symbols, and
each PaperDesk error's Alpaca status and code."""

from __future__ import annotations

import json

import pytest

from handlers.alpaca import shapes
from handlers.alpaca.errors import NotSupported, alpaca_response
from trading import errors
from trading.market import Universe


def test_a_paperdesk_id_travels_inside_a_uuid_and_back():
    native = "65f1a2b3c4d5e6f708090a0b"
    carried = shapes.uuid_of(native)
    assert carried == "00000000-65f1-a2b3-c4d5-e6f708090a0b"
    assert shapes.id_of(carried) == native and shapes.id_of(carried.upper()) == native
    assert shapes.id_of("6f1b3c3e-2d0a-5d43-9a4f-70617065726b") is None
    assert shapes.id_of("not-a-uuid") is None and shapes.id_of("0" * 1000) is None


def test_an_asset_id_is_a_stable_uuid5_of_its_symbol():
    assert shapes.asset_id("AAPL") == shapes.asset_id("AAPL") != shapes.asset_id("MSFT")


@pytest.mark.parametrize(("configured", "asked", "found"), [
    ("sim:BTCUSDT", "BTC/USD", "BTCUSDT"),
    ("sim:BTCUSD,BTCUSDT", "BTC/USD", "BTCUSD"),
    ("sim:BTCUSDC", "btc/usd", "BTCUSDC"),
    ("sim:ETHUSDT", "ETH/USDT", "ETHUSDT"),
    ("sim:AAPL", "aapl", "AAPL"),
    ("sim:BTCUSDT", "BTCUSD", "BTCUSDT"),  # Alpaca's name of a crypto position
    ("sim:BTCUSD,BTCUSDT", "BTCUSD", "BTCUSD"),
])
def test_alpacas_dollar_pairs_name_the_configured_pair(configured, asked, found):
    assert shapes.native_symbol(Universe.parse(configured), asked) == found


def test_an_unconfigured_pair_is_an_unknown_symbol():
    for asked in ("BTC/USD", "BTCUSD", "USD", "/USD"):
        with pytest.raises(errors.UnknownSymbol):
            shapes.native_symbol(Universe.parse("sim:ETHUSDT"), asked)


@pytest.mark.parametrize(("error", "status"), [
    (errors.InvalidJSON(), 400),
    (errors.InvalidInput("bad"), 422),
    (errors.InvalidQuantity("bad"), 422),
    (errors.UnknownSymbolInput("bad"), 422),
    (errors.InsufficientFunds("poor"), 403),
    (errors.ShortNotAllowed(), 403),
    (errors.PayloadTooLarge(), 413),
    (errors.AuthenticationRequired(), 401),
    (errors.InvalidApiKey(), 401),
    (errors.InsufficientScope(), 403),
    (errors.NotFound("gone"), 404),
    (errors.UnknownSymbol("gone"), 404),
    (errors.MethodNotAllowed(), 405),
    (errors.OrderNotOpen("filled"), 422),
    (errors.DuplicateClientOrderId(), 422),
    (errors.MarketClosed("closed"), 422),
    (errors.StopPriceCrossed("crossed"), 422),
    (NotSupported("options"), 422),
    (errors.RateLimited(retry_after=7, limit=3), 429),
    (errors.LimitExceeded("full", limit=5), 429),
    (errors.Unavailable(), 503),
    (errors.PaperDeskError(), 500),
], ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value))
def test_each_error_has_alpacas_status_and_eight_digit_code(error, status):
    response = alpaca_response(error)
    body = json.loads(response.text or "")
    assert response.status == status
    assert body["code"] == status * 100_000 + 10_000 and body["message"] == error.message


def test_a_rate_limit_says_when_to_retry_and_its_allowance():
    response = alpaca_response(errors.RateLimited(retry_after=7, limit=3))
    assert response.headers["Retry-After"] == "7"
    assert (response.headers["X-RateLimit-Limit"], response.headers["X-RateLimit-Remaining"]) == (
        "3", "0")
