"""Market orders: each filled in one transaction, wholly or not at all (services/fills.py)."""

import asyncio
from decimal import Decimal

import pytest

from handlers import keys
from store.unit_of_work import Writes
from tests.e2e.trading_support import account, assert_books_balance, charging, order, set_price
from trading.errors import DuplicateClientOrderId
from trading.orders import OrderRequest, OrderType, Side


class Crash(Exception):
    """Stands for a failure after the transaction's writes, before its commit."""


async def traders(api, count: int) -> list[str]:
    tokens = [(await api.account(email=f"t{n}@example.com", name=f"T{n}"))["access_token"]
              for n in range(count)]
    set_price(api, "AAPL", "100")
    return tokens


def market(client_order_id: str, quantity: int = 10) -> OrderRequest:
    return OrderRequest(symbol="AAPL", side=Side.BUY, type=OrderType.MARKET,
                        quantity=Decimal(quantity), client_order_id=client_order_id)


async def stored(api) -> dict[str, int]:
    db = api.app[keys.STORE].db
    return {name: await db[name].count_documents({})
            for name in ("orders", "trades", "ledger", "events")}


async def test_orders_of_several_accounts_at_once_each_fill_once_with_events_in_order(api):
    tokens = await traders(api, 4)
    placed = await asyncio.gather(*(order(api, tokens[n % 4], quantity="1",
                                          client_order_id=f"o{n}") for n in range(24)))
    assert all(status == 201 and body["order"]["status"] == "filled"
               for status, body in placed)
    assert await stored(api) == {"orders": 24, "trades": 24, "ledger": 0,
                                 "events": 24}
    for token in tokens:
        assert (await account(api, token))["margin_used"] == "600"
        _, missed = await api.call("GET", "/api/v1/events?after=0&limit=100", token=token)
        # Four events an order (order, position, trade, balances), numbered without a gap.
        assert [e["seq"] for e in missed["events"]] == list(range(1, 25))
    await assert_books_balance(api)


async def test_an_order_the_account_cannot_pay_for_is_stored_rejected_with_its_event(api):
    [token] = await traders(api, 1)
    status, body = await order(api, token, quantity="2000", client_order_id="big")
    assert (status, body["error"]["code"]) == (400, "insufficient_funds")
    assert (body["error"]["details"]["needed"], body["error"]["details"]["available"]) == (
        "200000", "100000")
    _, orders = await api.call("GET", "/api/v1/orders", token=token)
    assert [(o["status"], o["reject_reason"]) for o in orders["orders"]] == [
        ("rejected", "insufficient_funds")]
    _, missed = await api.call("GET", "/api/v1/events?after=0", token=token)
    assert [e["type"] for e in missed["events"]] == ["order_update"]
    # A retry is answered as the order was: refused, naming the order stored rejected.
    status, retried = await order(api, token, quantity="2000", client_order_id="big")
    assert (status, retried["error"]["code"], retried["error"]["details"]["order_id"]) == (
        400, "insufficient_funds", body["error"]["details"]["order_id"])
    assert (await account(api, token))["available"] == "100000"
    await assert_books_balance(api)


async def test_a_failure_before_the_commit_leaves_nothing_and_the_retry_fills_once(
        api, monkeypatch):
    [token] = await traders(api, 1)
    original = Writes.flush

    async def written_then_crash(self):  # type: ignore[no-untyped-def]
        await original(self)  # every insert of the fill is written, not yet committed
        raise Crash("before the commit")

    monkeypatch.setattr(Writes, "flush", written_then_crash)
    status, body = await order(api, token, client_order_id="c1")
    assert (status, body["error"]["code"]) == (500, "internal_error")
    assert await stored(api) == {"orders": 0, "trades": 0, "ledger": 0,
                                 "events": 0}
    assert (await account(api, token))["available"] == "100000"
    monkeypatch.setattr(Writes, "flush", original)
    status, body = await order(api, token, client_order_id="c1")
    assert (status, body["order"]["status"]) == (201, "filled")
    status, again = await order(api, token, client_order_id="c1")
    assert again["order"]["id"] == body["order"]["id"]
    assert await stored(api) == {"orders": 1, "trades": 1, "ledger": 0,
                                 "events": 1}
    await assert_books_balance(api)


async def test_one_client_order_id_twice_at_once_makes_one_order_and_answers_both(api):
    [token] = await traders(api, 1)
    user_id = (await api.call("GET", "/api/v1/me", token=token))[1]["user"]["id"]
    engine = api.app[keys.ENGINE]
    await engine.ensure_account(user_id)
    first, second = await asyncio.gather(engine.place_order(user_id, market("x")),
                                         engine.place_order(user_id, market("x")))
    assert first["_id"] == second["_id"] and first["status"] == "filled"
    with pytest.raises(DuplicateClientOrderId):
        await engine.place_order(user_id, market("x", quantity=5))
    assert (await stored(api))["trades"] == 1
    assert (await account(api, token))["margin_used"] == "1000"
    await assert_books_balance(api)


async def test_a_fee_is_a_ledger_entry_written_with_its_fill(servers, settings):
    api = await servers.start(charging(settings))
    [token] = await traders(api, 1)
    status, _ = await order(api, token, quantity="10")
    assert status == 201
    [entry] = [e async for e in api.app[keys.STORE].db["ledger"].find({})]
    assert (entry["reason"], entry["amount"]) == ("commission", -100_000_000)
    assert (await account(api, token))["cash"] == "99999"
    await assert_books_balance(api)


async def test_a_fill_that_knows_its_account_skips_the_read_and_one_that_knew_it_wrong_reads_it(
        api, monkeypatch):
    from services.fills import MarketFills

    [token] = await traders(api, 1)
    calls: list[str] = []
    for name in ("_fill", "_fill_as_known"):
        def spy(original):  # type: ignore[no-untyped-def]
            async def called(self, writes, *args):  # type: ignore[no-untyped-def]
                calls.append(original.__name__)
                return await original(self, writes, *args)
            return called
        monkeypatch.setattr(MarketFills, name, spy(getattr(MarketFills, name)))
    _, first = await order(api, token, quantity="10")
    await order(api, token, quantity="5")
    assert calls == ["_fill", "_fill_as_known"]
    # An exit here leaves the account known (services/known.py) ...
    trade_id = first["order"]["trade_id"]
    assert (await api.call("POST", f"/api/v1/trades/{trade_id}/exit", token=token))[0] == 200
    calls.clear()
    await order(api, token, quantity="2")
    assert calls == ["_fill_as_known"]
    # ... an order that rests moves it another way: the next fill's guard finds it changed.
    status, _ = await order(api, token, type="limit", limit_price="50", quantity="1")
    assert status == 201
    calls.clear()
    status, _ = await order(api, token, quantity="2")
    assert (status, calls) == (201, ["_fill_as_known", "_fill"])
    # A fill whose commit is lost leaves nothing, and the account is still known.
    original = Writes.flush

    async def written_then_crash(self):  # type: ignore[no-untyped-def]
        await original(self)
        raise Crash("before the commit")

    monkeypatch.setattr(Writes, "flush", written_then_crash)
    before = await stored(api)
    assert (await order(api, token, quantity="1", client_order_id="d"))[0] == 500
    assert await stored(api) == before
    monkeypatch.setattr(Writes, "flush", original)
    calls.clear()
    status, fourth = await order(api, token, quantity="1", client_order_id="d")
    assert (status, fourth["order"]["status"], calls) == (201, "filled", ["_fill_as_known"])
    balances = await account(api, token)
    assert (balances["margin_used"], balances["available"]) == ("1000", "98950")
    _, missed = await api.call("GET", "/api/v1/events?after=0", token=token)
    assert [e["seq"] for e in missed["events"]] == list(range(1, len(missed["events"]) + 1))
    await assert_books_balance(api)
