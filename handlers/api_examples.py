"""Hand-written examples of the main routes, and the tag each route is listed under.

A request example is sent as written; a model's example names the fields worth
showing and is completed from its schema (handlers/examples.py). The contract
tests check every example against its schema.
"""

from __future__ import annotations

from typing import Any

# The first path segment after /api/v1 (or the path) -> the group it is listed in.
TAGS: dict[str, str] = {
    "auth": "Sign-in", "me": "Profile",
    "market": "Market data", "predict": "Market data", "assets": "Assets and hours",
    "clock": "Assets and hours", "calendar": "Assets and hours", "news": "News",
    "screener": "Screener and sentiment", "sentiment": "Screener and sentiment",
    "recommendations": "Screener and sentiment", "watchlist": "Watchlist",
    "account": "Account", "wallet": "Account", "events": "Account",
    "orders": "Orders", "trades": "Trades", "positions": "Positions", "alerts": "Alerts",
    "notifications": "Notifications", "performance": "History", "leaderboard": "History",
    "healthz": "Health", "readyz": "Health",
}
# The groups in the order the page lists them, each with a line on what it holds.
TAG_DESCRIPTIONS: dict[str, str] = {
    "Sign-in": "Register, log in, rotate tokens, passwords. Send the access token as "
               "`Authorization: Bearer <token>`.",
    "Profile": "The user, their rating.",
    "Account": "Balances, equity, the wallet and the stored events.",
    "Orders": "Place, list, replace and cancel orders.",
    "Trades": "Open trades (lots): stop-loss, target, trailing stop, exits.",
    "Positions": "Net positions, one per symbol.",
    "Alerts": "Price alerts, delivered on the user's channels.",
    "Notifications": "In-app notifications and channel preferences.",
    "Watchlist": "The user's symbols and their quotes.",
    "Market data": "Quotes, candles and forecasts (public).",
    "Assets and hours": "What trades where, when markets open.",
    "News": "Headlines for symbols.",
    "Screener and sentiment": "Crypto tokens, Fear & Greed, recommendations.",
    "History": "Activities, portfolio history, performance, the leaderboard.",
    "Health": "Liveness and readiness.",
}


HISTORY_PATHS = ("/api/v1/account/activities", "/api/v1/account/portfolio",
                 "/api/v1/account/performance", "/api/v1/me/rating")


def tag_of(path: str) -> str:
    """The group of a path (KeyError for a path no group names: add it to TAGS)."""
    if path.startswith(HISTORY_PATHS):
        return "History"
    return TAGS[path.removeprefix("/api/v1").strip("/").split("/")[0]]


USER = {"id": "665f1c2e9b1e8a3d4c5b6a70", "email": "trader@example.com",
        "email_verified": False, "name": "Trader", "phone": None,
        "created_at": "2026-01-02T14:30:00+00:00", "leaderboard": False}
ORDER = {"id": "665f1c2e9b1e8a3d4c5b6a71", "client_order_id": "my-order-1",
         "symbol": "AAPL", "side": "buy", "type": "limit", "quantity": "10",
         "limit_price": "189.5", "stop_price": None, "stop_loss": "180",
         "target_price": "210", "trailing_amount": None, "trailing_percent": None,
         "time_in_force": "day", "status": "open", "reject_reason": None,
         "reserved": "1895.95", "filled_price": None, "trade_id": None, "fee": None,
         "liquidity": None, "order_class": "simple", "parent_id": None, "leg_role": None,
         "legs": None, "filled_quantity": "0", "currency": "USD", "fx_rate": None,
         "filled_at": None, "canceled_at": None, "replaces": None, "replaced_by": None,
         "stop_triggered_at": None, "trail_price": None, "trail_percent": None, "hwm": None}
POSITION = {"symbol": "AAPL", "side": "buy", "quantity": "10", "average_entry": "189.5",
            "market_price": "192.25", "market_value": "1922.5", "unrealized_pnl": "27.5",
            "currency": "USD", "fx_rate": None, "market_value_quote": "1922.5",
            "unrealized_pnl_quote": "27.5", "trades": 1}
ALERT_REQUEST = {"symbol": "AAPL", "condition": "above", "price": "200",
                 "note": "take profit?", "channels": ["in_app"], "repeat": False}
ALERT = {"id": "665f1c2e9b1e8a3d4c5b6a72", "symbol": "AAPL", "condition": "above",
         "price": "200", "note": "take profit?", "channels": ["in_app"], "repeat": False,
         "cooldown": 60, "status": "active", "fired": 0, "triggered_at": None,
         "triggered_price": None}
ACCOUNT = {"currency": "USD", "initial_cash": "100000", "cash": "98104.05",
           "reserved": "0", "margin_used": "1895.95", "available": "96208.1",
           "realized_pnl": "0", "fees": "0.95", "unrealized_pnl": "27.5",
           "equity": "100027.5", "seq": 3}

QUOTE = {"symbol": "AAPL", "price": "192.25", "ts": 1767364200000, "source": "sim",
         "stale": False}
BALANCES = {key: ACCOUNT[key] for key in ("currency", "initial_cash", "cash", "reserved",
                                          "margin_used", "available", "realized_pnl", "fees")}
# Component schema -> the fields its example shows (the rest made from the schema).
SCHEMA_EXAMPLES: dict[str, dict[str, Any]] = {
    "User": USER, "Order": ORDER, "Position": POSITION, "Alert": ALERT, "Account": ACCOUNT,
    "Balances": BALANCES, "Quote": QUOTE,
    "TokenPair": {"access_token": "eyJhbGciOiJIUzI1NiJ9...", "refresh_token": "r1.9f8e...",
                  "token_type": "Bearer", "expires_in": 900},
}
# (method, path) -> the request body to show and send; these routes' answers carry an
# example too.
EXAMPLES: dict[tuple[str, str], dict[str, Any] | None] = {
    ("post", "/api/v1/auth/register"): {"email": "trader@example.com",
                                        "password": "correct horse battery",
                                        "name": "Trader"},
    ("post", "/api/v1/auth/login"): {"email": "trader@example.com",
                                     "password": "correct horse battery"},
    ("get", "/api/v1/account"): None,
    ("post", "/api/v1/orders"): {"symbol": "AAPL", "side": "buy", "type": "limit",
                                 "quantity": "10", "limit_price": "189.50",
                                 "stop_loss": "180", "target_price": "210",
                                 "time_in_force": "day", "client_order_id": "my-order-1"},
    ("get", "/api/v1/orders"): None,
    ("get", "/api/v1/positions"): None,
    ("get", "/api/v1/positions/{symbol}"): None,
    ("post", "/api/v1/alerts"): ALERT_REQUEST,
    ("get", "/api/v1/alerts"): None,
}


def merged(base: Any, shown: Any) -> Any:
    """base with the fields of shown put over it, object by object."""
    if isinstance(base, dict) and isinstance(shown, dict):
        return {**base, **{key: merged(base.get(key), value) for key, value in shown.items()}}
    if isinstance(base, list) and isinstance(shown, list) and base:
        return [merged(base[0], item) for item in shown]
    return shown
