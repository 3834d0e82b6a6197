"""A crash between any two steps of a trading operation leaves consistent books.

Each test makes one store call fail (as if the process died right there), then
restarts the app on the same database: start-up recovery must finish or undo
the operation, and the books must balance.
"""

import pytest

from server import keys
from server.recovery import recover_trading
from store.check import check_books
from tests.e2e.trading_support import account, order, set_price


class Crash(Exception):
    """Stands for the process dying at this point."""


def crash_at(api, repository: str, method: str, after: int = 0) -> None:
    """Make the store call fail, after letting its first `after` calls through."""
    target = getattr(api.app[keys.STORE], repository)
    original = getattr(target, method)
    calls = 0

    async def die(*args, **kwargs):
        nonlocal calls
        calls += 1
        if calls > after:
            raise Crash(f"crashed in {repository}.{method}")
        return await original(*args, **kwargs)

    setattr(target, method, die)


async def restart(servers, api, settings):
    await servers.stop(api)
    again = await servers.start(settings)
    set_price(again, "AAPL", "100")
    assert await check_books(again.app[keys.STORE].db) == []
    return again


@pytest.fixture
async def trader(api):
    tokens = await api.account()
    set_price(api, "AAPL", "100")
    return tokens["access_token"]


async def test_crash_before_the_account_moved_rejects_the_order_when_retried(
        servers, settings, api, trader):
    crash_at(api, "accounts", "apply_groups")
    status, body = await order(api, trader, client_order_id="c1")
    assert (status, body["error"]["code"]) == (500, "internal_error")
    again = await restart(servers, api, settings)
    # Only its claim was written: no order, no money moved.
    _, orders = await again.call("GET", "/api/v1/orders", token=trader)
    assert orders["orders"] == []
    assert (await account(again, trader))["available"] == "100000"
    # Its retry is answered with the order, rejected, and from then on it is listed.
    _, retried = await order(again, trader, client_order_id="c1")
    assert (retried["order"]["status"], retried["order"]["reject_reason"]) == (
        "rejected", "interrupted")
    _, orders = await again.call("GET", "/api/v1/orders", token=trader)
    assert [o["id"] for o in orders["orders"]] == [retried["order"]["id"]]
    assert (await account(again, trader))["available"] == "100000"
    assert await check_books(again.app[keys.STORE].db) == []


@pytest.mark.parametrize(("repository", "method"), [
    ("trades", "insert_group"), ("ledger", "record_group"), ("orders", "insert_final"),
    ("accounts", "end_ops"), ("events", "append_group")])
async def test_crash_after_the_account_moved_completes_the_fill(servers, settings, api, trader,
                                                                repository, method):
    crash_at(api, repository, method)
    status, _ = await order(api, trader, client_order_id="c1")
    # Ending the step on the account comes after the fill is complete: a failure
    # there leaves a marker (ended by a later charge, or by recovery) and the order
    # is answered.
    assert status == (201 if method == "end_ops" else 500)
    again = await restart(servers, api, settings)
    _, orders = await again.call("GET", "/api/v1/orders", token=trader)
    assert [o["status"] for o in orders["orders"]] == ["filled"]
    _, trades = await again.call("GET", "/api/v1/trades?status=open", token=trader)
    assert len(trades["trades"]) == 1
    assert (await account(again, trader))["margin_used"] == "1000"
    # A retry after the restart returns the same order, not a second one.
    _, retried = await order(again, trader, client_order_id="c1")
    assert retried["order"]["id"] == orders["orders"][0]["id"]


@pytest.mark.parametrize(("repository", "method"), [
    ("accounts", "apply"), ("ledger", "record"), ("trades", "settle"), ("accounts", "finish")])
async def test_crash_during_an_exit_completes_it_once(servers, settings, api, trader,
                                                      repository, method):
    _, body = await order(api, trader)
    trade_id = body["order"]["trade_id"]
    set_price(api, "AAPL", "105")
    crash_at(api, repository, method)
    status, _ = await api.call("POST", f"/api/v1/trades/{trade_id}/exit", token=trader)
    assert status == 500
    again = await restart(servers, api, settings)
    _, trades = await again.call("GET", "/api/v1/trades", token=trader)
    assert [(t["status"], t["realized_pnl"]) for t in trades["trades"]] == [("closed", "50")]
    acct = await account(again, trader)
    assert (acct["cash"], acct["margin_used"]) == ("100050", "0")


async def test_crash_before_a_cancel_claims_the_order_leaves_it_open(servers, settings, api,
                                                                     trader):
    _, body = await order(api, trader, type="limit", limit_price="90")
    crash_at(api, "orders", "update")
    status, _ = await api.call("DELETE", f"/api/v1/orders/{body['order']['id']}", token=trader)
    assert status == 500
    again = await restart(servers, api, settings)
    _, still = await again.call("GET", f"/api/v1/orders/{body['order']['id']}", token=trader)
    assert (still["order"]["status"], still["order"]["reserved"]) == ("open", "900")


@pytest.mark.parametrize(("repository", "method", "after"), [
    ("accounts", "apply", 0), ("orders", "update", 1), ("accounts", "finish", 0)])
async def test_crash_during_a_cancel_releases_the_reservation(servers, settings, api, trader,
                                                              repository, method, after):
    _, body = await order(api, trader, type="limit", limit_price="90")
    crash_at(api, repository, method, after)
    status, _ = await api.call("DELETE", f"/api/v1/orders/{body['order']['id']}", token=trader)
    assert status == 500
    again = await restart(servers, api, settings)
    acct = await account(again, trader)
    assert (acct["reserved"], acct["available"]) == ("0", "100000")


async def test_crash_during_a_reset_finishes_it(servers, settings, api, trader):
    _, body = await order(api, trader)
    set_price(api, "AAPL", "90")
    await api.call("POST", f"/api/v1/trades/{body['order']['trade_id']}/exit", token=trader)
    crash_at(api, "accounts", "end_reset")
    status, _ = await api.call("POST", "/api/v1/account/reset", token=trader)
    assert status == 500
    again = await restart(servers, api, settings)
    assert (await account(again, trader))["cash"] == "100000"


async def test_a_charged_claim_is_left_to_its_live_process_and_completed_once_it_is_gone(
        api, trader):
    engine = api.app[keys.ENGINE]
    engine.node = "busy"
    crash_at(api, "trades", "insert_group")
    status, _ = await order(api, trader, client_order_id="c1")
    assert status == 500  # charged; its trade and order unwritten
    store = engine.store
    [account_doc] = [doc async for doc in store.db["accounts"].find({})]
    assert len(account_doc["pending_ops"]) == 1
    assert await recover_trading(engine, lambda key, node: node != "busy") == 0
    _, orders = await api.call("GET", "/api/v1/orders", token=trader)
    assert orders["orders"] == []
    assert await recover_trading(engine) == 1
    _, orders = await api.call("GET", "/api/v1/orders", token=trader)
    assert [o["status"] for o in orders["orders"]] == ["filled"]
    _, trades = await api.call("GET", "/api/v1/trades?status=open", token=trader)
    assert len(trades["trades"]) == 1
    assert await recover_trading(engine) == 0
    assert await check_books(store.db) == []
