"""Net positions: an order of the other side closes a symbol's lots first in, first out;
only what is left over opens a lot its way (services/context.py net_fill)."""

from dataclasses import replace

import pytest

from tests.e2e.test_monitor import settled
from tests.e2e.trading_support import account, assert_books_balance, order, set_price


@pytest.fixture
async def trader(api):
    token = (await api.account())["access_token"]
    set_price(api, "AAPL", "100")
    return token


async def lots(api, token, status="open"):
    _, body = await api.call("GET", f"/api/v1/trades?status={status}&symbol=AAPL",
                             token=token)
    return [(t["side"], t["quantity"], t["close_reason"]) for t in body["trades"]]


async def the_position(api, token):
    status, body = await api.call("GET", "/api/v1/positions/AAPL", token=token)
    return status, body.get("position")


async def test_a_sell_reduces_a_long_instead_of_opening_a_short_beside_it(api, trader):
    await order(api, trader, quantity="10")
    set_price(api, "AAPL", "110")
    status, body = await order(api, trader, side="sell", quantity="4")
    assert (status, body["order"]["status"], body["order"]["trade_id"]) == (201, "filled", None)
    assert await lots(api, trader) == [("buy", "6", None)]
    _, position = await the_position(api, trader)
    assert (position["side"], position["quantity"], position["trades"]) == ("buy", "6", 1)
    balances = await account(api, trader)
    # 4 x (110 - 100) realized; the margin of 4 of 10 shares released.
    assert (balances["realized_pnl"], balances["margin_used"]) == ("40", "600")
    _, missed = await api.call("GET", "/api/v1/events?after=0", token=trader)
    update = [e for e in missed["events"] if e["type"] == "position_update"]
    # The buy's position (10), then the sell's (6, one lot reduced), in REST's shape.
    assert [(u["symbol"], u["trades_closed"], len(u["trades_reduced"]),
             u["position"]["quantity"]) for u in update] == [("AAPL", 0, 0, "10"),
                                                             ("AAPL", 0, 1, "6")]
    assert update[-1]["position"] == position
    await assert_books_balance(api)


async def test_lots_close_first_in_first_out_and_the_rest_flips_the_position(api, trader):
    await order(api, trader, quantity="5")
    set_price(api, "AAPL", "102")
    await order(api, trader, quantity="5")
    set_price(api, "AAPL", "104")
    _, body = await order(api, trader, side="sell", quantity="7")
    assert body["order"]["trade_id"] is None
    assert sorted(await lots(api, trader, "closed")) == [("buy", "0", "order")]
    assert await lots(api, trader) == [("buy", "3", None)]
    # (104 - 100) x 5 + (104 - 102) x 2
    assert (await account(api, trader))["realized_pnl"] == "24"
    _, flip = await order(api, trader, side="sell", quantity="5")
    assert flip["order"]["trade_id"] == flip["order"]["id"]
    assert await lots(api, trader) == [("sell", "2", None)]
    _, position = await the_position(api, trader)
    assert (position["side"], position["quantity"]) == ("sell", "2")
    await assert_books_balance(api)


async def test_close_a_position_all_or_part(api, trader):
    await order(api, trader, quantity="10")
    status, body = await api.call("DELETE", "/api/v1/positions/AAPL?percentage=25",
                                  token=trader)
    assert (status, body["order"]["side"], body["order"]["quantity"]) == (200, "sell", "2")
    status, body = await api.call("DELETE", "/api/v1/positions/aapl?qty=3", token=trader)
    assert (status, body["order"]["quantity"]) == (200, "3")
    assert (await the_position(api, trader))[1]["quantity"] == "5"
    status, body = await api.call("DELETE", "/api/v1/positions/AAPL?qty=6", token=trader)
    assert (status, body["error"]["code"], body["error"]["details"]["held"]) == (
        400, "validation_error", "5")
    status, _ = await api.call("DELETE", "/api/v1/positions/AAPL", token=trader)
    assert status == 200
    status, body = await the_position(api, trader)
    assert status == 404
    assert (await account(api, trader))["margin_used"] == "0"
    await assert_books_balance(api)


async def test_close_every_position_and_cancel_open_orders(api, trader):
    set_price(api, "MSFT", "50")
    await order(api, trader, quantity="3")
    await order(api, trader, symbol="MSFT", side="sell", quantity="2")
    await order(api, trader, type="limit", limit_price="90", quantity="1")
    status, body = await api.call("DELETE", "/api/v1/positions?cancel_orders=true",
                                  token=trader)
    assert status == 200
    assert body["orders_cancelled"] == 1
    assert [(c["symbol"], c["status"], c["order"]["side"]) for c in body["closed"]] == [
        ("AAPL", "closed", "sell"), ("MSFT", "closed", "buy")]
    _, positions = await api.call("GET", "/api/v1/positions", token=trader)
    assert positions["positions"] == []
    balances = await account(api, trader)
    assert (balances["margin_used"], balances["reserved"]) == ("0", "0")
    await assert_books_balance(api)


@pytest.mark.parametrize("query", [
    "qty=0", "qty=-1", "qty=abc", "qty=1e999", "qty=%EF%BC%91", "percentage=0",
    "percentage=101", "percentage=-5", "qty=1&percentage=10", "qty=" + "9" * 5000,
    "percentage=" + "1" * 70, "qty=1.123456789"])
async def test_hostile_close_parameters_are_refused_and_change_nothing(api, trader, query):
    await order(api, trader, quantity="10")
    before = await account(api, trader)
    status, body = await api.call("DELETE", f"/api/v1/positions/AAPL?{query}", token=trader)
    assert status == 400, body
    assert body["error"]["code"] in ("validation_error", "invalid_quantity")
    assert await account(api, trader) == before


@pytest.mark.parametrize("symbol", ["NOPE", "%00", "%F0%9F%92%A9", "A" * 300])
async def test_a_position_in_an_unknown_symbol_is_not_found(api, trader, symbol):
    for method in ("GET", "DELETE"):
        status, body = await api.call(method, f"/api/v1/positions/{symbol}", token=trader)
        assert status == 404, body
    status, body = await api.call("DELETE", "/api/v1/positions?cancel_orders=maybe",
                                  token=trader)
    assert (status, body["error"]["code"]) == (400, "validation_error")


async def test_a_resting_sell_that_closes_a_long_reserves_only_its_fee(servers, settings):
    api = await servers.start(replace(settings, trading=replace(
        settings.trading, allow_shorts=False)))
    token = (await api.account())["access_token"]
    set_price(api, "AAPL", "100")
    await order(api, token, quantity="10")
    status, body = await order(api, token, side="sell", quantity="11")
    assert (status, body["error"]["code"], body["error"]["details"]["held"]) == (
        400, "short_not_allowed", "10")
    status, body = await order(api, token, side="sell", type="limit", limit_price="110",
                               quantity="10")
    assert status == 201
    assert (await account(api, token))["reserved"] == "0"  # no fee configured here
    set_price(api, "AAPL", "111")
    await settled(api)
    _, filled = await api.call("GET", f"/api/v1/orders/{body['order']['id']}", token=token)
    assert filled["order"]["status"] == "filled"
    assert await lots(api, token) == []
    balances = await account(api, token)
    assert (balances["realized_pnl"], balances["margin_used"]) == ("110", "0")
    await assert_books_balance(api)


async def test_a_sell_racing_an_exit_of_the_lot_it_closes_ends_one_way_or_the_other(api, trader):
    import asyncio

    for _ in range(5):
        _, body = await order(api, trader, quantity="2")
        trade_id = body["order"]["trade_id"]
        (exit_status, _), (sell_status, sold) = await asyncio.gather(
            api.call("POST", f"/api/v1/trades/{trade_id}/exit", token=trader),
            order(api, trader, side="sell", quantity="2"))
        assert sell_status == 201, sold
        assert exit_status in (200, 409)
        # The exit first: the sell opened a short; the sell first: the exit found nothing.
        expected = [("sell", "2", None)] if exit_status == 200 else []
        assert await lots(api, trader) == expected
        if expected:
            await order(api, trader, quantity="2")  # flat again
        await assert_books_balance(api)


async def test_every_fill_and_exit_tells_the_position_after_it_in_the_shape_of_rest(api,
                                                                                   trader):
    sock = await api.socket(trader)
    _, first = await order(api, trader, quantity="10")  # read the long way: a new account
    told = await sock.next("position_update")
    _, rest = await the_position(api, trader)
    assert told["position"] == rest and told["reason"] == "order"
    set_price(api, "AAPL", "110")
    await order(api, trader, quantity="5")  # filled as known: the position not read
    told = await sock.next("position_update")
    _, rest = await the_position(api, trader)
    assert (told["position"]["quantity"], told["position"]["average_entry"]) == (
        "15", "103.33333333")
    assert told["position"] == rest
    status, _ = await api.call("POST", f"/api/v1/trades/{first['order']['trade_id']}/exit",
                               {"quantity": "4"}, token=trader)
    assert status == 200
    told = await sock.next("position_update")
    _, rest = await the_position(api, trader)
    assert (told["reason"], told["trades_reduced"], told["position"]["quantity"]) == (
        "manual", [first["order"]["trade_id"]], "11")
    assert told["position"] == rest
    await api.call("DELETE", "/api/v1/positions/AAPL", token=trader)
    told = await sock.next("position_update")
    assert (told["trades_closed"], told["position"]) == (2, None)
    assert await the_position(api, trader) == (404, None)
    await assert_books_balance(api)


async def test_an_exit_tells_the_position_from_what_is_known_only_while_it_is_true(
        api, trader, monkeypatch):
    """An exit of an account as known takes its lot out of the known position instead of
    summing the lots (services/known.py); the newest lot closing, or the account changed
    another way, sends it the long way. Each time the event is what REST then shows."""
    from store.trading import TradeStore

    summed: list[str] = []
    original = TradeStore.holdings

    async def counted(writes, user_id, symbol, side=None):  # type: ignore[no-untyped-def]
        summed.append(symbol)
        return await original(writes, user_id, symbol, side)

    monkeypatch.setattr(TradeStore, "holdings", staticmethod(counted))
    sock = await api.socket(trader)
    ids = []
    for price in ("100", "110", "120"):
        set_price(api, "AAPL", price)
        _, body = await order(api, trader, quantity="2")
        ids.append(body["order"]["trade_id"])
        await sock.next("position_update")
    oldest, middle, newest = ids

    async def exit_told(trade_id, **body):  # type: ignore[no-untyped-def]
        summed.clear()
        status, _ = await api.call("POST", f"/api/v1/trades/{trade_id}/exit", body or None,
                                   token=trader)
        assert status == 200
        told = await sock.next("position_update")
        _, rest = await the_position(api, trader)
        assert told["position"] == rest
        return told["position"], len(summed)

    position, sums = await exit_told(oldest)  # closes a lot that is not the newest
    assert (position["quantity"], position["average_entry"], position["trades"], sums) == (
        "4", "115", 2, 0)
    position, sums = await exit_told(newest, quantity="1")  # reduces the newest
    assert (position["quantity"], position["trades"], sums) == ("3", 2, 0)
    position, sums = await exit_told(newest)  # closes it: which lot is newest then is read
    assert (position["quantity"], position["average_entry"], position["trades"], sums) == (
        "2", "110", 1, 1)
    # An order that rests changes the account another way: the next exit reads.
    status, _ = await order(api, trader, type="limit", limit_price="50", quantity="1")
    assert status == 201
    position, sums = await exit_told(middle, quantity="1")
    assert (position["quantity"], position["trades"], sums) == ("1", 1, 1)
    position, sums = await exit_told(middle)  # known again: what the last exit read
    assert (position, sums) == (None, 0)
    await assert_books_balance(api)
