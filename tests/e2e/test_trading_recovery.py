"""A crash between any two steps of a trading operation leaves consistent books.

Each test makes one store call fail (as if the process died right there), then
restarts the app on the same database: start-up recovery must finish or undo
the operation, and the books must balance.
"""

import pytest

from server import keys
from store.check import check_books
from store.unit_of_work import Writes
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


async def test_a_failure_before_an_exits_commit_changes_nothing_and_it_closes_once_after(
        servers, settings, api, trader, monkeypatch):
    _, body = await order(api, trader)
    trade_id = body["order"]["trade_id"]
    set_price(api, "AAPL", "105")
    original = Writes.flush

    async def written_then_crash(self):  # type: ignore[no-untyped-def]
        await original(self)  # the exit's writes are made, not yet committed
        raise Crash("before the commit")

    monkeypatch.setattr(Writes, "flush", written_then_crash)
    status, _ = await api.call("POST", f"/api/v1/trades/{trade_id}/exit", token=trader)
    assert status == 500
    monkeypatch.setattr(Writes, "flush", original)
    again = await restart(servers, api, settings)
    _, trades = await again.call("GET", "/api/v1/trades", token=trader)
    assert [(t["status"], t["realized_pnl"]) for t in trades["trades"]] == [("open", "0")]
    assert (await account(again, trader))["cash"] == "100000"
    set_price(again, "AAPL", "105")
    status, _ = await again.call("POST", f"/api/v1/trades/{trade_id}/exit", token=trader)
    assert status == 200
    status, _ = await again.call("POST", f"/api/v1/trades/{trade_id}/exit", token=trader)
    assert status == 409
    acct = await account(again, trader)
    assert (acct["cash"], acct["margin_used"]) == ("100050", "0")
    assert await check_books(again.app[keys.STORE].db) == []


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
