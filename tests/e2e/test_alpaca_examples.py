"""The Alpaca examples, run for real against a server with only the base URL and a key
changed: the alpaca-py moving-average bot and the Node SDK's order round trip."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
from decimal import Decimal
from typing import Any

import pytest

from handlers import keys
from tests.e2e.alpaca_support import bot_of
from tests.e2e.test_api_keys import pair
from tests.services import ROOT
from tests.support import Api
from trading.candles import Candle

BOT = ROOT / "client_examples" / "alpaca" / "ma_crossover.py"
NODE_EXAMPLE = ROOT / "client_examples" / "alpaca-node"
needs_node = pytest.mark.skipif(
    shutil.which("node") is None or not (NODE_EXAMPLE / "node_modules").is_dir(),
    reason="Node.js or the Alpaca example's node_modules (make test installs it) is missing")


async def trader(api: Api) -> dict[str, Any]:
    """A new user's trading API key, with AAPL priced at 100 and BTCUSDT at 65,000."""
    return (await bot_of(api)).key


def alpaca_env(api: Api, key: dict[str, Any]) -> dict[str, str]:
    url = api.url.rstrip("/")
    return {"APCA_API_KEY_ID": key["key_id"], "APCA_API_SECRET_KEY": key["secret"],
            "APCA_API_BASE_URL": url, "APCA_API_DATA_URL": url}


async def run(command: list[str], cwd: os.PathLike[str], env: dict[str, str]
              ) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *command, cwd=cwd, env={"PATH": os.environ["PATH"], **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


async def rising_minutes(api: Api, symbol: str, count: int, low: str, high: str) -> None:
    """count closed one-minute bars whose closes rise evenly from low to high, the last
    one the minute before the current one."""
    now = int(api.app[keys.CLOCK]().timestamp()) // 60 * 60
    first, last = Decimal(low), Decimal(high)
    step = (last - first) / (count - 1)
    bars = []
    for n in range(count):
        close = (first + step * n).quantize(Decimal("0.01"))
        bars.append(Candle(now - 60 * (count - n), close - step / 2, close + step / 2,
                           close - step, close, 5))
    await api.app[keys.STORE].candles.insert_history(symbol, "1m", bars)


async def test_the_moving_average_bot_buys_on_a_rising_trend_and_holds(api):
    key = await trader(api)
    await rising_minutes(api, "AAPL", 30, "90", "99")  # and the live price is 100
    code, stdout, stderr = await run(
        [sys.executable, str(BOT), "--symbol", "AAPL", "--fast", "3", "--slow", "10",
         "--iterations", "3", "--interval", "0.1"], ROOT, alpaca_env(api, key))
    assert code == 0, stderr
    assert "cash 100000" in stdout and "trading AAPL (us_equity), tradable: True" in stdout
    checks = [line for line in stdout.splitlines() if line.startswith("AAPL: last close")]
    assert len(checks) == 3, stdout
    assert "holding 0" in checks[0] and "holding 1" in checks[2]
    assert stdout.count(": buy 1 AAPL at market") == 1, stdout
    status, orders = await api.call("GET", "/api/v1/orders", headers=pair(key))
    assert status == 200, orders
    [placed] = orders["orders"]
    assert (placed["symbol"], placed["side"], placed["status"]) == ("AAPL", "buy", "filled")


async def test_the_bot_trades_an_alpaca_crypto_pair_on_the_simulator(servers, settings):
    # The simulator fills the stored history only where nothing is stored: a rising
    # half hour is stored first, the simulator then starts from 65,000 (or where the
    # stored minutes end) and the bot reads both through the crypto data client.
    first = await servers.start(settings)
    key = await trader(first)
    await rising_minutes(first, "BTCUSDT", 30, "63500", "64900")
    await servers.stop(first)
    api = await servers.start(settings, feeds=None)
    code, stdout, stderr = await run(
        [sys.executable, str(BOT), "--symbol", "BTC/USD", "--qty", "0.01", "--fast", "3",
         "--slow", "10", "--iterations", "2", "--interval", "0.1"], ROOT, alpaca_env(api, key))
    assert code == 0, stderr
    assert "trading BTCUSDT (crypto), tradable: True" in stdout
    checks = [line for line in stdout.splitlines() if line.startswith("BTC/USD: last close")]
    assert len(checks) == 2, stdout
    assert "holding 0" in checks[0] and "holding 0.01" in checks[1], stdout
    assert stdout.count(": buy 0.01 BTC/USD at market") == 1, stdout
    status, orders = await api.call("GET", "/v2/orders", headers=pair(key),
                                    params={"status": "all"})
    assert status == 200, orders
    assert [(o["symbol"], o["side"], o["qty"], o["time_in_force"], o["status"])
            for o in orders] == [("BTCUSDT", "buy", "0.01", "gtc", "filled")]


async def test_the_bot_says_which_variables_it_needs(api):
    code, _, stderr = await run([sys.executable, str(BOT), "--iterations", "1"], ROOT, {})
    assert code == 2
    assert "set APCA_API_KEY_ID and APCA_API_SECRET_KEY" in stderr


async def test_the_bot_reports_a_refused_key(api):
    env = alpaca_env(api, {"key_id": "PK" + "A" * 18, "secret": "x" * 40})
    code, _, stderr = await run([sys.executable, str(BOT), "--iterations", "1"], ROOT, env)
    assert code == 1
    assert "40110000" in stderr



@needs_node
async def test_the_node_sdk_places_lists_and_cancels_an_order_with_its_trade_updates(api):
    key = await trader(api)
    code, stdout, stderr = await run(
        ["node", "order-round-trip.js"], NODE_EXAMPLE,
        {**alpaca_env(api, key), "SYMBOL": "AAPL", "LIMIT_PRICE": "50", "TIMEOUT": "20"})
    assert code == 0, stderr + stdout
    placed = re.search(r"^placed (\S+): buy 1 AAPL limit 50 \((\w+)\)$", stdout, re.M)
    assert placed is not None, stdout
    order_id = placed[1]
    assert placed[2] in ("new", "accepted")
    assert f"trade update: new {order_id}" in stdout
    assert f"open orders for AAPL: 1, including {order_id}" in stdout
    assert f"trade update: canceled {order_id} (canceled)" in stdout
    status, body = await api.call("GET", f"/v2/orders/{order_id}", headers=pair(key))
    assert (status, body["status"]) == (200, "canceled")


@needs_node
async def test_the_node_sdk_example_reports_a_refused_key(api):
    env = alpaca_env(api, {"key_id": "PK" + "A" * 18, "secret": "x" * 40})
    code, _, stderr = await run(["node", "order-round-trip.js"], NODE_EXAMPLE,
                                {**env, "TIMEOUT": "20"})
    assert code == 1
    assert "trade stream refused: server_rejected" in stderr
