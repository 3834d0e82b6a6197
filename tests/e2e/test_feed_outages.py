"""`python run.py` with no network to its price sources: one log line when each goes down
and one when it is back, not one (or a yfinance traceback) per retry."""

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from store.embedded import free_port
from tests.integration.test_binance_feed import trade
from tests.processes import ServerProcess
from tests.support import until

# How long the server runs with both sources down: with a reconnect waiting at most
# 1 s (BINANCE_SILENCE_TIMEOUT) and Yahoo polled from 0.5 s on, several retries each.
DOWN_FOR = 8.0


def unreachable_sources(tmp_path: Path, binance_port: int) -> ServerProcess:
    closed = free_port()  # nothing listens there
    return ServerProcess(
        tmp_path, MARKET_SYMBOLS="binance:BTCUSDT;yfinance:MSFT",
        BINANCE_WS_URL=f"ws://127.0.0.1:{binance_port}",
        BINANCE_SILENCE_TIMEOUT="1", YFINANCE_POLL_INTERVAL="0.5",
        # yfinance's HTTP client goes through this proxy, which refuses every connection.
        HTTPS_PROXY=f"http://127.0.0.1:{closed}", https_proxy=f"http://127.0.0.1:{closed}",
        HOME=str(tmp_path), LOG_LEVEL="INFO")


@contextlib.asynccontextmanager
async def binance_on(port: int) -> AsyncIterator[None]:
    """A stand-in for Binance's combined streams on port: a BTCUSDT trade every 0.2 s
    (more often than the server's 1 s silence timeout) to each connection."""
    async def stream(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        while not ws.closed:
            await ws.send_str(trade("BTCUSDT", "65000.5"))
            await asyncio.sleep(0.2)
        return ws

    app = web.Application()
    app.router.add_get("/stream", stream)
    runner = web.AppRunner(app, shutdown_timeout=1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield
    finally:
        await runner.cleanup()


def count(log: str, pattern: str) -> int:
    return len(re.findall(pattern, log))


@pytest.mark.timeout(90)
async def test_sources_that_cannot_be_reached_log_one_line_down_and_one_back(tmp_path):
    binance_port = free_port()
    server = unreachable_sources(tmp_path, binance_port)
    await server.start()
    try:
        await server.wait_healthy()
        await until(lambda: count(server.log.read_text(), "prices are down") == 2, within=20)
        await asyncio.sleep(DOWN_FOR)  # the time it keeps retrying, quietly
        log = server.log.read_text()
        assert count(log, r"Binance prices are down \(Client\w*Error: ") == 1, log
        assert count(log, r"Yahoo Finance prices are down \(NoPrices: no price for MSFT") == 1
        for noise in (" yfinance:", "delisted", "Traceback", "site-packages", "Warning:"):
            assert noise not in log, log
        # The start-up fill of candle history: one line per source that cannot give it.
        assert count(log, "no candle history from binance") <= 1, log
        assert count(log, "no candle history from yfinance") <= 1, log
        assert "candle history from yfinance is back" not in log, log
        after_start = log.split("PaperDesk is ready: open http://localhost:")[1].splitlines()
        assert len(after_start) <= 6, log

        async with binance_on(binance_port):
            await until(lambda: "Binance prices are back" in server.log.read_text(), within=10)
            log = server.log.read_text()
        back = re.findall(r"Binance prices are back after \d+ s \((\d+) failed attempts\)", log)
        assert len(back) == 1 and int(back[0]) >= 4, log  # it kept retrying while down
        assert count(log, "Binance prices are down") == 1, log
    finally:
        await server.stop()
