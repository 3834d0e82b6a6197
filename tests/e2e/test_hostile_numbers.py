"""Every decimal field, sent something that is not an amount the books keep, gets a clear 400
naming the field, on every transport, and nothing is stored."""

from __future__ import annotations

from typing import Any

import pytest

from handlers import keys
from tests.e2e.test_plain_ws import PlainSocket, connect
from tests.e2e.trading_support import assert_books_balance, order, set_price

# Each of these once froze the event loop for seconds, answered 500, or was taken.
HOSTILE = ["1e999990", "1e5000", "-1e999990", "92233720368.55", "92233720368.54775808",
           1e20, 10**30, "0.000000001", "1E-30", "1_0", "NaN", "Infinity", "-Infinity",
           "\uff11\uff10", "\u0661\u0660", "1e", "1.2.3", " ", "x" * 10_000, "9" * 5000]
CODES = {"validation_error", "invalid_quantity", "invalid_price"}
# Every decimal field of an order, with a valid order it is slotted into.
ORDER_FIELDS = {
    "quantity": {"type": "market"},
    "limit_price": {"type": "limit", "limit_price": "90"},
    "stop_price": {"type": "stop", "stop_price": "110"},
    "stop_loss": {"type": "market"},
    "target_price": {"type": "market"},
    "trailing_amount": {"type": "market"},
    "trailing_percent": {"type": "market"},
}


@pytest.fixture
async def trader(api):  # type: ignore[no-untyped-def]
    set_price(api, "AAPL", "100")
    return (await api.account())["access_token"]


def refused(status: int, body: Any, field: str) -> bool:
    error = body["error"]
    return status == 400 and error["code"] in CODES and (
        error.get("details", {}).get("field") == field)


async def stored(api: Any, collection: str) -> int:
    return int(await api.app[keys.STORE].db[collection].count_documents({}))


@pytest.mark.parametrize("field", sorted(ORDER_FIELDS))
async def test_an_order_with_a_hostile_amount_is_refused_naming_the_field(api, trader, field):
    for value in HOSTILE:
        status, body = await order(api, trader, **{**ORDER_FIELDS[field], field: value})
        assert refused(status, body, field), (value, status, body)
    assert await stored(api, "orders") == 0
    assert await stored(api, "trades") == 0
    await assert_books_balance(api)


async def test_trade_changes_exits_and_alerts_with_hostile_amounts_change_nothing(api, trader):
    _, body = await order(api, trader, quantity="10")
    trade_id = body["order"]["trade_id"]
    before = await api.app[keys.STORE].db["trades"].find_one({"_id": trade_id})
    for value in HOSTILE:
        for field in ("stop_loss", "target_price", "trailing_amount", "trailing_percent"):
            status, body = await api.call("PATCH", f"/api/v1/trades/{trade_id}",
                                          {field: value}, token=trader)
            assert refused(status, body, field), (field, value, body)
        status, body = await api.call("POST", f"/api/v1/trades/{trade_id}/exit",
                                      {"quantity": value}, token=trader)
        assert refused(status, body, "quantity"), (value, body)
        status, body = await api.call("POST", "/api/v1/alerts", {
            "symbol": "AAPL", "condition": "above", "price": value}, token=trader)
        assert refused(status, body, "price"), (value, body)
    assert await api.app[keys.STORE].db["trades"].find_one({"_id": trade_id}) == before
    assert await stored(api, "alerts") == 0
    await assert_books_balance(api)


async def test_an_order_worth_more_than_the_books_keep_is_refused_before_anything_is_stored(
        api, trader):
    # Each amount alone fits; their product (the order's value) does not.
    status, body = await order(api, trader, type="limit", limit_price="92233720368",
                               quantity="1000")
    assert (status, body["error"]["code"]) == (400, "validation_error"), body
    assert "too large" in body["error"]["message"]
    assert await stored(api, "orders") == 0
    await assert_books_balance(api)


async def test_exact_forms_of_whole_numbers_are_taken_and_answered_plainly(api, trader):
    for quantity in ("10.00", 1.0, "1.000000000", "+2"):
        status, body = await order(api, trader, quantity=quantity)
        assert status == 201, (quantity, body)
    # AAPL's tick below $1 is 0.0001 (trading/assets.py).
    status, body = await order(api, trader, type="limit", limit_price="0.00010000",
                               quantity="1")
    assert status == 201, body
    assert body["order"]["limit_price"] == "0.0001"
    status, body = await order(api, trader, trailing_percent="0.00000001")
    assert status == 201, body
    _, trades = await api.call("GET", "/api/v1/trades?status=open", token=trader)
    assert sorted(t["quantity"] for t in trades["trades"]) == ["1", "1", "10", "10", "2"]
    assert {t["trailing_percent"] for t in trades["trades"]} == {None, "0.00000001"}


async def test_hostile_amounts_over_socket_io_and_ws_get_error_acks(api, trader):
    sio = await api.socket(trader)
    ws = PlainSocket(await connect(api, trader))
    for value in ("1e999990", "92233720368.55", "NaN", "1_0"):
        for call in (sio.call, ws.call):
            ack = await call("place_order", {"symbol": "AAPL", "side": "buy", "type": "market",
                                             "quantity": value})
            assert ack["ok"] is False and ack["error"]["code"] in CODES, (value, ack)
            assert ack["error"]["details"]["field"] == "quantity"
            ack = await call("create_alert", {"symbol": "AAPL", "condition": "above",
                                              "price": value})
            assert ack["ok"] is False and ack["error"]["details"]["field"] == "price", ack
    await ws.ws.close()
    assert await stored(api, "orders") == 0
    assert await stored(api, "alerts") == 0


@pytest.mark.parametrize("body", ["[" * 50_000 + "]" * 50_000, '{"quantity": NaN}',
                                  '{"symbol": "AAPL\\ud800"}', '{"a":' * 33 + "1" + "}" * 33])
async def test_bodies_no_client_should_send_get_invalid_json_on_every_route(api, trader, body):
    for method, path in (("POST", "/api/v1/orders"), ("POST", "/api/v1/alerts"),
                         ("POST", "/api/v1/auth/login"), ("POST", "/api/v1/auth/register")):
        response = await api.client.request(method, path, data=body, headers={
            "Authorization": f"Bearer {trader}", "Content-Type": "application/json"})
        answer = await response.json()
        assert (response.status, answer["error"]["code"]) == (400, "invalid_json"), (
            path, answer)
