"""Settings of the screener and the fear-and-greed sources (services/intel.py)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Protocol

from config.errors import ConfigError

SOURCES = ("coingecko", "fng", "cnn")
PROJECT_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True, slots=True)
class IntelSettings:
    # Which sources are polled (INTEL_SOURCES: "all", "none" or a list of SOURCES).
    sources: tuple[str, ...] = SOURCES
    # CoinGecko's public API (GET {url}/coins/markets), alternative.me's Crypto Fear &
    # Greed Index (GET {url}?limit=N) and CNN's stock-market index (GET {url}).
    coingecko_url: str = "https://api.coingecko.com/api/v3"
    fng_url: str = "https://api.alternative.me/fng/"
    cnn_fng_url: str = "https://production.dataviz.cnn.io/index/fearandgreed/graphdata"
    # Seconds between two polls of the screener (CoinGecko's free plan allows a few
    # calls a minute) and of each index (both change at most a few times a day).
    screener_interval: float = 300.0
    sentiment_interval: float = 900.0
    timeout: float = 20.0  # seconds one request may take
    screener_tokens: int = 250  # the largest tokens by market cap (one CoinGecko page)
    min_market_cap: Decimal = Decimal(100_000_000)  # the screener's default filter
    history_days: int = 365  # days of each index's past kept
    buy_below: Decimal = Decimal(45)
    sell_above: Decimal = Decimal(55)
    # Which funds back which token (config/funds.py checks it at start-up).
    funds_file: Path = PROJECT_ROOT / "config" / "funds.json"

    def __post_init__(self) -> None:
        unknown = [name for name in self.sources if name not in SOURCES]
        if unknown:
            raise ConfigError(f"INTEL_SOURCES: unknown source {unknown[0]!r} (all, none or "
                              f"some of {', '.join(SOURCES)}).")
        if not (10 <= self.screener_interval <= 86_400 and 10 <= self.sentiment_interval
                <= 86_400 and 1 <= self.timeout <= 300):
            raise ConfigError("SCREENER_REFRESH and SENTIMENT_REFRESH must be from 10 to "
                              "86400 seconds, INTEL_TIMEOUT from 1 to 300.")
        if not 1 <= self.screener_tokens <= 250:
            raise ConfigError("SCREENER_TOKENS must be from 1 to 250.")
        if not 1 <= self.history_days <= 3650:
            raise ConfigError("SENTIMENT_HISTORY_DAYS must be from 1 to 3650.")
        if not (self.min_market_cap.is_finite() and self.min_market_cap >= 0):
            raise ConfigError("SCREENER_MIN_MARKET_CAP must be a number of at least 0.")
        if not (self.buy_below.is_finite() and self.sell_above.is_finite()
                and 0 <= self.buy_below <= self.sell_above <= 100):
            raise ConfigError("RECOMMEND_BUY_BELOW and RECOMMEND_SELL_ABOVE must be from 0 "
                              "to 100, the first not above the second.")

    def enabled(self, source: str) -> bool:
        return source in self.sources


class Reader(Protocol):
    """How config/settings.py reads one variable (its _Reader)."""

    def optional(self, name: str) -> str | None: ...

    def text(self, name: str, default: str) -> str: ...

    def integer(self, name: str, default: int) -> int: ...

    def number(self, name: str, default: float) -> float: ...

    def decimal(self, name: str, default: Decimal) -> Decimal: ...


def intel_from_env(reader: Reader) -> IntelSettings:
    default = IntelSettings()
    raw = (reader.optional("INTEL_SOURCES") or "all").lower()
    sources = SOURCES if raw == "all" else () if raw in ("none", "off") else tuple(
        word.strip() for word in raw.split(",") if word.strip())
    return IntelSettings(
        sources=sources,
        coingecko_url=reader.text("COINGECKO_URL", default.coingecko_url).rstrip("/"),
        fng_url=reader.text("FNG_URL", default.fng_url),
        cnn_fng_url=reader.text("CNN_FNG_URL", default.cnn_fng_url),
        screener_interval=reader.number("SCREENER_REFRESH", default.screener_interval),
        sentiment_interval=reader.number("SENTIMENT_REFRESH", default.sentiment_interval),
        timeout=reader.number("INTEL_TIMEOUT", default.timeout),
        screener_tokens=reader.integer("SCREENER_TOKENS", default.screener_tokens),
        min_market_cap=reader.decimal("SCREENER_MIN_MARKET_CAP", default.min_market_cap),
        history_days=reader.integer("SENTIMENT_HISTORY_DAYS", default.history_days),
        buy_below=reader.decimal("RECOMMEND_BUY_BELOW", default.buy_below),
        sell_above=reader.decimal("RECOMMEND_SELL_ABOVE", default.sell_above),
        funds_file=Path(reader.text("FUNDS_FILE", str(default.funds_file))),
    )
