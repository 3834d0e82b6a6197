"""Trailing stops follow the best price since entry and close the trade once."""

import pytest

from handlers import keys
from tests.e2e.test_monitor import settled
from tests.e2e.trading_support import account, assert_books_balance, order, set_price


@pytest.fixture
async def trader(api):
    tokens = await api.account()
    set_price(api, "AAPL", "100")
    return tokens["access_token"]


async def tick(api, price):
    set_price(api, "AAPL", price)
    await settled(api)


async def closed(api, token):
    _, body = await api.call("GET", "/api/v1/trades?status=closed", token=token)
    return body["trades"]


async def test_a_long_trailing_stop_by_amount_follows_the_high(api, trader):
    _, body = await order(api, trader, trailing_amount="5")
    assert body["order"]["trailing_amount"] == "5"
    await tick(api, "96")  # 95 not reached
    await tick(api, "110")  # stop moves to 105
    await tick(api, "106")
    assert await closed(api, trader) == []
    await tick(api, "104.9")
    [trade] = await closed(api, trader)
    assert (trade["close_reason"], trade["close_price"], trade["realized_pnl"]) == (
        "trailing_stop", "104.9", "49")
    await assert_books_balance(api)


async def test_a_short_trailing_stop_by_percent_follows_the_low(api, trader):
    await order(api, trader, side="sell", trailing_percent="10")
    await tick(api, "109")  # 110 not reached
    await tick(api, "80")   # stop moves to 88
    await tick(api, "87.9")
    assert await closed(api, trader) == []
    await tick(api, "88")
    [trade] = await closed(api, trader)
    assert (trade["close_reason"], trade["close_price"]) == ("trailing_stop", "88")


@pytest.mark.parametrize("fields", [
    {"trailing_amount": "5", "trailing_percent": "1"}, {"trailing_percent": "0"},
    {"trailing_percent": "100"}, {"trailing_amount": "-1"}])
async def test_bad_trailing_stops_are_refused(api, trader, fields):
    status, body = await order(api, trader, **fields)
    assert (status, body["error"]["code"]) == (400, "invalid_price")


async def test_a_trailing_stop_can_be_set_on_an_open_trade_and_cleared(api, trader):
    _, body = await order(api, trader)
    trade_id = body["order"]["trade_id"]
    await tick(api, "120")
    status, body = await api.call("PATCH", f"/api/v1/trades/{trade_id}",
                                  {"trailing_amount": "10"}, token=trader)
    assert (status, body["trade"]["trailing_amount"]) == (200, "10")
    await tick(api, "111")  # 120 - 10 = 110: not yet
    assert await closed(api, trader) == []
    _, body = await api.call("PATCH", f"/api/v1/trades/{trade_id}",
                             {"trailing_amount": None}, token=trader)
    assert body["trade"]["trailing_amount"] is None
    await tick(api, "100")
    assert await closed(api, trader) == []


async def test_the_best_price_so_far_survives_a_restart(servers, settings, api, trader):
    await order(api, trader, trailing_amount="5")
    await tick(api, "130")  # stop at 125
    await servers.stop(api)  # the monitor saves moved stops as it stops
    again = await servers.start(settings)
    set_price(again, "AAPL", "126")
    await settled(again)
    assert await closed(again, trader) == []
    set_price(again, "AAPL", "124.5")
    await settled(again)
    [trade] = await closed(again, trader)
    assert trade["close_reason"] == "trailing_stop"
    assert again.app[keys.MONITOR].trailing["AAPL"] == {}


# -- trailing_stop orders: a stop that follows the price, on a whole position --------

async def get_order(api, token, order_id):
    _, body = await api.call("GET", f"/api/v1/orders/{order_id}", token=token)
    return body["order"]


async def position(api, token):
    status, body = await api.call("GET", "/api/v1/positions/AAPL", token=token)
    return body.get("position") if status == 200 else None


async def trail(api, token, **fields):
    fields = {"side": "sell", "type": "trailing_stop", "quantity": "10", **fields}
    return await order(api, token, **fields)


async def test_a_sell_trailing_stop_follows_the_high_and_closes_the_position(api, trader):
    await order(api, trader, quantity="6")
    await order(api, trader, quantity="4")  # two lots: one position of 10
    status, body = await trail(api, trader, trail_price="5")
    placed = body["order"]
    assert status == 201, body
    assert (placed["status"], placed["type"], placed["trail_price"], placed["hwm"],
            placed["stop_price"], placed["trail_percent"]) == (
        "open", "trailing_stop", "5", "100", "95", None)
    await tick(api, "96")  # 95 not reached
    await tick(api, "110")  # hwm 110, stop 105
    await tick(api, "106")
    assert (await get_order(api, trader, placed["id"]))["status"] == "open"
    await api.app[keys.MONITOR]._flush_bests()
    moved = await get_order(api, trader, placed["id"])
    assert (moved["hwm"], moved["stop_price"]) == ("110", "105")
    await tick(api, "104.5")  # through 105: fills at the tick's price
    filled = await get_order(api, trader, placed["id"])
    assert (filled["status"], filled["filled_price"], filled["liquidity"]) == (
        "filled", "104.5", "taker")
    assert await position(api, trader) is None
    assert sorted(t["close_reason"] for t in await closed(api, trader)) == ["order", "order"]
    balances = await account(api, trader)
    assert (balances["realized_pnl"], balances["reserved"], balances["margin_used"]) == (
        "45", "0", "0")
    await assert_books_balance(api)


async def test_a_buy_trailing_stop_by_percent_follows_the_low(api, trader):
    await order(api, trader, side="sell", quantity="10")  # a short of 10
    _, body = await trail(api, trader, side="buy", trail_percent="10")
    placed = body["order"]
    assert (placed["trail_percent"], placed["hwm"], placed["stop_price"]) == ("10", "100", "110")
    await tick(api, "109")  # 110 not reached
    await tick(api, "80")  # low 80: stop 88
    await tick(api, "87.9")
    assert (await get_order(api, trader, placed["id"]))["status"] == "open"
    await tick(api, "88.1")
    filled = await get_order(api, trader, placed["id"])
    assert (filled["status"], filled["filled_price"]) == ("filled", "88.1")
    assert await position(api, trader) is None
    assert (await account(api, trader))["realized_pnl"] == "119"  # (100 - 88.1) x 10
    await assert_books_balance(api)


async def test_a_percent_stop_is_rounded_so_the_trail_is_never_narrower(api, trader):
    set_price(api, "AAPL", "100.37")
    await order(api, trader)
    _, body = await trail(api, trader, trail_percent="3")
    assert (body["order"]["hwm"], body["order"]["stop_price"]) == ("100.37", "97.35")


async def test_a_trailing_stops_best_price_survives_a_restart(servers, settings, api, trader):
    await order(api, trader)
    _, body = await trail(api, trader, trail_price="5")
    order_id = body["order"]["id"]
    await tick(api, "130")  # stop at 125
    await servers.stop(api)  # the monitor saves moved stops as it stops
    again = await servers.start(settings)
    saved = await get_order(again, trader, order_id)
    assert (saved["hwm"], saved["stop_price"]) == ("130", "125")
    set_price(again, "AAPL", "126")
    await settled(again)
    assert (await get_order(again, trader, order_id))["status"] == "open"
    set_price(again, "AAPL", "124.5")
    await settled(again)
    assert (await get_order(again, trader, order_id))["status"] == "filled"
    assert await position(again, trader) is None
    assert again.app[keys.MONITOR].trailing["AAPL"] == {}
    await assert_books_balance(again)


async def test_patch_changes_the_trail_and_keeps_the_best_price(api, trader):
    await order(api, trader)
    _, body = await trail(api, trader, trail_price="5")
    old_id = body["order"]["id"]
    await tick(api, "120")
    status, body = await api.call("PATCH", f"/api/v1/orders/{old_id}",
                                  {"trail_percent": "1"}, token=trader)
    assert status == 200, body
    new, replaced = body["order"], body["replaced"]
    assert (replaced["status"], replaced["replaced_by"]) == ("replaced", new["id"])
    # The best price carries over (120, live, though maybe not yet saved): 1% is 118.8.
    assert (new["status"], new["trail_price"], new["trail_percent"], new["hwm"],
            new["stop_price"]) == ("open", None, "1", "120", "118.8")
    await tick(api, "119")
    assert (await get_order(api, trader, new["id"]))["status"] == "open"
    await tick(api, "118.7")
    assert (await get_order(api, trader, new["id"]))["status"] == "filled"
    assert (await get_order(api, trader, old_id))["status"] == "replaced"
    await assert_books_balance(api)


async def test_a_cancelled_trailing_stop_never_fires(api, trader):
    await order(api, trader)
    _, body = await trail(api, trader, trail_price="5")
    status, cancelled = await api.call("DELETE", f"/api/v1/orders/{body['order']['id']}",
                                       token=trader)
    assert (status, cancelled["order"]["status"]) == (200, "canceled")
    await tick(api, "120")
    await tick(api, "90")
    assert (await position(api, trader))["quantity"] == "10"
    assert api.app[keys.MONITOR].trailing["AAPL"] == {}
    assert (await account(api, trader))["reserved"] == "0"
    await assert_books_balance(api)


@pytest.mark.parametrize("fields", [
    {}, {"trail_price": "5", "trail_percent": "1"}, {"trail_price": "0"},
    {"trail_price": "-5"}, {"trail_price": "100"}, {"trail_price": "0.005"},
    {"trail_price": "NaN"}, {"trail_price": "1e400"}, {"trail_price": {"$gt": 0}},
    {"trail_price": ["5"]}, {"trail_price": True}, {"trail_percent": "0"},
    {"trail_percent": "100"}, {"trail_percent": "Infinity"},
    {"trail_percent": "0.000000001"}, {"trail_price": "5", "stop_price": "95"},
    {"trail_price": "5", "limit_price": "95"}, {"trail_price": "5", "time_in_force": "ioc"},
    {"trail_price": "5", "time_in_force": "fok"}, {"trail_price": "5", "order_class": "oto",
                                                    "stop_loss": {"stop_price": "90"}},
    {"type": "limit", "limit_price": "99", "trail_price": "5"},
])
async def test_hostile_trailing_stops_are_refused_and_nothing_is_stored(api, trader, fields):
    status, body = await trail(api, trader, **fields)
    assert status == 400, body
    assert body["error"]["code"] in ("invalid_price", "validation_error"), body
    _, orders = await api.call("GET", "/api/v1/orders", token=trader)
    assert orders["orders"] == []
    assert api.app[keys.MONITOR].trailing.get("AAPL", {}) == {}


async def test_a_position_the_trailing_stop_closed_leaves_nothing_to_close(api, trader):
    await order(api, trader)
    _, body = await trail(api, trader, trail_price="5")
    await tick(api, "94")
    assert (await get_order(api, trader, body["order"]["id"]))["status"] == "filled"
    status, _ = await api.call("DELETE", "/api/v1/positions/AAPL", token=trader)
    assert (status, await position(api, trader)) == (404, None)
    await assert_books_balance(api)


async def test_a_trailing_stop_racing_a_manual_close_fires_once(api, trader):
    await order(api, trader)
    _, body = await trail(api, trader, trail_price="5")
    order_id = body["order"]["id"]
    await tick(api, "110")
    set_price(api, "AAPL", "104")  # crosses 105: the fire races the DELETE below
    closing, _ = await api.call("DELETE", "/api/v1/positions/AAPL", token=trader)
    await settled(api)
    held = await position(api, trader)
    if closing == 404:  # the trailing stop closed the position first
        assert held is None
    else:  # the close went first: the stop then sold as any sell does, opening a short
        assert (closing, held["side"], held["quantity"]) == (200, "sell", "10")
    filled = await get_order(api, trader, order_id)
    assert (filled["status"], filled["filled_quantity"]) == ("filled", "10")
    _, missed = await api.call("GET", "/api/v1/events?after=0", token=trader)
    fills = [e for e in missed["events"] if e["type"] == "order_update"
             and e["order"]["id"] == order_id and e["order"]["status"] == "filled"]
    assert len(fills) == 1
    await tick(api, "90")  # nothing left to fire
    assert (await get_order(api, trader, order_id))["status"] == "filled"
    assert (await account(api, trader))["reserved"] == "0"
    await assert_books_balance(api)


@pytest.mark.parametrize("fields", [
    {"side": "buy", "trail_price": "92233720368"}, {"side": "buy", "trail_price": "1e10",
                                                    "quantity": "100"}])
async def test_a_stop_beyond_what_the_books_keep_is_refused(api, trader, fields):
    status, body = await trail(api, trader, **fields)
    assert status == 400, body
    assert body["error"]["code"] in ("invalid_price", "validation_error"), body
    assert "too large" in body["error"]["message"]
    _, orders = await api.call("GET", "/api/v1/orders", token=trader)
    assert orders["orders"] == []


@pytest.mark.parametrize(("fields", "field"), [
    ({"trail_price": "NaN"}, "trail_price"), ({"trail_price": None}, "trail_price"),
    ({"trail_percent": "100"}, "trail_percent"), ({"stop_price": "90"}, "stop_price"),
    ({"limit_price": "90"}, "limit_price"), ({"trail_price": "200"}, "trail_price")])
async def test_a_bad_new_trail_leaves_the_order_as_it_was(api, trader, fields, field):
    await order(api, trader)
    _, body = await trail(api, trader, trail_price="5")
    placed = body["order"]
    status, body = await api.call("PATCH", f"/api/v1/orders/{placed['id']}", fields,
                                  token=trader)
    assert (status, body["error"]["details"]["field"]) == (400, field), body
    assert await get_order(api, trader, placed["id"]) == placed


async def test_a_trail_cannot_be_given_to_another_order_type(api, trader):
    _, body = await order(api, trader, type="limit", limit_price="90")
    status, body = await api.call("PATCH", f"/api/v1/orders/{body['order']['id']}",
                                  {"trail_price": "5"}, token=trader)
    assert (status, body["error"]["details"]["field"]) == (400, "trail_price")


async def test_closing_positions_with_their_orders_takes_the_trailing_stop_too(api, trader):
    await order(api, trader)
    _, body = await trail(api, trader, trail_price="5")
    status, _ = await api.call("DELETE", "/api/v1/positions?cancel_orders=true", token=trader)
    assert status == 200
    assert (await get_order(api, trader, body["order"]["id"]))["status"] == "canceled"
    await tick(api, "90")
    assert await position(api, trader) is None
    await assert_books_balance(api)


async def test_a_trailing_stop_placed_over_a_socket_fires_with_an_order_update(api, trader):
    sock = await api.socket(trader)
    await sock.call("place_order", {"symbol": "AAPL", "side": "buy", "quantity": "2"})
    ack = await sock.call("place_order", {"symbol": "AAPL", "side": "sell", "quantity": "2",
                                          "type": "trailing_stop", "trail_percent": "2"})
    assert (ack["ok"], ack["order"]["stop_price"]) == (True, "98"), ack
    await tick(api, "97.5")
    while (update := await sock.next("order_update"))["order"]["id"] != ack["order"]["id"] \
            or update["order"]["status"] != "filled":
        pass
    assert update["order"]["filled_price"] == "97.5"
    refused = await sock.call("place_order", {"symbol": "AAPL", "side": "sell", "quantity": "1",
                                              "type": "trailing_stop", "trail_percent": "x"})
    assert (refused["ok"], refused["error"]["code"]) == (False, "validation_error")
