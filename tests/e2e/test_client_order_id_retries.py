"""A client_order_id makes placing idempotent: sending the same order again returns the
order stored (docs/API.md), even once the market or the account has changed so that the
order itself would now be refused; (user_id, client_order_id) unique among orders
decides which of racing orders is the one."""

from __future__ import annotations

import asyncio

import pytest

from tests.e2e.trading_support import (
    account,
    assert_books_balance,
    order,
    priced_trader,
    set_price,
)

TAKE_PROFIT = {"limit_price": "110"}
STOP_LOSS = {"stop_price": "95"}


@pytest.fixture
async def trader(api):
    return await priced_trader(api)


async def orders_of(api, token):
    _, body = await api.call("GET", "/api/v1/orders?limit=500", token=token)
    return body["orders"]


async def test_a_retried_sell_that_closed_a_crypto_holding_returns_the_order(api, trader):
    """BTCUSDT is not shortable: a sell that emptied the holding would now be refused."""
    assert (await order(api, trader, symbol="BTCUSDT", quantity="0.01"))[0] == 201
    sell = {"symbol": "BTCUSDT", "side": "sell", "quantity": "0.01", "client_order_id": "out-1"}
    status, first = await order(api, trader, **sell)
    assert (status, first["order"]["status"]) == (201, "filled")
    status, again = await order(api, trader, **sell)
    assert (status, again.get("order", {}).get("id")) == (201, first["order"]["id"]), again


async def test_a_retried_oco_whose_position_has_closed_returns_the_order(api, trader):
    """An oco exits a position: once that is closed, the oco itself would be refused."""
    assert (await order(api, trader, quantity="10"))[0] == 201
    oco = {"side": "sell", "type": None, "order_class": "oco", "take_profit": TAKE_PROFIT,
           "stop_loss": STOP_LOSS, "client_order_id": "oco-1"}
    status, first = await order(api, trader, **oco)
    assert status == 201, first
    _, trades = await api.call("GET", "/api/v1/trades?status=open", token=trader)
    [trade] = trades["trades"]
    status, _ = await api.call("POST", f"/api/v1/trades/{trade['id']}/exit", token=trader)
    assert status == 200
    status, again = await order(api, trader, **oco)
    assert (status, again.get("order", {}).get("id")) == (201, first["order"]["id"]), again


@pytest.mark.parametrize("fields", [
    {"type": "market"},
    {"type": "limit", "limit_price": "90"},
    {"type": "market", "order_class": "bracket", "take_profit": TAKE_PROFIT,
     "stop_loss": STOP_LOSS},
    {"type": "limit", "limit_price": "90", "order_class": "bracket",
     "take_profit": TAKE_PROFIT, "stop_loss": {"stop_price": "85"}},
    {"type": "stop", "stop_price": "105"},
], ids=["market", "limit", "market-bracket", "limit-bracket", "stop"])
async def test_one_client_order_id_sent_at_once_with_same_and_other_bodies_makes_one_order(
        api, trader, fields):
    same = [order(api, trader, quantity="5", client_order_id="x", **fields) for _ in range(6)]
    other = [order(api, trader, quantity=str(6 + i), client_order_id="x", **fields)
             for i in range(4)]
    results = await asyncio.gather(*same, *other)
    ids = {body["order"]["id"] for status, body in results if status == 201}
    assert len(ids) == 1, results
    [winner] = ids
    codes = sorted(body["error"]["code"] for status, body in results if status != 201)
    assert set(codes) <= {"duplicate_client_order_id"}, codes
    for status, body in results:
        if status != 201:
            assert (status, body["error"]["details"]["order_id"]) == (409, winner)
    parents = [o for o in await orders_of(api, trader) if o["parent_id"] is None]
    assert [o["id"] for o in parents] == [winner]
    acct = await account(api, trader)
    assert acct["available"] != "100000" or fields["type"] == "market"
    await assert_books_balance(api)


async def test_a_replacement_naming_a_taken_client_order_id_says_which_order_holds_it(
        api, trader):
    _, first = await order(api, trader, type="limit", limit_price="90", client_order_id="a")
    _, second = await order(api, trader, type="limit", limit_price="91", client_order_id="b")
    status, body = await api.call("PATCH", f"/api/v1/orders/{second['order']['id']}",
                                  {"client_order_id": "a"}, token=trader)
    assert (status, body["error"]["code"]) == (409, "duplicate_client_order_id")
    # As placing does, the refusal names the order that holds the id.
    assert body["error"]["details"]["order_id"] == first["order"]["id"], body
    await assert_books_balance(api)


async def test_a_retried_order_the_account_could_not_afford_is_answered_as_the_first(
        api, trader):
    """The first answer is 400 insufficient_funds (the order stored rejected); so is its
    retry's."""
    first = await order(api, trader, quantity="5000", client_order_id="big")
    again = await order(api, trader, quantity="5000", client_order_id="big")
    assert first[0] == 400 and first[1]["error"]["code"] == "insufficient_funds"
    assert again[0] == first[0], again
    await assert_books_balance(api)


async def test_a_retried_bracket_after_the_price_moved_returns_the_order(api, trader):
    """Once the price has moved below a bracket's stop, the bracket itself would be
    refused."""
    bracket = {"order_class": "bracket", "take_profit": TAKE_PROFIT, "stop_loss": STOP_LOSS,
               "client_order_id": "br-1"}
    status, first = await order(api, trader, **bracket)
    assert status == 201, first
    set_price(api, "AAPL", "94")
    status, again = await order(api, trader, **bracket)
    assert (status, again.get("order", {}).get("id")) == (201, first["order"]["id"]), again


async def test_one_client_order_id_sent_to_two_processes_at_once_makes_one_order(
        servers, redis_settings):
    from tests.e2e.test_cluster import pair, price_of, tick
    from tests.support import until

    leader, follower = await pair(servers, redis_settings)
    token = (await leader.account())["access_token"]
    tick(leader, "AAPL", "100")
    await until(lambda: price_of(follower, "AAPL") == "100")
    for api in (leader, follower):  # each process knows the account (services/known.py)
        assert (await order(api, token, quantity="1"))[0] == 201
    results = await asyncio.gather(*(
        order(api, token, quantity=str(quantity), client_order_id="both")
        for api in (leader, follower, leader, follower) for quantity in (5, 5, 6)))
    ids = {body["order"]["id"] for status, body in results if status == 201}
    assert len(ids) == 1, results
    assert {body["error"]["code"] for status, body in results if status != 201} <= {
        "duplicate_client_order_id"}
    _, trades = await leader.call("GET", "/api/v1/trades", token=token)
    assert len(trades["trades"]) == 3
    await assert_books_balance(leader)
