"""Every counter past 2^31 units ($21.47483648) stays exact."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from bson import Int64

from handlers import keys
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
