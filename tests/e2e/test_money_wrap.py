"""Every counter past 2^31 units ($21.47483648) stays exact, and wrapped ones are mended."""

from __future__ import annotations

import logging
from dataclasses import replace
from decimal import Decimal

import pytest
from bson import Int64

from server import keys
from store.check import WRAP, check_books, repair_wrapped
from tests.e2e.trading_support import account, assert_books_balance, order, set_price

# Past 2^31 units, each counter moved only by increments that fit in 32 bits.
PAST_2_31 = Decimal(2**31) / 10**8


@pytest.fixture
async def costly(servers, settings):  # type: ignore[no-untyped-def]
    """A server whose commission is half of what is traded, so fees add up fast."""
    api = await servers.start(replace(settings, trading=replace(
        settings.trading, commission_rate=Decimal("0.5"))))
    set_price(api, "AAPL", "10")
    return api, (await api.account())["access_token"]


async def test_every_counter_goes_past_2_31_units_in_small_steps_and_stays_exact(costly):
    api, token = costly
    # reserved: five resting buys of $5 and a $2.5 fee each.
    ids = []
    for _ in range(5):
        status, body = await order(api, token, type="limit", limit_price="5", quantity="1")
        assert status == 201, body
        ids.append(body["order"]["id"])
    acct = await account(api, token)
    assert Decimal(acct["reserved"]) == 37.5 > PAST_2_31
    for order_id in ids:
        status, body = await api.call("DELETE", f"/api/v1/orders/{order_id}", token=token)
        assert status == 200, body
    assert (await account(api, token))["reserved"] == "0"

    # margin_used and fees: five market buys of $10 with a $5 fee each.
    for _ in range(5):
        status, body = await order(api, token, quantity="1")
        assert status == 201, body
    acct = await account(api, token)
    assert (acct["margin_used"], acct["fees"]) == ("50", "25")

    # realized_pnl of the account and of one trade: five exits of $5 profit each.
    status, body = await order(api, token, quantity="5")
    trade_id = body["order"]["trade_id"]
    set_price(api, "AAPL", "15")
    for _ in range(5):
        status, body = await api.call("POST", f"/api/v1/trades/{trade_id}/exit",
                                      {"quantity": "1"}, token=token)
        assert status == 200, body
    trade = body["trade"]
    assert (trade["status"], trade["realized_pnl"], trade["fees"]) == ("closed", "25", "62.5")
    acct = await account(api, token)
    assert (acct["realized_pnl"], acct["fees"]) == ("25", str(25 + 25 + 37.5))
    await assert_books_balance(api)

    db = api.app[keys.STORE].db
    stored = await db["accounts"].find_one({})
    assert stored is not None
    assert all(type(stored[field]) in (int, Int64) and stored[field] >= 0
               for field in ("reserved", "margin_used", "fees", "realized_pnl"))
    status, body = await api.call("POST", "/api/v1/account/reset", token=token)
    assert status == 200, body
    assert (body["account"]["cash"], body["account"]["reserved"]) == ("100000", "0")


async def test_counters_stored_wrapped_are_mended_from_the_books_and_logged(costly, caplog):
    api, token = costly
    await order(api, token, type="limit", limit_price="5", quantity="1")
    _, body = await order(api, token, quantity="3")
    trade_id = body["order"]["trade_id"]
    set_price(api, "AAPL", "12")
    await api.call("POST", f"/api/v1/trades/{trade_id}/exit", {"quantity": "1"}, token=token)
    db = api.app[keys.STORE].db
    before = await db["accounts"].find_one({})
    trade_before = await db["trades"].find_one({"_id": trade_id})
    assert before is not None and trade_before is not None
    # As a store adding in 32 bits left them: each off by 2^32 units.
    wrapped = {field: Int64(before[field] - WRAP)
               for field in ("reserved", "available", "fees", "realized_pnl")}
    await db["accounts"].update_one({"_id": before["_id"]}, {"$set": wrapped})
    await db["trades"].update_one({"_id": trade_id}, {"$set": {
        "realized_pnl": Int64(trade_before["realized_pnl"] + WRAP)}})
    assert len(await check_books(db)) >= 2

    with caplog.at_level(logging.WARNING, logger="store.check"):
        fixed = await repair_wrapped(db)
    assert sorted(line.split(":")[1].split()[0] for line in fixed) == [
        "available", "fees", "realized_pnl", "realized_pnl", "reserved"]
    assert sum("repaired a wrapped counter" in r.message for r in caplog.records) == 5
    after = await db["accounts"].find_one({})
    trade_after = await db["trades"].find_one({"_id": trade_id})
    assert after is not None and trade_after is not None
    assert {f: after[f] for f in wrapped} == {f: before[f] for f in wrapped}
    assert trade_after["realized_pnl"] == trade_before["realized_pnl"]
    assert await check_books(db) == []
    assert await repair_wrapped(db) == []  # nothing left to mend


async def test_a_counter_off_by_other_than_2_32_is_reported_not_mended(costly):
    api, token = costly
    await order(api, token, type="limit", limit_price="5", quantity="1")
    db = api.app[keys.STORE].db
    account_doc = await db["accounts"].find_one({})
    assert account_doc is not None
    await db["accounts"].update_one({"_id": account_doc["_id"]},
                                    {"$inc": {"reserved": Int64(12345)}})
    assert await repair_wrapped(db) == []
    assert any("reserved" in line for line in await check_books(db))
