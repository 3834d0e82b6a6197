"""The trading page in headless Chromium, driven by Playwright, on prices the test moves."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from handlers import keys
from tests.e2e.trading_support import assert_books_balance, order, set_price
from tests.services import ROOT
from tests.support import PASSWORD, Api
from trading.candles import Candle

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

    def go(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(b"go\n")

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
    assert "price moved to 101" in output
    assert "refused: stop_loss must be below 101 for a buy order." in output
    assert "trade open: 1 AAPL at 101, stop-loss 95" in output
    assert "alert: AAPL above 130 take profit? active Delete" in output
    assert "toast: Trade closed (stop_loss): buy 1 AAPL at 94 · P&L -7.00" in output
    assert "AAPL buy 1 101 94 stop_loss -7.00" in output
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
    assert "position: AAPL | long | 10 | 100 | 100 | 1,000.00 | 0.00 | 0.00%" in output
    assert "marked: AAPL | long | 10 | 100 | 110 | 1,100.00 | 100.00 | 10.00%" in output
    assert "while typing: AAPL amount 4" in output
    assert "refused: The position holds 10 AAPL." in output
    assert "after 40%: AAPL | long | 6 | 100 | 110 | 660.00 | 60.00 | 10.00%" in output
    assert ("tabs: positions:false:-1 open:false:-1 orders:true:0; focus on orders"
            in output)
    rows = dict(re.findall(r"^(limit|replaced|replacement|cancelled): [\d:]+ (.*)$", output,
                           re.MULTILINE))
    by, replaces = f"#{new['id'][-6:]}", f"#{old['id'][-6:]}"  # each names the other
    assert rows == {
        "limit": "| AAPL | buy | limit | 5 | 105 | day | open",
        "replaced": f"| AAPL | buy | limit | 5 | 105 | day | replaced by {by}",
        "replacement": f"| AAPL | buy | limit | 3 | 104 | day | open · replaces {replaces}",
        "cancelled": f"| AAPL | buy | limit | 3 | 104 | day | canceled · replaces {replaces}"}
    assert "msft: MSFT | long | 2 | 300 | 300 | 600.00 | 0.00 | 0.00%" in output
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
