"""Alpaca's real-time market data stream, as alpaca-py's StockDataStream and
CryptoDataStream speak it: /v2/{feed} (iex, sip, delayed_sip, boats, overnight)
for stocks and /v1beta3/crypto/{loc} (us, us-1, us-2, eu-1) for crypto pairs.

On connecting a client is sent [{"T": "success", "msg": "connected"}]; it then has
10 seconds (and 10 messages) to send {"action": "auth", "key": "...", "secret": "..."} (an API key;
"key": "oauth" with an access token as the secret does too), answered
[{"T": "success", "msg": "authenticated"}] or [{"T": "error", "code": 402, "msg":
"auth failed"}] and a close. {"action": "subscribe" | "unsubscribe", "trades": [...],
"quotes": [...], "bars": [...]} (symbols as handlers/alpaca/market_data.py reads
them, or "*" for all of the feed's) is answered with the whole subscription,
[{"T": "subscription", "trades": [...], "quotes": [...], "bars": [...], ...}]; the
other channels (updatedBars, dailyBars, statuses, ...) are taken and stay empty.

Then every price tick of a subscribed symbol comes as a trade {"T": "t", "S", "p",
"s", "t"} and a quote {"T": "q", "S", "bp", "bs", "ap", "as", "t"} (the price on
both sides: no spread, no sizes), and when a minute candle closes (seen at the first
tick of the next minute) a bar {"T": "b", "S", "o", "h", "l", "c", "v", "n", "vw",
"t"}. Messages go as arrays, in MessagePack when the upgrade request says
Content-Type: application/msgpack (as alpaca-py does; times as MessagePack
timestamps), else in JSON text (times in RFC 3339); a client's messages may be
either. Errors are Alpaca's codes: 400 invalid syntax, 401 not authenticated,
403 already authenticated, 404 auth timeout, 405 symbol limit exceeded
(MAX_SUBSCRIPTIONS symbols per channel), 429 too many messages.

The connection counts against its user's open sockets, its messages against the
socket rate limits and what waits unsent for it against the Backlog (as /ws).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMessage, WSMsgType, web

from feeds.hub import PriceHub
from handlers import keys
from handlers.alpaca import wire
from handlers.alpaca.market_data import is_crypto, resolve_crypto, resolve_stock
from handlers.alpaca.wire import Encoding
from handlers.errors import to_wire
from handlers.plain_clients import PlainClient
from services.api_keys import pair_token
from trading.candles import Candle
from trading.errors import InvalidInput, InvalidJSON, PaperDeskError, RateLimited
from trading.market import Quote, Universe

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

CHANNELS = ("trades", "quotes", "bars")
# Channels a client may name that PaperDesk has nothing for: taken, and left empty.
OTHER_CHANNELS = ("updatedBars", "dailyBars", "statuses", "lulds", "corrections",
                  "cancelErrors", "orderbooks", "news")
ALL = "*"
MAX_MESSAGE = 256 * 1024  # a subscription of 10,000 symbols fits, and is refused as such
MAX_PENDING = 10_000  # ticks waiting to be sent (the oldest go first when it is full)
MAX_SYMBOL_CHARS = 40
MAX_BEFORE_AUTH = 10  # messages answered before the auth message; then the connection closes


def control(kind: str, **fields: Any) -> list[dict[str, Any]]:
    return [{"T": kind, **fields}]


def failure(code: int, message: str) -> list[dict[str, Any]]:
    return control("error", code=code, msg=message)


class LimitError(InvalidInput):
    """More symbols in a channel than a connection may have (Alpaca's 405)."""

    default_message = "symbol limit exceeded"


class DataStream:
    """One authenticated connection: what it subscribed to, by the names it used."""

    def __init__(self, feed: DataFeed, universe: Universe, crypto: bool, encoding: Encoding,
                 limit: int) -> None:
        self.feed, self.universe, self.crypto = feed, universe, crypto
        self.encoding, self.limit = encoding, limit
        self.client: PlainClient | None = None
        # channel -> configured symbol (or "*") -> the name the client used
        self.names: dict[str, dict[str, str]] = {channel: {} for channel in CHANNELS}

    def send(self, messages: list[dict[str, Any]]) -> None:
        if self.client is not None:
            self.client.write(self.encoding.frame(messages))

    def accepts(self, symbol: str) -> bool:
        return is_crypto(self.universe, symbol) == self.crypto

    def name(self, channel: str, symbol: str) -> str:
        """The name the client used for a symbol (under "*": the configured one)."""
        return self.names[channel].get(symbol, symbol)

    def resolve(self, text: str) -> str:
        if text == ALL:
            return ALL
        return (resolve_crypto if self.crypto else resolve_stock)(self.universe, text)

    def change(self, message: dict[str, Any], subscribe: bool) -> None:
        """Apply a subscribe or unsubscribe (all of it, or none if any of it is wrong)."""
        wanted: dict[str, dict[str, str]] = {}
        for channel in (*CHANNELS, *OTHER_CHANNELS):
            asked = message.get(channel, [])
            if not isinstance(asked, list) or not all(
                    isinstance(item, str) and 0 < len(item) <= MAX_SYMBOL_CHARS
                    for item in asked):
                raise InvalidInput(f"invalid syntax: '{channel}' must be a list of symbols")
            if len(asked) > self.limit:
                raise LimitError()
            if channel in CHANNELS:
                wanted[channel] = {self.resolve(item): item for item in asked}
        for channel, symbols in wanted.items():
            names = self.names[channel]
            after = {**names, **symbols} if subscribe else {
                symbol: name for symbol, name in names.items() if symbol not in symbols}
            if len(after) > self.limit:
                raise LimitError()
        for channel, symbols in wanted.items():
            for symbol, name in symbols.items():
                if subscribe:
                    self.names[channel][symbol] = name
                    self.feed.subscribers[channel][symbol].add(self)
                else:
                    self.names[channel].pop(symbol, None)
                    self.feed.leave(channel, symbol, self)

    def subscription(self) -> list[dict[str, Any]]:
        return control("subscription",
                       **{channel: sorted(self.names[channel].values()) for channel in CHANNELS},
                       **{channel: [] for channel in OTHER_CHANNELS})

    def forget(self) -> None:
        for channel, names in self.names.items():
            for symbol in names:
                self.feed.leave(channel, symbol, self)
        self.names = {channel: {} for channel in CHANNELS}


class DataFeed:
    """The hub's ticks to the subscribed connections: trades and quotes on every tick,
    a bar when a minute closes. The hub's listener only queues; a task sends."""

    def __init__(self, hub: PriceHub) -> None:
        self.hub = hub
        self.subscribers: dict[str, defaultdict[str, set[DataStream]]] = {
            channel: defaultdict(set) for channel in CHANNELS}
        self.pending: deque[Quote] = deque(maxlen=MAX_PENDING)
        self.minutes: dict[str, int] = {}  # symbol -> the start of its open minute
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.hub.listeners.append(self.on_quote)
        self.task = asyncio.create_task(self.run(), name="alpaca:data")

    async def stop(self) -> None:
        self.hub.listeners.remove(self.on_quote)
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    def leave(self, channel: str, symbol: str, stream: DataStream) -> None:
        members = self.subscribers[channel].get(symbol)
        if members is not None:
            members.discard(stream)
            if not members:
                del self.subscribers[channel][symbol]

    def on_quote(self, quote: Quote) -> None:
        self.pending.append(quote)
        self.wake.set()

    async def run(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            while self.pending:
                quote = self.pending.popleft()
                try:
                    self.deliver(quote, self.closed_minute(quote))
                except Exception:
                    log.exception("failed to send %s to the Alpaca data streams", quote.symbol)

    def closed_minute(self, quote: Quote) -> Candle | None:
        """The minute candle this tick closed (the first tick of a new minute), if any."""
        start = int(quote.ts.timestamp()) // 60 * 60
        before = self.minutes.get(quote.symbol)
        if before is not None and start <= before:
            return None
        self.minutes[quote.symbol] = start
        if before is None:
            return None
        return next((candle for candle in self.hub.memory(quote.symbol, "1m")
                     if candle.start == before), None)

    def deliver(self, quote: Quote, closed: Candle | None) -> None:
        symbol, price = quote.symbol, float(quote.price)
        made: dict[str, Callable[[], dict[str, Any]]] = {
            "trades": lambda: {"T": "t", "p": price, "s": 0, "t": quote.ts},
            "quotes": lambda: {"T": "q", "bp": price, "bs": 0, "ap": price, "as": 0,
                               "t": quote.ts}}
        if closed is not None:
            made["bars"] = lambda: {
                "T": "b", "o": float(closed.open), "h": float(closed.high),
                "l": float(closed.low), "c": float(closed.close), "v": 0, "n": closed.ticks,
                "vw": None, "t": datetime.fromtimestamp(closed.start, UTC)}
        out: defaultdict[DataStream, list[dict[str, Any]]] = defaultdict(list)
        for channel, make in made.items():
            members = self.subscribers[channel]
            streams = members.get(symbol, set()) | members.get(ALL, set())
            if not streams:
                continue
            message = make()
            for stream in streams:
                if stream.accepts(symbol):
                    out[stream].append({**message, "S": stream.name(channel, symbol)})
        for stream, messages in out.items():
            stream.send(messages)


FEED = web.AppKey("alpaca_data_feed", DataFeed)


async def running(app: web.Application) -> AsyncIterator[None]:
    """The feed of the data streams, for as long as the app runs."""
    feed = app[FEED] = DataFeed(app[keys.MARKET].hub)
    feed.start()
    try:
        yield
    finally:
        await feed.stop()


def auth_token(message: dict[str, Any]) -> str | None:
    """The token of an auth message: an API key's, or with "key": "oauth" an access
    token (None: it holds neither)."""
    key, secret = message.get("key"), message.get("secret")
    if not isinstance(key, str) or not isinstance(secret, str) or not key or not secret \
            or len(key) > 4096 or len(secret) > 4096:
        return None
    return secret if key == "oauth" else pair_token(key, secret)


async def _authenticate(request: web.Request, ws: web.WebSocketResponse,
                        encoding: Encoding) -> tuple[Any, Encoding] | None:
    """Wait for the auth message (answering others); the principal, or None (refused)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wire.AUTH_WITHIN
    for _ in range(MAX_BEFORE_AUTH):
        if (left := deadline - loop.time()) <= 0:
            break
        try:
            message = await ws.receive(timeout=left)
        except TimeoutError:
            break
        if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
            return None
        try:
            value, _ = wire.decode(message)
        except InvalidJSON:
            await wire.send(ws, encoding, failure(400, "invalid syntax"))
            continue
        if not isinstance(value, dict) or value.get("action") != "auth":
            await wire.send(ws, encoding, failure(401, "not authenticated"))
            continue
        try:
            return await wire.admit_token(request, auth_token(value)), encoding
        except PaperDeskError as error:
            await wire.send(ws, encoding, failure(
                406 if error.code == "limit_exceeded" else 402,
                "connection limit exceeded" if error.code == "limit_exceeded"
                else "auth failed"))
            await ws.close(code=4401 if error.code != "limit_exceeded" else 4429)
            return None
    if loop.time() < deadline:
        await wire.send(ws, encoding, failure(401, "not authenticated"))
    else:
        await wire.send(ws, encoding, failure(404, "auth timeout"))
    await ws.close(code=4401)
    return None


async def _handle(request: web.Request, stream: DataStream, message: WSMessage) -> None:
    if stream.client is None:
        return
    try:
        await wire.count(request, stream.client)
        value, _ = wire.decode(message)
    except RateLimited as error:
        stream.send(failure(429, error.message))
        return
    except InvalidJSON:
        stream.send(failure(400, "invalid syntax"))
        return
    action = value.get("action") if isinstance(value, dict) else None
    if action in ("subscribe", "unsubscribe"):
        try:
            stream.change(value, action == "subscribe")
        except LimitError:
            stream.send(failure(405, "symbol limit exceeded"))
        except InvalidInput as error:
            stream.send(failure(400, error.message[:200]))
        except Exception as exc:
            stream.send(failure(500, to_wire(exc, "data stream subscribe").message))
        else:
            stream.send(stream.subscription())
    elif action == "auth":
        stream.send(failure(403, "already authenticated"))
    else:
        stream.send(failure(400, "invalid syntax"))


async def _serve(request: web.Request, crypto: bool) -> web.WebSocketResponse:
    ws = await wire.open_socket(request, MAX_MESSAGE)
    msgpack_wanted = request.headers.get("Content-Type", "").startswith("application/msgpack")
    encoding = Encoding.MSGPACK if msgpack_wanted else Encoding.JSON_TEXT
    await wire.send(ws, encoding, control("success", msg="connected"))
    admitted = await _authenticate(request, ws, encoding)
    if admitted is None:
        return ws
    principal, encoding = admitted
    app = request.app
    stream = DataStream(app[FEED], app[keys.MARKET].universe, crypto, encoding,
                        app[keys.SETTINGS].market.max_subscriptions)
    client = wire.join(request, ws, principal, lambda events: None)
    if client is None:
        return ws
    stream.client = client
    try:
        stream.send(control("success", msg="authenticated"))
        async for message in ws:
            if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                await _handle(request, stream, message)
    finally:
        stream.forget()
        wire.leave(request, client)
    return ws


@routes.get("/v2/{feed:iex|sip|delayed_sip|boats|overnight}")
async def stock_stream(request: web.Request) -> web.WebSocketResponse:
    return await _serve(request, crypto=False)


@routes.get("/v1beta3/crypto/{loc:us|us-1|us-2|eu-1}")
async def crypto_stream(request: web.Request) -> web.WebSocketResponse:
    return await _serve(request, crypto=True)
