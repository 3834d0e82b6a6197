"""A scripted price path from a replay file drives the monitor end to end."""

import asyncio
from dataclasses import replace

from handlers import keys
from tests.e2e.test_monitor import settled
from tests.e2e.trading_support import assert_books_balance, order


async def test_a_replayed_price_path_closes_a_trade_at_its_stop_loss(servers, settings,
                                                                     tmp_path):
    path = tmp_path / "path.csv"
    # 100 at once; then, 1.5 s later, a gap down through the stop, and a bounce.
    path.write_text("ts,symbol,price\n0,AAPL,100\n1.5,AAPL,93.5\n1.6,AAPL,99\n")
    configured = replace(settings, market=replace(settings.market, symbols="replay:AAPL",
                                                  replay_file=path, replay_speed=1,
                                                  replay_loop=False))
    api = await servers.start(configured, feeds=None)
    token = (await api.account())["access_token"]
    hub = api.app[keys.MARKET].hub
    if "AAPL" not in hub.last:  # wait for the first replayed tick
        first = asyncio.Event()
        hub.listeners.append(lambda quote: first.set())
        await asyncio.wait_for(first.wait(), 5)
    status, body = await order(api, token, stop_loss="95", target_price="110")
    assert status == 201, body
    await asyncio.wait_for(api.app[keys.MARKET].tasks["replay"], 5)
    await settled(api)
    _, trades = await api.call("GET", "/api/v1/trades?status=closed", token=token)
    [trade] = trades["trades"]
    assert (trade["close_reason"], trade["close_price"], trade["realized_pnl"]) == (
        "stop_loss", "93.5", "-65")
    await assert_books_balance(api)
