"""How screened tokens and index readings are stored and shown (JSON-ready plain types)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from trading.assets import AssetClass, Exchange
from trading.intel import Backing, IndexSeries, Reading, Token
from trading.market import Instrument

# Index name -> the source polled for it, and back.
INDEX_SOURCES = {"crypto": "fng", "stocks": "cnn"}
INDEX_OF = {source: index for index, source in INDEX_SOURCES.items()}
INDEX_NAMES = {"crypto": ("Crypto Fear & Greed Index", "alternative.me"),
               "stocks": ("CNN Fear & Greed Index", "CNN")}


def decimal_text(value: Decimal) -> str:
    """A plain decimal string (no exponent)."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def token_view(token: Token, funds: list[Backing], symbol: str | None) -> dict[str, Any]:
    return {"id": token.id, "symbol": token.symbol.upper(), "name": token.name,
            "price": decimal_text(token.price), "market_cap": decimal_text(token.market_cap),
            "volume_24h": decimal_text(token.volume_24h),
            "change_24h": None if token.change_24h is None else decimal_text(token.change_24h),
            "rank": token.rank, "trading_symbol": symbol,
            "funds": [{"fund": b.fund, "source": b.source} for b in funds]}


def tokens_to_doc(tokens: list[Token]) -> list[dict[str, Any]]:
    return [{"id": t.id, "symbol": t.symbol, "name": t.name, "price": str(t.price),
             "market_cap": str(t.market_cap), "volume_24h": str(t.volume_24h),
             "change_24h": None if t.change_24h is None else str(t.change_24h), "rank": t.rank}
            for t in tokens]


def tokens_from_doc(doc: list[dict[str, Any]]) -> list[Token]:
    return [Token(d["id"], d["symbol"], d["name"], Decimal(d["price"]),
                  Decimal(d["market_cap"]), Decimal(d["volume_24h"]),
                  None if d["change_24h"] is None else Decimal(d["change_24h"]), d["rank"])
            for d in doc]


def series_to_doc(series: IndexSeries) -> list[dict[str, Any]]:
    """Newest first; the first is the latest reading."""
    return [{"value": str(r.value), "classification": r.classification, "at": r.at}
            for r in series.history or (series.latest,)]


def series_from_doc(doc: list[dict[str, Any]]) -> IndexSeries:
    readings = [Reading(Decimal(d["value"]), d["classification"], _aware(d["at"]))
                for d in doc]
    return IndexSeries(readings[0], tuple(readings))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def reading_view(reading: Reading) -> dict[str, Any]:
    return {"value": float(reading.value), "classification": reading.classification,
            "timestamp": reading.at.isoformat()}


def index_view(index: str, series: IndexSeries | None, status: dict[str, Any],
               now: datetime, days: int) -> dict[str, Any]:
    """An index's latest reading (nulls before the first), status and recent past."""
    name, provider = INDEX_NAMES[index]
    latest = reading_view(series.latest) if series is not None else {
        "value": None, "classification": None, "timestamp": None}
    history = [] if series is None or days <= 0 else [
        reading_view(r) for r in series.since(now - timedelta(days=days))]
    return {"index": index, "name": name, "provider": provider, **latest, **status,
            "history": history}


def trading_links(instruments: list[Instrument]) -> dict[str, str]:
    """Token symbol (lower case) -> the configured crypto pair trading it, a USDT pair
    first."""
    links: dict[str, str] = {}
    for instrument in sorted(instruments, key=lambda i: i.rules.quote_currency != "USDT"):
        rules = instrument.rules
        if rules.asset_class is AssetClass.CRYPTO and rules.base_asset:
            links.setdefault(rules.base_asset.lower(), instrument.symbol)
    return links


def stock_symbols(instruments: list[Instrument]) -> list[str]:
    """The configured US stocks and US indices, which CNN's index speaks for."""
    return [i.symbol for i in instruments
            if i.rules.asset_class in (AssetClass.US_EQUITY, AssetClass.INDEX)
            and i.rules.exchange is Exchange.XNYS]
