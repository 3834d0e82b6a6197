"""PaperDesk's views as Alpaca's Trading API v2 objects (the JSON alpaca-py's models parse).

Every function takes what the native transport shows (services/views.py order_view,
position_row and account_view, handlers/assets.py asset_view and clock_view, an
activity's view, a portfolio history) and only renames, re-encodes and maps enums.

Ids: Alpaca's ids are UUIDs. A PaperDesk id (a 24-hex ObjectId) is carried inside one,
reversibly (``uuid_of``/``id_of``); an asset's id is a UUID5 of its symbol, the same on
every server.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from trading.market import Universe
from trading.money import show

View = Mapping[str, Any]

# A PaperDesk id inside a UUID: this prefix, then the 24 hex digits.
_ID_PREFIX = "00000000"
HEX_ID = re.compile(r"[0-9a-f]{24}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
                   r"[0-9a-fA-F]{12}")
ASSET_NAMESPACE = uuid.UUID("6f1b3c3e-2d0a-5d43-9a4f-70617065726b")  # "paperdesk" assets


def uuid_of(paperdesk_id: str | None) -> str | None:
    """A PaperDesk id as a UUID string (an id of another form: a UUID5 of it, one way)."""
    if paperdesk_id is None:
        return None
    if HEX_ID.fullmatch(paperdesk_id):
        return str(uuid.UUID(_ID_PREFIX + paperdesk_id))
    return str(uuid.uuid5(ASSET_NAMESPACE, f"id:{paperdesk_id}"))


def id_of(text: str) -> str | None:
    """The PaperDesk id a UUID from uuid_of carries (None: not one of ours)."""
    if len(text) > 36 or not _UUID.fullmatch(text):
        return None
    digits = text.replace("-", "").lower()
    return digits[len(_ID_PREFIX):] if digits.startswith(_ID_PREFIX) else None


def asset_id(symbol: str) -> str:
    """A symbol's stable asset id: a UUID5 of the symbol."""
    return str(uuid.uuid5(ASSET_NAMESPACE, symbol))


# -- enums --

# PaperDesk's order statuses as Alpaca's: "new" here is accepted and not yet resting
# (Alpaca's pending_new); a resting order is Alpaca's new.
ORDER_STATUS = {"new": "pending_new", "open": "new", "held": "held", "filled": "filled",
                "canceled": "canceled", "rejected": "rejected", "expired": "expired",
                "replaced": "replaced"}
# Alpaca's status filter: which PaperDesk statuses are open and which closed.
OPEN_STATUSES = ("new", "open", "held")
ASSET_CLASS = {"us_equity": "us_equity", "crypto": "crypto"}  # others: us_equity
EXCHANGE = {"XNYS": "NYSE", "CRYPTO": "CRYPTO"}  # others: Alpaca's empty exchange


def asset_class(native_class: str | None) -> str:
    """A PaperDesk asset class as Alpaca's (in_equity, index and fx trade as us_equity
    does: Alpaca has no class of theirs)."""
    return ASSET_CLASS.get(native_class or "", "us_equity")


def exchange(native_exchange: str | None) -> str:
    return EXCHANGE.get(native_exchange or "", "")


# -- encodings --

def number(text: str | None) -> float | None:
    """A decimal string as a JSON number (where Alpaca's model wants a float)."""
    if text is None:
        return None
    try:
        return float(Decimal(text))
    except (InvalidOperation, ValueError):
        return None


def _latest(*times: str | None) -> str | None:
    known = [datetime.fromisoformat(t) for t in times if t]
    return max(known).isoformat() if known else None


def _ratio(part: Decimal, whole: Decimal) -> str:
    return show((part / whole).quantize(Decimal("1E-10"))) if whole else "0"


# -- objects --

def order(view: View, native_class: str | None = None) -> dict[str, Any]:
    """An order view as Alpaca's Order (legs nested when the view nests them; ids only
    are not Alpaca's: then legs is null); native_class: its symbol's PaperDesk asset
    class (its legs share its symbol)."""
    status = view["status"]
    filled = view.get("filled_quantity") or "0"
    alpaca_status = ("partially_filled" if status == "open" and Decimal(filled) > 0
                     else ORDER_STATUS.get(status, status))
    created, ended = view["created_at"], view.get("canceled_at")
    updated = _latest(created, view.get("filled_at"), ended, view.get("stop_triggered_at"))
    legs = view.get("legs")
    symbol = view["symbol"]
    return {
        "id": uuid_of(view["id"]), "client_order_id": view["client_order_id"] or view["id"],
        "created_at": created, "updated_at": updated, "submitted_at": created,
        "filled_at": view.get("filled_at"),
        "expired_at": ended if status == "expired" else None,
        "expires_at": view.get("expires_at"),
        "canceled_at": ended if status == "canceled" else None,
        "failed_at": updated if status == "rejected" else None,
        "replaced_at": ended or updated if status == "replaced" else None,
        "replaced_by": uuid_of(view.get("replaced_by")), "replaces": uuid_of(view.get("replaces")),
        "asset_id": asset_id(symbol), "symbol": symbol,
        "asset_class": asset_class(native_class),
        "notional": None, "qty": view["quantity"],
        "filled_qty": filled, "filled_avg_price": view.get("filled_price"),
        "order_class": view.get("order_class") or "simple",
        "order_type": view["type"], "type": view["type"], "side": view["side"],
        "time_in_force": view["time_in_force"], "limit_price": view.get("limit_price"),
        "stop_price": view.get("stop_price"), "status": alpaca_status,
        "extended_hours": False,
        "legs": ([order(leg, native_class) for leg in legs]
                 if legs and isinstance(legs[0], Mapping) else None),
        "trail_percent": view.get("trail_percent"), "trail_price": view.get("trail_price"),
        "hwm": view.get("hwm"), "position_intent": None, "ratio_qty": None,
        "subtag": None, "source": None,
    }


def position(row: View, native_class: str | None, native_exchange: str | None,
             marginable: bool = False) -> dict[str, Any]:
    """A position row (services/views.py position_row) as Alpaca's Position: a short's
    qty and values are negative, as Alpaca shows them; marginable as its asset says."""
    quantity, average = Decimal(row["quantity"]), Decimal(row["average_entry"])
    short = row["side"] == "sell"
    sign = -1 if short else 1
    cost = average * quantity
    pnl = row.get("unrealized_pnl")
    value = row.get("market_value")
    return {
        "asset_id": asset_id(row["symbol"]), "symbol": row["symbol"],
        "exchange": exchange(native_exchange), "asset_class": asset_class(native_class),
        "asset_marginable": marginable, "avg_entry_price": row["average_entry"],
        "qty": show(sign * quantity), "qty_available": show(sign * quantity),
        "side": "short" if short else "long",
        "market_value": None if value is None else show(sign * Decimal(value)),
        "cost_basis": show(sign * cost), "unrealized_pl": pnl,
        "unrealized_plpc": None if pnl is None else _ratio(Decimal(pnl), cost),
        "unrealized_intraday_pl": pnl,
        "unrealized_intraday_plpc": None if pnl is None else _ratio(Decimal(pnl), cost),
        "current_price": row.get("market_price"), "lastday_price": None, "change_today": None,
    }


def account(view: View, user_id: str, created_at: str | None, positions: Sequence[View],
            shorting_enabled: bool, multiplier: str = "1") -> dict[str, Any]:
    """The account view (services/views.py account_view) as Alpaca's TradeAccount;
    positions: its Alpaca positions (for the long and short market values)."""
    long_value = sum((Decimal(p["market_value"]) for p in positions
                      if p["side"] == "long" and p["market_value"] is not None), Decimal(0))
    short_value = sum((Decimal(p["market_value"]) for p in positions
                       if p["side"] == "short" and p["market_value"] is not None), Decimal(0))
    available, margin = view["available"], view["margin_used"]
    return {
        "id": uuid_of(user_id), "account_number": f"PD{user_id[-10:].upper()}",
        "status": "ACTIVE", "crypto_status": "ACTIVE", "currency": view["currency"],
        "buying_power": available, "regt_buying_power": available,
        "daytrading_buying_power": available, "non_marginable_buying_power": available,
        "effective_buying_power": available,
        "cash": view["cash"], "accrued_fees": "0", "pending_transfer_in": "0",
        "pending_transfer_out": "0", "portfolio_value": view["equity"],
        "pattern_day_trader": False, "trading_blocked": False, "transfers_blocked": True,
        "account_blocked": False, "created_at": created_at, "trade_suspended_by_user": False,
        "multiplier": multiplier, "shorting_enabled": shorting_enabled,
        "equity": view["equity"], "last_equity": view["equity"],
        "long_market_value": show(long_value), "short_market_value": show(short_value),
        "initial_margin": margin, "maintenance_margin": margin,
        "last_maintenance_margin": margin, "sma": "0", "daytrade_count": 0,
        "balance_asof": None, "crypto_tier": None, "options_buying_power": "0",
        "options_approved_level": 0, "options_trading_level": 0,
    }


def account_configuration(stored: View | None) -> dict[str, Any]:
    """Alpaca's AccountConfiguration: the defaults, with what the user set (stored)."""
    return {"dtbp_check": "both", "fractional_trading": True, "max_margin_multiplier": "1",
            "no_shorting": False, "pdt_check": "entry", "suspend_trade": False,
            "trade_confirm_email": "all", "ptp_no_exception_entry": False,
            "max_options_trading_level": 0, **(stored or {})}


def asset(view: View) -> dict[str, Any]:
    """An asset view (handlers/assets.py asset_view) as Alpaca's Asset."""
    symbol = view["symbol"]
    return {
        "id": asset_id(symbol), "class": asset_class(view["class"]),
        "exchange": exchange(view["exchange"]), "symbol": symbol, "name": view["name"],
        "status": view["status"], "tradable": view["tradable"],
        "marginable": view["marginable"], "shortable": view["shortable"],
        "easy_to_borrow": view["easy_to_borrow"], "fractionable": view["fractionable"],
        # Decimal strings, as Alpaca sends them (never a float).
        "min_order_size": view.get("min_order_size"),
        "min_trade_increment": view.get("min_trade_increment"),
        "price_increment": view.get("price_increment"),
        "maintenance_margin_requirement": None, "attributes": [],
    }


def clock(view: View) -> dict[str, Any]:
    """A clock view (handlers/assets.py clock_view) as Alpaca's Clock: an exchange open
    around the clock has its next open now and its next close a far day."""
    now = view["timestamp"]
    return {"timestamp": now, "is_open": view["is_open"],
            "next_open": view["next_open"] or now,
            "next_close": view["next_close"] or "9999-12-31T23:59:59+00:00"}


def calendar_day(day: date, opens: datetime, closes: datetime) -> dict[str, Any]:
    """A session (times in the exchange's zone) as Alpaca's calendar day."""
    return {"date": day.isoformat(), "open": opens.strftime("%H:%M"),
            "close": closes.strftime("%H:%M"), "session_open": opens.strftime("%H%M"),
            "session_close": closes.strftime("%H%M"), "settlement_date": day.isoformat()}


# PaperDesk's activity types as Alpaca's: cash that is not a fill or fee is a cash
# journal (JNLC), the initial cash a deposit (CSD).
ACTIVITY_TYPE = {"fill": "FILL", "fee": "FEE", "pnl": "JNLC", "reset": "JNLC",
                 "adjustment": "JNLC", "transfer": "CSD"}
# Alpaca's types as PaperDesk's (TRANS: Alpaca's name for every cash transaction).
NATIVE_ACTIVITY_TYPES = {"FILL": ("fill",), "FEE": ("fee",), "CFEE": ("fee",),
                         "JNLC": ("pnl", "reset", "adjustment"), "CSD": ("transfer",),
                         "TRANS": ("transfer",)}
# Every activity type Alpaca names (a filter on one PaperDesk has none of finds none).
ALPACA_ACTIVITY_TYPES = frozenset({
    "FILL", "ACATC", "ACATS", "CFEE", "CIL", "CSD", "CSR", "CSW", "DIV", "DIVCGL", "DIVCGS",
    "DIVFEE", "DIVFT", "DIVNRA", "DIVROC", "DIVTW", "DIVTXEX", "DIVWH", "EXTRD", "FEE",
    "FXTRD", "INT", "INTNRA", "INTTW", "INTPNL", "JNL", "JNLC", "JNLS", "MA", "MEM", "NC",
    "OCT", "OPASN", "OPCSH", "OPEXC", "OPEXP", "OPTRD", "PTC", "PTR", "REORG", "SPIN",
    "SPLIT", "SWP", "TRANS", "VOF", "WH"})


def _activity_id(view: View) -> str:
    at = datetime.fromisoformat(view["transaction_time"])
    return f"{at.strftime('%Y%m%d%H%M%S%f')[:17]}::{view['id']}"


def activity(view: View, user_id: str) -> dict[str, Any]:
    """An activity view (services/activities.py) as Alpaca's TradeActivity (a fill) or
    NonTradeActivity (a cash movement). A fill of a trade's own exit (a stop or target
    level, not an order) names its trade in order_id."""
    kind = ACTIVITY_TYPE[view["activity_type"]]
    common = {"id": _activity_id(view), "account_id": uuid_of(user_id), "activity_type": kind}
    if kind == "FILL":
        qty = view["qty"] or "0"
        return {**common, "transaction_time": view["transaction_time"], "type": "fill",
                "price": view["price"], "qty": qty, "side": view["side"],
                "symbol": view["symbol"], "leaves_qty": "0", "cum_qty": qty,
                "order_id": uuid_of(view["order_id"] or view["trade_id"]),
                "order_status": "filled"}
    return {**common, "date": view["transaction_time"][:10],
            "net_amount": view["net_amount"] or "0", "description": view["description"],
            "status": "executed", "symbol": view.get("symbol"), "qty": view.get("qty"),
            "price": view.get("price"), "per_share_amount": None}


def portfolio_history(history: View) -> dict[str, Any]:
    """A portfolio history (services/portfolio.py) as Alpaca's: numbers, not strings."""
    return {"timestamp": history["timestamp"],
            "equity": [number(v) for v in history["equity"]],
            "profit_loss": [number(v) for v in history["profit_loss"]],
            "profit_loss_pct": [number(v) for v in history["profit_loss_pct"]],
            "base_value": number(history.get("base_value")),
            "timeframe": history["timeframe"], "cashflow": {}}


WATCHLIST_NAME = "Primary Watchlist"


def watchlist(user_id: str, name: str | None, created_at: str | None, updated_at: str | None,
              assets: list[dict[str, Any]]) -> dict[str, Any]:
    """A user's watchlist (one per user: its id is the user's) as Alpaca's Watchlist;
    assets: Alpaca assets."""
    return {"id": uuid_of(user_id), "account_id": uuid_of(user_id),
            "name": name or WATCHLIST_NAME, "created_at": created_at or updated_at,
            "updated_at": updated_at or created_at, "assets": assets}


def error(code: int, message: str, **details: Any) -> dict[str, Any]:
    """Alpaca's error body."""
    return {"code": code, "message": message, **details}


# -- symbols --

# Alpaca's crypto pairs are quoted in dollars (BTC/USD); a PaperDesk server may quote
# the same pair in a dollar stablecoin. BTC/USD is the configured BTCUSD, else BTCUSDT,
# else BTCUSDC.
DOLLAR_QUOTES = ("USD", "USDT", "USDC")


def native_symbol(universe: Universe, text: str) -> str:
    """The configured symbol an Alpaca symbol names (any spelling PaperDesk takes, and
    BTC/USD or BTCUSD, as Alpaca names a crypto position, for a dollar-quoted pair), or
    UnknownSymbol."""
    if universe.knows(text):
        return universe.resolve(text)
    base, slash, quote = text.partition("/")
    if not slash and len(text) > 3 and text[-3:].upper() == "USD":
        base, slash, quote = text[:-3], "/", "USD"
    if slash and quote.strip().upper() == "USD":
        for dollar in DOLLAR_QUOTES:
            if universe.knows(base + dollar):
                return universe.resolve(base + dollar)
    return universe.resolve(text)  # raises UnknownSymbol
