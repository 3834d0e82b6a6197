"""Order types and times in force traders use: stop-limit, ioc and fok, notional orders,
replacing a resting order (PATCH) and cancelling them all (DELETE /orders)."""

import pytest

from tests.e2e.test_monitor import settled
from tests.e2e.trading_support import account, assert_books_balance, order, set_price


@pytest.fixture
async def trader(api):
    token = (await api.account())["access_token"]
    set_price(api, "AAPL", "100")
    return token


async def get(api, token, order_id):
    _, body = await api.call("GET", f"/api/v1/orders/{order_id}", token=token)
    return body["order"]


async def tick(api, price):
    set_price(api, "AAPL", price)
    await settled(api)


async def test_a_stop_limit_becomes_a_limit_at_its_stop_and_fills_within_its_limit(api, trader):
    _, body = await order(api, trader, type="stop_limit", stop_price="105", limit_price="106",
                          quantity="2")
    placed = body["order"]
    assert (placed["status"], placed["reserved"]) == ("open", "212")  # at its limit
    await tick(api, "104")
    await tick(api, "107")  # the stop is reached, but 107 is past the limit: it waits
    waiting = await get(api, trader, placed["id"])
    assert (waiting["status"], waiting["stop_triggered_at"] is not None) == ("open", True)
    await tick(api, "108")
    assert (await get(api, trader, placed["id"]))["status"] == "open"
    await tick(api, "105.5")  # back within the limit: fills
    filled = await get(api, trader, placed["id"])
    assert (filled["status"], filled["filled_price"]) == ("filled", "105.5")
    await assert_books_balance(api)


async def test_a_stop_limit_whose_stop_and_limit_one_tick_crosses_fills_at_once(api, trader):
    _, body = await order(api, trader, side="sell", type="stop_limit", stop_price="95",
                          limit_price="94", quantity="1")
    await tick(api, "94.5")
    filled = await get(api, trader, body["order"]["id"])
    assert (filled["status"], filled["filled_price"]) == ("filled", "94.5")
    assert filled["stop_triggered_at"] is not None


@pytest.mark.parametrize("fields", [
    {"type": "stop_limit", "stop_price": "105"},
    {"type": "stop_limit", "limit_price": "105"},
    {"type": "limit", "limit_price": "99", "stop_price": "98"},
    {"type": "stop", "stop_price": "105", "time_in_force": "ioc"},
    {"type": "market", "notional": "100", "quantity": "1"},
    {"type": "limit", "limit_price": "99", "notional": "100"},
    {"type": "market", "notional": "0"},
    {"type": "market", "notional": "-5"},
    {"type": "market", "notional": "50"},  # less than one whole share
    {"type": "market", "notional": "NaN"},
    {"type": "market", "notional": "1e999"},
    {"type": "market", "notional": {"$gt": 1}},
    {"type": "market", "notional": "\u0661\u0660\u0660"},  # Arabic-Indic 100
    {"type": "market", "time_in_force": "opg"},
])
async def test_malformed_orders_are_refused_and_change_nothing(api, trader, fields):
    before = await account(api, trader)
    body = {"symbol": "AAPL", "side": "buy", "quantity": "1", **fields}
    if "notional" in fields and "quantity" not in fields:
        del body["quantity"]
    status, answer = await api.call("POST", "/api/v1/orders", body, token=trader)
    assert status == 400, answer
    assert answer["error"]["code"] in ("validation_error", "invalid_price", "invalid_quantity")
    assert await account(api, trader) == before


async def test_a_notional_order_buys_what_the_amount_buys_now(api, trader):
    _, body = await order(api, trader, quantity=None, notional="1050")
    assert (body["order"]["quantity"], body["order"]["status"]) == ("10", "filled")
    set_price(api, "BTCUSDT", "65000")
    _, crypto = await order(api, trader, symbol="BTCUSDT", quantity=None, notional="650")
    assert crypto["order"]["quantity"] == "0.01"


async def test_ioc_and_fok_limits_fill_now_or_not_at_all(api, trader):
    status, body = await order(api, trader, type="limit", limit_price="99",
                               time_in_force="ioc")
    assert (status, body["error"]["code"], body["error"]["details"]["price"]) == (
        409, "order_not_fillable", "100")
    _, orders = await api.call("GET", "/api/v1/orders", token=trader)
    assert orders["orders"] == []  # nothing rests
    status, body = await order(api, trader, type="limit", limit_price="101",
                               time_in_force="fok")
    assert (status, body["order"]["status"], body["order"]["filled_price"]) == (
        201, "filled", "100")
    await assert_books_balance(api)


async def test_replacing_a_resting_order_makes_a_new_one_in_one_move(api, trader):
    _, body = await order(api, trader, type="limit", limit_price="90", quantity="10")
    old_id = body["order"]["id"]
    status, replaced = await api.call("PATCH", f"/api/v1/orders/{old_id}",
                                      {"limit_price": "95", "quantity": "4"}, token=trader)
    assert status == 200, replaced
    new = replaced["order"]
    assert (new["limit_price"], new["quantity"], new["status"], new["replaces"]) == (
        "95", "4", "open", old_id)
    old = await get(api, trader, old_id)
    assert (old["status"], old["replaced_by"], old["reserved"]) == ("replaced", new["id"], "0")
    assert (await account(api, trader))["reserved"] == "380"
    # One that cannot be paid for leaves the old order as it was.
    status, body = await api.call("PATCH", f"/api/v1/orders/{new['id']}",
                                  {"quantity": "100000"}, token=trader)
    assert (status, body["error"]["code"]) == (400, "insufficient_funds")
    assert (await get(api, trader, new["id"]))["status"] == "open"
    assert (await account(api, trader))["reserved"] == "380"
    status, body = await api.call("PATCH", f"/api/v1/orders/{old_id}", {"quantity": "1"},
                                  token=trader)
    assert (status, body["error"]["code"]) == (409, "order_not_open")
    await tick(api, "94")
    assert (await get(api, trader, new["id"]))["status"] == "filled"
    await assert_books_balance(api)


@pytest.mark.parametrize("body", [
    {}, {"side": "sell"}, {"symbol": "MSFT"}, {"quantity": None}, {"quantity": "0"},
    {"limit_price": "abc"}, {"time_in_force": "ioc"}, {"client_order_id": "bad id!"},
    {"quantity": [1]}, {"x" * 500: 1}, {"limit_price": {"nested": {"deep": [1]}}}])
async def test_a_replace_that_makes_no_sense_is_refused_and_changes_nothing(api, trader, body):
    _, placed = await order(api, trader, type="limit", limit_price="90", quantity="1")
    before = await account(api, trader)
    status, answer = await api.call("PATCH", f"/api/v1/orders/{placed['order']['id']}", body,
                                    token=trader)
    assert status == 400, answer
    assert (await get(api, trader, placed["order"]["id"]))["status"] == "open"
    assert await account(api, trader) == before


async def test_cancel_every_open_order(api, trader):
    for price in ("90", "91", "92"):
        await order(api, trader, type="limit", limit_price=price, quantity="1")
    status, body = await api.call("DELETE", "/api/v1/orders", token=trader)
    assert status == 200
    assert [o["status"] for o in body["orders"]] == ["canceled"] * 3
    balances = await account(api, trader)
    assert (balances["reserved"], balances["available"]) == ("0", "100000")
    status, body = await api.call("DELETE", "/api/v1/orders", token=trader)
    assert (status, body["orders"]) == (200, [])


@pytest.mark.parametrize(("side", "fields", "where"), [
    ("buy", {"type": "stop", "stop_price": "99"}, "above"),
    ("buy", {"type": "stop", "stop_price": "100"}, "above"),
    ("buy", {"type": "stop_limit", "stop_price": "95", "limit_price": "96"}, "above"),
    ("sell", {"type": "stop", "stop_price": "101"}, "below"),
    ("sell", {"type": "stop_limit", "stop_price": "100", "limit_price": "99"}, "below"),
])
async def test_a_stop_the_price_has_already_reached_is_refused_and_stores_nothing(
        api, trader, side, fields, where):
    status, body = await order(api, trader, side=side, **fields)
    assert status == 422, body
    assert body["error"]["code"] == "stop_price_crossed"
    assert f"stop_price must be {where} the current price of AAPL (100)" in \
        body["error"]["message"]
    assert body["error"]["details"] == {"field": "stop_price", "price": "100"}
    _, listed = await api.call("GET", "/api/v1/orders", token=trader)
    assert listed["orders"] == []
    assert (await account(api, trader))["reserved"] == "0"
    await tick(api, "100.5")  # nothing rests to fill on the next tick


async def test_a_retry_of_a_stop_placed_before_the_price_reached_it_answers_that_order(
        api, trader):
    fields = {"type": "stop", "stop_price": "105", "client_order_id": "stop-1"}
    _, placed = await order(api, trader, **fields)
    await tick(api, "106")  # it fills: now its stop is behind the price
    status, again = await order(api, trader, **fields)
    assert status < 300, again
    assert (again["order"]["id"], again["order"]["status"]) == (placed["order"]["id"], "filled")
    status, other = await order(api, trader, **{**fields, "client_order_id": "stop-2"})
    assert (status, other["error"]["code"]) == (422, "stop_price_crossed")


async def test_replacing_a_stop_with_one_the_price_has_reached_is_refused(api, trader):
    _, placed = await order(api, trader, type="stop", stop_price="105", quantity="1")
    order_id = placed["order"]["id"]
    before = await account(api, trader)
    status, body = await api.call("PATCH", f"/api/v1/orders/{order_id}",
                                  {"stop_price": "100"}, token=trader)
    assert (status, body["error"]["code"]) == (422, "stop_price_crossed")
    assert "current price of AAPL (100)" in body["error"]["message"]
    assert (await get(api, trader, order_id))["status"] == "open"
    assert await account(api, trader) == before
    status, body = await api.call("PATCH", f"/api/v1/orders/{order_id}",
                                  {"stop_price": "101"}, token=trader)
    assert (status, body["order"]["stop_price"]) == (200, "101")


async def test_a_triggered_stop_limit_is_replaced_as_the_limit_order_it_has_become(
        api, trader):
    _, placed = await order(api, trader, type="stop_limit", stop_price="105",
                            limit_price="106", quantity="1")
    await tick(api, "107")  # triggered, and waiting for 106 or better
    status, body = await api.call("PATCH", f"/api/v1/orders/{placed['order']['id']}",
                                  {"limit_price": "108"}, token=trader)
    assert status == 200, body
    assert body["order"]["stop_triggered_at"] == body["replaced"]["stop_triggered_at"]
    await tick(api, "107.5")
    filled = await get(api, trader, body["order"]["id"])
    assert (filled["status"], filled["filled_price"]) == ("filled", "107.5")
    await assert_books_balance(api)
