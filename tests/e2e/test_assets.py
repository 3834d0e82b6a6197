"""Assets over REST, and orders that break their asset's rules, against the real app."""

from dataclasses import replace

import pytest

from tests.e2e.trading_support import assert_books_balance, order, set_price

DEFAULT_SYMBOLS = sorted(["BTCUSDT", "ETHUSDT", "SOLUSDT", "AAPL", "MSFT", "RELIANCE.NS",
                          "^NSEI", "USDINR"])
# What every new query parameter must refuse: empty, huge, malformed, non-ASCII, nested.
# (full-width "XNYS" and "crypto", Arabic-Indic digits in a date)
HOSTILE = ["", " ", "x" * 5000, "9" * 400, "-1", "1e9", "\uff38\uff2e\uff39\uff33",
           "\uff43\uff52\uff59\uff50\uff54\uff4f", "\u2603", "crypto\x00",
           "[" * 300 + "]" * 300, '{"a":' * 100 + "1" + "}" * 100, "null",
           "2025-12-01T00:00:00", "\u0662\u0660\u0662\u0665-\u0661\u0662-\u0660\u0661"]


async def test_an_asset_is_alpacas_asset_object_with_currency_margin_and_hours(api):
    status, body = await api.call("GET", "/api/v1/assets/aapl")
    assert status == 200
    asset = body["asset"]
    hours = asset.pop("hours")
    assert asset == {
        "id": "AAPL", "symbol": "AAPL", "name": "AAPL", "class": "us_equity",
        "exchange": "XNYS", "status": "active", "tradable": True, "marginable": False,
        "shortable": True, "easy_to_borrow": True, "fractionable": False,
        "quote_currency": "USD", "base_asset": None, "source": "sim", "min_order_size": "1",
        "min_trade_increment": "1", "price_increment": "0.01", "min_notional": "0",
        "margin_rate_long": "1", "margin_rate_short": "1",
        "fees": {"model": "bps", "maker_bps": "0", "taker_bps": "0"}, "slippage_bps": "0"}
    assert {k: v for k, v in hours.items() if k != "is_open"} == {
        "exchange": "XNYS", "timezone": "America/New_York", "open": "09:30", "close": "16:00",
        "days": "mon-fri", "enforced": False}


@pytest.mark.parametrize(("spelling", "symbol", "fields"), [
    ("btc-usdt", "BTCUSDT", {"class": "crypto", "exchange": "CRYPTO", "quote_currency": "USDT",
                             "base_asset": "BTC", "min_trade_increment": "0.00001",
                             "price_increment": "0.01", "min_notional": "5",
                             "fractionable": True, "shortable": False}),
    ("reliance.ns", "RELIANCE.NS", {"class": "in_equity", "exchange": "XNSE",
                                    "quote_currency": "INR", "price_increment": "0.05"}),
    ("%5Ensei", "^NSEI", {"class": "index", "exchange": "XNSE", "quote_currency": "INR"}),
])
async def test_assets_answer_to_any_spelling(api, spelling, symbol, fields):
    status, body = await api.call("GET", f"/api/v1/assets/{spelling}")
    assert (status, body["asset"]["symbol"]) == (200, symbol)
    assert {k: body["asset"][k] for k in fields} == fields
    if fields["class"] == "crypto":
        assert {k: body["asset"]["hours"][k] for k in ("timezone", "open", "close", "days",
                                                       "is_open")} == {
            "timezone": "UTC", "open": "00:00", "close": "24:00", "days": "mon-sun",
            "is_open": True}
    elif fields["exchange"] == "XNSE":
        assert (body["asset"]["hours"]["timezone"], body["asset"]["hours"]["open"]) == (
            "Asia/Kolkata", "09:15")


@pytest.mark.parametrize("path", ["DOGE", "x" * 3000, "%E2%98%83", "%00", "[[[[", "BTC%20USD"])
async def test_unknown_assets_are_404_unknown_symbol(api, path):
    status, body = await api.call("GET", f"/api/v1/assets/{path}")
    assert (status, body["error"]["code"]) == (404, "unknown_symbol")


async def test_assets_list_filters_by_class_and_exchange(api):
    status, body = await api.call("GET", "/api/v1/assets")
    assert status == 200 and body["next_cursor"] is None
    assert [a["symbol"] for a in body["assets"]] == DEFAULT_SYMBOLS
    _, body = await api.call("GET", "/api/v1/assets?asset_class=crypto")
    assert [a["symbol"] for a in body["assets"]] == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    _, body = await api.call("GET", "/api/v1/assets?exchange=nse")
    assert [a["symbol"] for a in body["assets"]] == ["RELIANCE.NS", "^NSEI"]
    _, body = await api.call("GET", "/api/v1/assets?asset_class=us_equity&exchange=XNYS")
    assert [a["symbol"] for a in body["assets"]] == ["AAPL", "MSFT"]
    _, body = await api.call("GET", "/api/v1/assets?asset_class=fx")
    assert [(a["symbol"], a["exchange"], a["quote_currency"], a["base_asset"])
            for a in body["assets"]] == [("USDINR", "FX", "INR", "USD")]
    _, body = await api.call("GET", "/api/v1/assets?asset_class=index&exchange=CRYPTO")
    assert body == {"assets": [], "next_cursor": None}


async def test_assets_come_a_page_at_a_time(api):
    pages, cursor = [], None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        status, body = await api.call("GET", "/api/v1/assets", params=params)
        assert status == 200, body
        pages.append([a["symbol"] for a in body["assets"]])
        if (cursor := body["next_cursor"]) is None:
            break
    assert [len(page) for page in pages] == [2, 2, 2, 2]
    assert [symbol for page in pages for symbol in page] == DEFAULT_SYMBOLS


async def test_a_server_without_shorts_lists_nothing_shortable(servers, settings):
    api = await servers.start(replace(settings, trading=replace(settings.trading,
                                                                allow_shorts=False)))
    _, body = await api.call("GET", "/api/v1/assets")
    assert not any(a["shortable"] or a["easy_to_borrow"] for a in body["assets"])


@pytest.mark.parametrize("name", ["asset_class", "exchange", "limit", "cursor"])
async def test_hostile_asset_queries_are_400_naming_the_parameter(api, name):
    for value in HOSTILE:
        status, body = await api.call("GET", "/api/v1/assets", params={name: value})
        assert (status, body["error"]["code"], body["error"]["details"]["field"]) == (
            400, "validation_error", name), (value[:40], body)


# -- orders against the rules --------------------------------------------------

@pytest.fixture
async def trader(api):
    tokens = await api.account()
    set_price(api, "AAPL", "190")
    set_price(api, "BTCUSDT", "65000")
    set_price(api, "RELIANCE.NS", "2900")
    set_price(api, "USDINR", "83.25")  # INR prices convert into the account's USD
    return tokens["access_token"]


@pytest.mark.parametrize(("fields", "code", "rule"), [
    ({"type": "limit", "limit_price": "190.005"}, "invalid_price", "price_increment"),
    ({"stop_loss": "180.001"}, "invalid_price", "price_increment"),
    ({"symbol": "RELIANCE.NS", "type": "limit", "limit_price": "2900.03"}, "invalid_price",
     "price_increment"),
    ({"symbol": "BTCUSDT", "quantity": "0.00005"}, "invalid_quantity", "min_notional"),
    ({"symbol": "BTCUSDT", "type": "limit", "limit_price": "1000", "quantity": "0.001"},
     "invalid_quantity", "min_notional"),
    ({"symbol": "BTCUSDT", "side": "sell", "quantity": "0.01"}, "short_not_allowed",
     "shortable"),
])
async def test_orders_breaking_their_assets_rules_are_400_naming_the_rule(
        api, trader, fields, code, rule):
    status, body = await order(api, trader, **fields)
    assert (status, body["error"]["code"], body["error"]["details"]["rule"]) == (400, code,
                                                                                 rule)
    assert f"({rule})" in body["error"]["message"] or "not shortable" in body["error"][
        "message"]
    _, orders = await api.call("GET", "/api/v1/orders", token=trader)
    assert orders["orders"] == []


async def test_quantities_finer_than_the_step_are_refused(api, trader):
    status, body = await order(api, trader, symbol="BTCUSDT", quantity="0.000001")
    assert (status, body["error"]["code"]) == (400, "invalid_quantity")
    assert body["error"]["details"]["decimals"] == 5
    status, body = await order(api, trader, symbol="AAPL", quantity="1.5")
    assert (status, body["error"]["code"]) == (400, "invalid_quantity")


async def test_orders_keeping_the_rules_go_through(api, trader):
    status, body = await order(api, trader, symbol="RELIANCE.NS", type="limit",
                               limit_price="2900.05", stop_loss="2850.10")
    assert (status, body["order"]["status"]) == (201, "open")
    status, body = await order(api, trader, symbol="BTCUSDT", quantity="0.00008")
    assert (status, body["order"]["status"]) == (201, "filled")  # 5.2 USDT


async def test_a_crypto_sell_may_take_what_is_held_and_no_more(api, trader):
    assert (await order(api, trader, symbol="BTCUSDT", quantity="0.01"))[0] == 201
    status, body = await order(api, trader, symbol="BTCUSDT", side="sell", quantity="0.011")
    assert (status, body["error"]["code"], body["error"]["details"]) == (
        400, "short_not_allowed", {"field": "quantity", "rule": "shortable", "held": "0.01"})
    assert "BTCUSDT is not shortable" in body["error"]["message"]
    status, _ = await order(api, trader, symbol="BTCUSDT", side="sell", quantity="0.01")
    assert status == 201
    await assert_books_balance(api)


async def test_a_replacement_keeps_to_the_rules_too(api, trader):
    _, body = await order(api, trader, type="limit", limit_price="180")
    path = f"/api/v1/orders/{body['order']['id']}"
    status, refused = await api.call("PATCH", path, {"limit_price": "180.005"}, token=trader)
    assert (status, refused["error"]["details"]["rule"]) == (400, "price_increment")
    status, _ = await api.call("PATCH", path, {"limit_price": "180.05"}, token=trader)
    assert status == 200


async def test_a_socket_order_breaking_a_rule_gets_the_same_error(api, trader):
    sock = await api.socket(trader)
    ack = await sock.call("place_order", {"symbol": "AAPL", "side": "buy", "quantity": "1",
                                          "type": "limit", "limit_price": "190.001"})
    assert (ack["ok"], ack["error"]["code"], ack["error"]["details"]["rule"]) == (
        False, "invalid_price", "price_increment")
