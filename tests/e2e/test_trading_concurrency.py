"""Money under concurrency and retries: conditional updates decide, exactly once."""

import asyncio

import pytest

from tests.e2e.trading_support import account, assert_books_balance, order, set_price


@pytest.fixture
async def trader(api):
    tokens = await api.account()
    set_price(api, "AAPL", "100")
    return tokens


async def test_fifty_concurrent_orders_that_afford_ten_fill_exactly_ten(api, trader):
    token = trader["access_token"]
    results = await asyncio.gather(*(order(api, token, quantity="100") for _ in range(50)))
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] * 10 + [400] * 40
    assert {body["error"]["code"] for status, body in results if status == 400} == {
        "insufficient_funds"}
    acct = await account(api, token)
    assert (acct["margin_used"], acct["available"]) == ("100000", "0")
    await assert_books_balance(api)


async def test_one_client_order_id_sent_concurrently_makes_one_order(api, trader):
    token = trader["access_token"]
    results = await asyncio.gather(*(order(api, token, client_order_id="same") for _ in range(10)))
    assert {body["order"]["id"] for _, body in results} == {results[0][1]["order"]["id"]}
    _, trades = await api.call("GET", "/api/v1/trades", token=token)
    assert len(trades["trades"]) == 1
    await assert_books_balance(api)


async def test_a_trade_exited_from_rest_and_socket_at_once_closes_once(api, trader):
    token = trader["access_token"]
    _, body = await order(api, token)
    trade_id = body["order"]["trade_id"]
    set_price(api, "AAPL", "110")
    sockets = [await api.socket(token) for _ in range(3)]
    outcomes = await asyncio.gather(
        *(api.call("POST", f"/api/v1/trades/{trade_id}/exit", token=token) for _ in range(3)),
        *(sock.call("exit_trade", {"trade_id": trade_id}) for sock in sockets))
    rest, acks = outcomes[:3], outcomes[3:]
    wins = [s for s, _ in rest if s == 200] + [a for a in acks if a["ok"]]
    assert len(wins) == 1
    assert {b["error"]["code"] for s, b in rest if s != 200} | {
        a["error"]["code"] for a in acks if not a["ok"]} == {"trade_not_open"}
    acct = await account(api, token)
    assert (acct["cash"], acct["realized_pnl"]) == ("100100", "100")
    await assert_books_balance(api)


async def test_cancels_racing_each_other_release_funds_once(api, trader):
    token = trader["access_token"]
    _, body = await order(api, token, type="limit", limit_price="90")
    order_id = body["order"]["id"]
    results = await asyncio.gather(*(api.call("DELETE", f"/api/v1/orders/{order_id}",
                                              token=token) for _ in range(5)))
    assert sorted(status for status, _ in results) == [200, 409, 409, 409, 409]
    assert (await account(api, token))["available"] == "100000"
    await assert_books_balance(api)


async def test_concurrent_partial_exits_each_move_cash_once(api, trader):
    token = trader["access_token"]
    _, body = await order(api, token, quantity="10")
    trade_id = body["order"]["trade_id"]
    set_price(api, "AAPL", "101")
    for _ in range(3):
        await asyncio.gather(*(api.call("POST", f"/api/v1/trades/{trade_id}/exit",
                                        {"quantity": "1"}, token=token) for _ in range(3)))
    _, trades = await api.call("GET", "/api/v1/trades", token=token)
    [trade] = trades["trades"]
    exited = 10 - int(trade["quantity"])
    assert exited == len(trade["exits"]) >= 3
    acct = await account(api, token)
    assert acct["realized_pnl"] == str(exited)
    await assert_books_balance(api)


async def test_every_kind_of_change_at_once_on_one_account_keeps_the_books(api, trader):
    """Orders, exits, cancels, exit-all and a reset racing on one account: whatever
    wins, nothing fails for lack of isolation, and the books balance after."""
    token = trader["access_token"]
    trades = [(await order(api, token, quantity="50"))[1]["order"]["trade_id"]
              for _ in range(4)]
    resting = [(await order(api, token, type="limit", limit_price="90"))[1]["order"]["id"]
               for _ in range(3)]
    set_price(api, "AAPL", "101")
    sockets = [await api.socket(token) for _ in range(2)]
    calls = [
        *(order(api, token, quantity="20") for _ in range(12)),
        *(sockets[n % 2].call("place_order", {"symbol": "AAPL", "side": "buy", "quantity": "5",
                                              "type": "market"}) for n in range(6)),
        *(api.call("POST", f"/api/v1/trades/{trade_id}/exit", {"quantity": "10"}, token=token)
          for trade_id in trades),
        *(api.call("DELETE", f"/api/v1/orders/{order_id}", token=token) for order_id in resting),
        api.call("POST", "/api/v1/trades/exit-all", token=token),
        api.call("POST", "/api/v1/account/reset", token=token),
    ]
    outcomes = await asyncio.gather(*calls)
    statuses = [o["ok"] if isinstance(o, dict) else o[0] for o in outcomes]
    assert all(s in (True, 200, 201, 400, 409) for s in statuses), statuses
    await assert_books_balance(api)
    assert (await account(api, token))["reserved"] == "0"


async def test_one_resting_order_sent_concurrently_makes_one_order_and_one_reservation(api,
                                                                                        trader):
    token = trader["access_token"]
    results = await asyncio.gather(*(order(api, token, client_order_id="rest", type="limit",
                                           limit_price="90") for _ in range(10)))
    # The order is committed whole: every repeat sees it open.
    assert {status for status, _ in results} == {201}
    assert {body["order"]["status"] for _, body in results} == {"open"}
    assert len({body["order"]["id"] for _, body in results}) == 1
    _, orders = await api.call("GET", "/api/v1/orders", token=token)
    assert [o["status"] for o in orders["orders"]] == ["open"]
    assert (await account(api, token))["reserved"] == "900"
    await assert_books_balance(api)


async def test_a_market_and_a_limit_order_sent_at_once_cannot_share_a_client_order_id(api,
                                                                                       trader):
    token = trader["access_token"]
    results = await asyncio.gather(order(api, token, client_order_id="both"),
                                   order(api, token, client_order_id="both", type="limit",
                                         limit_price="90"))
    assert sorted(status for status, _ in results) == [201, 409]
    _, orders = await api.call("GET", "/api/v1/orders", token=token)
    assert len(orders["orders"]) == 1
    await assert_books_balance(api)
