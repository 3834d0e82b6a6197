"""GET /api/v1/account/performance: P&L per period and symbol, wins, drawdown, Sharpe."""

from __future__ import annotations

import itertools
import statistics
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from handlers import keys
from tests.e2e.trading_support import charging, order, priced_trader, set_price
from tests.support import Clock

PATH = "/api/v1/account/performance"
MINUTE = timedelta(minutes=1)


@pytest.fixture
def clock() -> Clock:
    now = datetime.now(UTC)  # never ahead of the wall clock, which checks tokens
    return Clock((now if now.second >= 10 else now - MINUTE).replace(second=10, microsecond=0))


@pytest.fixture
async def app(servers, settings):
    return await servers.start(charging(settings))


@pytest.fixture
async def trader(app):
    return await priced_trader(app)


async def report(api, token, path=PATH, **params):
    status, body = await api.call("GET", path, token=token, params=params)
    assert status == 200, body
    return body


async def exit_trade(api, token, trade_id):
    status, body = await api.call("POST", f"/api/v1/trades/{trade_id}/exit", token=token)
    assert status == 200, body


async def test_pnl_wins_and_losses_in_total_and_per_symbol(app, trader):
    _, won = await order(app, trader, quantity="10")
    set_price(app, "AAPL", "110")
    await exit_trade(app, trader, won["order"]["trade_id"])  # +100, fees 1 and 1.1
    set_price(app, "MSFT", "650")
    _, lost = await order(app, trader, symbol="MSFT", side="sell", quantity="10")
    set_price(app, "MSFT", "660")
    await exit_trade(app, trader, lost["order"]["trade_id"])  # -100, fees 6.5 and 6.6
    await order(app, trader, quantity="5")  # at 110, fee 0.55, left open
    set_price(app, "AAPL", "120")
    body = await report(app, trader)
    totals = {k: body[k] for k in (
        "starting_equity", "equity", "return_pct", "realized_pnl", "unrealized_pnl",
        "active_pnl", "fees", "total_pnl", "net_pnl", "open_trades", "closed_trades", "wins",
        "losses", "win_rate_pct", "average_win", "average_loss", "profit_factor",
        "margin_used", "margin_utilization_pct", "available", "exposure")}
    assert totals == {
        "starting_equity": "100000", "equity": "100034.25", "return_pct": "0.03",
        "realized_pnl": "0", "unrealized_pnl": "50", "active_pnl": "50", "fees": "15.75",
        "total_pnl": "50", "net_pnl": "34.25", "open_trades": 1, "closed_trades": 2,
        "wins": 1, "losses": 1, "win_rate_pct": "50", "average_win": "97.9",
        "average_loss": "-113.1", "profit_factor": "0.87", "margin_used": "550",
        "margin_utilization_pct": "0.55", "available": "99434.25",
        "exposure": {"long": "600", "short": "0", "gross": "600", "net": "600",
                     "gross_pct_of_equity": "0.6"}}
    assert body["symbols"] == [
        {"symbol": "AAPL", "realized_pnl": "100", "unrealized_pnl": "50", "fees": "2.65",
         "net_pnl": "147.35", "open_trades": 1, "closed_trades": 1, "wins": 1, "losses": 0,
         "win_rate_pct": "100", "market_value": "600"},
        {"symbol": "MSFT", "realized_pnl": "-100", "unrealized_pnl": "0", "fees": "13.1",
         "net_pnl": "-113.1", "open_trades": 0, "closed_trades": 1, "wins": 0, "losses": 1,
         "win_rate_pct": "0", "market_value": "0"}]
    assert body["period"]["id"] == 0 and body["period"]["current"] is True
    assert body["period"]["ended_at"] is None and body["current_period_id"] == 0
    assert await report(app, trader, "/api/v1/performance") == body


async def test_an_empty_account_has_nothing_to_report(app, trader):
    body = await report(app, trader)
    assert (body["equity"], body["total_pnl"], body["closed_trades"], body["win_rate_pct"],
            body["average_win"], body["profit_factor"], body["max_drawdown"],
            body["max_drawdown_pct"], body["sharpe_ratio"], body["daily_returns"],
            body["symbols"]) == ("100000", "0", 0, None, None, None, "0", "0", None, 1, [])


async def test_drawdown_and_sharpe_come_from_the_daily_snapshots(api, later):
    token = (await api.account())["access_token"]
    set_price(api, "AAPL", "100")
    await order(api, token, quantity="100")
    for price in ("110", "90", "105"):  # a pass a day: 101000, 99000, 100500
        later(days=1)
        set_price(api, "AAPL", price)
        assert await api.app[keys.HISTORY].tick() == 1
    body = await report(api, token)
    assert (body["max_drawdown"], body["max_drawdown_pct"]) == ("2000", "1.98")
    closes = [Decimal(100000), Decimal(100000), Decimal(101000), Decimal(99000),
              Decimal(100500)]  # the start, then each day's last (the first day: none)
    returns = [b / a - 1 for a, b in itertools.pairwise(closes)]
    expected = statistics.mean(returns) / statistics.stdev(returns) * Decimal(365).sqrt()
    assert body["daily_returns"] == 4
    assert body["sharpe_ratio"] == str(expected.quantize(Decimal("0.0001")))
    assert (body["risk_free_rate"], body["sharpe_annualization_days"]) == ("0", 365)
    set_price(api, "AAPL", "85")  # now lower than any snapshot: counted live
    assert (await report(api, token))["max_drawdown"] == "2500"


async def test_a_reset_starts_a_new_period_and_the_old_one_stays_readable(app, trader, later):
    _, placed = await order(app, trader, quantity="10")
    set_price(app, "AAPL", "110")
    await exit_trade(app, trader, placed["order"]["trade_id"])
    await order(app, trader, quantity="1")  # open at 110; the reset closes it at 105
    set_price(app, "AAPL", "105")
    later(seconds=1)
    status, _ = await app.call("POST", "/api/v1/account/reset", token=trader)
    assert status == 200
    later(seconds=1)
    set_price(app, "AAPL", "105")
    await order(app, trader, quantity="2")
    current = await report(app, trader)
    assert (current["period"]["id"], current["current_period_id"], current["closed_trades"],
            current["open_trades"], current["fees"], current["starting_equity"]) == (
        1, 1, 0, 1, "0.21", "100000")
    old = await report(app, trader, period_id="0")
    assert old["period"]["current"] is False and old["period"]["ended_at"] is not None
    assert old["period"]["ended_at"] == current["period"]["started_at"]
    assert (old["closed_trades"], old["wins"], old["losses"], old["realized_pnl"],
            old["fees"], old["open_trades"]) == (2, 1, 1, "95", "2.315", 0)
    assert (old["equity"], old["margin_used"], old["available"], old["exposure"]) == (
        "100092.685", None, None, None)
    assert [s["symbol"] for s in old["symbols"]] == ["AAPL"]


@pytest.mark.parametrize("period_id", ["1", "-1", "x", "1.0", "9" * 300, "[[[]]]", "\u0661"])
@pytest.mark.parametrize("path", [PATH, "/api/v1/performance"])
async def test_a_period_that_is_not_there_is_refused(app, trader, path, period_id):
    status, body = await app.call("GET", path, token=trader, params={"period_id": period_id})
    assert status == 400, body
    assert (body["error"]["code"], body["error"]["details"]["field"]) == (
        "validation_error", "period_id")


async def test_lots_a_sell_order_closes_count_as_closed_trades(app, trader):
    await order(app, trader, quantity="1")  # fee 0.1
    await order(app, trader, quantity="2")  # fee 0.2
    set_price(app, "AAPL", "101")
    await order(app, trader, side="sell", quantity="3")  # +3, fees 0.101 and 0.202
    body = await report(app, trader)
    assert (body["closed_trades"], body["wins"], body["losses"], body["realized_pnl"],
            body["fees"], body["open_trades"], body["equity"]) == (
        2, 2, 0, "3", "0.603", 0, "100002.397")
    [aapl] = body["symbols"]
    assert (aapl["symbol"], aapl["closed_trades"], aapl["net_pnl"]) == ("AAPL", 2, "2.397")
