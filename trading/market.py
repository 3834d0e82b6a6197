"""Quotes and the symbol universe: which symbols exist and where each comes from."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from trading.assets import AssetRules, rules_for
from trading.assets import symbol_key as symbol_key  # here since before trading/assets.py
from trading.errors import InvalidInput, UnknownSymbol, UnknownSymbolInput

_SYMBOL = re.compile(r"^\^?[A-Z0-9][A-Z0-9.\-=]{0,31}$")
SOURCES = ("sim", "replay", "binance", "yfinance")


@dataclass(frozen=True, slots=True)
class Quote:
    """A price for a symbol at a moment, and who said so."""

    symbol: str
    price: Decimal
    ts: datetime
    source: str

    def __post_init__(self) -> None:
        if not self.price.is_finite() or self.price <= 0:
            raise ValueError(f"price must be a positive finite number, not {self.price}")
        if self.ts.tzinfo is None:
            raise ValueError("quote times must be timezone-aware")


def parse_price(raw: object) -> Decimal:
    """Read a price from a feed payload (a string or int; floats only via their repr)."""
    try:
        price = Decimal(repr(raw)) if isinstance(raw, float) else Decimal(str(raw))
    except InvalidOperation:
        raise ValueError(f"not a price: {raw!r}") from None
    if not price.is_finite() or price <= 0:
        raise ValueError(f"not a positive price: {raw!r}")
    return price


@dataclass(frozen=True, slots=True)
class Instrument:
    symbol: str
    source: str
    # Start price for the simulator; None elsewhere.
    start: Decimal | None = None

    @property
    def rules(self) -> AssetRules:
        """Its asset class, exchange, quote currency and order rules (trading/assets.py)."""
        return rules_for(self.symbol, self.source)

    @property
    def quantity_decimals(self) -> int:
        """Decimal places a quantity may have: its step's (whole units for stocks)."""
        return self.rules.quantity_decimals


class Universe:
    """The configured symbols, looked up by any common spelling."""

    def __init__(self, instruments: Iterable[Instrument]) -> None:
        self.instruments: dict[str, Instrument] = {}
        self._by_key: dict[str, str] = {}
        for instrument in instruments:
            key = symbol_key(instrument.symbol)
            if key in self._by_key:
                raise ValueError(f"symbol {instrument.symbol} is configured twice")
            self._by_key[key] = instrument.symbol
            self.instruments[instrument.symbol] = instrument

    def knows(self, text: str) -> bool:
        """Whether text is some spelling of a configured symbol."""
        return symbol_key(text) in self._by_key

    def __contains__(self, symbol: str) -> bool:
        return symbol in self.instruments

    def __len__(self) -> int:
        return len(self.instruments)

    def resolve(self, text: str) -> str:
        """Return the configured symbol for text, or raise UnknownSymbol."""
        symbol = self._by_key.get(symbol_key(text)) if isinstance(text, str) else None
        if symbol is None:
            raise UnknownSymbol(f"Unknown symbol {str(text)[:40]!r}.",
                                details={"symbol": str(text)[:40]})
        return symbol

    def from_source(self, source: str) -> list[Instrument]:
        return [i for i in self.instruments.values() if i.source == source]

    @classmethod
    def parse(cls, spec: str) -> Universe:
        """Parse 'sim:BTCUSDT=65000,AAPL=190;binance:ETHUSDT;yfinance:^NSEI'."""
        instruments = []
        for group in filter(None, (part.strip() for part in spec.split(";"))):
            source, sep, names = group.partition(":")
            source = source.strip().lower()
            if not sep or source not in SOURCES:
                raise ValueError(f"expected <source>:<symbols> with source one of "
                                 f"{', '.join(SOURCES)}, not {group!r}")
            for item in filter(None, (name.strip() for name in names.split(","))):
                name, _, start = item.partition("=")
                symbol = name.strip().upper()
                if not _SYMBOL.match(symbol):
                    raise ValueError(f"not a symbol: {name!r}")
                instruments.append(Instrument(symbol, source, parse_price(start) if start
                                              else None))
        return cls(instruments)


def to_millis(moment: datetime) -> int:
    """Epoch milliseconds, the time format of market data payloads."""
    return int(moment.timestamp() * 1000)


def validate_symbols(universe: Universe, raw: object, limit: int) -> list[str]:
    """Resolve a client's list of symbols; all must be known, duplicates dropped."""
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise InvalidInput("'symbols' must be a list of strings.", field="symbols")
    if len(raw) > limit:
        raise InvalidInput(f"At most {limit} symbols at a time.", field="symbols")
    unknown = [item for item in raw if not universe.knows(item)]
    if unknown:
        shown = [item[:40] for item in unknown[:10]]
        raise UnknownSymbolInput(f"Unknown symbols: {', '.join(shown)}.", field="symbols",
                                 details={"symbols": shown})
    return list(dict.fromkeys(universe.resolve(item) for item in raw))
