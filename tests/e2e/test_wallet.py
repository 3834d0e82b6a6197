"""The wallet, against the real app: per-asset balances derived from the cash, the net
positions and the resting orders (services/reports.py wallet)."""

import pytest

from tests.e2e.trading_support import assert_books_balance, order, priced_trader


@pytest.fixture
async def trader(api):
    return await priced_trader(api)


async def balance(api, token, asset):
    status, body = await api.call("GET", f"/api/v1/wallet/{asset}", token=token)
    assert status == 200, body
    return {k: body["balance"][k] for k in ("asset", "free", "locked", "total")}


async def test_buying_btcusdt_moves_usdt_into_btc(api, trader):
    assert await balance(api, trader, "USDT") == {"asset": "USDT", "free": "100000",
                                                  "locked": "0", "total": "100000"}
    assert await balance(api, trader, "BTC") == {"asset": "BTC", "free": "0", "locked": "0",
                                                 "total": "0"}
    assert (await order(api, trader, symbol="BTCUSDT", quantity="0.01"))[0] == 201
    assert await balance(api, trader, "btc") == {"asset": "BTC", "free": "0.01",
                                                 "locked": "0", "total": "0.01"}
    # 0.01 BTC at 65000 took 650 USDT (the account's dollars).
    assert await balance(api, trader, "USDT") == {"asset": "USDT", "free": "99350",
                                                  "locked": "0", "total": "99350"}
    _, wallet = await api.call("GET", "/api/v1/wallet", token=trader)
    assert [(b["asset"], b["type"], b["free"], b["total"]) for b in wallet["balances"]] == [
        ("USD", "cash", "99350", "99350"), ("BTC", "crypto", "0.01", "0.01")]
    assert "USDT" in wallet["balances"][0]["aliases"]
    await assert_books_balance(api)


async def test_resting_orders_lock_what_they_would_spend(api, trader):
    await order(api, trader, symbol="BTCUSDT", quantity="0.01")
    status, body = await order(api, trader, symbol="BTCUSDT", side="sell", type="limit",
                               limit_price="70000", quantity="0.004")
    assert (status, body["order"]["status"]) == (201, "open")
    assert await balance(api, trader, "BTC") == {"asset": "BTC", "free": "0.006",
                                                 "locked": "0.004", "total": "0.01"}
    # A resting buy locks the quote it would pay: 0.001 BTC at 60000.
    await order(api, trader, symbol="BTCUSDT", type="limit", limit_price="60000",
                quantity="0.001")
    assert await balance(api, trader, "USDT") == {"asset": "USDT", "free": "99290",
                                                  "locked": "60", "total": "99350"}
    # A stock's position, and a resting sell of part of it.
    await order(api, trader, symbol="AAPL", quantity="5")
    await order(api, trader, symbol="AAPL", side="sell", type="limit", limit_price="120",
                quantity="2")
    assert await balance(api, trader, "aapl") == {"asset": "AAPL", "free": "3", "locked": "2",
                                                  "total": "5"}
    # Cancelled, the orders lock nothing.
    assert (await api.call("DELETE", "/api/v1/orders", token=trader))[0] == 200
    assert (await balance(api, trader, "BTC"))["locked"] == "0"
    assert (await balance(api, trader, "USD"))["locked"] == "0"
    await assert_books_balance(api)


async def test_a_short_position_is_a_negative_balance(api, trader):
    await order(api, trader, symbol="AAPL", side="sell", quantity="3")
    await order(api, trader, symbol="AAPL", type="limit", limit_price="90", quantity="1")
    assert await balance(api, trader, "AAPL") == {"asset": "AAPL", "free": "-2",
                                                  "locked": "-1", "total": "-3"}


@pytest.mark.parametrize("asset", ["INR", "XYZ", "DOGE", "NOTASYMBOL", "BTCUSDT", "eth-usdt"])
async def test_an_asset_this_server_does_not_know_is_404(api, trader, asset):
    status, body = await api.call("GET", f"/api/v1/wallet/{asset}", token=trader)
    assert (status, body["error"]["code"]) == (404, "not_found")


@pytest.mark.parametrize("asset", [
    "x" * 5000, "B" * 33, "%E2%98%83", "BTC%00", "%EF%BC%A2%EF%BC%B4%EF%BC%A3",  # snowman,
    "%5B" * 300 + "%5D" * 300, "%7B%22a%22%3A%7B%22b%22%3A1%7D%7D",  # full-width, nested
    "BTC%2FETH", "..", "%2E%2E%2F%2E%2E", "%20BTC", "null"])
async def test_hostile_wallet_asset_names_are_4xx(api, trader, asset):
    status, body = await api.call("GET", f"/api/v1/wallet/{asset}", token=trader)
    assert 400 <= status < 500, (asset[:40], status)
    assert body["error"]["code"] in ("validation_error", "not_found"), body
    if body["error"]["code"] == "validation_error":
        assert body["error"]["details"]["field"] == "asset"


async def test_the_wallet_needs_a_token(api):
    status, body = await api.call("GET", "/api/v1/wallet/BTC")
    assert (status, body["error"]["code"]) == (401, "authentication_required")
