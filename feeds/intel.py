"""Market intelligence sources: CoinGecko's markets, alternative.me's Crypto Fear & Greed
Index and CNN's stock-market Fear & Greed Index, each over plain HTTP (no API key).

Each converts its payload into trading/intel.py's values at this edge. A row that is
not sane is dropped (and counted); an answer that is not JSON, not the expected shape,
too large, or has no usable row raises SourceError, as does any status but 200. A 429
(or 418) answer carries its Retry-After (capped at an hour) for the poller to honour.

    SourceError            the source refused or answered with nothing usable
      retry_after: float | None   seconds the source asked us to wait
"""

from __future__ import annotations

import json
import logging
import math
import unicodedata
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

import aiohttp

from config.intel import IntelSettings
from trading.intel import BANDS, IndexSeries, Reading, Token, classify

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 4 << 20  # CNN's year of history is ~100 KB; CoinGecko's 250 coins ~250 KB
MAX_ROWS = 5000
MAX_RETRY_AFTER = 3600.0
LARGEST = Decimal(10) ** 18  # no market cap, volume or price is larger
LARGEST_CHANGE = Decimal(10) ** 6  # percent
# CNN refuses clients that do not look like a browser on its page (HTTP 418).
USER_AGENT = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/126.0 Safari/537.36")
CNN_HEADERS = {"Referer": "https://edition.cnn.com/markets/fear-and-greed",
               "Origin": "https://edition.cnn.com"}
BAND_NAMES = {name.casefold(): name for _, name in BANDS}


class SourceError(Exception):
    """A source refused, or answered with nothing usable."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Source(Protocol):
    name: str  # "coingecko", "fng" or "cnn"

    async def fetch(self) -> Any:
        """The source's current value (list[Token] or IndexSeries); SourceError if none."""

    async def aclose(self) -> None: ...


class HttpJson:
    """GETs of JSON with a bounded body, a timeout and a browser-like User-Agent."""

    def __init__(self, label: str, timeout: float,
                 headers: dict[str, str] | None = None) -> None:
        self.label = label
        self.timeout = timeout
        self.headers = {"User-Agent": USER_AGENT, "Accept": "application/json",
                        **(headers or {})}
        self.session: aiohttp.ClientSession | None = None
        self.requests = 0

    async def get(self, url: str, params: dict[str, str] | None = None) -> Any:
        if self.session is None:
            self.session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout), headers=self.headers)
        self.requests += 1
        try:
            async with self.session.get(url, params=params, allow_redirects=False) as response:
                if response.status in (418, 429):
                    raise SourceError(f"{self.label} asked to wait (HTTP {response.status})",
                                      retry_after(response.headers.get("Retry-After")))
                if response.status != 200:
                    raise SourceError(f"{self.label} answered HTTP {response.status}")
                body = await self._body(response)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise SourceError(f"{self.label} is unreachable ({type(exc).__name__})") from None
        try:
            return json.loads(body, parse_constant=_no_constant)
        except (ValueError, RecursionError):
            raise SourceError(f"{self.label}'s answer is not JSON") from None

    async def _body(self, response: aiohttp.ClientResponse) -> bytes:
        body = bytearray()
        async for chunk in response.content.iter_chunked(64 * 1024):
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                raise SourceError(f"{self.label}'s answer is larger than {MAX_BODY_BYTES} "
                                  "bytes")
        return bytes(body)

    async def aclose(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number")


def retry_after(header: str | None) -> float:
    """Seconds a Retry-After header asks for (delay-seconds; 60 if absent or a date)."""
    try:
        seconds = float(header) if header is not None else 60.0
    except ValueError:
        seconds = 60.0
    return min(MAX_RETRY_AFTER, seconds) if math.isfinite(seconds) and seconds >= 0 else 60.0


# -- CoinGecko ------------------------------------------------------------------

class CoinGecko:
    """GET {url}/coins/markets?vs_currency=usd&order=market_cap_desc&per_page=N&page=1."""

    name = "coingecko"

    def __init__(self, url: str, *, tokens: int = 250, timeout: float = 20.0) -> None:
        self.url = url.rstrip("/")
        self.tokens = tokens
        self.http = HttpJson("CoinGecko", timeout)

    async def fetch(self) -> list[Token]:
        data = await self.http.get(f"{self.url}/coins/markets", {
            "vs_currency": "usd", "order": "market_cap_desc", "per_page": str(self.tokens),
            "page": "1", "price_change_percentage": "24h"})
        return parse_markets(data)

    async def aclose(self) -> None:
        await self.http.aclose()


def parse_markets(data: Any) -> list[Token]:
    """CoinGecko's /coins/markets rows as tokens; SourceError if none is usable."""
    if not isinstance(data, list):
        raise SourceError("CoinGecko's markets are not a list")
    tokens, skipped, seen = [], 0, set()
    for row in data[:MAX_ROWS]:
        try:
            token = _token(row)
        except (ValueError, TypeError, KeyError, AttributeError):
            skipped += 1
            continue
        if token.id not in seen:
            seen.add(token.id)
            tokens.append(token)
    if skipped:
        log.warning("skipped %d malformed CoinGecko market rows", skipped)
    if not tokens:
        raise SourceError("CoinGecko's markets have no usable row")
    return tokens


def _token(row: dict[str, Any]) -> Token:
    rank = row.get("market_cap_rank")
    if rank is not None and (isinstance(rank, bool) or not isinstance(rank, int)
                             or not 0 < rank < 10**7):
        rank = None
    change = row.get("price_change_percentage_24h")
    return Token(id=_text(row["id"], 100, "id"), symbol=_text(row["symbol"], 30, "symbol").lower(),
                 name=_text(row["name"], 100, "name"),
                 price=amount(row["current_price"], LARGEST),
                 market_cap=amount(row.get("market_cap") or 0, LARGEST),
                 volume_24h=amount(row.get("total_volume") or 0, LARGEST),
                 change_24h=None if change is None else amount(change, LARGEST_CHANGE,
                                                               signed=True),
                 rank=rank)


def _text(raw: Any, most: int, what: str) -> str:
    """A printable string of at most `most` characters (control characters dropped)."""
    if not isinstance(raw, str):
        raise TypeError(f"{what} is not a string")
    text = "".join(c for c in raw if unicodedata.category(c)[0] != "C").strip()[:most]
    if not text:
        raise ValueError(f"{what} is empty")
    return text


def amount(raw: Any, largest: Decimal, *, signed: bool = False) -> Decimal:
    """A finite number within ±largest (at least 0 unless signed), from a JSON number."""
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise TypeError("not a number")
    try:
        value = Decimal(repr(raw)) if isinstance(raw, float) else Decimal(str(raw))
    except InvalidOperation:
        raise ValueError(f"not a number: {str(raw)[:40]!r}") from None
    if not value.is_finite() or abs(value) > largest or (value < 0 and not signed):
        raise ValueError(f"out of range: {str(raw)[:40]!r}")
    return value


# -- Fear & Greed indices -------------------------------------------------------

class AlternativeMe:
    """alternative.me's Crypto Fear & Greed Index: GET {url}?limit=N&format=json."""

    name = "fng"

    def __init__(self, url: str, *, days: int = 365, timeout: float = 20.0) -> None:
        self.url = url
        self.days = days
        self.http = HttpJson("alternative.me", timeout)

    async def fetch(self) -> IndexSeries:
        return parse_fng(await self.http.get(self.url, {"limit": str(self.days),
                                                        "format": "json"}))

    async def aclose(self) -> None:
        await self.http.aclose()


def parse_fng(data: Any) -> IndexSeries:
    """{"data": [{"value": "40", "value_classification": "Fear", "timestamp": "1551157200"},
    ...], "metadata": {"error": null}}, newest first."""
    if not isinstance(data, dict):
        raise SourceError("alternative.me's answer is not an object")
    error = data.get("metadata", {}).get("error") if isinstance(data.get("metadata"),
                                                                dict) else None
    if error:
        raise SourceError(f"alternative.me reported an error: {str(error)[:200]}")
    rows = data.get("data")
    if not isinstance(rows, list):
        raise SourceError("alternative.me's answer has no data list")
    readings = []
    for row in rows[:MAX_ROWS]:
        try:
            seconds = int(str(row["timestamp"]))
            readings.append(reading(row["value"], row.get("value_classification"),
                                    datetime.fromtimestamp(seconds, UTC)))
        except (ValueError, TypeError, KeyError, OverflowError, OSError):
            continue
    return series(readings, "alternative.me", len(rows))


class CnnFearGreed:
    """CNN's stock-market Fear & Greed Index: GET {url} (the last year, daily)."""

    name = "cnn"

    def __init__(self, url: str, *, timeout: float = 20.0) -> None:
        self.url = url
        self.http = HttpJson("CNN", timeout, CNN_HEADERS)

    async def fetch(self) -> IndexSeries:
        return parse_cnn(await self.http.get(self.url))

    async def aclose(self) -> None:
        await self.http.aclose()


def parse_cnn(data: Any) -> IndexSeries:
    """{"fear_and_greed": {"score": 45.3, "rating": "neutral", "timestamp": ISO 8601},
    "fear_and_greed_historical": {"data": [{"x": epoch ms, "y": 63.8, "rating": "greed"},
    ...]}, ...}."""
    now = data.get("fear_and_greed") if isinstance(data, dict) else None
    if not isinstance(now, dict):
        raise SourceError("CNN's answer has no fear_and_greed object")
    readings = []
    try:
        readings.append(reading(now["score"], now.get("rating"),
                                datetime.fromisoformat(str(now["timestamp"]))))
    except (ValueError, TypeError, KeyError):
        raise SourceError("CNN's current fear_and_greed is malformed") from None
    past = data.get("fear_and_greed_historical")
    rows = past.get("data") if isinstance(past, dict) else None
    for row in rows[-MAX_ROWS:] if isinstance(rows, list) else []:
        try:
            millis = row["x"]
            if isinstance(millis, bool) or not isinstance(millis, int | float):
                raise TypeError("x")
            readings.append(reading(row["y"], row.get("rating"),
                                    datetime.fromtimestamp(millis / 1000, UTC)))
        except (ValueError, TypeError, KeyError, OverflowError, OSError):
            continue
    return series(readings, "CNN", 1 + (len(rows) if isinstance(rows, list) else 0))


def reading(value: Any, rating: Any, at: datetime) -> Reading:
    """A reading from a source's value (number or numeric string, 0 to 100, one decimal
    kept) and its rating, if it names a band (else the value's band). Its time keeps
    milliseconds, as the database does, so a stored reading reads back the same."""
    number = amount(value, Decimal(100)).quantize(Decimal("0.1")).normalize()
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    at = at.replace(microsecond=at.microsecond // 1000 * 1000)
    name = BAND_NAMES.get(rating.strip().casefold()) if isinstance(rating, str) else None
    return Reading(number, name or classify(number), at)


def series(readings: list[Reading], label: str, rows: int) -> IndexSeries:
    """Newest first, one per moment; SourceError if there is none."""
    if not readings:
        raise SourceError(f"{label}'s index has no usable reading")
    if len(readings) < rows:
        log.warning("skipped %d malformed %s index readings", rows - len(readings), label)
    by_time = {r.at: r for r in sorted(readings, key=lambda r: r.at)}
    ordered = sorted(by_time.values(), key=lambda r: r.at, reverse=True)
    return IndexSeries(ordered[0], tuple(ordered))



def configured_sources(settings: IntelSettings) -> list[Source]:
    """The sources INTEL_SOURCES turns on, at their configured URLs."""
    sources: list[Source] = []
    if settings.enabled("coingecko"):
        sources.append(CoinGecko(settings.coingecko_url, tokens=settings.screener_tokens,
                                 timeout=settings.timeout))
    if settings.enabled("fng"):
        sources.append(AlternativeMe(settings.fng_url, days=settings.history_days,
                                     timeout=settings.timeout))
    if settings.enabled("cnn"):
        sources.append(CnnFearGreed(settings.cnn_fng_url, timeout=settings.timeout))
    return sources
