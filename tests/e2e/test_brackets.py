"""Bracket, OTO and OCO orders: exit legs that are resting orders of their own."""

import asyncio
from decimal import Decimal

import pytest

from handlers import keys
from tests.e2e.test_monitor import settled
from tests.e2e.trading_support import account, assert_books_balance, order, set_price

TAKE_PROFIT = {"limit_price": "110"}
STOP_LOSS = {"stop_price": "95"}


@pytest.fixture
async def trader(api):
    token = (await api.account())["access_token"]
    set_price(api, "AAPL", "100")
    return token


async def bracket(api, token, **fields):
    return await order(api, token, **{"order_class": "bracket", "take_profit": TAKE_PROFIT,
                                      "stop_loss": STOP_LOSS, **fields})


async def get(api, token, order_id):
    _, body = await api.call("GET", f"/api/v1/orders/{order_id}", token=token)
    return body["order"]


async def tick(api, price, symbol="AAPL"):
    set_price(api, symbol, price)
    await settled(api)


async def positions(api, token):
    _, body = await api.call("GET", "/api/v1/positions", token=token)
    return body["positions"]


def by_role(parent):
    return {leg["leg_role"]: leg for leg in parent["legs"]}


async def test_a_filled_bracket_entry_rests_its_legs_and_the_take_profit_closes_it(api, trader):
    status, body = await bracket(api, trader)
    assert status == 201, body
    parent = body["order"]
    assert (parent["status"], parent["order_class"], parent["filled_price"]) == (
        "filled", "bracket", "100")
    legs = by_role(parent)
    take_profit, stop_loss = legs["take_profit"], legs["stop_loss"]
    assert (take_profit["type"], take_profit["side"], take_profit["limit_price"],
            take_profit["quantity"], take_profit["status"]) == ("limit", "sell", "110", "10",
                                                               "open")
    assert (stop_loss["type"], stop_loss["stop_price"], stop_loss["status"]) == (
        "stop", "95", "open")
    assert {take_profit["parent_id"], stop_loss["parent_id"]} == {parent["id"]}

    _, flat = await api.call("GET", "/api/v1/orders", token=trader)
    assert sorted(o["id"] for o in flat["orders"]) == sorted(
        [parent["id"], take_profit["id"], stop_loss["id"]])
    assert {o["id"]: o["legs"] for o in flat["orders"]}[parent["id"]] == [
        take_profit["id"], stop_loss["id"]]
    _, nested = await api.call("GET", "/api/v1/orders?nested=true", token=trader)
    assert [o["id"] for o in nested["orders"]] == [parent["id"]]
    assert [leg["id"] for leg in nested["orders"][0]["legs"]] == [take_profit["id"],
                                                                   stop_loss["id"]]

    await tick(api, "105")
    assert (await get(api, trader, take_profit["id"]))["status"] == "open"
    await tick(api, "111")
    filled = await get(api, trader, take_profit["id"])
    assert (filled["status"], filled["filled_price"], filled["filled_quantity"]) == (
        "filled", "111", "10")
    assert (await get(api, trader, stop_loss["id"]))["status"] == "canceled"
    assert await positions(api, trader) == []
    balances = await account(api, trader)
    assert (balances["cash"], balances["reserved"], balances["margin_used"]) == (
        "100110", "0", "0")
    await tick(api, "90")  # the cancelled stop no longer fires
    assert (await get(api, trader, stop_loss["id"]))["status"] == "canceled"
    await assert_books_balance(api)


async def test_a_limit_bracket_holds_its_legs_until_it_fills_then_the_stop_limit_exits(
        api, trader):
    _, body = await bracket(api, trader, type="limit", limit_price="99",
                            stop_loss={"stop_price": "95", "limit_price": "94"})
    parent = body["order"]
    assert parent["status"] == "open"
    assert [leg["status"] for leg in parent["legs"]] == ["held", "held"]
    assert (await account(api, trader))["reserved"] == "990"  # the entry's only
    await tick(api, "94")  # no leg acts while held: the entry fills at 94
    parent = await get(api, trader, parent["id"])
    assert (parent["status"], parent["filled_price"]) == ("filled", "94")
    stop_loss = by_role(parent)["stop_loss"]
    assert (stop_loss["type"], stop_loss["status"]) == ("stop_limit", "open")
    await tick(api, "100")
    await tick(api, "94.5")  # the stop is reached, within its limit: it sells
    parent = await get(api, trader, parent["id"])
    legs = by_role(parent)
    assert (legs["stop_loss"]["status"], legs["stop_loss"]["filled_price"]) == (
        "filled", "94.5")
    assert legs["take_profit"]["status"] == "canceled"
    assert await positions(api, trader) == []
    await assert_books_balance(api)


async def test_cancelling_a_bracket_before_its_entry_fills_cancels_its_legs(api, trader):
    _, body = await bracket(api, trader, type="limit", limit_price="90",
                            stop_loss={"stop_price": "85"})
    parent = body["order"]
    status, cancelled = await api.call("DELETE", f"/api/v1/orders/{parent['id']}",
                                       token=trader)
    assert status == 200, cancelled
    assert cancelled["order"]["status"] == "canceled"
    assert [leg["status"] for leg in cancelled["order"]["legs"]] == ["canceled", "canceled"]
    balances = await account(api, trader)
    assert (balances["reserved"], balances["available"]) == ("0", "100000")
    await tick(api, "89")
    assert await positions(api, trader) == []
    await assert_books_balance(api)


async def test_cancelling_one_leg_cancels_both_and_cancel_all_reports_each_once(api, trader):
    _, first = await bracket(api, trader)
    stop_loss = by_role(first["order"])["stop_loss"]
    status, body = await api.call("DELETE", f"/api/v1/orders/{stop_loss['id']}", token=trader)
    assert (status, body["order"]["status"]) == (200, "canceled")
    legs = by_role(await get(api, trader, first["order"]["id"]))
    assert [legs[role]["status"] for role in ("take_profit", "stop_loss")] == ["canceled"] * 2
    assert len(await positions(api, trader)) == 1  # the position stays, without exits

    _, second = await bracket(api, trader, client_order_id="second")
    status, body = await api.call("DELETE", "/api/v1/orders", token=trader)
    assert status == 200
    assert sorted(o["id"] for o in body["orders"]) == sorted(
        leg["id"] for leg in second["order"]["legs"])
    assert [o["status"] for o in body["orders"]] == ["canceled", "canceled"]
    assert (await account(api, trader))["reserved"] == "0"
    await assert_books_balance(api)


async def test_an_oco_exits_a_position_held_and_its_stop_cancels_the_take_profit(api, trader):
    await order(api, trader, quantity="10")
    status, body = await order(api, trader, side="sell", type=None, order_class="oco",
                               take_profit=TAKE_PROFIT, stop_loss=STOP_LOSS)
    assert status == 201, body
    parent = body["order"]
    assert (parent["type"], parent["limit_price"], parent["status"], parent["leg_role"]) == (
        "limit", "110", "open", "take_profit")
    [stop_loss] = parent["legs"]
    assert (stop_loss["type"], stop_loss["stop_price"], stop_loss["status"]) == (
        "stop", "95", "open")
    await tick(api, "94")
    assert (await get(api, trader, stop_loss["id"]))["status"] == "filled"
    assert (await get(api, trader, parent["id"]))["status"] == "canceled"
    assert await positions(api, trader) == []
    await assert_books_balance(api)


async def test_an_oco_needs_the_position_it_exits(api, trader):
    status, body = await order(api, trader, side="sell", type=None, order_class="oco",
                               take_profit=TAKE_PROFIT, stop_loss=STOP_LOSS)
    assert (status, body["error"]["code"], body["error"]["details"]["held"]) == (
        400, "invalid_quantity", "0")


async def test_both_legs_racing_in_one_moment_fill_exactly_one(api, trader):
    engine = api.app[keys.ENGINE]
    _, me = await api.call("GET", "/api/v1/me", token=trader)
    for attempt in range(3):
        _, body = await bracket(api, trader, client_order_id=f"race-{attempt}")
        legs = await engine.store.orders.legs(me["user"]["id"],
                                              [leg["id"] for leg in body["order"]["legs"]])
        results = await asyncio.gather(engine.resting.fill(legs[0], Decimal("111")),
                                       engine.resting.fill(legs[1], Decimal("94")))
        ended = [await get(api, trader, leg["_id"]) for leg in legs]
        assert sorted(leg["status"] for leg in ended) == ["canceled", "filled"]
        assert sum(result is not None for result in results) == 1
        assert await positions(api, trader) == []
    assert (await account(api, trader))["reserved"] == "0"
    await assert_books_balance(api)


async def test_a_retry_by_client_order_id_returns_the_same_order_and_legs(api, trader):
    first_status, first = await bracket(api, trader, client_order_id="br-1")
    again_status, again = await bracket(api, trader, client_order_id="br-1")
    assert (first_status, again_status) == (201, 201)
    assert again["order"]["id"] == first["order"]["id"]
    assert [leg["id"] for leg in again["order"]["legs"]] == [
        leg["id"] for leg in first["order"]["legs"]]
    _, listed = await api.call("GET", "/api/v1/orders", token=trader)
    assert len(listed["orders"]) == 3
    status, body = await bracket(api, trader, client_order_id="br-1",
                                 take_profit={"limit_price": "120"})
    assert (status, body["error"]["code"]) == (409, "duplicate_client_order_id")
    assert (await account(api, trader))["margin_used"] == "1000"
    await assert_books_balance(api)


async def test_a_leg_sells_at_most_what_is_held_where_shorts_are_not_allowed(api, trader):
    set_price(api, "BTCUSDT", "60000")  # spot crypto: not shortable
    _, body = await order(api, trader, symbol="BTCUSDT", quantity="1", order_class="bracket",
                          take_profit={"limit_price": "70000"},
                          stop_loss={"stop_price": "50000"})
    take_profit = by_role(body["order"])["take_profit"]
    await order(api, trader, symbol="BTCUSDT", side="sell", quantity="0.4")  # a partial close
    await tick(api, "70500", "BTCUSDT")
    filled = await get(api, trader, take_profit["id"])
    assert (filled["status"], filled["quantity"], filled["filled_quantity"]) == (
        "filled", "1", "0.6")
    assert await positions(api, trader) == []
    await assert_books_balance(api)


async def test_a_bracket_over_a_socket_acks_the_order_with_its_legs(api, trader):
    sock = await api.socket(trader)
    ack = await sock.call("place_order", {
        "symbol": "AAPL", "side": "buy", "quantity": "2", "order_class": "oto",
        "stop_loss": {"stop_price": "90"}})
    assert ack["ok"] is True, ack
    [leg] = ack["order"]["legs"]
    assert (ack["order"]["order_class"], leg["leg_role"], leg["status"]) == (
        "oto", "stop_loss", "open")
    seen = [await sock.next("order_update") for _ in range(2)]
    assert {event["order"]["id"] for event in seen} == {ack["order"]["id"], leg["id"]}
    await sock.close()


@pytest.mark.parametrize(("fields", "code"), [
    ({"order_class": "bracket", "take_profit": TAKE_PROFIT}, "validation_error"),
    ({"order_class": "bracket", "stop_loss": STOP_LOSS}, "validation_error"),
    ({"order_class": "bracket"}, "validation_error"),
    ({"order_class": "bracket", "take_profit": {"limit_price": "99"}, "stop_loss": STOP_LOSS},
     "invalid_price"),
    ({"order_class": "bracket", "take_profit": TAKE_PROFIT, "stop_loss": {"stop_price": "101"}},
     "invalid_price"),
    ({"order_class": "bracket", "take_profit": {"limit_price": "110.001"},
      "stop_loss": STOP_LOSS}, "invalid_price"),
    ({"order_class": "bracket", "take_profit": TAKE_PROFIT,
      "stop_loss": {"stop_price": "95", "limit_price": "96"}}, "invalid_price"),
    ({"order_class": "bracket", "take_profit": "110", "stop_loss": STOP_LOSS},
     "validation_error"),
    ({"order_class": "bracket", "take_profit": {"limit_price": "NaN"}, "stop_loss": STOP_LOSS},
     "validation_error"),
    ({"order_class": "bracket", "take_profit": {"limit_price": "1e999"},
      "stop_loss": STOP_LOSS}, "validation_error"),
    ({"order_class": "bracket", "take_profit": {"limit_price": {"$gt": 1}},
      "stop_loss": STOP_LOSS}, "validation_error"),
    ({"order_class": "bracket", "take_profit": {"limit_price": "110", "extra": 1},
      "stop_loss": STOP_LOSS}, "validation_error"),
    ({"order_class": "bracket", "take_profit": {}, "stop_loss": STOP_LOSS},
     "validation_error"),
    ({"order_class": "bracket", "take_profit": TAKE_PROFIT, "stop_loss": STOP_LOSS,
      "type": "stop", "stop_price": "101"}, "validation_error"),
    ({"order_class": "bracket", "take_profit": TAKE_PROFIT, "stop_loss": STOP_LOSS,
      "time_in_force": "ioc", "type": "limit", "limit_price": "100"}, "validation_error"),
    ({"order_class": "bracket", "take_profit": TAKE_PROFIT, "stop_loss": STOP_LOSS,
      "target_price": "120"}, "validation_error"),
    ({"order_class": "bracket", "take_profit": TAKE_PROFIT, "stop_loss": STOP_LOSS,
      "quantity": "0.5"}, "invalid_quantity"),
    ({"order_class": "bracket", "take_profit": TAKE_PROFIT, "stop_loss": STOP_LOSS,
      "quantity": "1e12"}, "validation_error"),
    ({"order_class": "oto", "take_profit": TAKE_PROFIT, "stop_loss": STOP_LOSS},
     "validation_error"),
    ({"order_class": "oco", "type": "limit", "limit_price": "110",
      "take_profit": TAKE_PROFIT, "stop_loss": STOP_LOSS}, "invalid_price"),
    ({"order_class": "weird"}, "validation_error"),
    ({"take_profit": TAKE_PROFIT}, "validation_error"),
    ({"stop_loss": STOP_LOSS}, "validation_error"),
])
async def test_hostile_or_malformed_brackets_are_refused_and_change_nothing(
        api, trader, fields, code):
    before = await account(api, trader)
    status, body = await order(api, trader, **fields)
    assert (status, body["error"]["code"]) == (400, code), body
    assert await account(api, trader) == before
    _, listed = await api.call("GET", "/api/v1/orders", token=trader)
    assert listed["orders"] == []


async def test_bracket_orders_and_their_legs_cannot_be_replaced(api, trader):
    _, body = await bracket(api, trader, type="limit", limit_price="90",
                            stop_loss={"stop_price": "85"})
    for target in [body["order"]["id"], body["order"]["legs"][0]["id"]]:
        status, answer = await api.call("PATCH", f"/api/v1/orders/{target}",
                                        {"quantity": "5"}, token=trader)
        assert status in (400, 409), answer
    assert (await get(api, trader, body["order"]["id"]))["status"] == "open"


async def test_leg_changes_are_order_update_events_in_order(api, trader):
    sock = await api.socket(trader)
    _, body = await bracket(api, trader)
    legs = by_role(body["order"])
    placed = [await sock.next("order_update") for _ in range(3)]
    assert [event["order"]["id"] for event in placed] == [
        body["order"]["id"], legs["take_profit"]["id"], legs["stop_loss"]["id"]]
    assert [event["order"]["status"] for event in placed] == ["filled", "open", "open"]
    await tick(api, "94")
    ended = [await sock.next("order_update") for _ in range(2)]
    assert [(event["order"]["id"], event["order"]["status"]) for event in ended] == [
        (legs["stop_loss"]["id"], "filled"), (legs["take_profit"]["id"], "canceled")]
    assert ended[0]["seq"] < ended[1]["seq"]
    await sock.close()


async def test_cancelling_a_held_leg_cancels_its_sibling_and_the_entry_stays(api, trader):
    _, body = await bracket(api, trader, type="limit", limit_price="99")
    stop_loss = by_role(body["order"])["stop_loss"]
    status, answer = await api.call("DELETE", f"/api/v1/orders/{stop_loss['id']}",
                                    token=trader)
    assert (status, answer["order"]["status"]) == (200, "canceled")
    await tick(api, "98")  # the entry still fills, with no legs to rest
    parent = await get(api, trader, body["order"]["id"])
    assert parent["status"] == "filled"
    assert [leg["status"] for leg in parent["legs"]] == ["canceled", "canceled"]
    status, answer = await api.call("DELETE", f"/api/v1/orders/{parent['id']}", token=trader)
    assert (status, answer["error"]["code"]) == (409, "order_not_open")
    await assert_books_balance(api)


async def test_a_bracket_the_account_cannot_pay_is_rejected_with_its_legs(api, trader):
    for fields in ({}, {"type": "limit", "limit_price": "99"}):
        status, body = await bracket(api, trader, quantity="5000", **fields)
        assert (status, body["error"]["code"]) == (400, "insufficient_funds")
    _, listed = await api.call("GET", "/api/v1/orders?nested=true", token=trader)
    assert [o["status"] for o in listed["orders"]] == ["rejected", "rejected"]
    assert [leg["status"] for o in listed["orders"] for leg in o["legs"]] == ["rejected"] * 4
    balances = await account(api, trader)
    assert (balances["reserved"], balances["available"]) == ("0", "100000")
    await assert_books_balance(api)


async def test_a_day_bracket_that_expires_unfilled_cancels_its_legs(api, trader, later):
    _, body = await bracket(api, trader, type="limit", limit_price="99", time_in_force="day")
    later(days=1)
    assert await api.app[keys.ENGINE].resting.expire_day_orders() == 1
    parent = await get(api, trader, body["order"]["id"])
    assert parent["status"] == "expired"
    assert [leg["status"] for leg in parent["legs"]] == ["canceled", "canceled"]
    assert (await account(api, trader))["reserved"] == "0"
    await assert_books_balance(api)


async def test_an_oco_racing_itself_fills_exactly_once(api, trader):
    engine = api.app[keys.ENGINE]
    _, me = await api.call("GET", "/api/v1/me", token=trader)
    await order(api, trader, quantity="10")
    _, body = await order(api, trader, side="sell", type=None, order_class="oco",
                          take_profit=TAKE_PROFIT, stop_loss=STOP_LOSS)
    ids = [body["order"]["id"], body["order"]["legs"][0]["id"]]
    both = await engine.store.orders.legs(me["user"]["id"], ids)
    results = await asyncio.gather(engine.resting.fill(both[0], Decimal("111")),
                                   engine.resting.fill(both[1], Decimal("94")))
    assert sum(result is not None for result in results) == 1
    assert sorted([(await get(api, trader, i))["status"] for i in ids]) == ["canceled",
                                                                           "filled"]
    assert await positions(api, trader) == []
    await assert_books_balance(api)
