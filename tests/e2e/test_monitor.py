"""The monitor closes trades at stop-loss and target and fills resting orders, once."""

import asyncio

import pytest

from handlers import keys
from tests.e2e.trading_support import account, assert_books_balance, order, set_price


@pytest.fixture
async def trader(api):
    tokens = await api.account()
    set_price(api, "AAPL", "100")
    return tokens["access_token"]


async def settled(api) -> None:
    """Wait for the fires the last tick started."""
    tasks = set(api.app[keys.MONITOR].tasks)
    if tasks:
        await asyncio.wait(tasks, timeout=5)


async def tick(api, price: str) -> None:
    set_price(api, "AAPL", price)
    await settled(api)


async def trades(api, token, status="closed"):
    _, body = await api.call("GET", f"/api/v1/trades?status={status}", token=token)
    return body["trades"]


async def test_long_stop_loss_closes_at_the_ticks_price_on_a_gap(api, trader):
    await order(api, trader, stop_loss="95", target_price="110")
    await tick(api, "96")
    assert await trades(api, trader) == []
    await tick(api, "93.5")  # gaps through 95
    [closed] = await trades(api, trader)
    assert (closed["close_reason"], closed["close_price"], closed["realized_pnl"]) == (
        "stop_loss", "93.5", "-65")
    await tick(api, "120")  # the target leg is gone with the trade
    assert len(await trades(api, trader)) == 1
    assert (await account(api, trader))["cash"] == "99935"
    await assert_books_balance(api)


async def test_long_target_and_short_legs_fire_in_the_right_direction(api, trader):
    # One user's long and another's short (one user's would net to nothing).
    shorter = (await api.account(email="short@example.com", name="Short"))["access_token"]
    await order(api, trader, quantity="1", target_price="105")
    await order(api, shorter, side="sell", quantity="1", stop_loss="104", target_price="90")
    await tick(api, "104")  # the short's stop-loss (above), not yet the long's target
    assert [(t["side"], t["close_reason"]) for t in await trades(api, shorter)] == [
        ("sell", "stop_loss")]
    assert await trades(api, trader) == []
    await tick(api, "105")
    assert [(t["side"], t["close_reason"]) for t in await trades(api, trader)] == [
        ("buy", "target")]
    await assert_books_balance(api)


async def test_resting_limit_and_stop_orders_fill_when_crossed(api, trader):
    _, limit = await order(api, trader, type="limit", limit_price="95", quantity="2",
                           stop_loss="90")
    _, stop = await order(api, trader, type="stop", stop_price="103", quantity="1")
    await tick(api, "96")
    await tick(api, "94")  # limit buy at or below 95: fills at 94
    _, filled = await api.call("GET", f"/api/v1/orders/{limit['order']['id']}", token=trader)
    assert (filled["order"]["status"], filled["order"]["filled_price"]) == ("filled", "94")
    await tick(api, "104")  # stop buy at or above 103
    _, filled = await api.call("GET", f"/api/v1/orders/{stop['order']['id']}", token=trader)
    assert (filled["order"]["status"], filled["order"]["filled_price"]) == ("filled", "104")
    acct = await account(api, trader)
    assert (acct["reserved"], acct["margin_used"]) == ("0", "292")
    # The filled limit order's stop-loss is live now.
    await tick(api, "89")
    assert [t["close_reason"] for t in await trades(api, trader)] == ["stop_loss"]
    await assert_books_balance(api)


async def test_a_stale_tick_fires_nothing_until_a_fresh_one_crosses(api, trader, clock):
    await order(api, trader, stop_loss="95")
    hub = api.app[keys.MARKET].hub
    from datetime import timedelta

    from tests.support import quote
    hub.publish(quote("AAPL", "90", clock() - timedelta(minutes=5)))  # late, old price
    await settled(api)
    assert await trades(api, trader) == []
    await tick(api, "94")
    assert [t["close_reason"] for t in await trades(api, trader)] == ["stop_loss"]


async def test_modifying_and_cancelling_move_the_triggers(api, trader):
    _, body = await order(api, trader, stop_loss="95")
    trade_id = body["order"]["trade_id"]
    await api.call("PATCH", f"/api/v1/trades/{trade_id}", {"stop_loss": "90"}, token=trader)
    await tick(api, "93")
    assert await trades(api, trader) == []
    _, resting = await order(api, trader, type="limit", limit_price="92", quantity="1")
    await api.call("DELETE", f"/api/v1/orders/{resting['order']['id']}", token=trader)
    await tick(api, "91")
    _, still = await api.call("GET", f"/api/v1/orders/{resting['order']['id']}", token=trader)
    assert still["order"]["status"] == "canceled"
    await tick(api, "89.99")
    assert [t["close_reason"] for t in await trades(api, trader)] == ["stop_loss"]
    await assert_books_balance(api)


async def test_a_manual_exit_racing_a_stop_loss_closes_once(api, trader):
    _, body = await order(api, trader, stop_loss="95")
    trade_id = body["order"]["trade_id"]
    set_price(api, "AAPL", "94")  # the monitor fires now...
    status, _ = await api.call("POST", f"/api/v1/trades/{trade_id}/exit", token=trader)
    await settled(api)
    [closed] = await trades(api, trader)
    assert status in (200, 409)
    assert closed["realized_pnl"] == "-60"
    assert (await account(api, trader))["cash"] == "99940"
    await assert_books_balance(api)


async def test_triggers_survive_a_restart(servers, settings, api, trader):
    await order(api, trader, stop_loss="95")
    await order(api, trader, type="limit", limit_price="90", quantity="1")
    await servers.stop(api)
    again = await servers.start(settings)
    assert len(again.app[keys.MONITOR].index) == 2
    set_price(again, "AAPL", "94")
    await settled(again)
    set_price(again, "AAPL", "89")
    await settled(again)
    assert [t["close_reason"] for t in await trades(again, trader)] == ["stop_loss"]
    _, orders = await again.call("GET", "/api/v1/orders?status=filled", token=trader)
    assert len(orders["orders"]) == 2
    await assert_books_balance(again)


async def test_trade_update_events_say_why_a_trade_closed(api, trader):
    sock = await api.socket(trader)
    await order(api, trader, target_price="101")
    assert (await sock.next("trade_update"))["event"] == "opened"
    await tick(api, "101.5")
    update = await sock.next("trade_update")
    assert (update["event"], update["reason"]) == ("closed", "target")


async def test_day_orders_expire_at_midnight_utc_and_release_their_funds(api, trader, clock):
    from datetime import timedelta

    from services.engine import end_of_day
    _, day = await order(api, trader, type="limit", limit_price="90", quantity="2",
                         time_in_force="day")
    _, gtc = await order(api, trader, type="limit", limit_price="91", quantity="1")
    engine = api.app[keys.ENGINE]
    assert await engine.resting.expire_day_orders() == 0
    clock.advance(end_of_day(clock()) - clock() + timedelta(seconds=1))
    assert await engine.resting.expire_day_orders() == 1
    _, expired = await api.call("GET", f"/api/v1/orders/{day['order']['id']}", token=trader)
    assert (expired["order"]["status"], expired["order"]["reserved"]) == ("expired", "0")
    _, still = await api.call("GET", f"/api/v1/orders/{gtc['order']['id']}", token=trader)
    assert still["order"]["status"] == "open"
    assert (await account(api, trader))["reserved"] == "91"
    await tick(api, "89")  # the expired order no longer fills; the other one does
    _, expired = await api.call("GET", f"/api/v1/orders/{day['order']['id']}", token=trader)
    assert expired["order"]["status"] == "expired"
    _, filled = await api.call("GET", f"/api/v1/orders/{gtc['order']['id']}", token=trader)
    assert filled["order"]["status"] == "filled"
    await assert_books_balance(api)


async def test_deleting_an_account_drops_its_triggers(api, trader):
    from tests.support import PASSWORD
    await order(api, trader, stop_loss="95", trailing_amount="3")
    await order(api, trader, type="limit", limit_price="90", quantity="1")
    await api.call("POST", "/api/v1/alerts", {"symbol": "AAPL", "condition": "above",
                                              "price": "120"}, token=trader)
    monitor = api.app[keys.MONITOR]
    assert len(monitor.index) == 4
    bob = (await api.account(email="bob@example.com", name="Bob"))["access_token"]
    await order(api, bob, stop_loss="96")
    status, _ = await api.call("DELETE", "/api/v1/me", {"password": PASSWORD}, token=trader)
    assert status == 204
    assert len(monitor.index) == 1  # only Bob's stop-loss is left
    assert all(not followed for followed in monitor.trailing.values())


async def test_an_alert_stored_without_a_rest_is_not_watched_again_before_the_minimum(
        servers, settings, api, trader, later):
    """Alerts stored before the minimum cooldown say cooldown 0 and were re-armed at once
    (armed_at = the fire's time); from a restart on, the monitor still rests them."""
    _, body = await api.call("POST", "/api/v1/alerts", {
        "symbol": "AAPL", "condition": "above", "price": "105", "repeat": True}, token=trader)
    alert_id = body["alert"]["id"]
    await tick(api, "106")
    alerts = api.app[keys.STORE].alerts.alerts
    stored = await alerts.find_one({"_id": alert_id})
    assert stored["fired"] == 1
    await alerts.update_one({"_id": alert_id}, {"$set": {
        "cooldown": 0, "armed_at": stored["triggered_at"]}})
    await servers.stop(api)
    again = await servers.start(settings)
    alerts = again.app[keys.STORE].alerts.alerts
    assert len(again.app[keys.MONITOR].index) == 0  # resting
    for price in ("107", "108", "109"):
        await tick(again, price)
    assert (await alerts.find_one({"_id": alert_id}))["fired"] == 1
    later(seconds=60)
    await tick(again, "110")
    assert (await alerts.find_one({"_id": alert_id}))["fired"] == 2
