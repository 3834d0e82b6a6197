"""Currencies: amounts in an instrument's quote currency turned into the account's.

The account keeps its cash in one currency (ACCOUNT_CURRENCY). A fill in another
quote currency is converted at the exchange rate of that moment: its margin and fee
when it opens, its realized PnL (and fee) when it closes, each rounded to the books'
precision (10^-8, half to even). Rates are prices of FX pairs in the universe:
USDINR is 83.25 INR for a dollar, so 1000 INR is 1000 / 83.25 USD; EURUSD is dollars
for a euro, so euros are multiplied by it. Dollar stablecoins (USDT, USDC, FDUSD,
BUSD) count as US dollars at 1, with no pair; a crypto quote asset (ETHBTC's BTC) is
converted through its USDT pair (BTCUSDT).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

from trading.money import STEP, from_units, to_units

USD_COINS = ("USDT", "USDC", "FDUSD", "BUSD")
ONE = Decimal(1)


def settles_as(currency: str) -> str:
    """The currency an amount is money in: a dollar stablecoin is USD, the rest itself."""
    return "USD" if currency in USD_COINS else currency


@dataclass(frozen=True, slots=True)
class FxRoute:
    """How amounts in currency become amounts in the account currency."""

    currency: str
    pair: str | None  # the symbol whose price is the rate; None: 1 to 1
    invert: bool = False  # True: divide by the rate (USDINR for INR into USD)
    same: bool = False  # currency is the account currency itself: nothing to record


def find_route(currency: str, account: str, symbols: Collection[str]) -> FxRoute | None:
    """The route from currency to account through a configured pair, or None if none is
    configured. Pairs are looked for as ACCOUNTQUOTE (divided by), QUOTEACCOUNT
    (multiplied), either with Yahoo's ``=X`` suffix, and QUOTEUSDT for crypto."""
    if currency == account:
        return FxRoute(currency, None, same=True)
    if settles_as(currency) == settles_as(account):
        return FxRoute(currency, None)
    names = {settles_as(currency), currency}
    targets = {settles_as(account), account}
    for name in sorted(names):
        for target in sorted(targets):
            for suffix in ("", "=X"):
                if f"{target}{name}{suffix}" in symbols:
                    return FxRoute(currency, f"{target}{name}{suffix}", invert=True)
                if f"{name}{target}{suffix}" in symbols:
                    return FxRoute(currency, f"{name}{target}{suffix}")
        if settles_as(account) == "USD":
            for coin in USD_COINS:
                if f"{name}{coin}" in symbols:
                    return FxRoute(currency, f"{name}{coin}")
    return None


def convert(amount: Decimal, rate: Decimal, invert: bool) -> Decimal:
    """amount at rate (divided by it when invert), rounded to 10^-8, half to even.

    Exact up to the rounding: worked with 80 significant digits, more than any
    amount the books keep times any rate they keep needs. A result the books cannot
    keep is refused when it is stored (trading.money.to_units).
    """
    if not rate.is_finite() or rate <= 0:
        raise ValueError(f"an exchange rate must be positive, not {rate}")
    with localcontext() as context:
        context.prec = 80
        value = amount / rate if invert else amount * rate
        return value.quantize(STEP, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True, slots=True)
class Conversion:
    """A route and the rate it had at one moment (a fill's, an exit's, or now)."""

    route: FxRoute
    rate: Decimal = ONE

    def to_account(self, amount: Decimal) -> Decimal:
        """amount (quote currency) in the account currency, rounded to 10^-8."""
        if self.route.same:
            return amount.quantize(STEP, rounding=ROUND_HALF_EVEN)
        return convert(amount, self.rate, self.route.invert)

    def record(self) -> dict[str, Any]:
        """What a document that this conversion priced stores of it (nothing when the
        currency is the account's): currency, fx_pair, fx_invert, fx_rate (units)."""
        if self.route.same:
            return {}
        return {"currency": self.route.currency, "fx_pair": self.route.pair,
                "fx_invert": self.route.invert, "fx_rate": to_units(self.rate)}

    @classmethod
    def recorded(cls, doc: Mapping[str, Any], rate_field: str = "fx_rate") -> Conversion:
        """The conversion a document stored (record), or the identity if it stored none."""
        if doc.get(rate_field) is None:
            currency = doc.get("currency")
            return IDENTITY if not currency else cls(FxRoute(currency, None, same=True))
        route = FxRoute(doc["currency"], doc.get("fx_pair"), bool(doc.get("fx_invert")))
        return cls(route, from_units(doc[rate_field]))

    def at(self, prices: Mapping[str, Decimal]) -> Conversion:
        """The same route at the latest rate in prices (this rate if there is none)."""
        pair = self.route.pair
        if pair is None or pair not in prices:
            return self
        return Conversion(self.route, prices[pair])


IDENTITY = Conversion(FxRoute("", None, same=True))
