"""Crypto prices from Binance's public combined WebSocket streams (no API key).

Binance closes every connection after 24 hours and pings every few minutes;
aiohttp answers pings. We reconnect with jittered exponential backoff (waiting at
most the silence timeout) when a connection drops or cannot be opened, when it has
been silent for too long (a watchdog), and shortly before the 24-hour limit, and
the stream list in the URL resubscribes us. An outage is logged once when it starts
and once when prices flow again (feeds/outage.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from typing import Any

import aiohttp

from feeds.base import Backoff, HistorySource, Sink
from feeds.outage import Outage, reason
from trading.market import Instrument, Quote, parse_price, symbol_key

log = logging.getLogger(__name__)

DEFAULT_URL = "wss://stream.binance.com:9443"
STREAMS = ("trade", "miniTicker")
# Binance disconnects at 24 h; leave before that on our own terms.
MAX_CONNECTION_AGE = 23.5 * 3600


class BinanceFeed:
    name = "binance"

    def __init__(self, instruments: list[Instrument], *, url: str = DEFAULT_URL,
                 stream: str = "trade", silence_timeout: float = 30.0,
                 max_age: float = MAX_CONNECTION_AGE, backoff: Backoff | None = None,
                 history: HistorySource | None = None) -> None:
        if stream not in STREAMS:
            raise ValueError(f"Binance stream must be one of {', '.join(STREAMS)}")
        self.symbols = {symbol_key(i.symbol): i.symbol for i in instruments}
        self.url = url.rstrip("/")
        self.stream = stream
        self.silence_timeout = silence_timeout
        self.max_age = max_age
        self.backoff = backoff or Backoff(first=0.5, most=silence_timeout)
        self.outage = Outage("Binance", log)
        self.connections = 0  # connections opened, for operators and tests
        self.history = history  # the symbols' past (feeds/history.py: BinanceKlines)

    @property
    def stream_url(self) -> str:
        names = "/".join(f"{key.lower()}@{self.stream}" for key in sorted(self.symbols))
        return f"{self.url}/stream?streams={names}"

    async def run(self, sink: Sink) -> None:
        if not self.symbols:
            return
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    await self._connection(session, sink)
                    delay = self.backoff.next_delay()
                except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                    delay = self.backoff.next_delay()
                    self.outage.failed(reason(exc), delay)
                await asyncio.sleep(delay)

    async def _connection(self, session: aiohttp.ClientSession, sink: Sink) -> None:
        """Read one connection until it closes, goes silent, or grows too old."""
        async with session.ws_connect(self.stream_url, autoping=True, heartbeat=None) as ws:
            self.connections += 1
            loop = asyncio.get_running_loop()
            opened = loop.time()
            while True:
                age_left = self.max_age - (loop.time() - opened)
                if age_left <= 0:
                    log.info("Binance connection is %.0f h old; renewing it", self.max_age / 3600)
                    return
                try:
                    message = await ws.receive(timeout=min(self.silence_timeout, age_left))
                except TimeoutError:
                    if loop.time() - opened < self.max_age:
                        raise TimeoutError(f"no message for {self.silence_timeout:.0f} s"
                                           ) from None
                    continue
                if message.type == aiohttp.WSMsgType.TEXT:
                    if self.handle(message.data, sink):
                        self.backoff.reset()
                        self.outage.recovered()
                elif message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                                      aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.ERROR):
                    log.debug("Binance closed the stream; reconnecting")
                    return

    def handle(self, raw: str, sink: Sink) -> bool:
        """Turn one combined-stream message into a quote; skip (and log) a malformed one."""
        try:
            quote = self.parse(json.loads(raw))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("skipped a malformed Binance message (%s): %.120s", exc, raw)
            return False
        if quote is None:
            return False
        sink.publish(quote)
        return True

    def parse(self, message: dict[str, Any]) -> Quote | None:
        data = message.get("data", message)
        if "result" in data and "id" in data:
            return None  # the reply to a control request such as SUBSCRIBE
        event = data["e"]
        if event == "trade":
            price, millis = data["p"], data["T"]
        elif event == "24hrMiniTicker":
            price, millis = data["c"], data["E"]
        else:
            return None  # subscription replies and other events
        symbol = self.symbols.get(symbol_key(str(data["s"])))
        if symbol is None:
            return None
        moment = datetime.fromtimestamp(int(millis) / 1000, UTC)
        return Quote(symbol, parse_price(price), moment, self.name)
