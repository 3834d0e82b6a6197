"""Per-user caps: active alerts and resting orders (MAX_ALERTS_PER_USER,
MAX_OPEN_ORDERS_PER_USER), refused with 429 limit_exceeded, also when requests race."""

import asyncio
from dataclasses import replace

import pytest

from handlers import keys
from tests.e2e.test_monitor import settled
from tests.e2e.trading_support import account, assert_books_balance, order, set_price


def capped(settings, **limits):
    return replace(settings, limits=replace(settings.limits, **limits))


@pytest.fixture
async def api(servers, settings):
    return await servers.start(capped(settings, alerts_per_user=3, open_orders_per_user=2))


@pytest.fixture
async def user(api):
    tokens = await api.account()
    set_price(api, "AAPL", "100")
    return tokens["access_token"]


async def alert(api, token, price="105", **fields):
    return await api.call("POST", "/api/v1/alerts", {"symbol": "AAPL", "condition": "above",
                                                     "price": price, **fields}, token=token)


async def active_alerts(api, token):
    _, body = await api.call("GET", "/api/v1/alerts?status=active", token=token)
    return body["alerts"]


def refused(status, body, limit):
    assert (status, body["error"]["code"], body["error"]["details"]["limit"]) == (
        429, "limit_exceeded", limit), body
    return True


async def test_active_alerts_are_capped_per_user(api, user):
    for price in ("101", "102", "103"):
        assert (await alert(api, user, price))[0] == 201
    assert refused(*await alert(api, user, "104"), limit=3)
    assert len(await active_alerts(api, user)) == 3
    sock = await api.socket(user)
    answer = await sock.call("create_alert", {"symbol": "AAPL", "condition": "below",
                                              "price": "90"})
    assert (answer["error"]["code"], answer["error"]["details"]["limit"]) == (
        "limit_exceeded", 3)
    # Another user has a cap of their own.
    bob = (await api.account(email="bob@example.com", name="Bob"))["access_token"]
    assert (await alert(api, bob))[0] == 201
    # Cancelled and triggered alerts leave room.
    oldest = (await active_alerts(api, user))[-1]
    assert oldest["price"] == "101"
    await api.call("DELETE", f"/api/v1/alerts/{oldest['id']}", token=user)
    assert (await alert(api, user, "104"))[0] == 201
    set_price(api, "AAPL", "102.5")  # fires the alert at 102
    await settled(api)
    assert [a["price"] for a in await active_alerts(api, user)] == ["104", "103"]
    assert (await alert(api, user, "110"))[0] == 201
    assert refused(*await alert(api, user, "111"), limit=3)


async def test_alerts_created_at_once_never_pass_the_cap(api, user):
    for price in ("101", "102"):
        assert (await alert(api, user, price))[0] == 201
    alerts = api.app[keys.STORE].alerts
    counted = alerts.count_active
    both_stored = asyncio.Barrier(2)

    async def count_after_both_are_stored(user_id):
        await both_stored.wait()  # the worst case: each counts the other
        return await counted(user_id)

    alerts.count_active = count_after_both_are_stored
    try:
        answers = await asyncio.gather(alert(api, user, "103"), alert(api, user, "104"))
    finally:
        del alerts.count_active
    kept = [status for status, _ in answers].count(201)
    assert kept <= 1 and sorted(status for status, _ in answers)[kept:] == [429] * (2 - kept)
    assert len(await active_alerts(api, user)) == 2 + kept
    if not kept:
        assert (await alert(api, user, "103"))[0] == 201  # a retry gets the place
    many = await asyncio.gather(*(alert(api, user, str(110 + n)) for n in range(6)))
    assert all(status == 429 for status, _ in many)
    assert len(await active_alerts(api, user)) == 3


async def test_no_cap_when_the_setting_is_0(servers, settings):
    api = await servers.start(capped(settings, alerts_per_user=0, open_orders_per_user=0))
    token = (await api.account())["access_token"]
    set_price(api, "AAPL", "100")
    counted = []
    api.app[keys.STORE].alerts.count_active = counted.append  # never asked
    api.app[keys.STORE].orders.count_resting = counted.append
    for price in ("101", "102", "103", "104"):
        assert (await alert(api, token, price))[0] == 201
        assert (await order(api, token, type="limit", limit_price=str(int(price) - 10),
                            quantity="1"))[0] == 201
    assert counted == []


async def test_resting_orders_are_capped_per_user(api, user):
    for price in ("90", "91"):
        assert (await order(api, user, type="limit", limit_price=price, quantity="1"))[0] == 201
    status, body = await order(api, user, type="stop", stop_price="110", quantity="1",
                               client_order_id="third")
    assert refused(status, body, limit=2)
    # Stored as rejected, with nothing reserved for it; a retry gets the same answer.
    _, rejected = await api.call("GET", "/api/v1/orders?status=rejected", token=user)
    [third] = rejected["orders"]
    assert (third["client_order_id"], third["reject_reason"]) == ("third", "limit_exceeded")
    assert (await account(api, user))["reserved"] == "181"
    # Market orders never rest: not capped.
    assert (await order(api, user, quantity="1"))[1]["order"]["status"] == "filled"
    sock = await api.socket(user)
    answer = await sock.call("place_order", {"symbol": "AAPL", "side": "buy", "type": "limit",
                                             "limit_price": "80", "quantity": "1"})
    assert (answer["error"]["code"], answer["error"]["details"]["limit"]) == (
        "limit_exceeded", 2)
    # A fill and a cancel each leave room for one more.
    set_price(api, "AAPL", "90.5")
    await settled(api)
    _, open_orders = await api.call("GET", "/api/v1/orders?status=open", token=user)
    [left] = open_orders["orders"]
    assert (await order(api, user, type="limit", limit_price="85", quantity="1"))[0] == 201
    assert refused(*await order(api, user, type="limit", limit_price="86", quantity="1"),
                   limit=2)
    await api.call("DELETE", f"/api/v1/orders/{left['id']}", token=user)
    assert (await order(api, user, type="limit", limit_price="86", quantity="1"))[0] == 201
    await assert_books_balance(api)


async def test_orders_placed_at_once_never_pass_the_cap(api, user):
    assert (await order(api, user, type="limit", limit_price="90", quantity="1"))[0] == 201
    answers = await asyncio.gather(*(
        order(api, user, type="limit", limit_price=str(80 + n), quantity="1")
        for n in range(6)))
    assert sorted(status for status, _ in answers).count(201) <= 1
    _, open_orders = await api.call("GET", "/api/v1/orders?status=open", token=user)
    assert len(open_orders["orders"]) <= 2
    assert all(status in (201, 429) for status, _ in answers)
    await assert_books_balance(api)
