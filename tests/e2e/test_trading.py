"""Orders, trades, the account and its ledger over REST, against the real database."""

import pytest

from handlers import keys
from tests.e2e.trading_support import (
    account,
    assert_books_balance,
    order,
    priced_trader,
    set_price,
)


@pytest.fixture
async def trader(api):
    return await priced_trader(api)


async def test_a_new_account_starts_with_the_configured_cash(api, trader):
    assert await account(api, trader) == {
        "currency": "USD", "initial_cash": "100000", "cash": "100000", "reserved": "0",
        "margin_used": "0", "available": "100000", "realized_pnl": "0", "unrealized_pnl": "0",
        "equity": "100000", "fees": "0", "seq": 0}


async def test_market_buy_fills_at_the_quote_and_opens_a_trade(api, trader):
    status, body = await order(api, trader, quantity="10", stop_loss="95",
                               target_price="110", client_order_id="my-1")
    assert status == 201
    placed = body["order"]
    assert (placed["status"], placed["filled_price"], placed["client_order_id"]) == (
        "filled", "100", "my-1")
    _, trades = await api.call("GET", "/api/v1/trades?status=open", token=trader)
    [trade] = trades["trades"]
    assert (trade["id"], trade["side"], trade["quantity"], trade["entry_price"],
            trade["stop_loss"], trade["target_price"], trade["margin"]) == (
        placed["trade_id"], "buy", "10", "100", "95", "110", "1000")
    acct = await account(api, trader)
    assert (acct["cash"], acct["margin_used"], acct["available"]) == ("100000", "1000", "99000")
    set_price(api, "AAPL", "104.5")
    assert (await account(api, trader))["unrealized_pnl"] == "45"
    await assert_books_balance(api)


async def test_exiting_a_trade_realizes_pnl_into_cash_with_a_ledger_entry(api, trader):
    _, body = await order(api, trader)
    trade_id = body["order"]["trade_id"]
    set_price(api, "AAPL", "112.25")
    status, body = await api.call("POST", f"/api/v1/trades/{trade_id}/exit", token=trader)
    assert status == 200
    trade = body["trade"]
    assert (trade["status"], trade["close_price"], trade["realized_pnl"], trade["close_reason"],
            trade["quantity"]) == ("closed", "112.25", "122.5", "manual", "0")
    acct = await account(api, trader)
    assert (acct["cash"], acct["margin_used"], acct["available"], acct["realized_pnl"]) == (
        "100122.5", "0", "100122.5", "122.5")
    ledger = [e async for e in api.app[keys.STORE].db["ledger"].find({})]
    assert [(e["reason"], e["amount"]) for e in ledger] == [("realized_pnl", 12_250_000_000)]
    status, body = await api.call("POST", f"/api/v1/trades/{trade_id}/exit", token=trader)
    assert (status, body["error"]["code"]) == (409, "trade_not_open")
    await assert_books_balance(api)


async def test_partial_exit_keeps_the_rest_open_with_proportional_margin(api, trader):
    _, body = await order(api, trader, symbol="BTCUSDT", quantity="0.3")
    trade_id = body["order"]["trade_id"]
    set_price(api, "BTCUSDT", "66000")
    status, body = await api.call("POST", f"/api/v1/trades/{trade_id}/exit",
                                  {"quantity": "0.1"}, token=trader)
    assert status == 200
    trade = body["trade"]
    assert (trade["status"], trade["quantity"], trade["realized_pnl"], trade["margin"]) == (
        "open", "0.2", "100", "13000")
    status, body = await api.call("POST", f"/api/v1/trades/{trade_id}/exit",
                                  {"quantity": "0.5"}, token=trader)
    assert (status, body["error"]["code"]) == (400, "invalid_quantity")
    await assert_books_balance(api)


async def test_short_trade_gains_when_the_price_falls(api, trader):
    _, body = await order(api, trader, side="sell", quantity="5", stop_loss="105")
    set_price(api, "AAPL", "90")
    _, closed = await api.call("POST", f"/api/v1/trades/{body['order']['trade_id']}/exit",
                               token=trader)
    assert closed["trade"]["realized_pnl"] == "50"
    assert (await account(api, trader))["cash"] == "100050"
    await assert_books_balance(api)


async def test_an_order_the_account_cannot_afford_is_rejected_and_changes_nothing(api, trader):
    status, body = await order(api, trader, quantity="1001")
    assert status == 400
    assert body["error"]["code"] == "insufficient_funds"
    assert body["error"]["details"]["needed"] == "100100"
    _, stored = await api.call("GET", f"/api/v1/orders/{body['error']['details']['order_id']}",
                               token=trader)
    assert (stored["order"]["status"], stored["order"]["reject_reason"]) == (
        "rejected", "insufficient_funds")
    assert (await account(api, trader))["available"] == "100000"
    _, trades = await api.call("GET", "/api/v1/trades", token=trader)
    assert trades["trades"] == []
    await assert_books_balance(api)


async def test_stale_prices_refuse_market_orders_and_exits(api, trader, later):
    _, body = await order(api, trader)
    later(seconds=31)
    status, answer = await order(api, trader)
    assert (status, answer["error"]["code"]) == (409, "stale_price")
    status, answer = await api.call("POST", f"/api/v1/trades/{body['order']['trade_id']}/exit",
                                    token=trader)
    assert (status, answer["error"]["code"]) == (409, "stale_price")


@pytest.mark.parametrize(("fields", "status", "code"), [
    ({"quantity": "0"}, 400, "invalid_quantity"),
    ({"quantity": "1.5"}, 400, "invalid_quantity"),
    ({"quantity": "abc"}, 400, "validation_error"),
    ({"quantity": None}, 400, "validation_error"),
    ({"symbol": "DOGE"}, 400, "unknown_symbol"),
    ({"side": "hold"}, 400, "validation_error"),
    ({"type": "iceberg"}, 400, "validation_error"),
    ({"stop_loss": "101"}, 400, "invalid_price"),
    ({"type": "limit"}, 400, "invalid_price"),
    ({"type": "limit", "limit_price": "-5"}, 400, "invalid_price"),
    ({"client_order_id": "has spaces"}, 400, "validation_error"),
])
async def test_bad_orders_get_clear_codes_and_store_nothing(api, trader, fields, status, code):
    answer = await order(api, trader, **fields)
    assert (answer[0], answer[1]["error"]["code"]) == (status, code)
    _, orders = await api.call("GET", "/api/v1/orders", token=trader)
    assert orders["orders"] == []


async def test_a_retried_client_order_id_returns_the_original_order(api, trader):
    first = await order(api, trader, client_order_id="retry-me")
    again = await order(api, trader, client_order_id="retry-me")
    assert again[1]["order"] == first[1]["order"]
    _, trades = await api.call("GET", "/api/v1/trades", token=trader)
    assert len(trades["trades"]) == 1
    status, body = await order(api, trader, client_order_id="retry-me", quantity="11")
    assert (status, body["error"]["code"]) == (409, "duplicate_client_order_id")


async def test_limit_orders_rest_with_funds_reserved_until_canceled(api, trader):
    status, body = await order(api, trader, type="limit", limit_price="95", quantity="10",
                               stop_loss="90")
    assert (status, body["order"]["status"], body["order"]["reserved"]) == (201, "open", "950")
    acct = await account(api, trader)
    assert (acct["reserved"], acct["available"], acct["cash"]) == ("950", "99050", "100000")
    order_id = body["order"]["id"]
    status, body = await api.call("DELETE", f"/api/v1/orders/{order_id}", token=trader)
    assert (status, body["order"]["status"]) == (200, "canceled")
    assert (await account(api, trader))["available"] == "100000"
    status, body = await api.call("DELETE", f"/api/v1/orders/{order_id}", token=trader)
    assert (status, body["error"]["code"]) == (409, "order_not_open")
    await assert_books_balance(api)


async def test_resting_orders_need_available_funds(api, trader):
    status, body = await order(api, trader, type="stop", stop_price="105", quantity="1000")
    assert (status, body["error"]["code"]) == (400, "insufficient_funds")
    await assert_books_balance(api)


async def test_modify_trade_checks_levels_against_the_price(api, trader):
    _, body = await order(api, trader)
    trade_id = body["order"]["trade_id"]
    status, body = await api.call("PATCH", f"/api/v1/trades/{trade_id}",
                                  {"stop_loss": "97", "target_price": "120"}, token=trader)
    assert (status, body["trade"]["stop_loss"], body["trade"]["target_price"]) == (
        200, "97", "120")
    status, body = await api.call("PATCH", f"/api/v1/trades/{trade_id}", {"stop_loss": "101"},
                                  token=trader)
    assert (status, body["error"]["code"]) == (400, "invalid_price")
    status, body = await api.call("PATCH", f"/api/v1/trades/{trade_id}", {"target_price": None},
                                  token=trader)
    assert (body["trade"]["stop_loss"], body["trade"]["target_price"]) == ("97", None)


async def test_exit_all_closes_every_open_trade(api, trader):
    for symbol, quantity in (("AAPL", "3"), ("BTCUSDT", "0.01"), ("AAPL", "2")):
        await order(api, trader, symbol=symbol, quantity=quantity)
    status, body = await api.call("POST", "/api/v1/trades/exit-all", token=trader)
    assert status == 200
    assert {t["close_reason"] for t in body["trades"]} == {"exit_all"}
    assert len(body["trades"]) == 3
    _, trades = await api.call("GET", "/api/v1/trades?status=open", token=trader)
    assert trades["trades"] == []
    await assert_books_balance(api)


async def test_positions_wallet_and_performance(api, trader):
    await order(api, trader, quantity="3")
    await order(api, trader, quantity="1")
    set_price(api, "MSFT", "6500")
    _, body = await order(api, trader, symbol="MSFT", quantity="5", side="sell")
    set_price(api, "AAPL", "110")
    _, positions = await api.call("GET", "/api/v1/positions", token=trader)
    aapl = positions["positions"][0]
    assert (aapl["symbol"], aapl["side"], aapl["quantity"], aapl["average_entry"],
            aapl["unrealized_pnl"], aapl["trades"]) == ("AAPL", "buy", "4", "100", "40", 2)
    _, wallet = await api.call("GET", "/api/v1/wallet", token=trader)
    # The cash: what is available, and what resting orders lock (none); the margin of
    # the positions (AAPL 400, MSFT 32500) is theirs, in their rows.
    assert wallet["balances"][0] == {"asset": "USD", "type": "cash", "free": "67100",
                                     "locked": "0", "total": "67100", "margin_used": "32900",
                                     "aliases": ["USDT", "USDC", "FDUSD", "BUSD"]}
    assert {"asset": "MSFT", "type": "position", "free": "-5", "locked": "0",
            "total": "-5"} in wallet["balances"]
    set_price(api, "MSFT", "6400")
    await api.call("POST", f"/api/v1/trades/{body['order']['trade_id']}/exit", token=trader)
    _, perf = await api.call("GET", "/api/v1/performance", token=trader)
    assert (perf["active_pnl"], perf["realized_pnl"], perf["total_pnl"], perf["win_rate_pct"],
            perf["closed_trades"]) == ("40", "500", "540", "100", 1)


async def test_reset_closes_everything_and_restores_the_initial_cash(api, trader):
    _, body = await order(api, trader, quantity="10")
    await order(api, trader, type="limit", limit_price="90", quantity="5")
    set_price(api, "AAPL", "80")
    await api.call("POST", f"/api/v1/trades/{body['order']['trade_id']}/exit",
                   {"quantity": "5"}, token=trader)
    status, body = await api.call("POST", "/api/v1/account/reset", token=trader)
    assert status == 200
    assert (body["account"]["cash"], body["account"]["available"], body["account"]["reserved"],
            body["account"]["realized_pnl"]) == ("100000", "100000", "0", "0")
    _, trades = await api.call("GET", "/api/v1/trades?status=closed", token=trader)
    assert {t["close_reason"] for t in trades["trades"]} == {"reset"}
    _, orders = await api.call("GET", "/api/v1/orders?status=open", token=trader)
    assert orders["orders"] == []
    await assert_books_balance(api)


async def test_orders_and_trades_belong_to_their_owner(api, trader):
    _, body = await order(api, trader, type="limit", limit_price="90")
    bob = (await api.account(email="bob@example.com", name="Bob"))["access_token"]
    order_id = body["order"]["id"]
    assert (await api.call("GET", f"/api/v1/orders/{order_id}", token=bob))[0] == 404
    assert (await api.call("DELETE", f"/api/v1/orders/{order_id}", token=bob))[0] == 404
    _, orders = await api.call("GET", "/api/v1/orders", token=bob)
    assert orders["orders"] == []


@pytest.mark.parametrize("query", ["/api/v1/trades?status=pending", "/api/v1/orders?status=x",
                                   "/api/v1/orders?limit=0", "/api/v1/events?after=-1"])
async def test_bad_list_queries_are_400(api, trader, query):
    status, body = await api.call("GET", query, token=trader)
    assert (status, body["error"]["code"]) == (400, "validation_error")


async def test_order_history_filters_and_pages(api, trader):
    for price in ("91", "92", "93"):
        await order(api, trader, type="limit", limit_price=price, quantity="1")
    await order(api, trader, quantity="1")
    _, page = await api.call("GET", "/api/v1/orders?status=open&limit=2", token=trader)
    assert [o["limit_price"] for o in page["orders"]] == ["93", "92"]
    _, rest = await api.call("GET", f"/api/v1/orders?status=open&after={page['orders'][-1]['id']}",
                             token=trader)
    assert [o["limit_price"] for o in rest["orders"]] == ["91"]
    _, filled = await api.call("GET", "/api/v1/orders?status=filled&symbol=aapl", token=trader)
    assert len(filled["orders"]) == 1
