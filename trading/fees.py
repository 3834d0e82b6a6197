"""What a fill costs: fees per asset class, maker or taker, and slippage.

Each asset class has one fee model and a slippage in basis points (1 bp = 0.01%):

    model      charges                                                    like
    bps        value x maker_bps or taker_bps / 10^4                      Binance spot
    per_share  quantity x per_share, at least minimum, at most max_pct%   IBKR fixed
               of the value (the cap wins over the minimum)
    india      brokerage: value x brokerage_bps / 10^4, at most           Zerodha (Kite)
               brokerage_cap; STT on the sell side; the exchange's        intraday equity
               transaction charge; SEBI's fee per crore (10^7) of value;
               GST on brokerage + exchange charge + SEBI fee; stamp duty
               on the buy side

value is price x quantity. A fee is computed exactly (Decimal, a wide context) and
each charge is rounded half-even to 10^-8, as money is stored; the india model's
total is the sum of its rounded charges. Slippage moves the price of a taker fill
against the trader; a maker fill gets none.

Maker or taker (liquidity_of): a limit order that rests until the price comes to it
is a maker; market, stop and trailing_stop orders, ioc and fok limits, a limit
order that was marketable when placed, a stop-limit filled on the tick that
triggers its stop, and every exit of a trade (manual, stop-loss, target, trailing, exit-all) take
liquidity. A stop-limit filled on a later tick rests as a limit order meanwhile:
maker.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation, localcontext
from enum import StrEnum
from functools import lru_cache
from typing import Any, Protocol

from trading.assets import AssetClass
from trading.money import STEP, show
from trading.orders import OrderType, Side, TimeInForce

BPS = Decimal(10_000)
CRORE = Decimal(10_000_000)
HUNDRED = Decimal(100)
ZERO = Decimal(0)
# Wide enough for any product of two stored amounts and a rate, exactly.
_EXACT = Context(prec=120, rounding=ROUND_HALF_EVEN)
# Largest rates and amounts a schedule takes (bps below 100%; amounts of quote currency).
MAX_BPS = Decimal(10_000)
MAX_AMOUNT = Decimal(1_000_000)


class Liquidity(StrEnum):
    MAKER = "maker"  # rested on the book until the price came to it
    TAKER = "taker"  # filled at once against the market


def liquidity_of(order_type: OrderType, time_in_force: TimeInForce,
                 marketable_when_placed: bool, triggered_before: bool) -> Liquidity:
    """Whether a fill of an order is a maker's or a taker's (module docstring)."""
    if order_type == OrderType.LIMIT and time_in_force not in (TimeInForce.IOC,
                                                                TimeInForce.FOK):
        return Liquidity.TAKER if marketable_when_placed else Liquidity.MAKER
    if order_type == OrderType.STOP_LIMIT and triggered_before:
        return Liquidity.MAKER
    return Liquidity.TAKER


def _charge(value: Decimal) -> Decimal:
    return value.quantize(STEP, context=_EXACT)


def _rate(amount: Decimal, bps: Decimal) -> Decimal:
    with localcontext(_EXACT):
        return _charge(amount * bps / BPS)


class FeeModel(Protocol):
    def charges(self, side: Side, price: Decimal, quantity: Decimal,
                liquidity: Liquidity) -> dict[str, Decimal]:
        """Each charge of a fill, rounded to 10^-8."""

    def view(self) -> dict[str, Any]:
        """The model's parameters, as text for the wire."""


@dataclass(frozen=True, slots=True)
class BpsFees:
    """A fraction of the traded value, by maker or taker."""

    maker_bps: Decimal = ZERO
    taker_bps: Decimal = ZERO

    def charges(self, side: Side, price: Decimal, quantity: Decimal,
                liquidity: Liquidity) -> dict[str, Decimal]:
        bps = self.maker_bps if liquidity == Liquidity.MAKER else self.taker_bps
        with localcontext(_EXACT):
            return {"commission": _rate(price * quantity, bps)}

    def view(self) -> dict[str, Any]:
        return {"model": "bps", "maker_bps": show(self.maker_bps),
                "taker_bps": show(self.taker_bps)}


@dataclass(frozen=True, slots=True)
class PerShareFees:
    """An amount per share (unit), with a minimum per order and a cap as a percentage
    of the order's value; the cap wins when it is below the minimum (IBKR)."""

    per_share: Decimal = Decimal("0.005")
    minimum: Decimal = Decimal(1)
    max_pct: Decimal | None = Decimal(1)

    def charges(self, side: Side, price: Decimal, quantity: Decimal,
                liquidity: Liquidity) -> dict[str, Decimal]:
        with localcontext(_EXACT):
            fee = max(quantity * self.per_share, self.minimum)
            if self.max_pct is not None:
                fee = min(fee, price * quantity * self.max_pct / HUNDRED)
            return {"commission": _charge(fee)}

    def view(self) -> dict[str, Any]:
        return {"model": "per_share", "per_share": show(self.per_share),
                "min": show(self.minimum),
                "max_pct": None if self.max_pct is None else show(self.max_pct)}


@dataclass(frozen=True, slots=True)
class IndiaFees:
    """An Indian broker's equity charges (defaults: Zerodha intraday on NSE)."""

    brokerage_bps: Decimal = Decimal(3)          # 0.03%
    brokerage_cap: Decimal = Decimal(20)         # ...or Rs 20 an order, whichever is lower
    stt_sell_bps: Decimal = Decimal("2.5")       # securities transaction tax, sell side
    exchange_bps: Decimal = Decimal("0.297")     # NSE transaction charge
    sebi_per_crore: Decimal = Decimal(10)        # Rs 10 per crore of value
    gst_pct: Decimal = Decimal(18)               # on brokerage + exchange + SEBI
    stamp_buy_bps: Decimal = Decimal("0.3")      # stamp duty, buy side

    def charges(self, side: Side, price: Decimal, quantity: Decimal,
                liquidity: Liquidity) -> dict[str, Decimal]:
        with localcontext(_EXACT):
            value = price * quantity
            brokerage = min(_rate(value, self.brokerage_bps), self.brokerage_cap)
            exchange = _rate(value, self.exchange_bps)
            sebi = _charge(value * self.sebi_per_crore / CRORE)
            return {
                "brokerage": brokerage,
                "stt": _rate(value, self.stt_sell_bps) if side == Side.SELL else ZERO,
                "exchange": exchange, "sebi": sebi,
                "gst": _charge((brokerage + exchange + sebi) * self.gst_pct / HUNDRED),
                "stamp_duty": _rate(value, self.stamp_buy_bps) if side == Side.BUY else ZERO,
            }

    def view(self) -> dict[str, Any]:
        return {"model": "india", **{name: show(getattr(self, name)) for name in _INDIA}}


_INDIA = ("brokerage_bps", "brokerage_cap", "stt_sell_bps", "exchange_bps", "sebi_per_crore",
          "gst_pct", "stamp_buy_bps")


@dataclass(frozen=True, slots=True)
class ClassFees:
    """One asset class's fee model and slippage."""

    model: FeeModel
    slippage_bps: Decimal = ZERO

    def fee(self, side: Side, price: Decimal, quantity: Decimal,
            liquidity: Liquidity) -> Decimal:
        """What a fill of quantity at price costs, rounded to 10^-8."""
        with localcontext(_EXACT):
            return sum(self.model.charges(side, price, quantity, liquidity).values(), ZERO)

    def view(self) -> dict[str, Any]:
        return {"fees": self.model.view(), "slippage_bps": show(self.slippage_bps)}


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """Every asset class's fees and slippage."""

    classes: Mapping[AssetClass, ClassFees]

    def of(self, asset_class: AssetClass) -> ClassFees:
        return self.classes[asset_class]

    def fee(self, asset_class: AssetClass, side: Side, price: Decimal, quantity: Decimal,
            liquidity: Liquidity) -> Decimal:
        return self.classes[asset_class].fee(side, price, quantity, liquidity)

    def slippage(self, asset_class: AssetClass) -> Decimal:
        """The slippage of a taker fill as a fraction of the price."""
        return self.classes[asset_class].slippage_bps / BPS


@lru_cache(maxsize=64)
def flat(commission_rate: Decimal, slippage_rate: Decimal) -> FeeSchedule:
    """One rate for every class, maker or taker (COMMISSION_RATE and SLIPPAGE_RATE)."""
    bps, slip = commission_rate * BPS, slippage_rate * BPS
    return FeeSchedule({c: ClassFees(BpsFees(bps, bps), slip) for c in AssetClass})


def typical() -> FeeSchedule:
    """What traders of each market pay: Binance spot (0.1% maker and taker), Alpaca
    (no commission on US stocks and index CFDs), Zerodha intraday (in_equity); a
    few basis points of slippage on market fills."""
    return FeeSchedule({
        AssetClass.CRYPTO: ClassFees(BpsFees(Decimal(10), Decimal(10)), Decimal(5)),
        AssetClass.US_EQUITY: ClassFees(BpsFees(), Decimal(2)),
        AssetClass.INDEX: ClassFees(BpsFees(), Decimal(2)),
        AssetClass.IN_EQUITY: ClassFees(IndiaFees(), Decimal(5)),
    })


def allocate(total: int, quantities: Sequence[int]) -> list[int]:
    """Split total (storage units) over parts in proportion to their quantities,
    exactly: each part rounded down, and what is left to the last part that has a
    quantity (to the last part if none has)."""
    if not quantities:
        return []
    whole = sum(quantities)
    shares = [total * q // whole if whole > 0 else 0 for q in quantities]
    last = max((i for i, q in enumerate(quantities) if q > 0), default=len(quantities) - 1)
    shares[last] += total - sum(shares)
    return shares


# -- configuration (FEE_SCHEDULE) -------------------------------------------------------

_FIELDS: dict[str, dict[str, str]] = {
    "bps": {"maker_bps": "maker_bps", "taker_bps": "taker_bps"},
    "per_share": {"per_share": "per_share", "min": "minimum", "max_pct": "max_pct"},
    "india": {name: name for name in _INDIA},
}
_MODELS: dict[str, type[BpsFees] | type[PerShareFees] | type[IndiaFees]] = {
    "bps": BpsFees, "per_share": PerShareFees, "india": IndiaFees}
_LIMITS = {"maker_bps": MAX_BPS, "taker_bps": MAX_BPS, "slippage_bps": MAX_BPS,
           "brokerage_bps": MAX_BPS, "stt_sell_bps": MAX_BPS, "exchange_bps": MAX_BPS,
           "stamp_buy_bps": MAX_BPS, "max_pct": HUNDRED, "gst_pct": HUNDRED,
           "sebi_per_crore": MAX_AMOUNT, "per_share": MAX_AMOUNT, "min": MAX_AMOUNT,
           "brokerage_cap": MAX_AMOUNT}
_DECIMAL = re.compile(r"[0-9]{1,20}(\.[0-9]{1,20})?", re.ASCII)


def schedule_from(config: object, default: FeeSchedule) -> FeeSchedule:
    """A schedule from FEE_SCHEDULE's parsed JSON: an object by asset class, each with
    an optional "model" (bps, per_share, india; default bps), its fields and
    slippage_bps. Classes left out keep default's. ValueError says what is wrong."""
    if not isinstance(config, Mapping):
        raise ValueError("must be a JSON object keyed by asset class")
    classes = dict(default.classes)
    for name, entry in config.items():
        if name not in list(AssetClass):
            raise ValueError(f"unknown asset class {str(name)[:40]!r} "
                             f"(one of {', '.join(AssetClass)})")
        classes[AssetClass(name)] = _class_fees(name, entry)
    return FeeSchedule(classes)


def _class_fees(name: str, entry: object) -> ClassFees:
    if not isinstance(entry, Mapping):
        raise ValueError(f"{name} must be an object")
    fields = dict(entry)
    model = fields.pop("model", "bps")
    if not isinstance(model, str) or model not in _MODELS:
        raise ValueError(f"{name}.model must be one of {', '.join(_MODELS)}")
    slippage = _number(name, "slippage_bps", fields.pop("slippage_bps", 0))
    unknown = sorted(str(key)[:40] for key in fields if key not in _FIELDS[model])
    if unknown:
        raise ValueError(f"{name}: unknown field {unknown[0]!r} for model {model} "
                         f"(fields: {', '.join(_FIELDS[model])}, slippage_bps)")
    values: dict[str, Decimal | None] = {}
    for key, value in fields.items():
        values[_FIELDS[model][key]] = (None if key == "max_pct" and value is None
                                       else _number(name, key, value))
    if values.get("max_pct") == 0:
        raise ValueError(f"{name}.max_pct must be above 0 (null: no cap)")
    return ClassFees(_MODELS[model](**values), slippage)  # type: ignore[arg-type]


def _number(name: str, key: str, raw: object) -> Decimal:
    """A rate or amount from JSON: a number or a decimal string, finite, 0 or more,
    below its limit."""
    if isinstance(raw, str) and not _DECIMAL.fullmatch(raw):
        raise ValueError(f"{name}.{key} must be a number, not {raw[:40]!r}")
    if isinstance(raw, bool) or not isinstance(raw, int | float | str | Decimal):
        raise ValueError(f"{name}.{key} must be a number")
    try:
        value = Decimal(repr(raw)) if isinstance(raw, float) else Decimal(raw)
    except (InvalidOperation, ValueError):
        raise ValueError(f"{name}.{key} must be a number, not {str(raw)[:40]!r}") from None
    limit, inclusive = _LIMITS[key], key in ("max_pct", "gst_pct")
    if not value.is_finite() or value < 0 or value > limit or (value == limit
                                                               and not inclusive):
        bound = f"at most {limit}" if inclusive else f"below {limit}"
        raise ValueError(f"{name}.{key} must be at least 0 and {bound}, "
                         f"not {str(raw)[:40]}")
    if value != value.quantize(STEP, context=_EXACT):
        raise ValueError(f"{name}.{key} has more than 8 decimal places")
    return value


