"""Market orders placed at the same moment are written in groups (server/fills.py)."""

import asyncio
from decimal import Decimal

import pytest

from server import keys
from tests.e2e.trading_support import account, assert_books_balance, order, set_price
from trading.errors import DuplicateClientOrderId
from trading.orders import OrderRequest, OrderType, Side


def recorded(api, repository: str, method: str, fail_first: bool = False) -> list[tuple]:
    """Record the arguments of each call of a store method (which still runs, unless
    fail_first: then the first call raises instead)."""
    target = getattr(api.app[keys.STORE], repository)
    original = getattr(target, method)
    calls: list[tuple] = []

    async def record(*args, **kwargs):
        calls.append((args, kwargs))
        if fail_first and len(calls) == 1:
            raise ConnectionError("dropped")
        return await original(*args, **kwargs)

    setattr(target, method, record)
    return calls


def sizes(calls: list[tuple]) -> list[int]:
    """How many items each recorded call carried (its first argument)."""
    return [len(args[0]) for args, _ in calls]


def hold_call(api, repository: str, method: str,
               nth: int = 1) -> tuple[asyncio.Event, asyncio.Event]:
    """Make the nth call of a store method wait; return (set once it waits, set to let
    it go)."""
    target = getattr(api.app[keys.STORE], repository)
    original = getattr(target, method)
    writing, go_on = asyncio.Event(), asyncio.Event()
    calls = 0

    async def held(*args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == nth:
            writing.set()
            await go_on.wait()
        return await original(*args, **kwargs)

    setattr(target, method, held)
    return writing, go_on


async def traders(api, count: int) -> list[str]:
    tokens = [(await api.account(email=f"t{n}@example.com", name=f"T{n}"))["access_token"]
              for n in range(count)]
    set_price(api, "AAPL", "100")
    return tokens


async def test_orders_placed_together_share_their_writes_and_each_fills_once(api):
    tokens = await traders(api, 3)
    inserts = recorded(api, "orders", "claim")
    charges = recorded(api, "accounts", "apply_groups")
    results = await asyncio.gather(*(order(api, token, client_order_id=f"o{n}")
                                     for n in range(8) for token in tokens))
    assert [status for status, _ in results] == [201] * 24
    assert {body["order"]["status"] for _, body in results} == {"filled"}
    assert sum(sizes(inserts)) == 24
    assert len(inserts) < 24, sizes(inserts)  # at least one call carried several orders
    # One charge per group, with a part for each account in it.
    assert len(charges) == len(inserts)
    assert max(sizes(charges)) > 1, sizes(charges)
    balances: list[int] = []
    for token in tokens:
        assert (await account(api, token))["margin_used"] == "8000"
        _, trades = await api.call("GET", "/api/v1/trades?status=open", token=token)
        assert len(trades["trades"]) == 8
        # Every order announced by an order and a trade update, each group of the
        # account's orders followed by one account update; numbered without gaps.
        _, events = await api.call("GET", "/api/v1/events?after=0", token=token)
        kinds = [e["type"] for e in events["events"]]
        assert [e["seq"] for e in events["events"]] == list(range(1, len(kinds) + 1))
        assert kinds.count("order_update") == kinds.count("trade_update") == 8
        balances.append(kinds.count("account_update"))
        assert kinds[-1] == "account_update"
        assert "".join(kind[0] for kind in kinds).replace("ot", "").replace("a", "") == ""
        assert events["events"][-1]["account"]["margin_used"] == "8000"
    assert sum(balances) < 24, balances  # orders of one account in one group shared one
    await assert_books_balance(api)


async def test_the_next_group_is_charged_while_one_is_written_and_answered_after_it(api):
    first_token, second_token = await traders(api, 2)
    me = [(await api.call("GET", "/api/v1/me", token=t))[1]["user"]["id"]
          for t in (first_token, second_token)]
    engine = api.app[keys.ENGINE]
    for user_id in me:
        await engine.ensure_account(user_id)
    charged = asyncio.Event()
    charges = recorded(api, "accounts", "apply_groups")
    apply_groups = api.app[keys.STORE].accounts.apply_groups

    async def noting_the_second(*args, **kwargs):
        result = await apply_groups(*args, **kwargs)
        if len(charges) == 2:
            charged.set()
        return result

    api.app[keys.STORE].accounts.apply_groups = noting_the_second
    writing, go_on = hold_call(api, "trades", "insert_group")
    first = asyncio.create_task(engine.place_order(me[0], market("w1")))
    await writing.wait()  # the first group's trades are being written
    second = asyncio.create_task(engine.place_order(me[1], market("w2")))
    await charged.wait()  # meanwhile the second group was claimed and charged
    assert [[c.user_id for c in args[0]] for args, _ in charges] == [[me[0]], [me[1]]]
    assert not first.done() and not second.done()
    go_on.set()
    done, _ = await asyncio.wait([first, second], return_when=asyncio.FIRST_COMPLETED)
    assert done == {first}  # groups are answered in turn
    assert [(await first)["status"], (await second)["status"]] == ["filled", "filled"]
    await assert_books_balance(api)


async def test_a_group_its_account_cannot_pay_for_in_full_is_charged_order_by_order(api):
    token, other = await traders(api, 2)
    # 100,000 of cash pays for three of these five orders (30,000 each); the other
    # account, charged in the same groups, pays for all of its own.
    results = await asyncio.gather(*(order(api, token, quantity="300") for _ in range(5)),
                                   *(order(api, other, quantity="10") for _ in range(5)))
    assert [status for status, _ in results[5:]] == [201] * 5
    assert (await account(api, other))["margin_used"] == "5000"
    results = results[:5]
    assert sorted(status for status, _ in results) == [201] * 3 + [400] * 2
    assert {body["error"]["code"] for status, body in results if status == 400} == {
        "insufficient_funds"}
    acct = await account(api, token)
    assert (acct["margin_used"], acct["available"]) == ("90000", "10000")
    _, orders = await api.call("GET", "/api/v1/orders", token=token)
    assert sorted(o["status"] for o in orders["orders"]) == ["filled"] * 3 + ["rejected"] * 2
    await assert_books_balance(api)


def market(client_order_id: str, quantity: int = 10) -> OrderRequest:
    return OrderRequest("AAPL", Side.BUY, OrderType.MARKET, Decimal(quantity),
                        client_order_id=client_order_id)


async def test_one_client_order_id_twice_in_a_group_makes_one_order_and_answers_both(api):
    [token] = await traders(api, 1)
    user_id = (await api.call("GET", "/api/v1/me", token=token))[1]["user"]["id"]
    engine = api.app[keys.ENGINE]
    await engine.ensure_account(user_id)
    inserts = recorded(api, "orders", "claim")
    first, again, changed = await asyncio.gather(
        engine.place_order(user_id, market("same")), engine.place_order(user_id, market("same")),
        engine.place_order(user_id, market("same", quantity=11)), return_exceptions=True)
    assert sizes(inserts) == [3]  # one group
    assert first["_id"] == again["_id"]
    assert (first["status"], again["status"]) == ("filled", "filled")
    assert isinstance(changed, DuplicateClientOrderId)
    _, orders = await api.call("GET", "/api/v1/orders", token=token)
    assert len(orders["orders"]) == 1
    await assert_books_balance(api)


async def test_an_order_whose_request_was_cancelled_is_filled_all_the_same(api):
    [token] = await traders(api, 1)
    user_id = (await api.call("GET", "/api/v1/me", token=token))[1]["user"]["id"]
    engine = api.app[keys.ENGINE]
    writing, go_on = hold_call(api, "orders", "claim")
    placing = asyncio.create_task(engine.place_order(user_id, market("c")))
    await writing.wait()  # its group is being written
    placing.cancel()  # and its client goes away
    go_on.set()
    with pytest.raises(asyncio.CancelledError):
        await placing
    await engine.fills.close()
    _, orders = await api.call("GET", "/api/v1/orders", token=token)
    assert [(o["client_order_id"], o["status"]) for o in orders["orders"]] == [("c", "filled")]
    assert (await account(api, token))["margin_used"] == "1000"
    await assert_books_balance(api)


async def test_a_retry_after_a_failed_group_completes_an_order_its_account_paid_for(api):
    [token] = await traders(api, 1)
    recorded(api, "trades", "insert_group", fail_first=True)
    status, _ = await order(api, token, client_order_id="p")
    assert status == 500  # charged, but neither its trade nor the order was written
    status, body = await order(api, token, client_order_id="p")
    assert (status, body["order"]["status"]) == (201, "filled")
    _, trades = await api.call("GET", "/api/v1/trades?status=open", token=token)
    assert [t["id"] for t in trades["trades"]] == [body["order"]["trade_id"]]
    _, orders = await api.call("GET", "/api/v1/orders", token=token)
    assert [o["id"] for o in orders["orders"]] == [body["order"]["id"]]
    assert (await account(api, token))["margin_used"] == "1000"
    await assert_books_balance(api)


async def test_a_retry_after_a_group_failed_before_its_charge_is_rejected_once(api):
    [token] = await traders(api, 1)
    recorded(api, "accounts", "apply_groups", fail_first=True)
    status, _ = await order(api, token, client_order_id="q")
    assert status == 500
    answers = [await order(api, token, client_order_id="q") for _ in range(2)]
    assert [(b["order"]["status"], b["order"]["reject_reason"]) for _, b in answers] == [
        ("rejected", "interrupted")] * 2
    assert answers[0][1]["order"]["id"] == answers[1][1]["order"]["id"]
    _, events = await api.call("GET", "/api/v1/events?after=0", token=token)
    assert [e["type"] for e in events["events"]] == ["order_update"]  # announced once
    assert (await account(api, token))["available"] == "100000"
    await assert_books_balance(api)


async def test_a_claim_another_live_process_is_placing_is_answered_as_it_stands(api):
    [token] = await traders(api, 1)
    engine = api.app[keys.ENGINE]
    recorded(api, "accounts", "apply_groups", fail_first=True)
    engine.node = "elsewhere"
    status, _ = await order(api, token, client_order_id="r")
    assert status == 500
    engine.node = "here"
    alive = {"here", "elsewhere"}

    async def nodes() -> set[str]:
        return alive

    engine.alive = nodes
    _, body = await order(api, token, client_order_id="r")
    assert body["order"]["status"] == "new"  # still being placed, as far as this one knows
    alive.discard("elsewhere")
    _, body = await order(api, token, client_order_id="r")
    assert (body["order"]["status"], body["order"]["reject_reason"]) == (
        "rejected", "interrupted")
    await assert_books_balance(api)
