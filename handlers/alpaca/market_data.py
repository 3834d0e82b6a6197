"""Market data in Alpaca's shapes, shared by the data REST routes and the data stream.

Symbols: a stock is asked for by its PaperDesk symbol (AAPL, RELIANCE.NS), a crypto
pair as Alpaca spells it (BTC/USD: the configured pair handlers/alpaca/shapes.py
native_symbol names) or as PaperDesk does (BTCUSDT). Answers name a symbol as it was
asked for, so a client finds what it asked for under its own key.

What PaperDesk does not have is told honestly: no volumes (a bar's v is 0, n its tick
count, vw null), no sizes (a trade's s and a quote's bs/as are 0), no exchanges. A
quote is the last price on both sides: the simulator and the feeds give one price
and no spread, so bid = ask = the last trade's price.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from handlers.alpaca.shapes import native_symbol
from trading.assets import AssetClass
from trading.candles import Candle
from trading.errors import InvalidInput, UnknownSymbol
from trading.market import Quote, Universe

MAX_SYMBOL_CHARS = 40


def _shown(text: str) -> str:
    return text[:MAX_SYMBOL_CHARS]


def is_crypto(universe: Universe, symbol: str) -> bool:
    return universe.instruments[symbol].rules.asset_class == AssetClass.CRYPTO


def _resolve(universe: Universe, text: str, crypto: bool) -> str:
    try:
        symbol = native_symbol(universe, text)
    except UnknownSymbol:
        symbol = None
    if symbol is None or is_crypto(universe, symbol) != crypto:
        kind = "crypto pair" if crypto else "stock symbol"
        raise InvalidInput(f"invalid symbol: {_shown(text)!r} is not a configured {kind}",
                           field="symbols", details={"symbol": _shown(text)})
    return symbol


def resolve_stock(universe: Universe, text: str) -> str:
    """The configured non-crypto symbol text names, or InvalidInput."""
    return _resolve(universe, text, crypto=False)


def resolve_crypto(universe: Universe, text: str) -> str:
    """The configured crypto pair an Alpaca pair (BTC/USD) or PaperDesk symbol names."""
    return _resolve(universe, text, crypto=True)


def rfc3339(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat().replace("+00:00", "Z")


def bar(candle: Candle) -> dict[str, Any]:
    """A candle as Alpaca's bar (t is its start)."""
    return {"t": rfc3339(candle.start), "o": float(candle.open), "h": float(candle.high),
            "l": float(candle.low), "c": float(candle.close), "v": 0, "n": candle.ticks,
            "vw": None}


def trade(quote: Quote) -> dict[str, Any]:
    """A price tick as Alpaca's trade (no size, no exchange, no id)."""
    return {"t": quote.ts.isoformat().replace("+00:00", "Z"), "p": float(quote.price), "s": 0}


def level_one(quote: Quote) -> dict[str, Any]:
    """A price tick as Alpaca's quote: the price on both sides (no spread, no sizes)."""
    price = float(quote.price)
    return {"t": quote.ts.isoformat().replace("+00:00", "Z"), "bp": price, "bs": 0,
            "ap": price, "as": 0}

