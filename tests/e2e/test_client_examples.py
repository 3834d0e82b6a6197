"""The example clients, run for real against a server on a scripted price path."""

import asyncio
import os
import re
import shutil
import sys
from dataclasses import replace

import pytest

from config.intel import IntelSettings
from handlers import keys
from tests.e2e.test_process import NODE_EXAMPLE, needs_node
from tests.intel_sources import IntelSources
from tests.services import ROOT
from tests.support import PASSWORD, until

# AAPL holds at 100 for four seconds (time to log in and buy with a stop-loss 5% below
# and a target 5% above), then drops to 90 and stays there.
PATH = "ts,symbol,price\n" + "".join(f"{n / 4},AAPL,100\n" for n in range(17)) + \
    "4.25,AAPL,90\n4.5,AAPL,90\n"


@pytest.fixture
async def scripted(servers, settings, tmp_path):
    path = tmp_path / "path.csv"
    path.write_text(PATH)
    configured = replace(settings, market=replace(
        settings.market, symbols="replay:AAPL", replay_file=path, replay_speed=1,
        replay_loop=False))
    api = await servers.start(configured, feeds=None)
    await api.register()
    return api


# What both examples print after the close: the newest activities, then the performance.
HISTORY = ("activity pnl -10\nactivity fill sell 1 AAPL at 90\nactivity fill buy 1 AAPL at 100\n"
           "activity transfer 100000\n"
           "performance: realized -10, win rate 0%, max drawdown 10 (0.01%)\n")


# Both examples buy BTCUSDT with levels 0.2% away by default (for the simulator); here
# AAPL on the scripted path, with levels 5% away.
PYTHON_OPTIONS = ["--symbol", "AAPL", "--stop-percent", "5", "--target-percent", "5",
                  "--timeout", "20"]
NODE_OPTIONS = {"SYMBOL": "AAPL", "STOP_PERCENT": "5", "TARGET_PERCENT": "5", "TIMEOUT": "20"}
CLOSED = ("trade closed: buy 1 AAPL at 100, stop 95, target 105, closed at 90 (stop_loss),"
          " pnl -10")


async def run(command: list[str], cwd, env: dict[str, str] | None = None
              ) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *command, cwd=cwd, env=None if env is None else {**os.environ, **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
    return process.returncode, stdout.decode(), stderr.decode()


async def test_the_python_example_trades_until_its_stop_loss_closes(scripted):
    code, stdout, stderr = await run(
        [sys.executable, str(ROOT / "client_examples/python/trade_until_stop.py"),
         scripted.url.rstrip("/"), "ann@example.com", PASSWORD, *PYTHON_OPTIONS], ROOT)
    assert code == 0, stderr
    assert "order filled at 100, stop-loss 95.00, target 105.00" in stdout
    assert "position buy 1 AAPL, average entry 100" in stdout
    assert "waiting up to 20 s for the price to reach 95.00 or 105.00" in stdout
    assert CLOSED in stdout
    assert HISTORY in stdout


@needs_node
async def test_the_node_example_trades_until_its_stop_loss_closes(scripted):
    assert shutil.which("node")
    code, stdout, stderr = await run(
        ["node", "trade-until-stop.js", scripted.url.rstrip("/"), "ann@example.com", PASSWORD],
        NODE_EXAMPLE, NODE_OPTIONS)
    assert code == 0, stderr
    assert "order filled at 100, stop-loss 95.00, target 105.00" in stdout
    assert "position buy 1 AAPL, average entry 100" in stdout
    assert "waiting up to 20 s for the price to reach 95.00 or 105.00" in stdout
    assert CLOSED in stdout
    assert HISTORY in stdout


async def test_the_examples_report_a_failed_login(scripted):
    code, _, stderr = await run(
        [sys.executable, str(ROOT / "client_examples/python/trade_until_stop.py"),
         scripted.url.rstrip("/"), "ann@example.com", "wrong password"], ROOT)
    assert code == 1
    assert "login failed: Email or password is incorrect." in stderr


@pytest.mark.skipif(shutil.which("jq") is None or shutil.which("curl") is None,
                    reason="curl or jq is missing (make packages installs them)")
async def test_the_curl_walkthrough_runs_start_to_finish(servers, settings, clock):
    from tests.e2e.test_forecast import store
    from tests.e2e.test_news import eventually, listing, with_news
    from tests.e2e.trading_support import set_price
    from tests.news_feeds import NewsSite, Story
    async with NewsSite() as site, IntelSources() as sources:
        site.add("markets", "atom", Story("Apple <b>beats</b> estimates",
                                          "https://markets.example/aapl", clock.now))
        with_sources = replace(with_news(settings, site, "markets"), intel=IntelSettings(
            coingecko_url=sources.url("/api/v3"), fng_url=sources.url("/fng/"),
            cnn_fng_url=sources.url("/index/fearandgreed/graphdata")))
        api = await servers.start(with_sources)
        intel = api.app[keys.INTEL]
        await until(lambda: all(cached.value is not None for cached in intel.cache.values()))
        await store(api, 150)
        await eventually(lambda: listing(api), lambda body: len(body["news"]) == 1)
        await curl_walkthrough(api, set_price)


async def curl_walkthrough(api, set_price):  # type: ignore[no-untyped-def]
    set_price(api, "AAPL", "100")
    code, stdout, stderr = await run(["bash", str(ROOT / "client_examples/curl.sh"),
                                      api.url.rstrip("/")], ROOT)
    assert code == 0, stderr + stdout
    assert '"status": "closed"' in stdout
    # The retry was sent and answered with the order the first request placed.
    retried = re.search(r"retried: the same order (\S+)", stdout)
    assert retried is not None and f'"id": "{retried[1]}"' in stdout
    assert re.search(r'\{"name":"curl bot","scope":"read","key_id":"PK[A-Z0-9]{18}"\}', stdout)
    assert '{"cash":"100000","equity":"100000"}' in stdout  # read with the key
    assert '"disclaimer":"Not investment advice"' in stdout
    assert re.search(r'"backtest":\{"origins":5,"horizon":30,"mape":"[0-9.]+",', stdout)
    assert '"realized_pnl": "0"' in stdout
    assert '"side": "sell",\n  "quantity": "1"' in stdout  # half of the position of 2
    assert '{"type":"trailing_stop","trail_percent":"5","hwm":"100","stop_price":"95",' \
        '"status":"open"}' in stdout
    assert '"old": "replaced"' in stdout
    assert '"canceled"' in stdout
    assert '{"activity_type":"fill","symbol":"AAPL","side":"sell","qty":"1","price":"100",' \
        '"net_amount":null}' in stdout
    assert '{"activity_type":"transfer","symbol":null,"side":null,"qty":null,"price":null,' \
        '"net_amount":"100000"}' in stdout
    assert '{"base_value":"100000","last":"100000","points":1}' in stdout
    assert '{"realized_pnl":"0","closed_trades":1,"win_rate_pct":"0","max_drawdown":"0",' \
        '"sharpe_ratio":null}' in stdout
    assert '"tokens":[{"symbol":"SOL","price":"211.3","change_24h":"6.75",' \
        '"trading_symbol":"SOLUSDT","funds":["Multicoin Capital","Andreessen Horowitz"]}' \
        in stdout
    assert '["SOL","GRT"]' in stdout
    assert '{"index":"crypto","value":25,"classification":"Extreme Fear","stale":false,' \
        in stdout
    assert '{"index":"stocks","action":"SELL","reason":"The stock-market Fear & Greed Index ' \
        'is 62.5 (Greed), above 55' in stdout
    assert '{"symbol":"FNG:crypto","condition":"above","price":"75","status":"active"}' \
        in stdout
    assert '{"stale":false,"sources":[{"name":"markets","ok":true}],' \
        '"titles":["Apple beats estimates"]}' in stdout
    assert '{"name":"Curl","leaderboard":true}' in stdout
    # Boards are computed on a schedule: the first pass at start found no one yet.
    assert re.search(r'\{"period":"week","users":0,"first":null\}', stdout)
    assert '{"leaderboard":true,"rating":null,"week":null}' in stdout
    assert "logout: 204" in stdout
