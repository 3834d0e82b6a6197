"""A failure at the last moment of any money move (its writes made, not yet committed)
changes nothing: after a restart the books are as before, and the move then goes
through once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from handlers import keys
from store.check import check_books
from store.unit_of_work import Writes
from tests.e2e.trading_support import account, order, set_price


class Crash(Exception):
    """Stands for the process dying between a transaction's writes and its commit."""


async def restart(servers: Any, api: Any, settings: Any) -> Any:
    await servers.stop(api)
    again = await servers.start(settings)
    set_price(again, "AAPL", "100")
    assert await check_books(again.app[keys.STORE].db) == []
    return again


async def snapshot(api: Any, token: str, events: bool = True) -> tuple[Any, ...]:
    """The account (with the number of its last event, unless not events), every order
    and every trade, as a client sees them."""
    _, orders = await api.call("GET", "/api/v1/orders", token=token)
    _, trades = await api.call("GET", "/api/v1/trades", token=token)
    balances = await account(api, token)
    if not events:
        del balances["seq"]
    return (balances, orders["orders"], trades["trades"])


@pytest.fixture
async def trader(api):  # type: ignore[no-untyped-def]
    tokens = await api.account()
    set_price(api, "AAPL", "100")
    return tokens["access_token"]


# Each: (what to set up, returning a context) and (the move, given the context).
Setup = Callable[[Any, str], Awaitable[Any]]
Move = Callable[[Any, str, Any], Awaitable[tuple[int, Any]]]


async def nothing(api: Any, token: str) -> None:
    return None


async def a_trade(api: Any, token: str) -> str:
    _, body = await order(api, token)
    return str(body["order"]["trade_id"])


async def a_resting_order(api: Any, token: str) -> str:
    _, body = await order(api, token, type="limit", limit_price="90")
    return str(body["order"]["id"])


MOVES: dict[str, tuple[Setup, Move]] = {
    "market order": (nothing, lambda api, token, _: order(api, token, client_order_id="c1")),
    "limit order": (nothing, lambda api, token, _: order(api, token, type="limit",
                                                         limit_price="90",
                                                         client_order_id="c1")),
    "exit": (a_trade, lambda api, token, trade_id: api.call(
        "POST", f"/api/v1/trades/{trade_id}/exit", token=token)),
    "cancel": (a_resting_order, lambda api, token, order_id: api.call(
        "DELETE", f"/api/v1/orders/{order_id}", token=token)),
    "reset": (a_trade, lambda api, token, _: api.call("POST", "/api/v1/account/reset",
                                                      token=token)),
}


@pytest.mark.parametrize("move", sorted(MOVES))
async def test_a_failure_before_the_commit_changes_nothing_and_the_move_then_happens_once(
        servers, settings, api, trader, monkeypatch, move):  # type: ignore[no-untyped-def]
    setup, make = MOVES[move]
    context = await setup(api, trader)
    before = await snapshot(api, trader)
    original = Writes.flush

    async def written_then_crash(self: Writes) -> None:
        await original(self)  # every insert of the move is written, not yet committed
        raise Crash("before the commit")

    monkeypatch.setattr(Writes, "flush", written_then_crash)
    status, _ = await make(api, trader, context)
    assert status == 500
    monkeypatch.setattr(Writes, "flush", original)
    again = await restart(servers, api, settings)
    assert await snapshot(again, trader) == before
    status, _ = await make(again, trader, context)
    assert status in (200, 201)
    after = await snapshot(again, trader, events=False)
    await make(again, trader, context)  # a retry moves no money (a reset announces itself)
    assert await snapshot(again, trader, events=False) == after
    assert await check_books(again.app[keys.STORE].db) == []
