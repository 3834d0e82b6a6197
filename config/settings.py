"""Settings: one frozen object read from the environment once, at start-up."""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

from config.errors import ConfigError as ConfigError
from config.intel import IntelSettings, intel_from_env
from trading.fees import FeeSchedule, flat, schedule_from, typical
from trading.hours import HOURS_MODES
from trading.money import to_units

MIN_SECRET_BYTES = 32
MAX_FEE_SCHEDULE = 4096  # characters of FEE_SCHEDULE
PROJECT_ROOT = Path(__file__).resolve().parents[1]


DEFAULT_SYMBOLS = ("sim:BTCUSDT=65000,ETHUSDT=3500,SOLUSDT=150,AAPL=190,MSFT=420,"
                   "RELIANCE.NS=2900,^NSEI=22000,USDINR=83.25")


@dataclass(frozen=True, slots=True)
class CandleSettings:
    """Candles kept in the database (feeds/candles.py)."""

    # Seconds between writes of the candles that changed (a crash loses at most this).
    flush_interval: float = 10.0
    # Fetch the past of live symbols from their source (at start-up and on a first request).
    backfill: bool = True
    # Seconds one source call may take, and a request may wait for a first backfill.
    backfill_timeout: float = 20.0
    backfill_wait: float = 3.0
    # Binance's REST API (klines), and requests per second to it at most.
    binance_rest_url: str = "https://api.binance.com"
    binance_rest_rate: float = 5.0
    # Days of past the simulator draws before its start.
    sim_history_days: int = 2

    def __post_init__(self) -> None:
        if not (0 < self.flush_interval <= 3600 and 0 < self.backfill_timeout <= 3600
                and 0 <= self.backfill_wait <= 60 and 0 < self.binance_rest_rate <= 1000):
            raise ConfigError("CANDLE_FLUSH_INTERVAL and CANDLE_BACKFILL_TIMEOUT must be from "
                              "0 to 3600 seconds (not 0), CANDLE_BACKFILL_WAIT from 0 to 60, "
                              "BINANCE_REST_MAX_RATE from 0 to 1000 (not 0).")
        if not 1 <= self.sim_history_days <= 30:
            raise ConfigError("SIM_HISTORY_DAYS must be from 1 to 30.")


@dataclass(frozen=True, slots=True)
class MarketSettings:
    # Which symbol comes from which source: "sim:BTCUSDT=65000,AAPL=190;binance:ETHUSDT;
    # yfinance:^NSEI,MSFT;replay:XYZ" (sim symbols may name a start price).
    symbols: str = DEFAULT_SYMBOLS
    sim_seed: int | None = None
    sim_volatility: Decimal = Decimal("0.0005")
    sim_interval: float = 0.5
    replay_file: Path | None = None
    replay_speed: float = 1.0
    replay_loop: bool = True
    binance_url: str = "wss://stream.binance.com:9443"
    binance_stream: str = "trade"
    binance_silence: float = 30.0
    yfinance_interval: float = 15.0
    yfinance_max_rate: float = 1.0
    stale_after: timedelta = timedelta(seconds=30)
    yfinance_stale_after: timedelta = timedelta(minutes=3)
    # Updates to one client are coalesced within this window (latest price wins).
    price_window: float = 0.025
    # "coalesced" (batched per window) or "per_tick" (a room emit per tick; the baseline).
    fanout: str = "coalesced"
    max_subscriptions: int = 50
    # A client with more packets queued, or bytes unsent, than this is dropped.
    slow_client_packets: int = 500
    slow_client_bytes: int = 1024 * 1024
    watchlist_limit: int = 50
    # "enforce": market orders wait for their exchange's session and simulated stock
    # prices hold still while it is closed; "ignore": every market trades around the clock.
    hours: str = "enforce"
    candles: CandleSettings = field(default_factory=CandleSettings)

    def __post_init__(self) -> None:
        if self.fanout not in ("coalesced", "per_tick"):
            raise ConfigError("PRICE_FANOUT must be coalesced or per_tick.")
        if self.hours not in HOURS_MODES:
            raise ConfigError(f"MARKET_HOURS must be {' or '.join(HOURS_MODES)}.")
        if self.price_window <= 0 or self.sim_interval <= 0 or self.yfinance_max_rate <= 0:
            raise ConfigError("PRICE_WINDOW_MS, SIM_TICK_INTERVAL and YFINANCE_MAX_RATE "
                              "must be positive.")


@dataclass(frozen=True, slots=True)
class TradingSettings:
    initial_cash: Decimal = Decimal(100_000)
    currency: str = "USD"
    # Fraction of a trade's value held as margin (1: fully funded; 0.2: 5x leverage).
    long_margin_rate: Decimal = Decimal(1)
    short_margin_rate: Decimal = Decimal(1)
    allow_shorts: bool = True
    # Fractions of traded value / of price, e.g. 0.001 for 0.1%: every asset class's
    # fee (maker and taker) and slippage, unless fees says otherwise.
    commission_rate: Decimal = Decimal(0)
    slippage_rate: Decimal = Decimal(0)
    # Fees and slippage by asset class (FEE_SCHEDULE; trading/fees.py).
    fees: FeeSchedule | None = None

    @property
    def schedule(self) -> FeeSchedule:
        """The fees and slippage of every asset class."""
        return self.fees if self.fees is not None else flat(self.commission_rate,
                                                            self.slippage_rate)

    def __post_init__(self) -> None:
        if self.initial_cash <= 0:
            raise ConfigError("INITIAL_CASH must be positive.")
        try:
            to_units(self.initial_cash)
        except ValueError as exc:
            raise ConfigError(f"INITIAL_CASH: {exc}.") from None
        for name in ("long_margin_rate", "short_margin_rate"):
            if not 0 < getattr(self, name) <= 1:
                raise ConfigError(f"{name.upper()} must be above 0 and at most 1.")
        for name in ("commission_rate", "slippage_rate"):
            rate = getattr(self, name)
            if not rate.is_finite() or not 0 <= rate < 1:
                raise ConfigError(f"{name.upper()} must be at least 0 and below 1.")


@dataclass(frozen=True, slots=True)
class LimitSettings:
    """Abuse limits (0 turns one off). Counted in Redis when REDIS_URL is set."""

    auth_per_ip_per_minute: int = 30  # every /api/v1/auth/ route, per client address
    login_failures: int = 5  # per account and address in LOGIN_FAILURE_WINDOW
    login_failure_window: timedelta = timedelta(minutes=15)
    user_per_minute: int = 600  # authenticated REST requests per user
    socket_per_second: int = 20  # messages per socket connection
    notices_per_minute: int = 5  # POST /notifications per user
    # Socket messages per user per second, over all of the user's Socket.IO and /ws
    # connections together (each connection also keeps socket_per_second).
    socket_user_per_second: int = 40
    sockets_per_user: int = 20  # open Socket.IO and /ws connections per user
    alerts_per_user: int = 200  # active alerts per user
    open_orders_per_user: int = 200  # resting (not yet filled) orders per user
    # Notifications per user per hour over every channel (in-app, email, SMS).
    notifications_per_hour: int = 60
    # The shortest wait between two fires of a repeating alert.
    alert_min_cooldown: timedelta = timedelta(seconds=60)
    # Behind a proxy that appends the client's address to X-Forwarded-For.
    trust_forwarded_for: bool = False


@dataclass(frozen=True, slots=True)
class HistorySettings:
    """Equity snapshots (services/history.py): how often, for how long, how many at once."""

    # Each account with open trades, or with activity since the last one, gets a
    # snapshot this often (the finest step of a portfolio history).
    snapshot_interval: timedelta = timedelta(seconds=60)
    # Snapshots are kept this long (each day's last one for good): intraday
    # histories reach back a week, so keep at least that.
    snapshot_retention: timedelta = timedelta(days=8)
    # The most accounts one pass takes; the rest wait for the next pass.
    snapshots_per_pass: int = 10_000
    # The leaderboard (services/leaderboard.py) is computed this often, over at most
    # this many opted-in users; a rating needs this many days of daily returns.
    leaderboard_interval: timedelta = timedelta(minutes=5)
    leaderboard_max_users: int = 100_000
    rating_min_days: int = 7

    def __post_init__(self) -> None:
        if self.snapshot_interval < timedelta(seconds=1):
            raise ConfigError("SNAPSHOT_INTERVAL must be at least 1 second.")
        if self.snapshot_retention < self.snapshot_interval:
            raise ConfigError("SNAPSHOT_RETENTION must be at least SNAPSHOT_INTERVAL.")
        if self.snapshots_per_pass < 1:
            raise ConfigError("SNAPSHOTS_PER_PASS must be at least 1.")
        if self.leaderboard_interval < timedelta(seconds=1):
            raise ConfigError("LEADERBOARD_INTERVAL must be at least 1 second.")
        if not 1 <= self.leaderboard_max_users <= 10_000_000:
            raise ConfigError("LEADERBOARD_MAX_USERS must be from 1 to 10000000.")
        if not 2 <= self.rating_min_days <= 90:
            raise ConfigError("RATING_MIN_DAYS must be from 2 to 90.")


# Headline feeds: name=URL, comma-separated (two crypto feeds and a stock one).
DEFAULT_NEWS_FEEDS = ("coindesk=https://www.coindesk.com/arc/outboundfeeds/rss/,"
                      "cointelegraph=https://cointelegraph.com/rss,"
                      "yahoo=https://finance.yahoo.com/news/rssindex")
MAX_NEWS_FEEDS = 20
_FEED_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


def news_feeds(raw: str) -> tuple[tuple[str, str], ...]:
    """NEWS_FEEDS: "name=https://...,name=https://..." as (name, url) pairs."""
    feeds: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        name, sep, url = item.partition("=")
        name, url = name.strip().lower(), url.strip()
        if not sep or not _FEED_NAME.fullmatch(name):
            raise ConfigError(f"NEWS_FEEDS: expected name=URL (a name of letters, digits, _ "
                              f"and -), not {item[:60]!r}.")
        if not re.fullmatch(r"https?://[^\s]{1,2000}", url):
            raise ConfigError(f"NEWS_FEEDS: {name}'s URL must start with http:// or https://.")
        if name in feeds:
            raise ConfigError(f"NEWS_FEEDS names {name} twice.")
        feeds[name] = url
    if len(feeds) > MAX_NEWS_FEEDS:
        raise ConfigError(f"NEWS_FEEDS may name at most {MAX_NEWS_FEEDS} feeds.")
    return tuple(feeds.items())


@dataclass(frozen=True, slots=True)
class NewsSettings:
    """Headlines from RSS and Atom feeds (services/news.py)."""

    enabled: bool = True
    feeds: tuple[tuple[str, str], ...] = news_feeds(DEFAULT_NEWS_FEEDS)
    # Seconds between two fetches of a feed that answers (one that fails backs off).
    poll_interval: float = 300.0
    # Seconds one fetch may take, and the most bytes a feed's answer may have.
    timeout: float = 15.0
    max_bytes: int = 5 * 1024 * 1024
    # Headlines are kept this long.
    retention: timedelta = timedelta(days=30)

    def __post_init__(self) -> None:
        if not 1 <= self.poll_interval <= 86400 or not 0 < self.timeout <= 300:
            raise ConfigError("NEWS_POLL_INTERVAL must be from 1 to 86400 seconds, "
                              "NEWS_TIMEOUT above 0 and at most 300.")
        if not 1024 <= self.max_bytes <= 100 * 1024 * 1024:
            raise ConfigError("NEWS_MAX_BYTES must be from 1024 to 104857600.")


@dataclass(frozen=True, slots=True)
class ForecastSettings:
    """Forecasts (services/forecasts.py)."""

    # Closed candles a model is fitted on at most (the newest).
    window: int = 500
    # Worker processes fitting models (each takes a core while it fits: one leaves the
    # rest to the server and the database), and fits running or waiting for one at
    # most (past that a request that needs a new fit is refused, 503).
    workers: int = 1
    max_fits: int = 4
    # Seconds a request waits for a fit before it is answered 503.
    fit_timeout: float = 30.0

    def __post_init__(self) -> None:
        if not (100 <= self.window <= 5000 and 1 <= self.workers <= 64
                and self.workers <= self.max_fits <= 1024 and 0 < self.fit_timeout <= 600):
            raise ConfigError("FORECAST_WINDOW must be from 100 to 5000, FORECAST_WORKERS from "
                              "1 to 64, FORECAST_MAX_FITS from FORECAST_WORKERS to 1024 and "
                              "FORECAST_FIT_TIMEOUT from 0 to 600 seconds (not 0).")


@dataclass(frozen=True, slots=True)
class NotifySettings:
    # Email goes out through this SMTP server; unset: the email channel is off and
    # its messages are recorded as skipped.
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    # STARTTLS after connecting (None: when the server offers it), or TLS from the start.
    smtp_starttls: bool | None = None
    smtp_tls: bool = False
    mail_from: str = "PaperDesk <no-reply@localhost>"
    # SMS through Twilio; unset: the sms channel is off (messages skipped).
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = field(default=None, repr=False)
    twilio_from: str | None = None
    # Another base URL for Twilio's REST API (a regional edge, or a local stand-in).
    twilio_api_url: str | None = None
    max_attempts: int = 8
    retry_first: float = 5.0
    retry_max: float = 600.0
    send_timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    # None: start the embedded database (secantusd-rs) under data_dir.
    mongo_uri: str | None = field(default=None, repr=False)
    mongo_db: str = "paperdesk"
    data_dir: Path = Path("data")
    secantusd_bin: Path = PROJECT_ROOT / ".tools" / "bin" / "secantusd-rs"
    redis_url: str | None = field(default=None, repr=False)
    # None: embedded mode generates one and keeps it in data_dir.
    jwt_secret: str | None = field(default=None, repr=False)
    access_token_ttl: timedelta = timedelta(minutes=15)
    refresh_token_ttl: timedelta = timedelta(days=30)
    password_reset_ttl: timedelta = timedelta(minutes=30)
    bcrypt_cost: int = 12
    # Empty: same-origin only.
    cors_origins: tuple[str, ...] = ()
    socket_max_message_bytes: int = 64 * 1024
    max_request_bytes: int = 1024 * 1024
    public_url: str = "http://localhost:8000"
    # The browser page served at / (its npm packages are installed beside it).
    web_root: Path = PROJECT_ROOT / "client_examples" / "browser"
    log_level: str = "INFO"
    log_format: str = "text"  # or "json": one object per line
    market: MarketSettings = field(default_factory=MarketSettings)
    trading: TradingSettings = field(default_factory=TradingSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    history: HistorySettings = field(default_factory=HistorySettings)
    forecast: ForecastSettings = field(default_factory=ForecastSettings)
    news: NewsSettings = field(default_factory=NewsSettings)
    intel: IntelSettings = field(default_factory=IntelSettings)

    def __post_init__(self) -> None:
        if self.jwt_secret is not None and len(self.jwt_secret.encode()) < MIN_SECRET_BYTES:
            raise ConfigError(f"JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes long.")
        if not 4 <= self.bcrypt_cost <= 31:
            raise ConfigError("BCRYPT_COST must be between 4 and 31.")
        if self.log_format not in ("text", "json"):
            raise ConfigError("LOG_FORMAT must be text or json.")
        if not 0 <= self.port <= 65535:
            raise ConfigError("PORT must be between 0 and 65535.")

    @property
    def redis_namespace(self) -> str:
        """Prefix of this deployment's Redis keys and channels."""
        return f"paperdesk:{self.mongo_db}"

    @property
    def embedded(self) -> bool:
        """Whether the server runs its own database."""
        return self.mongo_uri is None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read settings from environment variables (see .env.example)."""
        env = os.environ if env is None else env
        reader, default = _Reader(env), cls()
        return cls(
            host=reader.text("HOST", default.host),
            port=reader.integer("PORT", default.port),
            mongo_uri=reader.optional("MONGO_URI"),
            mongo_db=reader.text("MONGO_DB", default.mongo_db),
            data_dir=Path(reader.text("DATA_DIR", str(default.data_dir))),
            secantusd_bin=Path(reader.text("SECANTUSD_BIN", str(default.secantusd_bin))),
            redis_url=reader.optional("REDIS_URL"),
            jwt_secret=reader.optional("JWT_SECRET"),
            access_token_ttl=reader.seconds("ACCESS_TOKEN_TTL", default.access_token_ttl),
            refresh_token_ttl=reader.seconds("REFRESH_TOKEN_TTL", default.refresh_token_ttl),
            password_reset_ttl=reader.seconds("PASSWORD_RESET_TTL", default.password_reset_ttl),
            bcrypt_cost=reader.integer("BCRYPT_COST", default.bcrypt_cost),
            cors_origins=reader.words("CORS_ORIGINS"),
            socket_max_message_bytes=reader.integer(
                "SOCKET_MAX_MESSAGE_BYTES", default.socket_max_message_bytes),
            max_request_bytes=reader.integer("MAX_REQUEST_BYTES", default.max_request_bytes),
            public_url=reader.text("PUBLIC_URL", default.public_url).rstrip("/"),
            web_root=Path(reader.text("WEB_ROOT", str(default.web_root))),
            log_level=reader.text("LOG_LEVEL", default.log_level).upper(),
            log_format=reader.text("LOG_FORMAT", default.log_format).lower(),
            market=_market_from_env(reader),
            trading=_trading_from_env(reader),
            notify=_notify_from_env(reader),
            limits=_limits_from_env(reader),
            history=_history_from_env(reader),
            forecast=_forecast_from_env(reader),
            news=_news_from_env(reader),
            intel=intel_from_env(reader),
        )


def _market_from_env(reader: _Reader) -> MarketSettings:
    default = MarketSettings()
    replay = reader.optional("REPLAY_FILE")
    return MarketSettings(
        symbols=reader.text("MARKET_SYMBOLS", default.symbols),
        sim_seed=reader.integer("SIM_SEED", 0) if reader.optional("SIM_SEED") else None,
        sim_volatility=reader.decimal("SIM_VOLATILITY", default.sim_volatility),
        sim_interval=reader.number("SIM_TICK_INTERVAL", default.sim_interval),
        replay_file=Path(replay) if replay else None,
        replay_speed=reader.number("REPLAY_SPEED", default.replay_speed),
        replay_loop=reader.flag("REPLAY_LOOP", default.replay_loop),
        binance_url=reader.text("BINANCE_WS_URL", default.binance_url),
        binance_stream=reader.text("BINANCE_STREAM", default.binance_stream),
        binance_silence=reader.number("BINANCE_SILENCE_TIMEOUT", default.binance_silence),
        yfinance_interval=reader.number("YFINANCE_POLL_INTERVAL", default.yfinance_interval),
        yfinance_max_rate=reader.number("YFINANCE_MAX_RATE", default.yfinance_max_rate),
        stale_after=reader.seconds("STALE_AFTER", default.stale_after),
        yfinance_stale_after=reader.seconds("YFINANCE_STALE_AFTER",
                                            default.yfinance_stale_after),
        price_window=reader.number("PRICE_WINDOW_MS", default.price_window * 1000) / 1000,
        fanout=reader.text("PRICE_FANOUT", default.fanout),
        max_subscriptions=reader.integer("MAX_SUBSCRIPTIONS", default.max_subscriptions),
        slow_client_packets=reader.integer("SLOW_CLIENT_PACKETS", default.slow_client_packets),
        slow_client_bytes=reader.integer("SLOW_CLIENT_BYTES", default.slow_client_bytes),
        watchlist_limit=reader.integer("WATCHLIST_LIMIT", default.watchlist_limit),
        hours=reader.text("MARKET_HOURS", default.hours).lower(),
        candles=_candles_from_env(reader),
    )


def _forecast_from_env(reader: _Reader) -> ForecastSettings:
    default = ForecastSettings()
    return ForecastSettings(
        window=reader.integer("FORECAST_WINDOW", default.window),
        workers=reader.integer("FORECAST_WORKERS", default.workers),
        max_fits=reader.integer("FORECAST_MAX_FITS", default.max_fits),
        fit_timeout=reader.number("FORECAST_FIT_TIMEOUT", default.fit_timeout),
    )


def _candles_from_env(reader: _Reader) -> CandleSettings:
    default = CandleSettings()
    return CandleSettings(
        flush_interval=reader.number("CANDLE_FLUSH_INTERVAL", default.flush_interval),
        backfill=reader.flag("CANDLE_BACKFILL", default.backfill),
        backfill_timeout=reader.number("CANDLE_BACKFILL_TIMEOUT", default.backfill_timeout),
        backfill_wait=reader.number("CANDLE_BACKFILL_WAIT", default.backfill_wait),
        binance_rest_url=reader.text("BINANCE_REST_URL", default.binance_rest_url),
        binance_rest_rate=reader.number("BINANCE_REST_MAX_RATE", default.binance_rest_rate),
        sim_history_days=reader.integer("SIM_HISTORY_DAYS", default.sim_history_days),
    )


def _trading_from_env(reader: _Reader) -> TradingSettings:
    default = TradingSettings()
    commission = reader.decimal("COMMISSION_RATE", default.commission_rate)
    slippage = reader.decimal("SLIPPAGE_RATE", default.slippage_rate)
    TradingSettings(commission_rate=commission, slippage_rate=slippage)  # refuse bad rates first
    return TradingSettings(
        initial_cash=reader.decimal("INITIAL_CASH", default.initial_cash),
        currency=reader.text("ACCOUNT_CURRENCY", default.currency).upper(),
        long_margin_rate=reader.decimal("LONG_MARGIN_RATE", default.long_margin_rate),
        short_margin_rate=reader.decimal("SHORT_MARGIN_RATE", default.short_margin_rate),
        allow_shorts=reader.flag("ALLOW_SHORTS", default.allow_shorts),
        commission_rate=commission, slippage_rate=slippage,
        fees=fee_schedule(reader.optional("FEE_SCHEDULE"), commission, slippage),
    )


def fee_schedule(raw: str | None, commission: Decimal, slippage: Decimal) -> FeeSchedule | None:
    """FEE_SCHEDULE: unset (COMMISSION_RATE and SLIPPAGE_RATE for every class), "typical"
    (trading/fees.py: typical), or a JSON object by asset class whose classes left out
    keep COMMISSION_RATE and SLIPPAGE_RATE (trading/fees.py: schedule_from)."""
    if raw is None:
        return None
    if raw.lower() == "typical":
        return typical()
    if len(raw) > MAX_FEE_SCHEDULE:
        raise ConfigError(f"FEE_SCHEDULE is longer than {MAX_FEE_SCHEDULE} characters.")
    try:
        config = json.loads(raw, parse_float=Decimal, parse_constant=_no_constant)
        return schedule_from(config, flat(commission, slippage))
    except (ValueError, RecursionError) as exc:
        why = str(exc).splitlines()[0] if str(exc) else "too deeply nested"
        raise ConfigError(f"FEE_SCHEDULE: {why} (see .env.example).") from None


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number")


def _limits_from_env(reader: _Reader) -> LimitSettings:
    default = LimitSettings()
    return LimitSettings(
        auth_per_ip_per_minute=reader.integer("RATE_AUTH_PER_IP_PER_MINUTE",
                                              default.auth_per_ip_per_minute),
        login_failures=reader.integer("RATE_LOGIN_FAILURES", default.login_failures),
        login_failure_window=reader.seconds("RATE_LOGIN_FAILURE_WINDOW",
                                            default.login_failure_window),
        user_per_minute=reader.integer("RATE_USER_PER_MINUTE", default.user_per_minute),
        socket_per_second=reader.integer("RATE_SOCKET_PER_SECOND", default.socket_per_second),
        notices_per_minute=reader.integer("RATE_NOTICES_PER_MINUTE",
                                          default.notices_per_minute),
        socket_user_per_second=reader.integer("RATE_SOCKET_USER_PER_SECOND",
                                              default.socket_user_per_second),
        sockets_per_user=reader.integer("MAX_SOCKETS_PER_USER", default.sockets_per_user),
        alerts_per_user=reader.integer("MAX_ALERTS_PER_USER", default.alerts_per_user),
        open_orders_per_user=reader.integer("MAX_OPEN_ORDERS_PER_USER",
                                            default.open_orders_per_user),
        notifications_per_hour=reader.integer("NOTIFY_PER_USER_PER_HOUR",
                                              default.notifications_per_hour),
        alert_min_cooldown=reader.seconds("ALERT_MIN_COOLDOWN", default.alert_min_cooldown),
        trust_forwarded_for=reader.flag("TRUST_X_FORWARDED_FOR", default.trust_forwarded_for),
    )


def _history_from_env(reader: _Reader) -> HistorySettings:
    default = HistorySettings()
    return HistorySettings(
        snapshot_interval=reader.seconds("SNAPSHOT_INTERVAL", default.snapshot_interval),
        snapshot_retention=reader.seconds("SNAPSHOT_RETENTION", default.snapshot_retention),
        snapshots_per_pass=reader.integer("SNAPSHOTS_PER_PASS", default.snapshots_per_pass),
        leaderboard_interval=reader.seconds("LEADERBOARD_INTERVAL",
                                            default.leaderboard_interval),
        leaderboard_max_users=reader.integer("LEADERBOARD_MAX_USERS",
                                             default.leaderboard_max_users),
        rating_min_days=reader.integer("RATING_MIN_DAYS", default.rating_min_days),
    )


def _news_from_env(reader: _Reader) -> NewsSettings:
    default = NewsSettings()
    raw = reader.optional("NEWS_FEEDS")
    return NewsSettings(
        enabled=reader.flag("NEWS_ENABLED", default.enabled),
        feeds=default.feeds if raw is None else news_feeds(raw),
        poll_interval=reader.number("NEWS_POLL_INTERVAL", default.poll_interval),
        timeout=reader.number("NEWS_TIMEOUT", default.timeout),
        max_bytes=reader.integer("NEWS_MAX_BYTES", default.max_bytes),
        retention=reader.seconds("NEWS_RETENTION", default.retention),
    )


def _notify_from_env(reader: _Reader) -> NotifySettings:
    default = NotifySettings()
    starttls = reader.optional("SMTP_STARTTLS")
    return NotifySettings(
        smtp_host=reader.optional("SMTP_HOST"),
        smtp_port=reader.integer("SMTP_PORT", default.smtp_port),
        smtp_username=reader.optional("SMTP_USERNAME"),
        smtp_password=reader.optional("SMTP_PASSWORD"),
        smtp_starttls=None if starttls is None else reader.flag("SMTP_STARTTLS", False),
        smtp_tls=reader.flag("SMTP_TLS", default.smtp_tls),
        mail_from=reader.text("MAIL_FROM", default.mail_from),
        twilio_account_sid=reader.optional("TWILIO_ACCOUNT_SID"),
        twilio_auth_token=reader.optional("TWILIO_AUTH_TOKEN"),
        twilio_from=reader.optional("TWILIO_FROM"),
        twilio_api_url=reader.optional("TWILIO_API_URL"),
        max_attempts=reader.integer("NOTIFY_MAX_ATTEMPTS", default.max_attempts),
        retry_first=reader.number("NOTIFY_RETRY_FIRST", default.retry_first),
        retry_max=reader.number("NOTIFY_RETRY_MAX", default.retry_max),
        send_timeout=reader.number("NOTIFY_SEND_TIMEOUT", default.send_timeout),
    )


@dataclass(frozen=True, slots=True)
class _Reader:
    env: Mapping[str, str]

    def optional(self, name: str) -> str | None:
        value = self.env.get(name, "").strip()
        return value or None

    def text(self, name: str, default: str) -> str:
        return self.optional(name) or default

    def integer(self, name: str, default: int) -> int:
        value = self.optional(name)
        if value is None:
            return default
        try:
            return int(value)
        except ValueError:
            raise ConfigError(f"{name} must be a whole number, not {value!r}.") from None

    def seconds(self, name: str, default: timedelta) -> timedelta:
        value = self.integer(name, int(default.total_seconds()))
        if value <= 0:
            raise ConfigError(f"{name} must be a positive number of seconds.")
        return timedelta(seconds=value)

    def number(self, name: str, default: float) -> float:
        value = self.optional(name)
        if value is None:
            return default
        try:
            return float(value)
        except ValueError:
            raise ConfigError(f"{name} must be a number, not {value!r}.") from None

    def decimal(self, name: str, default: Decimal) -> Decimal:
        value = self.optional(name)
        if value is None:
            return default
        try:
            return Decimal(value)
        except InvalidOperation:
            raise ConfigError(f"{name} must be a decimal number, not {value!r}.") from None

    def flag(self, name: str, default: bool) -> bool:
        value = self.optional(name)
        if value is None:
            return default
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name} must be true or false, not {value!r}.")

    def words(self, name: str) -> tuple[str, ...]:
        value = self.optional(name) or ""
        return tuple(word.strip() for word in value.split(",") if word.strip())


def resolve_jwt_secret(settings: Settings) -> str:
    """Return JWT_SECRET, or in embedded mode the one kept in the data folder.

    The generated secret is created once (mode 0600) so tokens survive restarts.
    """
    if settings.jwt_secret is not None:
        return settings.jwt_secret
    if not settings.embedded:
        raise ConfigError("JWT_SECRET must be set when MONGO_URI is set.")
    path = settings.data_dir / "jwt_secret"
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        secret = path.read_text().strip()
    else:
        secret = secrets.token_hex(32)
        with os.fdopen(fd, "w") as file:
            file.write(secret + "\n")
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise ConfigError(f"{path} holds a secret shorter than {MIN_SECRET_BYTES} bytes.")
    return secret
