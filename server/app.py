"""The app factory: the only place that wires PaperDesk together."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial

import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError, LineTooLong
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from config.funds import load_funds
from config.settings import Settings, resolve_jwt_secret
from feeds.base import Feed
from feeds.intel import configured_sources
from feeds.service import Market
from handlers import (
    alerts,
    assets,
    auth_routes,
    contract,
    forecast,
    health,
    history,
    intel,
    keys,
    leaderboard,
    market,
    me,
    news,
    page,
    plain_ws,
    trading,
)
from handlers import notifications as inbox
from handlers.alpaca import account as alpaca_account
from handlers.alpaca import data as alpaca_data
from handlers.alpaca import data_stream as alpaca_data_stream
from handlers.alpaca import market as alpaca_market
from handlers.alpaca import orders as alpaca_orders
from handlers.alpaca import stream as alpaca_stream
from handlers.alpaca.errors import alpaca_error_middleware
from handlers.middleware import error_middleware, error_response, rate_limit_middleware
from handlers.socket_server import UserPush, close_manager, create_sio, start_manager
from handlers.sockets import SocketGateway
from handlers.streaming import PriceStreamer
from notifier.base import Channel
from notifier.channels import EmailChannel, InAppChannel, SmsChannel
from notifier.outbox import OutboxWorker
from server.logs import PathAccessLogger
from server.news import news as news_feeds
from services.alerts import AlertService
from services.auth import AuthService, Clock
from services.bus import MessageBus
from services.cluster import Cluster
from services.engine import TradingEngine
from services.events import EventPublisher
from services.forecasts import Forecaster
from services.history import Snapshots
from services.index_alerts import fire_index_alerts
from services.intel import IntelService
from services.intel_views import stock_symbols, trading_links
from services.leader import LeaderDuties
from services.leaderboard import Leaderboard
from services.limits import Limits
from services.metrics import Metrics
from services.monitor import Monitor
from services.notices import Notices
from services.passwords import PasswordHasher
from services.tokens import TokenCodec
from store.database import end_abandoned_transactions, ensure_indexes
from store.embedded import EmbeddedDatabase
from store.intel import IntelStore
from store.layout import open_collections
from store.store import Store
from trading import errors
from trading.events import (
    AccountDeleted,
    Changed,
    OrderFilled,
    SessionsEnded,
    TradeClosed,
    UserEventsStored,
)
from trading.intel import Backing
from trading.trades import AccountRules

log = logging.getLogger(__name__)

# What aiohttp's HTTP parser takes before it refuses a request: a header field (name
# and value) of up to 16 KiB, since tokens are at most a few KB (aiohttp's default is
# 8190 bytes), a request line of 8190 bytes, and 128 header fields.
MAX_HEADER_FIELD_BYTES = 16 * 1024
MAX_REQUEST_LINE_BYTES = 8190
MAX_HEADERS = 128


def utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(settings: Settings, *, clock: Clock = utc_now, email: Channel | None = None,
               feeds: list[Feed] | None = None) -> web.Application:
    """Build the application. Resources open on start-up and close on clean-up.

    email replaces the SMTP email channel, and feeds the configured feeds (tests pass
    stand-ins).
    """
    app = web.Application(middlewares=[error_middleware, rate_limit_middleware,
                                       alpaca_error_middleware],
                          client_max_size=settings.max_request_bytes,
                          handler_args={"max_field_size": MAX_HEADER_FIELD_BYTES,
                                        "max_line_size": MAX_REQUEST_LINE_BYTES,
                                        "max_headers": MAX_HEADERS})
    app[keys.SETTINGS] = settings
    app[keys.CLOCK] = clock
    app[keys.METRICS] = metrics = Metrics()
    sio = create_sio(settings)
    sio.attach(app)
    app[keys.SIO] = sio
    app[keys.BUS] = bus = MessageBus()
    push = UserPush(sio)
    bus.subscribe(UserEventsStored, push.events)
    gateway = SocketGateway(app, sio)
    bus.subscribe(SessionsEnded, lambda ended: gateway.drop_sessions(ended.session_ids))
    bus.subscribe(SessionsEnded, lambda ended: plain_ws.drop_sessions(app, ended.session_ids))
    # Built now so configuration errors surface before anything starts.
    app[keys.MARKET] = Market(settings.market, clock, feeds)
    funds = load_funds(settings.intel.funds_file)
    readings = metrics.readings
    readings.ticks = lambda: app[keys.MARKET].hub.accepted
    readings.sockets = lambda: len(sio.eio.sockets)
    readings.fired = lambda: app[keys.MONITOR].fired if keys.MONITOR in app else 0
    # Alone, this process runs the monitor; in a cluster, while it leads.
    readings.leading = lambda: (node := app.get(keys.CLUSTER)) is None or node.leader
    app.cleanup_ctx.extend([
        socket_manager,
        embedded_database,
        database,
        redis_client,
        notifications(email),
        auth_service(gateway),
        market_data,
        forecasts,
        trading_engine,
        news_feeds,
        cluster,
        market_intel(funds),
        portfolio_snapshots,
        leaderboard_passes,
        alpaca_data_stream.running,
    ])
    for module in (health, auth_routes, me, market, assets, trading, alerts, inbox, page,
                   contract, plain_ws, history, forecast, news, intel, leaderboard,
                   alpaca_orders, alpaca_account, alpaca_market, alpaca_data, alpaca_stream,
                   alpaca_data_stream):
        app.router.add_routes(module.routes)
    return app


async def socket_manager(app: web.Application) -> AsyncIterator[None]:
    """Started first, so /ws clients get events through Redis before any Socket.IO
    client connects (python-socketio starts it at the first connection); closed
    last, since everything else may still emit while it stops."""
    start_manager(app[keys.SIO])
    yield
    await close_manager(app[keys.SIO])


async def embedded_database(app: web.Application) -> AsyncIterator[None]:
    """Start the embedded database when no MONGO_URI is configured."""
    settings = app[keys.SETTINGS]
    if settings.mongo_uri is not None:
        app[keys.MONGO_URI] = settings.mongo_uri
        yield
        return
    embedded = EmbeddedDatabase(settings.secantusd_bin, settings.data_dir)
    app[keys.MONGO_URI] = await embedded.start()
    try:
        yield
    finally:
        await embedded.stop()


async def database(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    collections = await open_collections(app[keys.MONGO_URI], settings.mongo_db)
    try:
        await ensure_indexes(collections)
        await end_abandoned_transactions(collections)
        store = Store(collections)
        await store.recover(app[keys.CLOCK]())
        app[keys.STORE] = store
        yield
    finally:
        await collections.close()


async def redis_client(app: web.Application) -> AsyncIterator[None]:
    """Redis when configured; the abuse limits count there, or in this process."""
    settings = app[keys.SETTINGS]
    if settings.redis_url is None:
        app[keys.REDIS] = None
        app[keys.LIMITS] = Limits.build(settings.limits, None, settings.redis_namespace)
        yield
        return
    client = aioredis.from_url(settings.redis_url)
    try:
        await client.ping()
        app[keys.REDIS] = client
        app[keys.LIMITS] = Limits.build(settings.limits, client, settings.redis_namespace)
        yield
    finally:
        await client.aclose()


def notifications(email: Channel | None):  # type: ignore[no-untyped-def]
    return partial(_notifications, email)


async def _notifications(email: Channel | None, app: web.Application) -> AsyncIterator[None]:
    """The outbox worker and its channels (a channel that is not configured is off)."""
    settings, store = app[keys.SETTINGS].notify, app[keys.STORE]
    channels: dict[str, Channel] = {"in_app": InAppChannel(store.inbox, UserPush(app[keys.SIO]),
                                                           app[keys.CLOCK])}
    if email is not None:
        channels["email"] = email
    elif settings.smtp_host is not None:
        channels["email"] = EmailChannel(
            settings.smtp_host, settings.smtp_port, settings.mail_from,
            username=settings.smtp_username, password=settings.smtp_password,
            start_tls=settings.smtp_starttls, use_tls=settings.smtp_tls,
            timeout=settings.send_timeout)
    sms = None
    if settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from:
        sms = SmsChannel(settings.twilio_account_sid, settings.twilio_auth_token,
                         settings.twilio_from, settings.twilio_api_url)
        channels["sms"] = sms
    worker = OutboxWorker(store.outbox, store.users, channels, app[keys.CLOCK],
                          max_attempts=settings.max_attempts, retry_first=settings.retry_first,
                          retry_max=settings.retry_max, send_timeout=settings.send_timeout,
                          budget=app[keys.LIMITS].notifications)
    app[keys.OUTBOX] = worker
    worker.start()
    try:
        yield
    finally:
        await worker.stop()
        if sms is not None:
            await sms.aclose()


async def market_data(app: web.Application) -> AsyncIterator[None]:
    """Run the feeds and stream their prices to subscribed sockets."""
    streamer = PriceStreamer(app[keys.SIO], app[keys.MARKET].hub, app[keys.SETTINGS].market)
    app[keys.STREAMER] = streamer
    streamer.start()
    # With several processes the leader runs the feeds (see services/cluster.py).
    app[keys.MARKET].start(run_feeds=app[keys.REDIS] is None,
                           candles=app[keys.STORE].candles)
    try:
        yield
    finally:
        await app[keys.MARKET].stop()
        await streamer.stop()


async def forecasts(app: web.Application) -> AsyncIterator[None]:
    """Forecasts of the stored candles; their worker processes start on the first fit."""
    forecaster = Forecaster(app[keys.MARKET].candles, app[keys.SETTINGS].forecast,
                            app[keys.CLOCK])
    app[keys.FORECASTS] = forecaster
    try:
        yield
    finally:
        await forecaster.aclose()


async def trading_engine(app: web.Application) -> AsyncIterator[None]:
    """The engine and the monitor. A lone process repairs interrupted trading steps
    before its first request and runs the monitor; in a cluster the leader does both."""
    alone = app[keys.REDIS] is None
    settings = app[keys.SETTINGS].trading
    rules = AccountRules(long_margin_rate=settings.long_margin_rate,
                         short_margin_rate=settings.short_margin_rate,
                         allow_shorts=settings.allow_shorts,
                         commission_rate=settings.commission_rate,
                         slippage_rate=settings.slippage_rate, fees=settings.fees)
    events = EventPublisher(app[keys.STORE].events, app[keys.STORE].accounts, app[keys.BUS],
                            app[keys.CLOCK])
    engine = TradingEngine(app[keys.STORE], app[keys.MARKET].hub, rules, settings.initial_cash,
                           settings.currency, events, app[keys.CLOCK])
    app[keys.ENGINE] = engine
    outbox = app[keys.OUTBOX]
    alerts = AlertService(app[keys.STORE], app[keys.MARKET].hub, engine, events, outbox,
                          app[keys.CLOCK],
                          min_cooldown=app[keys.SETTINGS].limits.alert_min_cooldown)
    app[keys.ALERTS] = alerts
    notices = Notices(app[keys.STORE].users, outbox, settings.currency)
    app[keys.BUS].subscribe(TradeClosed, notices.trade_closed)
    app[keys.BUS].subscribe(OrderFilled, notices.order_filled)
    monitor = Monitor(engine, app[keys.MARKET].hub, alerts)
    if alone:
        await monitor.start()
    app[keys.BUS].subscribe(AccountDeleted, lambda deleted: monitor.forget_user(deleted.user_id))
    app[keys.MONITOR] = monitor
    try:
        yield
    finally:
        if alone:
            await monitor.stop()


async def cluster(app: web.Application) -> AsyncIterator[None]:
    """With Redis: relay ticks and trigger changes, and lead when elected."""
    redis = app[keys.REDIS]
    if redis is None:
        app[keys.CLUSTER] = None
        yield
        return
    duties = LeaderDuties(app[keys.ENGINE], app[keys.MONITOR], app[keys.MARKET])
    if (poller := app[keys.NEWS]) is not None:
        duties.also.append(poller)
    settings = app[keys.SETTINGS]
    node = Cluster(redis, app[keys.STORE].db.main, app[keys.MARKET].hub, duties,
                   settings.redis_namespace)
    duties.cluster = node
    bus = app[keys.BUS]
    # Sessions another process ended: drop this process's sockets of them.
    node.on_revoked.append(lambda ids: bus.publish(SessionsEnded(ids, announce=False)))
    bus.subscribe(SessionsEnded, lambda ended: node.announce_revoked(ended.session_ids)
                  if ended.announce else None)
    bus.subscribe(Changed, lambda changed: node.announce(changed.kind, dict(changed.document)))
    app[keys.CLUSTER] = node
    await node.start()
    try:
        yield
    finally:
        await node.stop()


def market_intel(funds: dict[str, list[Backing]]):  # type: ignore[no-untyped-def]
    return partial(_market_intel, funds)


async def _market_intel(funds: dict[str, list[Backing]],
                        app: web.Application) -> AsyncIterator[None]:
    """The screener and Fear & Greed pollers (services/intel.py): a lone process, or the
    cluster's leader, polls; the others read the stored values. Index changes go to
    every socket as `sentiment` events."""
    settings = app[keys.SETTINGS].intel
    instruments = list(app[keys.MARKET].universe.instruments.values())
    service = IntelService(settings, configured_sources(settings),
                           IntelStore(app[keys.STORE].db.main), funds,
                           trading_links(instruments), stock_symbols(instruments),
                           app[keys.CLOCK],
                           leading=lambda: (node := app.get(keys.CLUSTER)) is None
                           or node.leader)
    sio = app[keys.SIO]
    service.notify.append(lambda view: sio.emit("sentiment", view))
    alerts = app[keys.ALERTS]
    alerts.level_of = service.level
    service.on_reading.append(partial(fire_index_alerts, alerts))
    app[keys.INTEL] = service
    await service.start()
    try:
        yield
    finally:
        await service.stop()


async def portfolio_snapshots(app: web.Application) -> AsyncIterator[None]:
    """Equity snapshots (services/history.py): each process takes those of the accounts
    active on it; the leader, or a lone process, those holding open trades."""
    snapshots = Snapshots(app[keys.ENGINE], app[keys.STORE].snapshots,
                          app[keys.SETTINGS].history,
                          leading=lambda: (node := app.get(keys.CLUSTER)) is None or node.leader)
    app[keys.HISTORY] = snapshots
    app[keys.BUS].subscribe(UserEventsStored, snapshots.touch)
    app[keys.BUS].subscribe(AccountDeleted, lambda deleted: snapshots.forget(deleted.user_id))
    await snapshots.start()
    try:
        yield
    finally:
        await snapshots.stop()


async def leaderboard_passes(app: web.Application) -> AsyncIterator[None]:
    """The leaderboard (services/leaderboard.py): computed by the leader, or a lone
    process; every process answers its reads."""
    board = Leaderboard(app[keys.ENGINE], app[keys.SETTINGS].history,
                        leading=lambda: (node := app.get(keys.CLUSTER)) is None or node.leader)
    app[keys.BOARD] = board
    await board.start()
    try:
        yield
    finally:
        await board.stop()


def auth_service(gateway: SocketGateway):  # type: ignore[no-untyped-def]
    async def context(app: web.Application) -> AsyncIterator[None]:
        settings = app[keys.SETTINGS]
        executor = ThreadPoolExecutor(max_workers=os.cpu_count() or 1,
                                      thread_name_prefix="bcrypt")
        codec = TokenCodec(resolve_jwt_secret(settings), settings.access_token_ttl,
                           settings.refresh_token_ttl)
        auth = AuthService(app[keys.STORE], codec, PasswordHasher(settings.bcrypt_cost, executor),
                           app[keys.OUTBOX], app[keys.BUS], app[keys.CLOCK], settings.public_url,
                           settings.password_reset_ttl)
        app[keys.AUTH] = auth
        try:
            yield
        finally:
            await auth.aclose()
            executor.shutdown(wait=False, cancel_futures=True)
    return context


# -- serving ---------------------------------------------------------------


def refusal(exc: HttpProcessingError, handler: RequestHandler) -> tuple[errors.PaperDeskError,
                                                                        int]:
    """The error, and its status, for a request aiohttp's parser refused.

    Headers over a limit are 431: a LineTooLong at the field limit, or too many
    fields. The request line has a limit of its own, MAX_REQUEST_LINE_BYTES, which
    differs from MAX_HEADER_FIELD_BYTES so that the two can be told apart. The
    messages never quote the request (a header may carry a token).
    """
    if isinstance(exc, LineTooLong) and exc.args[1:2] == (handler.max_field_size,):
        return errors.HeaderTooLarge(
            f"A request header (name and value) may be at most {handler.max_field_size} "
            "bytes."), 431
    if exc.message.startswith("Too many headers"):
        return errors.HeaderTooLarge(
            f"A request may have at most {handler.max_headers} header fields."), 431
    if isinstance(exc, LineTooLong):
        return errors.InvalidInput(f"The request line may be at most {handler.max_line_size} "
                                   "bytes."), 400
    return errors.InvalidInput("The request is not valid HTTP/1.1."), 400


class JsonErrorRequestHandler(RequestHandler):
    """aiohttp's HTTP/1 connection, answering what it cannot hand to the app as JSON.

    A request its parser refuses (a header or the request line over the limit, too
    many headers, bad syntax) never reaches a route or a middleware: aiohttp answers
    it here, with a text body that quotes part of the request. This answers with
    the API's error object instead, and logs no part of the request.
    """

    def handle_error(self, request: BaseRequest, status: int = 500,
                     exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        error: errors.PaperDeskError
        if isinstance(exc, HttpProcessingError):
            error, status = refusal(exc, self)
            log.debug("refused an unparsable request from %s: %s (%s)", request.remote,
                      type(exc).__name__, status)
        else:
            # A handler's own failure or timeout, which the error middleware answers
            # before it gets here: aiohttp's last resort. Its log line is kept, and it
            # raises if a response was already begun.
            super().handle_error(request, status, exc, message)
            error = errors.Unavailable() if status == 504 else errors.PaperDeskError()
        response = error_response(error)
        response.set_status(status)
        response.force_close()
        return response


class JsonErrorServer(web.Server):
    """The app's low-level server, making JsonErrorRequestHandler connections."""

    def __call__(self) -> RequestHandler:
        return JsonErrorRequestHandler(self, loop=self._loop, **self._kwargs)


class AppRunner(web.AppRunner):
    """web.AppRunner whose connections answer requests the parser refuses in JSON."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()  # built by the app, with its handler_args
        server.__class__ = JsonErrorServer  # the same server, making our connections
        return server


def address(socket_address: tuple[str, int] | tuple[str, int, int, int]) -> str:
    """The page's address for a browser on this machine: localhost for a loopback or
    every-interface bind, the bound port (PORT=0 picks one)."""
    host, port = socket_address[0], socket_address[1]
    if host in ("127.0.0.1", "::1", "0.0.0.0", "::"):  # noqa: S104 - named, not bound
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/"


def started_up() -> None:
    """What start-up built lives as long as the process: out of the collector's sight, so
    its full collections (pauses of tens of ms) do not walk it. Once a serving process
    has started (a test process, which makes many apps, does not)."""
    gc.collect()
    gc.freeze()


async def serve(app: web.Application, host: str, port: int, *,
                access_log: logging.Logger | None = None) -> None:
    """Serve app until SIGINT or SIGTERM, as web.run_app does, with AppRunner."""
    loop, stop = asyncio.get_running_loop(), asyncio.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    for signum in signals:
        loop.add_signal_handler(signum, stop.set)
    try:
        runner = AppRunner(app, access_log=access_log, access_log_class=PathAccessLogger,
                           keepalive_timeout=75.0)
        await runner.setup()
        started_up()
        try:
            await web.TCPSite(runner, host, port).start()
            print(f"\nPaperDesk is ready: open {address(runner.addresses[0])}"
                  " (Ctrl-C stops it)\n", flush=True)
            await stop.wait()
        finally:
            await runner.cleanup()
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
