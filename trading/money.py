"""Exact amounts: Decimal in code, int64 fixed-point (10^-8 units) in storage."""

from __future__ import annotations

from decimal import Decimal

from trading.errors import AmountOutOfRange

PLACES = 8
SCALE = 10**PLACES
STEP = Decimal(1).scaleb(-PLACES)
MAX_UNITS = 2**63 - 1  # the largest int64
# The largest amount the books keep: 92233720368.54775807.
LARGEST = Decimal(MAX_UNITS).scaleb(-PLACES)
RANGE = f"amounts are at most {LARGEST} in size, with at most {PLACES} decimal places"


def problem(value: Decimal) -> str | None:
    """Why value cannot be kept exactly as int64 units of 10^-8, or None if it can.

    Cheap for any value: no digits are ever expanded (1e999990 has an exponent,
    not a million digits, until something converts it to an int).
    """
    if not value.is_finite():
        return "is not a finite number"
    if value.adjusted() > LARGEST.adjusted() or abs(value) > LARGEST:
        return "is too large"
    if value != value.quantize(STEP):
        return "has too many decimal places"
    return None


def to_units(value: Decimal) -> int:
    """Store an amount as an integer count of 10^-8; refuse finer or larger amounts."""
    if (why := problem(value)) is not None:
        shown = show(value) if value.is_finite() and value.adjusted() < 40 else str(value)
        raise AmountOutOfRange(f"The amount {shown} {why}: {RANGE}.")
    return int(value.scaleb(PLACES))


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


def show_units(units: int) -> str:
    """show(from_units(units)) without a Decimal: a stored amount's wire text."""
    whole, part = divmod(abs(units), SCALE)
    sign = "-" if units < 0 else ""
    if not part:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{part:08d}".rstrip("0")
