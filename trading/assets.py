"""What each instrument is and the rules its orders keep: asset class, exchange, quote
currency, tick size, lot step, minimum size and notional, fractional and short selling.

Derived from the symbol and its source (no I/O): ``.NS``/``.BO`` are Indian equities
on NSE/BSE in INR, ``^NSE...``/``^CNX...``/``^BSE...`` Indian indices in INR, other
``^`` symbols US indices in USD, symbols ending in a crypto quote asset (BTCUSDT) or
coming from Binance crypto pairs, six-letter pairs of currencies (USDINR, or Yahoo's
USDINR=X) FX pairs in their second currency, and the rest US equities in USD.

    class      exchange  currency  tick                   step      min notional  short
    us_equity  XNYS      USD       0.01 (0.0001 below $1)  1         -             yes
    in_equity  XNSE/XBOM INR       0.05                    1         -             yes
    index      XNYS/XNSE/XBOM      0.01                    1         -             yes (CFD)
    crypto     CRYPTO    quote     per pair (Binance)      per pair  5 USDT        no (spot)
    fx         FX        quote     0.0001                  1         -             yes (CFD)

FX pairs are what converts prices in other currencies into the account's
(trading/fx.py); they trade around the clock here.

Indices trade here as cash-settled CFDs on the index level, in whole units.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache

# Quote assets that mark a crypto pair, longest first so FDUSD wins over USD-like tails.
CRYPTO_QUOTES = ("FDUSD", "USDT", "USDC", "BUSD", "BTC", "ETH", "BNB")
_SEPARATORS = re.compile(r"[\s\-/_]")
ONE = Decimal(1)
CENT = Decimal("0.01")
# Currencies whose six-letter pairs are FX pairs (USDINR, EURUSD).
FIAT = frozenset({"USD", "EUR", "GBP", "JPY", "INR", "CHF", "CAD", "AUD", "NZD", "CNY",
                  "HKD", "SGD", "SEK", "NOK", "DKK", "KRW", "MXN", "BRL", "ZAR", "AED"})


class AssetClass(StrEnum):
    US_EQUITY = "us_equity"
    IN_EQUITY = "in_equity"
    INDEX = "index"
    CRYPTO = "crypto"
    FX = "fx"


class Exchange(StrEnum):
    XNYS = "XNYS"      # New York (NYSE and Nasdaq share its hours and holidays)
    XNSE = "XNSE"      # National Stock Exchange of India
    XBOM = "XBOM"      # BSE (Bombay Stock Exchange)
    CRYPTO = "CRYPTO"  # around the clock, every day
    FX = "FX"          # currency pairs: around the clock here too


@dataclass(frozen=True, slots=True)
class AssetRules:
    """One instrument's class, venue and order rules (amounts are exact decimals)."""

    asset_class: AssetClass
    exchange: Exchange
    quote_currency: str
    base_asset: str | None  # a crypto pair's base (BTC of BTCUSDT); None otherwise
    price_increment: Decimal  # the tick: limit, stop, stop-loss and target prices
    step: Decimal  # quantities are multiples of it (min_trade_increment)
    min_order_size: Decimal
    min_notional: Decimal  # quantity x price at least this (0: no minimum)
    fractionable: bool
    shortable: bool
    # US equities below $1 quote in hundredths of a cent (Reg NMS rule 612).
    sub_dollar_increment: Decimal | None = None

    def tick(self, price: Decimal) -> Decimal:
        """The price increment that applies at price."""
        if self.sub_dollar_increment is not None and price < ONE:
            return self.sub_dollar_increment
        return self.price_increment

    @property
    def quantity_decimals(self) -> int:
        """How many decimal places a quantity may have (0 for whole units)."""
        exponent = self.step.normalize().as_tuple().exponent
        return max(0, -exponent) if isinstance(exponent, int) else 0


# Binance spot filters of the pairs PaperDesk simulates by default (PRICE_FILTER
# tickSize, LOT_SIZE stepSize); other pairs get CRYPTO_DEFAULT.
_PAIRS: dict[str, tuple[Decimal, Decimal]] = {
    "BTCUSDT": (CENT, Decimal("0.00001")),
    "ETHUSDT": (CENT, Decimal("0.0001")),
    "SOLUSDT": (CENT, Decimal("0.001")),
    "BNBUSDT": (CENT, Decimal("0.001")),
}
# Any price the books keep, and six decimal places of quantity.
CRYPTO_DEFAULT = (Decimal("0.00000001"), Decimal("0.000001"))
# Binance's NOTIONAL filter, by quote asset.
_MIN_NOTIONAL = {"USDT": Decimal(5), "USDC": Decimal(5), "FDUSD": Decimal(5),
                 "BUSD": Decimal(5), "BTC": Decimal("0.0001"), "ETH": Decimal("0.001"),
                 "BNB": Decimal("0.01")}


def symbol_key(text: str) -> str:
    """The form two spellings of one symbol share: BTC-USDT, btc/usdt -> BTCUSDT."""
    return _SEPARATORS.sub("", text.strip().upper())


def crypto_quote(symbol: str) -> str | None:
    """The quote asset of a crypto pair (USDT of BTCUSDT), or None."""
    key = symbol_key(symbol)
    return next((quote for quote in CRYPTO_QUOTES
                 if key.endswith(quote) and len(key) > len(quote)), None)


def fx_pair(symbol: str) -> tuple[str, str] | None:
    """The two currencies of an FX pair (USDINR, USDINR=X: USD and INR), or None."""
    key = symbol_key(symbol)
    key = key.removesuffix("=X")
    if len(key) == 6 and key[:3] in FIAT and key[3:] in FIAT and key[:3] != key[3:]:
        return key[:3], key[3:]
    return None


@lru_cache(maxsize=4096)
def rules_for(symbol: str, source: str) -> AssetRules:
    """The rules of a configured symbol from where its prices come."""
    upper = symbol.upper()
    if upper.startswith("^"):
        if upper.startswith(("^NSE", "^CNX")):
            return _index(Exchange.XNSE, "INR")
        if upper.startswith("^BSE"):
            return _index(Exchange.XBOM, "INR")
        return _index(Exchange.XNYS, "USD")
    if upper.endswith((".NS", ".BO")):
        exchange = Exchange.XNSE if upper.endswith(".NS") else Exchange.XBOM
        return AssetRules(AssetClass.IN_EQUITY, exchange, "INR", None, Decimal("0.05"), ONE,
                          ONE, Decimal(0), fractionable=False, shortable=True)
    if (pair := fx_pair(symbol)) is not None:
        return AssetRules(AssetClass.FX, Exchange.FX, pair[1], pair[0], Decimal("0.0001"), ONE,
                          ONE, Decimal(0), fractionable=False, shortable=True)
    quote = crypto_quote(symbol)
    if quote is not None or source == "binance":
        return _crypto(symbol_key(symbol), quote)
    return AssetRules(AssetClass.US_EQUITY, Exchange.XNYS, "USD", None, CENT, ONE, ONE,
                      Decimal(0), fractionable=False, shortable=True,
                      sub_dollar_increment=Decimal("0.0001"))


def _index(exchange: Exchange, currency: str) -> AssetRules:
    return AssetRules(AssetClass.INDEX, exchange, currency, None, CENT, ONE, ONE, Decimal(0),
                      fractionable=False, shortable=True)


def _crypto(key: str, quote: str | None) -> AssetRules:
    tick, step = _PAIRS.get(key, CRYPTO_DEFAULT)
    currency = quote or "USDT"
    base = key[:-len(quote)] if quote else None
    return AssetRules(AssetClass.CRYPTO, Exchange.CRYPTO, currency, base, tick, step, step,
                      _MIN_NOTIONAL.get(currency, Decimal(0)), fractionable=True,
                      shortable=False)
