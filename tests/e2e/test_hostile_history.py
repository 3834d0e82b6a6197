"""Hostile requests against the history, positions and bracket routes: each found a
500, lost or doubled money, or a position flipped by a race; each must now get a clear
answer and leave the books balanced."""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from handlers import keys
from store.check import check_books
from store.trading import expiring_filter
from tests.e2e.test_monitor import settled
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


async def open_lots(api, token, symbol):
    status, body = await api.call("GET", f"/api/v1/trades?status=open&symbol={symbol}",
                                  token=token)
    assert status == 200, body
    return [(t["side"], t["quantity"]) for t in body["trades"]]


@pytest.mark.parametrize("params", [
    {"after": "0001-01-01T00:00:00+01:00"},  # an hour before year 1 in UTC
    {"until": "9999-12-31T23:59:59-01:00"},  # an hour past year 9999 in UTC
    {"after": "0001-01-01T00:30+00:31", "direction": "asc"},
    {"until": "9999-12-31T23:00:00-23:59", "direction": "asc"},
])
async def test_activity_times_beyond_what_a_date_holds_in_utc_are_refused(api, trader, params):
    status, body = await api.call("GET", "/api/v1/account/activities", token=trader,
                                  params=params)
    assert status == 400, body
    field = "after" if "after" in params else "until"
    assert body["error"]["code"] == "validation_error"
    assert body["error"]["details"]["field"] == field


async def test_two_sells_of_a_crypto_holding_at_once_never_sell_it_short(api, trader):
    """BTCUSDT is not shortable: a sell may close what is held and no more, whichever of
    two sells racing for the same holding comes second."""
    for _ in range(3):
        status, body = await order(api, trader, symbol="BTCUSDT", quantity="0.1")
        assert status == 201, body
        answers = await asyncio.gather(
            order(api, trader, symbol="BTCUSDT", side="sell", quantity="0.1"),
            order(api, trader, symbol="BTCUSDT", side="sell", quantity="0.1"))
        statuses = sorted(status for status, _ in answers)
        assert statuses == [201, 400], answers
        refused = next(body for status, body in answers if status == 400)
        assert refused["error"]["code"] == "short_not_allowed"
        assert await open_lots(api, trader, "BTCUSDT") == []
        await assert_books_balance(api)


async def test_closing_a_crypto_position_twice_at_once_never_sells_it_short(api, trader):
    for _ in range(3):
        status, body = await order(api, trader, symbol="BTCUSDT", quantity="0.1")
        assert status == 201, body
        answers = await asyncio.gather(
            api.call("DELETE", "/api/v1/positions/BTCUSDT", token=trader),
            api.call("DELETE", "/api/v1/positions/BTCUSDT", token=trader))
        assert sorted(status for status, _ in answers)[0] == 200, answers
        assert await open_lots(api, trader, "BTCUSDT") == []
        await assert_books_balance(api)
async def test_closing_a_position_twice_at_once_never_opens_the_other_side(api, trader):
    for _ in range(3):
        status, body = await order(api, trader, quantity="10")
        assert status == 201, body
        answers = await asyncio.gather(
            api.call("DELETE", "/api/v1/positions/AAPL", token=trader),
            api.call("DELETE", "/api/v1/positions/AAPL", token=trader))
        statuses = sorted(status for status, _ in answers)
        assert statuses[0] == 200, answers
        assert statuses[1] in (200, 404), answers
        assert await open_lots(api, trader, "AAPL") == []  # flat: no short of 10
        balances = await account(api, trader)
        assert (balances["margin_used"], balances["reserved"]) == ("0", "0")
        await assert_books_balance(api)


@pytest.mark.parametrize(("symbol", "size", "part"), [
    ("AAPL", "10", "4"), ("BTCUSDT", "0.1", "0.04")])
async def test_a_partial_close_racing_a_full_one_closes_no_more_than_was_held(
        api, trader, symbol, size, part):
    for _ in range(3):
        status, body = await order(api, trader, symbol=symbol, quantity=size)
        assert status == 201, body
        answers = await asyncio.gather(
            api.call("DELETE", f"/api/v1/positions/{symbol}", token=trader),
            api.call("DELETE", f"/api/v1/positions/{symbol}?qty={part}", token=trader))
        assert answers[0][0] == 200, answers
        assert answers[1][0] in (200, 404), answers
        closed = [Decimal(body["order"]["quantity"]) for status, body in answers
                  if status == 200]
        assert sum(closed) == Decimal(size)  # the full close took what was left, or all
        assert await open_lots(api, trader, symbol) == []
        await assert_books_balance(api)


async def test_a_close_racing_the_stop_loss_of_its_lot_never_opens_the_other_side(api, trader):
    for _ in range(3):
        set_price(api, "AAPL", "100")
        status, body = await order(api, trader, quantity="10", stop_loss="95")
        assert status == 201, body
        set_price(api, "AAPL", "94")  # the monitor starts closing the lot at its stop
        status, body = await api.call("DELETE", "/api/v1/positions/AAPL", token=trader)
        assert status in (200, 404), body
        await settled(api)
        assert await open_lots(api, trader, "AAPL") == []
        await assert_books_balance(api)


@pytest.fixture
async def capped_api(servers, settings):
    """A server allowing each user 4 resting orders."""
    return await servers.start(replace(settings, limits=replace(settings.limits,
                                                                open_orders_per_user=4)))


async def resting(api, token):
    found = []
    for status in ("open", "held"):
        _, body = await api.call("GET", f"/api/v1/orders?status={status}&limit=500", token=token)
        found += body["orders"]
    return found


def bracket(**fields):
    return {"symbol": "AAPL", "side": "buy", "quantity": "1", "order_class": "bracket",
            "take_profit": {"limit_price": "120"}, "stop_loss": {"stop_price": "80"}, **fields}


async def test_bracket_legs_count_against_the_cap_of_resting_orders(capped_api):
    """Market-entry brackets rest two legs each: without counting them a user could rest
    any number of orders (each watched by the monitor) past MAX_OPEN_ORDERS_PER_USER."""
    api = capped_api
    token = (await api.account())["access_token"]
    set_price(api, "AAPL", "100")
    answers = [await api.call("POST", "/api/v1/orders", bracket(), token=token)
               for _ in range(4)]
    assert [status for status, _ in answers] == [201, 201, 429, 429], answers
    assert answers[2][1]["error"]["code"] == "limit_exceeded"
    assert answers[2][1]["error"]["details"]["limit"] == 4
    assert len(await resting(api, token)) == 4
    await assert_books_balance(api)


async def test_limit_entry_brackets_count_their_held_legs_against_the_cap(capped_api):
    """A limit entry and its two held legs are three orders that rest (the legs once it
    fills): a second such bracket would pass the cap when both entries fill."""
    api = capped_api
    token = (await api.account())["access_token"]
    set_price(api, "AAPL", "100")
    first = await api.call("POST", "/api/v1/orders",
                           bracket(type="limit", limit_price="99"), token=token)
    assert first[0] == 201, first
    second = await api.call("POST", "/api/v1/orders",
                            bracket(type="limit", limit_price="98"), token=token)
    assert (second[0], second[1]["error"]["code"]) == (429, "limit_exceeded"), second
    set_price(api, "AAPL", "97")
    await settled(api)
    assert len(await resting(api, token)) <= 4
    await assert_books_balance(api)


def forged(text: str) -> str:
    return base64.urlsafe_b64encode(f"activities:{text}".encode()).decode().rstrip("=")


@pytest.mark.parametrize("text", [
    "desc.1796671575322.2.abc:\u00b2",  # superscript two: str.isdigit, not int()
    "desc.1796671575322.2.abc:\u0663",  # Arabic-Indic three
    "desc.\u0661\u0662.1.abc",  # Arabic-Indic milliseconds
    "desc.+5.1.abc",
    "desc.1_000.1.abc",
    "desc. 5.1.abc",
    "asc.5.\u0661.abc",
])
async def test_forged_activity_cursors_are_refused(api, trader, text):
    status, body = await api.call("GET", "/api/v1/account/activities", token=trader,
                                  params={"cursor": forged(text),
                                          "direction": text.split(".")[0]})
    assert status == 400, body
    assert (body["error"]["code"], body["error"]["details"]["field"]) == (
        "validation_error", "cursor")


async def test_a_retried_bracket_is_answered_with_its_order_even_at_the_cap(capped_api):
    api = capped_api
    token = (await api.account())["access_token"]
    set_price(api, "AAPL", "100")
    placed = [await api.call("POST", "/api/v1/orders", bracket(client_order_id=f"b{n}"),
                             token=token) for n in (1, 2)]
    assert [status for status, _ in placed] == [201, 201], placed
    status, again = await api.call("POST", "/api/v1/orders", bracket(client_order_id="b1"),
                                   token=token)
    assert status == 201, again
    assert again["order"]["id"] == placed[0][1]["order"]["id"]
    assert len(await resting(api, token)) == 4
    await assert_books_balance(api)


async def test_the_books_check_finds_a_reservation_left_on_an_order_that_is_not_open(
        api, trader):
    """An ended order (or a held leg) must hold nothing: the check counts only open
    orders' reservations, so a stray one on another would go unseen."""
    status, body = await order(api, trader, type="limit", limit_price="90", quantity="1")
    assert status == 201, body
    order_id = body["order"]["id"]
    await api.call("DELETE", f"/api/v1/orders/{order_id}", token=trader)
    await assert_books_balance(api)
    db = api.app[keys.STORE].db
    await db["orders"].update_one({"_id": order_id}, {"$set": {"reserved": 9000000000}})
    problems = await check_books(db)
    assert problems == [f"order {order_id}: canceled with 9000000000 still reserved"]


async def test_a_leg_fill_racing_the_cancel_of_its_sibling_ends_one_way_or_the_other(
        api, trader):
    """The take-profit fills while the trader cancels the stop-loss (which cancels the
    take-profit too): either the fill wins and the stop is cancelled by it, or the cancel
    wins and both are cancelled with the position still held; never a fill and a leg
    left resting, and never two fills."""
    engine = api.app[keys.ENGINE]
    _, me = await api.call("GET", "/api/v1/me", token=trader)
    user_id = me["user"]["id"]
    for attempt in range(4):
        status, body = await api.call("POST", "/api/v1/orders", bracket(
            take_profit={"limit_price": "110"}, stop_loss={"stop_price": "95"},
            client_order_id=f"leg-race-{attempt}"), token=trader)
        assert status == 201, body
        roles = {leg["leg_role"]: leg["id"] for leg in body["order"]["legs"]}
        [take_profit] = await engine.store.orders.legs(user_id, [roles["take_profit"]])
        filled, cancelled = await asyncio.gather(
            engine.resting.fill(take_profit, Decimal("111")),
            api.call("DELETE", f"/api/v1/orders/{roles['stop_loss']}", token=trader),
            return_exceptions=True)
        legs = {role: (await api.call("GET", f"/api/v1/orders/{leg_id}", token=trader))[1]
                ["order"]["status"] for role, leg_id in roles.items()}
        assert (filled is not None) == (legs["take_profit"] == "filled"), filled
        if legs["take_profit"] == "filled":
            assert legs["stop_loss"] == "canceled"
            assert cancelled[0] == 409, cancelled  # the fill had cancelled it already
            assert await open_lots(api, trader, "AAPL") == []
        else:
            assert legs == {"take_profit": "canceled", "stop_loss": "canceled"}, legs
            assert cancelled[0] == 200, cancelled
            assert await open_lots(api, trader, "AAPL") == [("buy", "1")]
            await api.call("DELETE", "/api/v1/positions/AAPL", token=trader)
        assert (await account(api, trader))["reserved"] == "0"
        await assert_books_balance(api)


async def test_a_tiny_percentage_is_refused_in_plain_decimals(api, trader):
    status, body = await order(api, trader, quantity="1")
    assert status == 201, body
    status, body = await api.call("DELETE", "/api/v1/positions/AAPL", token=trader,
                                  params={"percentage": "1e-8"})
    assert (status, body["error"]["details"]["field"]) == (400, "percentage"), body
    assert body["error"]["message"].startswith("0.00000001% of 1 AAPL"), body


async def test_refusals_name_the_order_class_with_its_article(api, trader):
    status, body = await api.call("POST", "/api/v1/orders", bracket(time_in_force="ioc"),
                                  token=trader)
    assert (status, body["error"]["message"]) == (400, "A bracket order is gtc or day."), body
    status, body = await api.call("POST", "/api/v1/orders", bracket(
        order_class="oto", take_profit=None, stop_loss=None), token=trader)
    assert (status, body["error"]["message"]) == (
        400, "An oto order needs take_profit and/or stop_loss."), body


HUGE = "92233720368.54"  # on AAPL's tick; two of it are worth more than the books keep


@pytest.mark.parametrize(("fields", "field"), [
    ({"side": "sell", "type": "limit", "limit_price": "101",
      "take_profit": {"limit_price": "50"}, "stop_loss": {"stop_price": HUGE}},
     "stop_loss.stop_price"),
    ({"type": "limit", "limit_price": "99", "take_profit": {"limit_price": HUGE}},
     "take_profit.limit_price"),
    ({"side": "sell", "type": "limit", "order_class": "oco",
      "take_profit": {"limit_price": HUGE}, "stop_loss": {"stop_price": "50"}},
     "take_profit.limit_price"),
])
async def test_a_leg_worth_more_than_the_books_keep_is_refused_when_placed(
        api, trader, fields, field):
    """Held legs reserve nothing until their entry fills: a leg worth more than an amount
    can hold was taken, and then the entry's every fill failed (the legs' reservation
    overflowed), a poison order fired again on every crossing."""
    status, body = await order(api, trader, quantity="3")
    assert status == 201, body
    status, body = await api.call("POST", "/api/v1/orders", bracket(quantity="2", **fields),
                                  token=trader)
    assert (status, body["error"]["code"], body["error"]["details"]["field"]) == (
        400, "validation_error", field), body
    _, listed = await api.call("GET", "/api/v1/orders", token=trader)
    assert [o["status"] for o in listed["orders"]] == ["filled"]  # nothing stored
    await assert_books_balance(api)


async def test_a_resting_crypto_sell_whose_holding_was_exited_is_rejected_not_short(
        api, trader):
    status, body = await order(api, trader, symbol="BTCUSDT", quantity="0.1")
    assert status == 201, body
    trade_id = body["order"]["trade_id"]
    status, resting_sell = await order(api, trader, symbol="BTCUSDT", side="sell",
                                       type="limit", limit_price="66000", quantity="0.1")
    assert status == 201, resting_sell
    status, body = await api.call("POST", f"/api/v1/trades/{trade_id}/exit", token=trader)
    assert status == 200, body
    set_price(api, "BTCUSDT", "66001")
    await settled(api)
    _, after = await api.call("GET", f"/api/v1/orders/{resting_sell['order']['id']}",
                              token=trader)
    assert (after["order"]["status"], after["order"]["reject_reason"]) == (
        "rejected", "short_not_allowed")
    assert await open_lots(api, trader, "BTCUSDT") == []
    assert (await account(api, trader))["reserved"] == "0"
    await assert_books_balance(api)


async def test_looking_for_day_orders_to_expire_reads_an_index_not_every_order(api, trader):
    """Every 30 s the server looks for open day orders (and legs) whose day ended, across
    every user: without an index that read every order ever placed."""
    for price in ("90", "91", "92"):
        status, body = await order(api, trader, type="limit", limit_price=price,
                                   quantity="1", time_in_force="day")
        assert status == 201, body
    await order(api, trader, quantity="1")
    db = api.app[keys.STORE].db.main
    explained = await db.command("explain", {"find": "orders",
                                             "filter": expiring_filter(datetime.now(UTC))},
                                 verbosity="executionStats")
    plan = json.dumps(explained["queryPlanner"]["winningPlan"], default=str)
    assert "COLLSCAN" not in plan and "status_expires" in plan, plan


async def test_a_lot_stop_and_an_oco_stop_reached_by_one_tick_close_the_holding_once(
        api, trader):
    """A crypto lot with its own stop-loss and an oco exiting it at the same level: the
    tick that reaches both closes the holding once (one realized loss), the other finding
    nothing to close, and never sells it short."""
    for _ in range(3):
        set_price(api, "BTCUSDT", "65000")
        status, body = await order(api, trader, symbol="BTCUSDT", quantity="0.1",
                                   stop_loss="60000")
        assert status == 201, body
        status, oco = await api.call("POST", "/api/v1/orders", {
            "symbol": "BTCUSDT", "side": "sell", "type": "limit", "quantity": "0.1",
            "order_class": "oco", "take_profit": {"limit_price": "70000"},
            "stop_loss": {"stop_price": "60000"}}, token=trader)
        assert status == 201, oco
        before = Decimal((await account(api, trader))["realized_pnl"])
        set_price(api, "BTCUSDT", "59000")
        await settled(api)
        await settled(api)
        assert await open_lots(api, trader, "BTCUSDT") == []
        after = await account(api, trader)
        assert Decimal(after["realized_pnl"]) - before == Decimal("-600")  # 0.1 x -6000, once
        assert after["reserved"] == "0"
        _, listed = await api.call("GET", "/api/v1/orders?status=open", token=trader)
        assert listed["orders"] == []
        await assert_books_balance(api)


async def test_a_position_worth_less_than_the_minimum_notional_can_still_be_closed(
        api, trader):
    """0.0001 BTC bought at 65000 (6.5 USDT) is worth 4 USDT at 40000, under the 5 USDT
    minimum of an order: its close was refused, in DELETE /positions as in closing them
    all, though exiting its trade was taken."""
    status, body = await order(api, trader, symbol="BTCUSDT", quantity="0.0001")
    assert status == 201, body
    set_price(api, "BTCUSDT", "40000")
    status, body = await api.call("DELETE", "/api/v1/positions/BTCUSDT", token=trader)
    assert (status, body["order"]["status"], body["order"]["quantity"]) == (
        200, "filled", "0.0001"), body
    assert await open_lots(api, trader, "BTCUSDT") == []
    # An ordinary sell of that size is still refused.
    await order(api, trader, symbol="BTCUSDT", quantity="0.0002")
    status, body = await order(api, trader, symbol="BTCUSDT", side="sell", quantity="0.0001")
    assert (status, body["error"]["details"]["rule"]) == (400, "min_notional"), body
    await assert_books_balance(api)


async def test_a_capped_leg_fill_is_listed_in_activities_with_what_it_filled(api, trader):
    """A crypto oco of 0.1 whose holding shrank to 0.06 fills 0.06 (filled_quantity): its
    fill activity said 0.1, more than was sold."""
    status, body = await order(api, trader, symbol="BTCUSDT", quantity="0.1")
    assert status == 201, body
    trade_id = body["order"]["trade_id"]
    status, oco = await api.call("POST", "/api/v1/orders", {
        "symbol": "BTCUSDT", "side": "sell", "type": "limit", "quantity": "0.1",
        "order_class": "oco", "take_profit": {"limit_price": "70000"},
        "stop_loss": {"stop_price": "60000"}}, token=trader)
    assert status == 201, oco
    status, body = await api.call("POST", f"/api/v1/trades/{trade_id}/exit",
                                  {"quantity": "0.04"}, token=trader)
    assert status == 200, body
    set_price(api, "BTCUSDT", "70001")
    await settled(api)
    _, filled = await api.call("GET", f"/api/v1/orders/{oco['order']['id']}", token=trader)
    assert (filled["order"]["status"], filled["order"]["filled_quantity"]) == ("filled", "0.06")
    _, listed = await api.call("GET", "/api/v1/account/activities", token=trader,
                               params={"type": "fill"})
    [fill] = [a for a in listed["activities"] if a["order_id"] == oco["order"]["id"]]
    assert fill["qty"] == "0.06", fill
    await assert_books_balance(api)


async def test_a_capped_leg_fill_is_notified_with_what_it_filled(api, trader):
    status, body = await order(api, trader, symbol="BTCUSDT", quantity="0.1")
    assert status == 201, body
    status, oco = await api.call("POST", "/api/v1/orders", {
        "symbol": "BTCUSDT", "side": "sell", "type": "limit", "quantity": "0.1",
        "order_class": "oco", "take_profit": {"limit_price": "70000"},
        "stop_loss": {"stop_price": "60000"}}, token=trader)
    assert status == 201, oco
    await api.call("POST", f"/api/v1/trades/{body['order']['trade_id']}/exit",
                   {"quantity": "0.04"}, token=trader)
    set_price(api, "BTCUSDT", "70001")
    await settled(api)
    found: list = []

    async def notified():
        _, listed = await api.call("GET", "/api/v1/notifications", token=trader)
        found[:] = [n for n in listed["notifications"] if n["kind"] == "order_filled"]
        return found

    async with asyncio.timeout(10):
        while not await notified():  # noqa: ASYNC110 - the outbox worker delivers it
            await asyncio.sleep(0.05)
    assert "order for 0.06 BTCUSDT" in found[0]["body"], found
