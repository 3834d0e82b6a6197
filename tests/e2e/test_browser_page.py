"""The trading page in headless Chromium, driven by Playwright, on prices the test moves."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from config.settings import Settings
from handlers import keys
from tests.e2e.trading_support import assert_books_balance, order, set_price
from tests.services import ROOT
from tests.support import PASSWORD, Api, Clock, Servers
from trading.candles import Candle
from trading.fees import schedule_from

BROWSER_CLIENT = ROOT / "client_examples" / "browser"
CHROMIUM = Path(os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium"))
ARTIFACTS = ROOT / "test-artifacts"
READY = (shutil.which("node") is not None and CHROMIUM.exists()
         and (BROWSER_CLIENT / "node_modules" / "playwright-core").is_dir())

# `make test` installs Chromium and the page's packages, so CI never skips this.
needs_browser = pytest.mark.skipif(not READY and not os.environ.get("CI"),
                                   reason="node, Chromium or the page's packages are missing "
                                          "(make setup installs them)")


class Driver:
    """The Playwright script, moved from step to step."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.output: list[str] = []

    async def reached(self, name: str, within: float = 20) -> None:
        """Wait until the script prints `step <name>` (or fail with what it printed)."""
        assert self.process.stdout is not None
        async with asyncio.timeout(within):
            while line := (await self.process.stdout.readline()).decode():
                self.output.append(line.rstrip())
                if line.strip() == f"step {name}":
                    return
        raise AssertionError(f"the script ended before step {name}:\n{await self.failure()}")

    def go(self, line: str = "go") -> None:
        """Let the script go on past its step, handing it `line`."""
        assert self.process.stdin is not None
        self.process.stdin.write(f"{line}\n".encode())

    async def finish(self) -> str:
        stdout, stderr = await asyncio.wait_for(self.process.communicate(), 20)
        self.output.extend(stdout.decode().splitlines())
        assert self.process.returncode == 0, "\n".join(self.output) + stderr.decode()
        return "\n".join(self.output)

    async def failure(self) -> str:
        assert self.process.stderr is not None
        return "\n".join(self.output) + (await self.process.stderr.read()).decode()


@pytest.mark.skipif(shutil.which("node") is None and not os.environ.get("CI"),
                    reason="node is missing")
async def test_the_page_marks_positions_in_exact_decimals() -> None:
    process = await asyncio.create_subprocess_exec(
        "node", "--test", "tests/arithmetic.test.mjs", cwd=BROWSER_CLIENT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    stdout, _ = await asyncio.wait_for(process.communicate(), 20)
    output = stdout.decode()
    assert process.returncode == 0, output
    assert re.search(r"^# pass [1-9]", output, re.MULTILINE), output
    assert re.search(r"^# fail 0$", output, re.MULTILINE), output


async def launch(api: Api, script: str, email: str) -> Driver:
    """Start a page script against this server, as a new user with `email`."""
    process = await asyncio.create_subprocess_exec(
        "node", f"tests/{script}", api.url, email, PASSWORD, str(ARTIFACTS),
        cwd=BROWSER_CLIENT, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    return Driver(process)


async def stop(driver: Driver) -> None:
    if driver.process.returncode is None:
        driver.process.kill()
        await driver.process.wait()


@needs_browser
async def test_a_user_trades_from_the_page_until_the_stop_loss_closes_the_trade(
        api: Api, later: Callable[..., None]) -> None:
    email = "page@example.com"
    # A day and a bit of stored minutes before the current one: the chart opens on them.
    now = int(api.app[keys.CLOCK]().timestamp()) // 60 * 60
    await api.app[keys.STORE].candles.insert_history("AAPL", "1m", [
        Candle(now - 60 * n, Decimal(100), Decimal(101), Decimal(99), Decimal(100), 10)
        for n in range(1500, 0, -1)])
    set_price(api, "AAPL", "100")
    driver = await launch(api, "trading-page.mjs", email)
    try:
        await driver.reached("ready")
        set_price(api, "AAPL", "101")
        driver.go()
        await driver.reached("trade-open")
        token = (await api.login(email))["access_token"]
        _, trades = await api.call("GET", "/api/v1/trades?status=open", token=token)
        assert [(t["stop_loss"], t["target_price"]) for t in trades["trades"]] == [("95", "120")]
        later(minutes=1)  # a snapshot a minute later at 103, then the stop-loss at 94
        set_price(api, "AAPL", "103")
        assert await api.app[keys.HISTORY].tick() == 1
        later(minutes=1)
        set_price(api, "AAPL", "94")
        driver.go()
        await driver.reached("offline")
        # While the page is offline, the same user buys from another client.
        status, body = await order(api, token, quantity="2")
        assert status == 201, body
        driver.go()
        output = await driver.finish()
    finally:
        await stop(driver)
    [drawn] = re.findall(r"chart history: (\d+) candles over ([\d.]+) hours", output)
    assert int(drawn[0]) >= 1441 and float(drawn[1]) >= 24  # a day and more, then live
    assert "price moved to 101.00" in output
    assert "refused: stop_loss must be below 101 for a buy order." in output
    assert "trade open: 1 AAPL at 101.00, stop-loss 95" in output
    assert "alert: AAPL above 130.00 take profit? active Delete" in output
    assert "toast: Trade closed (stop_loss): buy 1 AAPL at 94.00 · P&L -7.00" in output
    assert "AAPL buy 1 101.00 94.00 stop_loss -7.00" in output
    assert "unread notifications: 1" in output
    assert "equity: Equity 99,993.00 · P&L -7.00 (-0.01%), 3 points" in output
    assert "stats: Win rate 0% Max drawdown 9.00 (0.01%) Sharpe \u2013 Closed trades 1" in output
    assert "caught up: " in output and "trade opened: buy 2 AAPL (while offline)" in output
    assert output.rstrip().endswith("done")
    assert (ARTIFACTS / "trading-page.png").stat().st_size > 10_000


async def stored_orders(api: Api, token: str) -> dict[str, dict[str, Any]]:
    status, body = await api.call("GET", "/api/v1/orders", token=token)
    assert status == 200, body
    return {o["id"]: o for o in body["orders"]}


@needs_browser
async def test_a_user_manages_positions_and_orders_from_the_page(api: Api) -> None:
    email = "broker@example.com"
    set_price(api, "AAPL", "100")
    set_price(api, "MSFT", "300")
    driver = await launch(api, "broker-page.mjs", email)
    try:
        await driver.reached("position-open")
        token = (await api.login(email))["access_token"]
        _, body = await api.call("GET", "/api/v1/positions", token=token)
        assert [(p["symbol"], p["side"], p["quantity"], p["average_entry"])
                for p in body["positions"]] == [("AAPL", "buy", "10", "100")]
        set_price(api, "AAPL", "110")
        driver.go()
        await driver.reached("typing")
        status, body = await order(api, token, symbol="MSFT", quantity="2")
        assert status == 201, body
        driver.go()
        await driver.reached("replaced")
        orders = await stored_orders(api, token)
        [old] = [o for o in orders.values() if o["status"] == "replaced"]
        new = orders[old["replaced_by"]]
        assert (old["type"], old["quantity"], old["limit_price"], old["time_in_force"]) == (
            "limit", "5", "105", "day")
        assert (new["status"], new["quantity"], new["limit_price"], new["time_in_force"],
                new["replaces"]) == ("open", "3", "104", "day", old["id"])
        _, body = await api.call("GET", "/api/v1/positions/AAPL", token=token)
        assert body["position"]["quantity"] == "6"
        driver.go()
        await driver.reached("closed")
        _, body = await api.call("GET", "/api/v1/positions", token=token)
        assert body["positions"] == []
        assert (await stored_orders(api, token))[new["id"]]["status"] == "canceled"
        _, body = await api.call("GET", "/api/v1/account", token=token)
        assert (body["account"]["realized_pnl"], body["account"]["cash"]) == ("100", "100100")
        await assert_books_balance(api)
        driver.go()
        output = await driver.finish()
    finally:
        await stop(driver)
    for type_, tif, prices, notional in (
            ("market", "gtc day ioc fok", "none", "allowed"),
            ("limit", "gtc day ioc fok", "limit_price", "disabled"),
            ("stop", "gtc day", "stop_price", "disabled"),
            ("stop_limit", "gtc day", "stop_price limit_price", "disabled")):
        assert f"ticket {type_}: tif {tif}; prices {prices}; notional {notional}" in output
    assert ("refused order: 50 buys less than the smallest quantity of AAPL that trades at 100."
            in output)
    assert "position: AAPL | long | 10 | 100.00 | 100.00 | 1,000.00 | 0.00 | 0.00%" in output
    assert "marked: AAPL | long | 10 | 100.00 | 110.00 | 1,100.00 | 100.00 | 10.00%" in output
    assert "while typing: AAPL amount 4" in output
    assert "refused: The position holds 10 AAPL." in output
    assert "after 40%: AAPL | long | 6 | 100.00 | 110.00 | 660.00 | 60.00 | 10.00%" in output
    assert ("tabs: positions:false:-1 open:false:-1 orders:true:0; focus on orders"
            in output)
    rows = dict(re.findall(r"^(limit|replaced|replacement|cancelled): [\d:]+ (.*)$", output,
                           re.MULTILINE))
    by, replaces = f"#{new['id'][-6:]}", f"#{old['id'][-6:]}"  # each names the other
    assert rows == {
        "limit": "| AAPL | buy | limit | 5 | 105.00 | day | open",
        "replaced": f"| AAPL | buy | limit | 5 | 105.00 | day | replaced by {by}",
        "replacement": f"| AAPL | buy | limit | 3 | 104.00 | day | open · replaces {replaces}",
        "cancelled": f"| AAPL | buy | limit | 3 | 104.00 | day | canceled · replaces {replaces}"}
    assert "msft: MSFT | long | 2 | 300.00 | 300.00 | 600.00 | 0.00 | 0.00%" in output
    assert ("account: Cash 100,100.00 Equity 100,100.00 Available 100,100.00 Margin used 0.00 "
            "Reserved 0.00 Realized P&L 100.00 Unrealized P&L 0.00") in output
    close_all = "Close every position at the market and cancel every open order?"
    assert (f"dialogs: Cancel every open order? | Cancel every open order? | Exit every open "
            f"trade at the market? | {close_all} | {close_all}") in output
    [sent] = re.findall(r"^sent: (.*)$", output, re.MULTILINE)
    orders_sent = [call for call in sent.split(", ") if "watchlist" not in call]
    assert orders_sent == [
        "POST /orders", "POST /orders", "DELETE /positions/AAPL?qty=100",
        "DELETE /positions/AAPL?percentage=40", "POST /orders", f"PATCH /orders/{old['id']}",
        "DELETE /orders", "DELETE /positions/AAPL", "DELETE /positions?cancel_orders=true"]
    assert output.rstrip().endswith("done")
    assert (ARTIFACTS / "broker-page.png").stat().st_size > 10_000


# Mumbai open, New York closed; then New York open, Mumbai closed (a Tuesday).
MUMBAI_MORNING = datetime(2026, 1, 6, 5, tzinfo=UTC)
NEW_YORK_MORNING = datetime(2026, 1, 6, 15, tzinfo=UTC)
FEES = {"crypto": {"maker_bps": 2, "taker_bps": 10}, "us_equity": {"maker_bps": 5, "taker_bps": 10}}


def price_all(api: Api, clock: Clock, moment: datetime) -> None:
    """Move the app's clock, and give each symbol the test uses a fresh price then."""
    clock.now = moment
    for symbol, price in (("AAPL", "190"), ("BTCUSDT", "65000"), ("RELIANCE.NS", "2900"),
                          ("USDINR", "83.25")):
        set_price(api, symbol, price)


@needs_browser
async def test_a_user_places_bracket_orders_and_reads_their_legs_fees_and_wallet(
        servers: Servers, settings: Settings, clock: Clock) -> None:
    trading = replace(settings.trading, fees=schedule_from(FEES, settings.trading.schedule))
    api = await servers.start(replace(settings, trading=trading,
                                      market=replace(settings.market, hours="enforce")))
    email = "legs@example.com"
    driver = await launch(api, "orders-page.mjs", email)
    try:
        await driver.reached("ready")
        # Log in at the real time (tokens are checked against the wall clock), then move on.
        token = (await api.login(email))["access_token"]
        price_all(api, clock, MUMBAI_MORNING)
        driver.go()
        await driver.reached("night")
        orders = list((await stored_orders(api, token)).values())
        [opg] = [o for o in orders if o["time_in_force"] == "opg"]
        assert (opg["symbol"], opg["status"], opg["quantity"]) == ("AAPL", "canceled", "1")
        [btc] = [o for o in orders if o["symbol"] == "BTCUSDT"]
        assert (btc["status"], btc["fee"], btc["liquidity"]) == ("filled", "0.65", "taker")
        _, body = await api.call("GET", "/api/v1/wallet", token=token)
        rows = {b["asset"]: (b["type"], b["free"], b["locked"], b["total"])
                for b in body["balances"]}
        assert rows["BTC"] == ("crypto", "0.01", "0", "0.01")
        assert rows["RELIANCE.NS"] == ("position", "10", "0", "10")
        _, body = await api.call("GET", "/api/v1/positions/RELIANCE.NS", token=token)
        position = body["position"]
        assert (position["currency"], position["fx_rate"], position["market_value_quote"],
                position["market_value"]) == ("INR", "83.25", "29000", "348.34834835")
        price_all(api, clock, NEW_YORK_MORNING)
        driver.go()
        await driver.reached("held")
        orders = list((await stored_orders(api, token)).values())
        [parent] = [o for o in orders if o["order_class"] == "bracket" and not o["parent_id"]]
        legs = sorted((o for o in orders if o["parent_id"] == parent["id"]),
                      key=lambda o: o["leg_role"])
        assert (parent["type"], parent["limit_price"], parent["status"]) == ("limit", "185", "open")
        assert [(o["leg_role"], o["side"], o["type"], o["limit_price"], o["stop_price"],
                 o["status"]) for o in legs] == [
            ("stop_loss", "sell", "stop", None, "180", "held"),
            ("take_profit", "sell", "limit", "200", None, "held")]
        set_price(api, "AAPL", "185")
        driver.go()
        await driver.reached("cancelled")
        stored = await stored_orders(api, token)
        assert (stored[parent["id"]]["status"], stored[parent["id"]]["fee"],
                stored[parent["id"]]["liquidity"]) == ("filled", "0.185", "maker")
        assert [stored[leg["id"]]["status"] for leg in legs] == ["canceled", "canceled"]
        [second] = [o for o in stored.values() if o["limit_price"] == "170"]
        assert second["status"] == "canceled"
        assert sorted((o["leg_role"], o["stop_price"], o["limit_price"], o["status"])
                      for o in stored.values() if o["parent_id"] == second["id"]) == [
            ("stop_loss", "160", "159", "canceled"), ("take_profit", None, "190", "canceled")]
        [oco] = [o for o in stored.values() if o["order_class"] == "oco" and not o["parent_id"]]
        assert (oco["side"], oco["type"], oco["quantity"], oco["limit_price"], oco["leg_role"],
                oco["status"]) == ("sell", "limit", "2", "200", "take_profit", "canceled")
        assert [(o["leg_role"], o["type"], o["stop_price"], o["status"]) for o in stored.values()
                if o["parent_id"] == oco["id"]] == [("stop_loss", "stop", "180", "canceled")]
        await assert_books_balance(api)
        driver.go()
        output = await driver.finish()
    finally:
        await stop(driver)
    shown = dict(re.findall(r"^([a-z ]+): (.*)$", output, re.MULTILINE))
    assert shown["closed market"] == "tif gtc day ioc fok opg; XNYS is closed"
    assert shown["closed limit"] == shown["crypto"] == shown["open market"] == (
        "tif gtc day ioc fok")
    row = {name: re.sub(r"^[\d:]+ \| ", "", text)  # without the local time it was placed
           for name, text in shown.items()}
    assert row["opg"] == "AAPL | buy | market | 1 | \u2013 | opg | open |  |"
    assert row["btc order"] == (
        "BTCUSDT | buy | market | 0.01 | 65,000.00 | gtc | filled | 0.65 | taker")
    assert shown["wallet"] == ("Wallet Asset Free Locked Total "
                               "USD cash 99,349.35 0.00 99,349.35 BTC crypto 0.01 0 0.01")
    assert shown["inr position"] == ("RELIANCE.NS INR at 83.25 | long | 10 | 2,900.00 | 2,900.00 | "
                                     "348.35 29,000.00 INR | 0.00 0.00 INR | 0.00%")
    assert shown["bracket ticket"] == ("types market limit; tif gtc day; notional false; "
                                       "fields tp_limit sl_stop sl_limit")
    assert shown["refused bracket"] == "take_profit.limit_price must be above 185."
    assert row["bracket"] == "AAPL | buy | limit \u00b7 bracket | 2 | 185.00 | gtc | open |  |"
    assert row["filled bracket"] == (
        "AAPL | buy | limit \u00b7 bracket | 2 | 185.00 | gtc | filled | 0.185 | maker")
    legs_shown = re.findall(r"^(held|open|cancelled) leg: ↳ (.*)$", output, re.MULTILINE)
    assert legs_shown == [
        (when, f"{role} | AAPL | sell | {kind} | 2 | {level} | gtc | {status} |  |")
        for when, status in (("held", "held"), ("open", "open"), ("cancelled", "canceled"))
        for role, kind, level in (("take-profit", "limit", "200.00"),
                                  ("stop-loss", "stop", "180.00"))]
    assert re.findall(r"^cancelled with parent: ↳ (.*)$", output, re.MULTILINE) == [
        "take-profit | AAPL | sell | limit | 1 | 190.00 | gtc | canceled |  |",
        "stop-loss | AAPL | sell | stop limit | 1 | stop 160.00 \u00b7 limit 159.00 | gtc | "
        "canceled |  |"]
    assert shown["oco ticket"] == "type limit; fields tp_limit sl_stop"
    assert shown["oco"] == (
        "AAPL | sell | limit \u00b7 oco (take-profit) | 2 | 200.00 | gtc | open |  |")
    assert shown["oco leg"] == (
        "\u21b3 stop-loss | AAPL | sell | stop | 2 | 180.00 | gtc | open |  |")
    assert output.rstrip().endswith("done")
    assert (ARTIFACTS / "orders-page.png").stat().st_size > 10_000
