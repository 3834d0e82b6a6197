"""A fill that closes lots writes each closed lot whole (services/context.py net_fill):
a change another request made to one of those lots must survive it."""

from __future__ import annotations

import asyncio

import pytest

from tests.e2e.trading_support import assert_books_balance, charging, order, priced_trader


@pytest.fixture
async def api(servers, settings):
    return await servers.start(charging(settings))


@pytest.mark.parametrize("close", ["sell", "delete"])
async def test_levels_modified_while_a_fill_closes_the_lot_are_kept(api, close):
    token = await priced_trader(api)
    for _ in range(15):
        ids = []
        for _ in range(3):
            status, body = await order(api, token, quantity="1")
            assert status == 201 or status == 200, body
            ids.append(body["order"]["trade_id"])
        closing = (order(api, token, side="sell", quantity="3") if close == "sell"
                   else api.call("DELETE", "/api/v1/positions/AAPL", token=token))
        results = await asyncio.gather(closing, *(
            api.call("PATCH", f"/api/v1/trades/{trade_id}", {"stop_loss": "90"}, token=token)
            for trade_id in ids))
        assert results[0][0] in (200, 201), results[0]
        _, listed = await api.call("GET", "/api/v1/trades?limit=500", token=token)
        trades = {trade["id"]: trade for trade in listed["trades"]}
        for trade_id, (status, body) in zip(ids, results[1:], strict=True):
            trade = trades[trade_id]
            assert trade["status"] == "closed", trade
            if status == 200:  # the modify was committed while the lot was open
                assert trade["stop_loss"] == "90", (body, trade)
    await assert_books_balance(api)
