"""Exact amounts: Decimal in code, int64 fixed-point (10^-8 units) in storage."""

from __future__ import annotations

from decimal import Decimal

PLACES = 8
SCALE = 10**PLACES
_INT64 = 2**63


def to_units(value: Decimal) -> int:
    """Store an amount as an integer count of 10^-8; refuse finer or larger amounts."""
    scaled = value.scaleb(PLACES)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} has more than {PLACES} decimal places")
    units = int(scaled)
    if not -_INT64 <= units < _INT64:
        raise ValueError(f"{value} is too large to store")
    return units


def units_or_none(value: Decimal | None) -> int | None:
    """to_units, for an optional amount."""
    return None if value is None else to_units(value)


def from_units(units: int) -> Decimal:
    """The amount an integer count of 10^-8 stands for, exactly."""
    return Decimal(units).scaleb(-PLACES)


def show(value: Decimal) -> str:
    """Plain decimal text for the wire: no exponent, no trailing zeros past the point."""
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def round_money(value: Decimal) -> Decimal:
    """Round a computed amount (commission, slippage) to the storage precision."""
    return value.quantize(Decimal(1).scaleb(-PLACES))
