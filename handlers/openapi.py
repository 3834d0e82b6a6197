"""The OpenAPI 3.1 description of every REST route, served at /api/v1/openapi.json.

Schemas name each field and its JSON type. Money, prices and quantities are
decimal strings; times are ISO 8601 strings (market data: epoch milliseconds).
The suite fails when a route exists without a description here, and fuzzes the
server against it (tests/e2e/test_contract.py).
"""

from __future__ import annotations

from typing import Any

from handlers.api_examples import (
    EXAMPLES,
    SCHEMA_EXAMPLES,
    TAG_DESCRIPTIONS,
    merged,
    tag_of,
)
from handlers.examples import example_of
from trading.orders import OrderClass, OrderStatus, OrderType, TimeInForce

Schema = dict[str, Any]

DECIMAL: Schema = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}
MAYBE_DECIMAL: Schema = {"type": ["string", "null"], "pattern": r"^-?\d+(\.\d+)?$"}
TIME: Schema = {"type": "string"}
MAYBE_TIME: Schema = {"type": ["string", "null"]}
TEXT: Schema = {"type": "string"}
MAYBE_TEXT: Schema = {"type": ["string", "null"]}
INTEGER: Schema = {"type": "integer"}
BOOLEAN: Schema = {"type": "boolean"}
DECIMAL_IN: Schema = {"type": ["string", "number"]}  # strings keep exactness; numbers work
# A time in a query: epoch milliseconds, or ISO 8601 (2026-01-01, 2026-01-01T09:30:00Z).
TIME_PARAM: Schema = {"type": "string", "pattern": r"^([0-9]{1,15}|[0-9]{4}-[0-9]{2}-[0-9]{2}"
                      r"([T ][0-9:.]+(Z|[+-][0-9]{2}:?[0-9]{2})?)?)$"}
TIMEFRAMES = ["1m", "5m", "15m", "1h", "4h", "1d"]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(required: dict[str, Schema], optional: dict[str, Schema] | None = None) -> Schema:
    """An object with these required fields (and maybe optional ones)."""
    return {"type": "object", "required": sorted(required),
            "properties": {**required, **(optional or {})}}


def listing(name: str, item: Schema) -> Schema:
    return obj({name: {"type": "array", "items": item}})


def page(name: str, item: Schema) -> Schema:
    """A page of a list, and the cursor of the next page (null at the end)."""
    return obj({name: {"type": "array", "items": item}, "next_cursor": MAYBE_TEXT})


ORDER_TYPES = [kind.value for kind in OrderType]
TIMES_IN_FORCE = [kind.value for kind in TimeInForce]
ORDER_STATUSES = [status.value for status in OrderStatus]
ORDER_CLASSES = [kind.value for kind in OrderClass]
EXCHANGES = ["XNYS", "XNSE", "XBOM", "CRYPTO", "FX"]
# ?exchange= takes these, and common names of them, in any case.
EXCHANGE_PARAM: Schema = {"type": "string", "maxLength": 20,
                          "examples": [*EXCHANGES, "NYSE", "NASDAQ", "NSE", "BSE"]}
DATE: Schema = {"type": "string", "format": "date"}

# Where a cached answer comes from, when it was fetched, and whether it is stale (the
# source failed since, is off, or the value is old); error says why.
SOURCE_STATUS: Schema = {"source": {"enum": ["coingecko", "fng", "cnn"]}, "stale": BOOLEAN,
                         "error": MAYBE_TEXT, "updated_at": MAYBE_TIME}

SCHEMAS: dict[str, Schema] = {
    "Error": obj({"error": obj({"code": {"type": "string", "pattern": "^[a-z_]+$"},
                                "message": TEXT}, {"details": {"type": "object"}})}),
    "User": obj({"id": TEXT, "email": TEXT, "email_verified": BOOLEAN, "name": TEXT,
                 "phone": MAYBE_TEXT, "created_at": TIME, "leaderboard": BOOLEAN}),
    "ApiKey": obj({"id": TEXT, "name": TEXT, "scope": {"enum": ["trading", "read"]},
                   "key_id": {"type": "string", "pattern": "^PK[A-Z0-9]{18}$"},
                   "created_at": TIME, "last_used_at": MAYBE_TIME}),
    "TokenPair": obj({"access_token": TEXT, "refresh_token": TEXT,
                      "token_type": {"const": "Bearer"}, "expires_in": INTEGER}),
    "Quote": obj({"symbol": TEXT, "price": MAYBE_DECIMAL, "ts": {"type": ["integer", "null"]},
                  "source": TEXT, "stale": BOOLEAN}),
    "Candle": obj({"t": INTEGER, "o": DECIMAL, "h": DECIMAL, "l": DECIMAL, "c": DECIMAL,
                   "ticks": INTEGER}),
    "Forecast": obj({
        "symbol": TEXT, "timeframe": {"enum": TIMEFRAMES}, "horizon": INTEGER,
        "generated_at": TIME, "last_close": DECIMAL,
        "model": obj({"name": TEXT, "on": TEXT, "criterion": TEXT, "aicc": DECIMAL,
                      "observations": INTEGER,
                      "params": {"type": "object", "additionalProperties": DECIMAL}}),
        "points": {"type": "array", "items": obj({
            "t": INTEGER, "mean": DECIMAL, "lo80": DECIMAL, "hi80": DECIMAL, "lo95": DECIMAL,
            "hi95": DECIMAL})},
        "backtest": obj({"origins": INTEGER, "horizon": INTEGER, "mape": MAYBE_DECIMAL,
                         "mase": MAYBE_DECIMAL, "naive_mape": MAYBE_DECIMAL,
                         "naive_mase": MAYBE_DECIMAL, "beats_naive": BOOLEAN}),
        "disclaimer": TEXT}),
    "Order": obj({
        "id": TEXT, "client_order_id": TEXT, "symbol": TEXT,
        "side": {"enum": ["buy", "sell"]}, "type": {"enum": ORDER_TYPES},
        "quantity": DECIMAL, "limit_price": MAYBE_DECIMAL, "stop_price": MAYBE_DECIMAL,
        "stop_loss": MAYBE_DECIMAL, "trailing_amount": MAYBE_DECIMAL,
        "trailing_percent": MAYBE_TEXT, "target_price": MAYBE_DECIMAL,
        "time_in_force": {"enum": TIMES_IN_FORCE},
        "status": {"enum": ORDER_STATUSES},
        "reject_reason": MAYBE_TEXT, "reserved": MAYBE_DECIMAL, "filled_price": MAYBE_DECIMAL,
        "trade_id": MAYBE_TEXT, "created_at": TIME, "filled_at": MAYBE_TIME,
        "canceled_at": MAYBE_TIME, "replaces": MAYBE_TEXT, "replaced_by": MAYBE_TEXT,
        "stop_triggered_at": MAYBE_TIME, "fee": MAYBE_DECIMAL,
        "liquidity": {"enum": ["maker", "taker", None]},
        "order_class": {"enum": ORDER_CLASSES}, "parent_id": MAYBE_TEXT,
        "leg_role": {"enum": ["take_profit", "stop_loss", None]},
        # The legs' ids; nested (POST, GET one, ?nested=true): the legs themselves.
        "legs": {"type": ["array", "null"],
                 "items": {"anyOf": [TEXT, ref("Order")]}},
        "filled_quantity": MAYBE_DECIMAL,
        # The quote currency and, when it is not the account's, the rate of the fill.
        "currency": MAYBE_TEXT, "fx_rate": MAYBE_DECIMAL,
        # A trailing_stop order's trail and its best price so far (its stop_price follows).
        "trail_price": MAYBE_DECIMAL, "trail_percent": MAYBE_TEXT, "hwm": MAYBE_DECIMAL}),
    "Trade": obj({
        "id": TEXT, "order_id": TEXT, "symbol": TEXT, "side": {"enum": ["buy", "sell"]},
        "status": {"enum": ["open", "closed"]}, "quantity": DECIMAL,
        "initial_quantity": DECIMAL, "entry_price": DECIMAL, "stop_loss": MAYBE_DECIMAL,
        "target_price": MAYBE_DECIMAL, "trailing_amount": MAYBE_DECIMAL,
        "trailing_percent": MAYBE_TEXT, "margin": DECIMAL, "fees": DECIMAL,
        "realized_pnl": DECIMAL, "unrealized_pnl": MAYBE_DECIMAL,
        "unrealized_pnl_quote": MAYBE_DECIMAL, "currency": MAYBE_TEXT,
        "entry_fx_rate": MAYBE_DECIMAL,
        "close_price": MAYBE_DECIMAL, "close_reason": MAYBE_TEXT, "opened_at": TIME,
        "closed_at": MAYBE_TIME,
        "exits": {"type": "array", "items": obj({"quantity": DECIMAL, "price": DECIMAL,
                                                 "pnl": DECIMAL, "pnl_quote": MAYBE_DECIMAL,
                                                 "fx_rate": MAYBE_DECIMAL, "reason": TEXT,
                                                 "at": TIME})}}),
    "Balances": obj({"currency": TEXT, "initial_cash": DECIMAL, "cash": DECIMAL,
                     "reserved": DECIMAL, "margin_used": DECIMAL, "available": DECIMAL,
                     "realized_pnl": DECIMAL, "fees": DECIMAL}),
    "Account": {"allOf": [ref("Balances"), obj({"unrealized_pnl": DECIMAL, "equity": DECIMAL,
                                                "seq": INTEGER})]},
    "Position": obj({"symbol": TEXT, "side": {"enum": ["buy", "sell"]}, "quantity": DECIMAL,
                     "average_entry": DECIMAL, "market_price": MAYBE_DECIMAL,
                     "market_value": MAYBE_DECIMAL, "unrealized_pnl": MAYBE_DECIMAL,
                     "currency": MAYBE_TEXT, "fx_rate": MAYBE_DECIMAL,
                     "market_value_quote": MAYBE_DECIMAL, "unrealized_pnl_quote": MAYBE_DECIMAL,
                     "trades": INTEGER}),
    "Balance": obj({"asset": TEXT, "type": {"enum": ["cash", "crypto", "position"]},
                    "free": DECIMAL, "locked": DECIMAL, "total": DECIMAL},
                   {"aliases": {"type": "array", "items": TEXT}, "margin_used": DECIMAL}),
    "Alert": obj({"id": TEXT, "symbol": TEXT,
                  "condition": {"enum": ["above", "below", "crosses"]}, "price": DECIMAL,
                  "note": MAYBE_TEXT, "channels": {"type": "array", "items": TEXT},
                  "repeat": BOOLEAN, "cooldown": {"type": "number"},
                  "status": {"enum": ["active", "triggered", "cancelled"]},
                  "fired": INTEGER, "triggered_at": MAYBE_TIME,
                  "triggered_price": MAYBE_DECIMAL, "created_at": TIME}),
    "Notification": obj({"id": TEXT, "kind": TEXT, "title": TEXT, "body": TEXT,
                         "read": BOOLEAN, "created_at": MAYBE_TIME}),
    "Preferences": {"type": "object",
                    "additionalProperties": {"type": "array", "items": TEXT}},
    "Asset": obj({
        "id": TEXT, "symbol": TEXT, "name": TEXT, "status": {"const": "active"},
        "class": {"enum": ["us_equity", "in_equity", "index", "crypto", "fx"]},
        "exchange": {"enum": EXCHANGES}, "tradable": BOOLEAN, "marginable": BOOLEAN,
        "shortable": BOOLEAN, "easy_to_borrow": BOOLEAN, "fractionable": BOOLEAN,
        "quote_currency": TEXT, "base_asset": MAYBE_TEXT, "source": TEXT,
        "min_order_size": DECIMAL, "min_trade_increment": DECIMAL, "price_increment": DECIMAL,
        "min_notional": DECIMAL, "margin_rate_long": DECIMAL, "margin_rate_short": DECIMAL,
        "hours": obj({"exchange": TEXT, "timezone": TEXT, "open": TEXT, "close": TEXT,
                      "days": {"enum": ["mon-fri", "mon-sun"]}, "is_open": BOOLEAN,
                      "enforced": BOOLEAN}),
        "fees": {"oneOf": [
            obj({"model": {"const": "bps"}, "maker_bps": DECIMAL, "taker_bps": DECIMAL}),
            obj({"model": {"const": "per_share"}, "per_share": DECIMAL, "min": DECIMAL,
                 "max_pct": MAYBE_DECIMAL}),
            obj({"model": {"const": "india"}, "brokerage_bps": DECIMAL,
                 "brokerage_cap": DECIMAL, "stt_sell_bps": DECIMAL, "exchange_bps": DECIMAL,
                 "sebi_per_crore": DECIMAL, "gst_pct": DECIMAL, "stamp_buy_bps": DECIMAL})]},
        "slippage_bps": DECIMAL}),
    "Clock": obj({"exchange": TEXT, "timezone": TEXT, "timestamp": TIME, "is_open": BOOLEAN,
                  "next_open": MAYBE_TIME, "next_close": MAYBE_TIME}),
    "Headline": obj({"id": TEXT, "title": TEXT, "summary": TEXT, "link": MAYBE_TEXT,
                     "source": TEXT, "published_at": TIME,
                     "symbols": {"type": "array", "items": TEXT}}),
    "NewsSource": obj({"name": TEXT, "ok": BOOLEAN, "last_success": MAYBE_TIME},
                      {"error": TEXT}),
    "OrderRequest": obj({"symbol": TEXT, "side": {"enum": ["buy", "sell"]}}, {
        "quantity": DECIMAL_IN, "notional": DECIMAL_IN,
        "type": {"enum": ORDER_TYPES}, "limit_price": DECIMAL_IN,
        "stop_price": DECIMAL_IN, "target_price": DECIMAL_IN,
        "trailing_amount": DECIMAL_IN, "trailing_percent": DECIMAL_IN,
        "trail_price": DECIMAL_IN, "trail_percent": DECIMAL_IN,
        "time_in_force": {"enum": TIMES_IN_FORCE}, "client_order_id": TEXT,
        "order_class": {"enum": ORDER_CLASSES},
        "take_profit": obj({"limit_price": DECIMAL_IN}),
        # A price: the stop-loss level of a simple order's trade; an object: a leg.
        "stop_loss": {"anyOf": [DECIMAL_IN, obj({"stop_price": DECIMAL_IN},
                                                {"limit_price": DECIMAL_IN})]}}),
    "Token": obj({"id": TEXT, "symbol": TEXT, "name": TEXT, "price": DECIMAL,
                  "market_cap": DECIMAL, "volume_24h": DECIMAL, "change_24h": MAYBE_DECIMAL,
                  "rank": {"type": ["integer", "null"]}, "trading_symbol": MAYBE_TEXT,
                  "funds": {"type": "array", "items": obj({"fund": TEXT, "source": TEXT})}}),
    "Reading": obj({"value": {"type": "number", "minimum": 0, "maximum": 100},
                    "classification": TEXT, "timestamp": TIME}),
    "FearGreed": obj({
        "index": {"enum": ["crypto", "stocks"]}, "name": TEXT, "provider": TEXT,
        "value": {"type": ["number", "null"]}, "classification": MAYBE_TEXT,
        "timestamp": MAYBE_TIME, **SOURCE_STATUS,
        "history": {"type": "array", "items": ref("Reading")}}),
    "AlertRequest": obj({"symbol": TEXT, "condition": {"enum": ["above", "below", "crosses"]},
                         "price": DECIMAL_IN}, {
        "note": MAYBE_TEXT, "channels": {"type": "array", "items": TEXT},
        "repeat": BOOLEAN, "cooldown": {"type": "number"}}),
}

ERROR_CODES = {400: "Invalid input", 401: "Not authenticated",
               403: "Forbidden (insufficient_scope: a read-only API key changing anything; "
                    "forbidden_for_api_key: only a login may do this)",
               404: "Not found", 409: "Conflict with the current state",
               422: "Cannot be done at the current price or data",
               413: "Body too large", 429: "Rate limited", 503: "A dependency is down"}


def body(schema: Schema) -> Schema:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def answer(status: int, schema: Schema | None, description: str = "OK") -> dict[int, Schema]:
    if schema is None:
        return {status: {"description": description}}
    return {status: {"description": description,
                     "content": {"application/json": {"schema": schema}}}}


def path_param(name: str) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": TEXT}


def query(name: str, schema: Schema, description: str = "") -> Schema:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


# Who may call an authenticated route: a login's access token or an API key (as a
# bearer token or as the header pair), or (login_only) an access token alone.
BY_TOKEN_OR_KEY: list[Schema] = [{"bearer": []}, {"apiKeyId": [], "apiKeySecret": []}]
BY_LOGIN: list[Schema] = [{"bearer": []}]


def op(summary: str, responses: dict[int, Schema], *, auth: bool = True,
       login_only: bool = False, request: Schema | None = None,
       parameters: list[Schema] | None = None, errors: tuple[int, ...] = (400,)) -> Schema:
    """One operation; errors lists the error statuses besides 401/403/429/503."""
    statuses = {*errors, 429, 503} | ({401, 403} if auth else set())
    all_responses = {**responses, **{
        status: {"description": ERROR_CODES[status],
                 "content": {"application/json": {"schema": ref("Error")}}}
        for status in sorted(statuses)}}
    operation: Schema = {"summary": summary,
                         "responses": {str(k): v for k, v in all_responses.items()}}
    if auth:
        operation["security"] = BY_LOGIN if login_only else BY_TOKEN_OR_KEY
    if request is not None:
        operation["requestBody"] = body(request)
    if parameters:
        operation["parameters"] = parameters
    return operation


USER = obj({"user": ref("User")})
ORDER = obj({"order": ref("Order")})
TRADE = obj({"trade": ref("Trade")})
ALERT = obj({"alert": ref("Alert")})
ACCOUNT = obj({"account": ref("Account")})
WATCHLIST = obj({"symbols": {"type": "array", "items": TEXT},
                 "quotes": {"type": "array", "items": ref("Quote")}})
PAGE = [query("limit", {"type": "integer", "minimum": 1, "maximum": 500},
              "items per page (default 100)"),
        query("cursor", TEXT, "next_cursor of the previous page")]
AFTER = query("after", TEXT, "the last id of the previous page (cursor is preferred)")
MISSING = (400, 404)


PATHS: dict[str, dict[str, Schema]] = {
    "/api/v1/auth/register": {"post": op(
        "Create an account", answer(201, USER, "Created"), auth=False, errors=(400, 409),
        request=obj({"email": TEXT, "password": TEXT, "name": TEXT}, {"phone": MAYBE_TEXT}))},
    "/api/v1/auth/login": {"post": op(
        "Log in: a new session", answer(200, ref("TokenPair")), auth=False, errors=(400, 401),
        request=obj({"email": TEXT, "password": TEXT}))},
    "/api/v1/auth/refresh": {"post": op(
        "Rotate the refresh token", answer(200, ref("TokenPair")), auth=False,
        errors=(400, 401), request=obj({"refresh_token": TEXT}))},
    "/api/v1/auth/logout": {"post": op("End this session", answer(204, None, "Logged out"),
                                       login_only=True, errors=())},
    "/api/v1/auth/password/change": {"post": op(
        "Change the password (other sessions end; API keys stay)",
        answer(204, None, "Changed"), login_only=True,
        request=obj({"current_password": TEXT, "new_password": TEXT}), errors=(400, 401))},
    "/api/v1/auth/password/forgot": {"post": op(
        "Send a reset link if the account exists", answer(202, obj({"message": TEXT})),
        auth=False, request=obj({"email": TEXT}))},
    "/api/v1/auth/password/reset": {"post": op(
        "Set a new password with a reset token (all sessions end)",
        answer(204, None, "Reset"), auth=False,
        request=obj({"token": TEXT, "new_password": TEXT}))},
    "/api/v1/auth/verify-email": {"post": op(
        "Confirm the email address", answer(200, USER), auth=False,
        request=obj({"token": TEXT}))},
    "/api/v1/me": {
        "get": op("The user", answer(200, USER), errors=()),
        "patch": op("Change name or phone, or join or leave the leaderboard",
                    answer(200, USER),
                    request=obj({}, {"name": TEXT, "phone": MAYBE_TEXT,
                                     "leaderboard": BOOLEAN})),
        "delete": op("Delete the account and all its data", answer(204, None, "Deleted"),
                     login_only=True, request=obj({"password": TEXT}), errors=(400, 401))},
    "/api/v1/me/api-keys": {
        "post": op("Create an API key: its secret and token are shown only in this answer",
                   answer(201, {"allOf": [ref("ApiKey"), obj({
                       "secret": {"type": "string", "pattern": "^[A-Za-z0-9_-]{40}$"},
                       "token": TEXT})]}, "Created"),
                   login_only=True, errors=(400, 409),
                   request=obj({"name": {"type": "string", "minLength": 1, "maxLength": 64}},
                               {"scope": {"enum": ["trading", "read"]}})),
        "get": op("The user's API keys, newest first (never their secrets)",
                  answer(200, listing("api_keys", ref("ApiKey"))), login_only=True,
                  errors=())},
    "/api/v1/me/api-keys/{api_key_id}": {"delete": op(
        "Revoke an API key: it stops working and its sockets close",
        answer(204, None, "Revoked"), login_only=True, errors=(404,),
        parameters=[path_param("api_key_id")])},
    "/api/v1/market/symbols": {"get": op(
        "Every configured symbol's quote", answer(200, listing("symbols", ref("Quote"))),
        auth=False, errors=())},
    "/api/v1/market/quotes/{symbol}": {"get": op(
        "One quote", answer(200, ref("Quote")), auth=False, errors=(404,),
        parameters=[path_param("symbol")])},
    "/api/v1/market/candles/{symbol}": {"get": op(
        "A page of candles, oldest first: from start on (next_cursor leads forward), or "
        "without start the newest up to end (next_cursor leads back)",
        answer(200, obj({"symbol": TEXT, "timeframe": {"enum": TIMEFRAMES},
                         "interval": {"enum": TIMEFRAMES},
                         "candles": {"type": "array", "items": ref("Candle")},
                         "next_cursor": MAYBE_TEXT})),
        auth=False, errors=(400, 404),
        parameters=[path_param("symbol"),
                    query("timeframe", {"enum": TIMEFRAMES}, "default 1m"),
                    query("interval", {"enum": TIMEFRAMES}, "the old name of timeframe"),
                    query("start", TIME_PARAM, "candles starting at or after this time: "
                          "epoch milliseconds or ISO 8601 (UTC without an offset)"),
                    query("end", TIME_PARAM, "candles starting at or before this time"),
                    query("limit", {"type": "integer", "minimum": 1, "maximum": 1000},
                          "candles per page (default 100)"),
                    query("cursor", TEXT, "next_cursor of the previous page, with the same "
                          "timeframe and with (or without) start as before")])},
    "/api/v1/predict/{symbol}": {"get": op(
        "A forecast of the symbol's closes with 80 % and 95 % bands and its backtest against "
        "the naive forecast (not investment advice); 422 insufficient_history under 100 "
        "closed candles, 503 while the server fits as many as it takes",
        answer(200, ref("Forecast")), auth=False, errors=(400, 404, 422),
        parameters=[path_param("symbol"),
                    query("horizon", {"type": "integer", "minimum": 1, "maximum": 500},
                          "periods ahead (default 60)"),
                    query("timeframe", {"enum": TIMEFRAMES}, "default 1m"),
                    query("interval", {"enum": TIMEFRAMES}, "the old name of timeframe")])},
    "/api/v1/assets": {"get": op(
        "Assets (each symbol's class, exchange and order rules), by symbol, a page at a time",
        answer(200, page("assets", ref("Asset"))), auth=False,
        parameters=[query("asset_class", {"enum": ["us_equity", "in_equity", "index",
                                                   "crypto", "fx"]}),
                    query("exchange", EXCHANGE_PARAM), *PAGE])},
    "/api/v1/assets/{symbol}": {"get": op(
        "One asset, by any spelling of its symbol", answer(200, obj({"asset": ref("Asset")})),
        auth=False, errors=(404,), parameters=[path_param("symbol")])},
    "/api/v1/clock": {"get": op(
        "Whether each exchange is open, and its next open and close",
        answer(200, obj({"market_hours": {"enum": ["enforce", "ignore"]},
                         "clocks": {"type": "array", "items": ref("Clock")}})),
        auth=False, parameters=[query("exchange", EXCHANGE_PARAM)])},
    "/api/v1/calendar": {"get": op(
        "An exchange's sessions (holidays skipped, early closes kept), at most 366 days",
        answer(200, obj({"exchange": TEXT, "timezone": TEXT, "start": DATE, "end": DATE,
                         "known_until": {"type": ["string", "null"]},
                         "sessions": {"type": "array", "items": obj({
                             "date": DATE, "open": TIME, "close": TIME})}})),
        auth=False, parameters=[query("exchange", EXCHANGE_PARAM),
                                query("start", DATE, "first day (default: today)"),
                                query("end", DATE, "last day (default: start + 29 days)")])},
    "/api/v1/news": {"get": op(
        "Headlines from the configured RSS and Atom feeds, newest first, as plain text, "
        "tagged with the symbols they mention; stale when a feed's last fetch failed",
        answer(200, obj({"news": {"type": "array", "items": ref("Headline")},
                         "next_cursor": MAYBE_TEXT, "stale": BOOLEAN,
                         "sources": {"type": "array", "items": ref("NewsSource")}})),
        auth=False,
        parameters=[query("symbol", TEXT, "only headlines mentioning this symbol (any "
                          "spelling)"),
                    query("limit", {"type": "integer", "minimum": 1, "maximum": 100},
                          "headlines per page (default 20)"),
                    query("cursor", TEXT, "next_cursor of the previous page")])},
    "/api/v1/screener": {"get": op(
        "Tokens by market cap, 24 h change or volume, with the funds that back them "
        "(CoinGecko's markets, cached)",
        answer(200, obj({"tokens": {"type": "array", "items": ref("Token")},
                         "count": INTEGER, "min_market_cap": DECIMAL,
                         "sort": {"enum": ["market_cap", "change_24h", "volume"]},
                         "backed_by": MAYBE_TEXT, **SOURCE_STATUS})),
        auth=False,
        parameters=[query("min_market_cap", {"type": "string", "pattern": r"^[0-9]{1,16}"
                                             r"(\.[0-9]{1,8})?$"},
                          "US dollars, at most 10^15 (default SCREENER_MIN_MARKET_CAP, "
                          "100000000)"),
                    query("sort", {"enum": ["market_cap", "change_24h", "volume"]},
                          "largest first (default market_cap)"),
                    query("backed_by", {"type": "string", "maxLength": 100},
                          "a fund of the fund file, in any case"),
                    query("limit", {"type": "integer", "minimum": 1, "maximum": 250},
                          "tokens at most (default 250)")])},
    "/api/v1/sentiment": {"get": op(
        "The Crypto (alternative.me) and stock-market (CNN) Fear & Greed indices, cached",
        answer(200, obj({"indices": obj({"crypto": ref("FearGreed"),
                                         "stocks": ref("FearGreed")})})),
        auth=False, parameters=[query("days", {"type": "integer", "minimum": 1,
                                               "maximum": 365},
                                      "days of history (default 30)")])},
    "/api/v1/recommendations": {"get": op(
        "BUY below RECOMMEND_BUY_BELOW, SELL above RECOMMEND_SELL_ABOVE, HOLD between: the "
        "crypto index for the screener's tokens, CNN's for the configured US stocks",
        answer(200, obj({
            "thresholds": obj({"buy_below": {"type": "number"},
                               "sell_above": {"type": "number"}}),
            "indices": obj({index: {"allOf": [ref("FearGreed"), obj({
                "action": {"enum": ["BUY", "SELL", "HOLD", None]},
                "reason": MAYBE_TEXT})]} for index in ("crypto", "stocks")}),
            "recommendations": {"type": "array", "items": obj({
                "asset": TEXT, "ticker": TEXT, "name": TEXT, "symbol": MAYBE_TEXT,
                "index": {"enum": ["crypto", "stocks"]},
                "action": {"enum": ["BUY", "SELL", "HOLD"]}, "reason": TEXT,
                "stale": BOOLEAN})}})),
        auth=False, errors=())},
    "/api/v1/watchlist": {
        "get": op("The watchlist and its quotes", answer(200, WATCHLIST), errors=()),
        "put": op("Replace the watchlist", answer(200, WATCHLIST),
                  request=obj({"symbols": {"type": "array", "items": TEXT}})),
        "post": op("Add a symbol", answer(200, WATCHLIST), request=obj({"symbol": TEXT}))},
    "/api/v1/watchlist/{symbol}": {"delete": op(
        "Remove a symbol", answer(200, WATCHLIST), errors=(),
        parameters=[path_param("symbol")])},
    "/api/v1/account": {"get": op("Balances, unrealized PnL, equity and the latest event "
                                  "number", answer(200, ACCOUNT), errors=())},
    "/api/v1/account/reset": {"post": op(
        "Cancel orders, close trades, restore the initial cash", answer(200, ACCOUNT),
        errors=(409,))},
    "/api/v1/wallet": {"get": op(
        "Per-asset balances: the cash, each crypto asset held, each other position",
        answer(200, listing("balances", ref("Balance"))), errors=())},
    "/api/v1/wallet/{asset}": {"get": op(
        "One asset's balance (a dollar stablecoin is the cash of a dollar account)",
        answer(200, obj({"balance": ref("Balance")})), errors=MISSING,
        parameters=[path_param("asset")])},
    "/api/v1/orders": {
        "post": op("Place an order", answer(201, ORDER, "Placed"), request=ref("OrderRequest"),
                   errors=(400, 409, 422)),
        "get": op("Orders, newest first, a page at a time",
                  answer(200, page("orders", ref("Order"))),
                  parameters=[query("status", {"enum": ORDER_STATUSES}),
                              query("symbol", TEXT),
                              query("nested", {"enum": ["true", "false"]},
                                    "true: legs inside their parents, not listed apart"),
                              *PAGE, AFTER]),
        "delete": op("Cancel every open order",
                     answer(200, listing("orders", obj(
                         {"id": TEXT, "status": {"enum": ["canceled", "failed"]}},
                         {"order": ref("Order"), "error": obj(
                             {"code": TEXT, "message": TEXT},
                             {"details": {"type": "object"}})}))), errors=())},
    "/api/v1/orders/{order_id}": {
        "get": op("One order", answer(200, ORDER), errors=(404,),
                  parameters=[path_param("order_id")]),
        "patch": op("Replace a resting order: a new order, the old one ends replaced",
                    answer(200, obj({"order": ref("Order"), "replaced": ref("Order")})),
                    errors=(400, 404, 409, 422), parameters=[path_param("order_id")],
                    request=obj({}, {"quantity": DECIMAL_IN, "limit_price": DECIMAL_IN,
                                     "stop_price": DECIMAL_IN, "stop_loss": DECIMAL_IN,
                                     "target_price": DECIMAL_IN,
                                     "trailing_amount": DECIMAL_IN,
                                     "trailing_percent": DECIMAL_IN,
                                     "trail_price": DECIMAL_IN,
                                     "trail_percent": DECIMAL_IN,
                                     "time_in_force": {"enum": ["gtc", "day"]},
                                     "client_order_id": TEXT})),
        "delete": op("Cancel a resting order", answer(200, ORDER), errors=(404, 409),
                     parameters=[path_param("order_id")])},
    "/api/v1/trades": {"get": op(
        "Trades, newest first, a page at a time", answer(200, page("trades", ref("Trade"))),
        parameters=[query("status", {"enum": ["open", "closed"]}), query("symbol", TEXT),
                    *PAGE])},
    "/api/v1/trades/exit-all": {"post": op(
        "Close every open trade", answer(200, listing("trades", ref("Trade"))),
        errors=(409,))},
    "/api/v1/trades/{trade_id}": {"patch": op(
        "Change stop-loss, target or trailing stop (null removes)", answer(200, TRADE),
        errors=(400, 404, 409), parameters=[path_param("trade_id")],
        request=obj({}, {"stop_loss": DECIMAL_IN, "target_price": DECIMAL_IN,
                         "trailing_amount": DECIMAL_IN, "trailing_percent": DECIMAL_IN}))},
    "/api/v1/trades/{trade_id}/exit": {"post": op(
        "Close all or part of a trade", answer(200, TRADE), errors=(400, 404, 409),
        parameters=[path_param("trade_id")], request=obj({}, {"quantity": DECIMAL_IN}))},
    "/api/v1/positions": {
        "get": op("Net positions, one per symbol (the sum of its open trades)",
                  answer(200, listing("positions", ref("Position"))), errors=()),
        "delete": op("Close every position at the market",
                     answer(200, obj({"closed": {"type": "array", "items": obj(
                         {"symbol": TEXT, "status": {"enum": ["closed", "failed"]}},
                         {"order": ref("Order"), "error": obj(
                             {"code": TEXT, "message": TEXT}, {"details": {"type": "object"}})})},
                         "orders_cancelled": INTEGER})),
                     parameters=[query("cancel_orders", {"enum": ["true", "false"]},
                                       "cancel every open order first")])},
    "/api/v1/positions/{symbol}": {
        "get": op("One net position", answer(200, obj({"position": ref("Position")})),
                  errors=(404,), parameters=[path_param("symbol")]),
        "delete": op("Close all or part of a position at the market", answer(200, ORDER),
                     errors=(400, 404, 409), parameters=[
                         path_param("symbol"),
                         query("qty", DECIMAL_IN, "how much to close (default: all)"),
                         query("percentage", DECIMAL_IN, "how much to close, in percent")])},
    "/api/v1/events": {"get": op(
        "Stored events after a sequence number, oldest first",
        answer(200, listing("events", obj({"seq": INTEGER, "type": TEXT}))),
        parameters=[query("after", {"type": "integer", "minimum": 0}),
                    query("limit", {"type": "integer", "minimum": 1, "maximum": 1000})])},
    "/api/v1/alerts": {
        "post": op("Create an alert", answer(201, ALERT, "Created"),
                   request=ref("AlertRequest")),
        "get": op("Alerts, newest first, a page at a time",
                  answer(200, page("alerts", ref("Alert"))),
                  parameters=[query("status", {"enum": ["active", "triggered", "cancelled"]}),
                              *PAGE])},
    "/api/v1/alerts/{alert_id}": {
        "get": op("One alert", answer(200, ALERT), errors=(404,),
                  parameters=[path_param("alert_id")]),
        "patch": op("Change an active alert", answer(200, ALERT), errors=(400, 404, 409),
                    parameters=[path_param("alert_id")],
                    request=obj({}, {"condition": {"enum": ["above", "below", "crosses"]},
                                     "price": DECIMAL_IN, "note": MAYBE_TEXT,
                                     "channels": {"type": "array", "items": TEXT},
                                     "repeat": BOOLEAN, "cooldown": {"type": "number"}})),
        "delete": op("Cancel an alert", answer(200, ALERT), errors=(404,),
                     parameters=[path_param("alert_id")])},
    "/api/v1/notifications": {
        "get": op("In-app notifications, newest first, a page at a time",
                  answer(200, page("notifications", ref("Notification"))),
                  parameters=[query("unread", {"enum": ["true", "false"]}), *PAGE, AFTER]),
        "post": op("Send yourself a notice on your channels",
                   answer(202, obj({"queued": {"type": "array", "items": TEXT}}), "Queued"),
                   request=obj({"event": TEXT, "message": TEXT}))},
    "/api/v1/notifications/unread-count": {"get": op(
        "How many are unread", answer(200, obj({"unread": INTEGER})), errors=())},
    "/api/v1/notifications/{note_id}/read": {"post": op(
        "Mark one read", answer(200, obj({"notification": ref("Notification")})),
        errors=(404,), parameters=[path_param("note_id")])},
    "/api/v1/notifications/read-all": {"post": op(
        "Mark all read", answer(200, obj({"marked": INTEGER})), errors=())},
    "/api/v1/notifications/preferences": {
        "get": op("Channels per kind", answer(200, obj({"preferences": ref("Preferences")})),
                  errors=()),
        "put": op("Change channels per kind",
                  answer(200, obj({"preferences": ref("Preferences")})),
                  request=obj({"preferences": ref("Preferences")}))},
    "/healthz": {"get": op("The process serves", answer(200, obj({"status": TEXT})),
                           auth=False, errors=())},
    "/readyz": {"get": op("The database and Redis answer",
                          answer(200, obj({"status": TEXT, "checks": {"type": "object"},
                                           "role": {"enum": ["alone", "leader",
                                                             "follower"]}})),
                          auth=False, errors=())},
}

# -- history: account activities, portfolio history, performance --------------------

SCHEMAS.update({
    "Activity": obj({
        "id": TEXT, "transaction_time": TIME, "description": TEXT,
        "activity_type": {"enum": ["fill", "fee", "pnl", "reset", "transfer", "adjustment"]},
        "symbol": MAYBE_TEXT, "side": {"enum": ["buy", "sell", None]}, "qty": MAYBE_DECIMAL,
        "price": MAYBE_DECIMAL, "net_amount": MAYBE_DECIMAL, "order_id": MAYBE_TEXT,
        "trade_id": MAYBE_TEXT}),
    "PortfolioHistory": obj({
        "timestamp": {"type": "array", "items": INTEGER},
        "equity": {"type": "array", "items": DECIMAL},
        "profit_loss": {"type": "array", "items": DECIMAL},
        "profit_loss_pct": {"type": "array", "items": MAYBE_DECIMAL},
        "base_value": DECIMAL, "timeframe": {"enum": ["1Min", "5Min", "15Min", "1H", "1D"]},
        "period": TEXT, "period_id": INTEGER}),
    "SymbolPerformance": obj({
        "symbol": TEXT, "realized_pnl": DECIMAL, "unrealized_pnl": DECIMAL, "fees": DECIMAL,
        "net_pnl": DECIMAL, "open_trades": INTEGER, "closed_trades": INTEGER, "wins": INTEGER,
        "losses": INTEGER, "win_rate_pct": MAYBE_DECIMAL, "market_value": DECIMAL}),
})
SCHEMAS["Performance"] = obj({
    "period": obj({"id": INTEGER, "current": BOOLEAN, "started_at": TIME,
                   "ended_at": MAYBE_TIME}),
    "current_period_id": INTEGER, "currency": TEXT, "starting_equity": DECIMAL,
    "equity": DECIMAL, "return_pct": MAYBE_DECIMAL, "realized_pnl": DECIMAL,
    "unrealized_pnl": DECIMAL, "active_pnl": DECIMAL, "fees": DECIMAL, "total_pnl": DECIMAL,
    "net_pnl": DECIMAL, "open_trades": INTEGER, "closed_trades": INTEGER, "wins": INTEGER,
    "losses": INTEGER, "win_rate_pct": MAYBE_DECIMAL, "average_win": MAYBE_DECIMAL,
    "average_loss": MAYBE_DECIMAL, "profit_factor": MAYBE_DECIMAL,
    "max_drawdown": DECIMAL, "max_drawdown_pct": DECIMAL, "sharpe_ratio": MAYBE_DECIMAL,
    "daily_returns": INTEGER, "risk_free_rate": DECIMAL,
    "sharpe_annualization_days": INTEGER, "margin_used": MAYBE_DECIMAL,
    "margin_utilization_pct": MAYBE_DECIMAL, "available": MAYBE_DECIMAL,
    "exposure": {"oneOf": [{"type": "null"}, obj({
        "long": DECIMAL, "short": DECIMAL, "gross": DECIMAL, "net": DECIMAL,
        "gross_pct_of_equity": MAYBE_DECIMAL})]},
    "symbols": {"type": "array", "items": ref("SymbolPerformance")}})
PERIOD_ID = query("period_id", {"type": "integer", "minimum": 0},
                  "which period: 0 from the account's creation, each reset the next "
                  "(default: the current one)")
PERFORMANCE = op("P&L in total and per symbol, win rate, average win and loss, max "
                 "drawdown, Sharpe and exposure of one period",
                 answer(200, ref("Performance")), parameters=[PERIOD_ID])
PATHS.update({
    "/api/v1/account/activities": {"get": op(
        "Fills and cash movements, newest first, a page at a time",
        answer(200, page("activities", ref("Activity"))),
        parameters=[query("type", TEXT, "comma-separated: fill, fee, pnl, reset, transfer, "
                                        "adjustment (default: all)"),
                    query("after", TEXT, "ISO 8601 date or time: only later activities"),
                    query("until", TEXT, "ISO 8601 date or time: only those up to it"),
                    query("direction", {"enum": ["desc", "asc"]}), *PAGE])},
    "/api/v1/account/portfolio/history": {"get": op(
        "Equity, P&L and P&L share over time (Alpaca's shape)",
        answer(200, ref("PortfolioHistory")),
        parameters=[query("period", {"enum": ["1D", "1W", "1M", "3M", "6M", "1A", "all"]},
                          "how far back (default 1M)"),
                    query("timeframe", {"enum": ["1Min", "5Min", "15Min", "1H", "1D"]},
                          "the step (under 1D only for 1D and 1W)"),
                    PERIOD_ID])},
    "/api/v1/account/performance": {"get": PERFORMANCE},
    "/api/v1/performance": {"get": {**PERFORMANCE,
                                    "summary": "The same as /api/v1/account/performance"}},
})

# -- leaderboard ----------------------------------------------------------------------

BOARDS = ["day", "week", "month", "all"]
RATING: Schema = {"type": ["integer", "null"], "minimum": 0, "maximum": 100}
SCHEMAS["LeaderboardEntry"] = obj({"rank": INTEGER, "name": TEXT, "return_pct": MAYBE_DECIMAL,
                                   "rating": RATING})
STANDING: Schema = {"oneOf": [{"type": "null"}, obj({"rank": INTEGER, "of": INTEGER,
                                                     "return_pct": MAYBE_DECIMAL})]}
PATHS.update({
    "/api/v1/leaderboard": {"get": op(
        "Opted-in users ranked by return over a period, best first: names, returns and "
        "ratings only (public)",
        answer(200, obj({"period": {"enum": BOARDS}, "computed_at": MAYBE_TIME,
                         "users": INTEGER, "rated_users": INTEGER,
                         "entries": {"type": "array", "items": ref("LeaderboardEntry")},
                         "next_cursor": MAYBE_TEXT})),
        auth=False,
        parameters=[query("period", {"enum": BOARDS}, "day, week (default), month or all "
                                                      "(since the last reset)"),
                    query("limit", {"type": "integer", "minimum": 1, "maximum": 100},
                          "entries per page (default 25)"),
                    query("cursor", TEXT, "next_cursor of the previous page, same period")])},
    "/api/v1/me/rating": {"get": op(
        "The user's rank on each board and rating, as the last pass found them",
        answer(200, obj({"leaderboard": BOOLEAN, "name": TEXT, "computed_at": MAYBE_TIME,
                         "rating": RATING, "rated_users": INTEGER,
                         "rating_min_days": INTEGER,
                         "boards": obj({board: STANDING for board in BOARDS})})),
        errors=())},
})


def operation_id(method: str, path: str) -> str:
    """"post /api/v1/orders/{order_id}" -> "post_orders_order_id"."""
    words = path.removeprefix("/api/v1").replace("{", "").replace("}", "")
    return method + "_" + "_".join(w.replace("-", "_") for w in words.split("/") if w)


def link(method: str, path: str, parameter: str, pointer: str) -> Schema:
    return {"operationId": operation_id(method, path),
            "parameters": {parameter: f"$response.body#{pointer}"}}


# Where one answer supplies another route's id (schemathesis follows these).
LINKS = {
    ("post", "/api/v1/orders", "201"): {
        "GetOrder": link("get", "/api/v1/orders/{order_id}", "order_id", "/order/id"),
        "CancelOrder": link("delete", "/api/v1/orders/{order_id}", "order_id", "/order/id"),
        "ModifyTrade": link("patch", "/api/v1/trades/{trade_id}", "trade_id",
                            "/order/trade_id"),
        "ExitTrade": link("post", "/api/v1/trades/{trade_id}/exit", "trade_id",
                          "/order/trade_id")},
    ("post", "/api/v1/me/api-keys", "201"): {
        "RevokeApiKey": link("delete", "/api/v1/me/api-keys/{api_key_id}", "api_key_id",
                             "/id")},
    ("post", "/api/v1/alerts", "201"): {
        "GetAlert": link("get", "/api/v1/alerts/{alert_id}", "alert_id", "/alert/id"),
        "ChangeAlert": link("patch", "/api/v1/alerts/{alert_id}", "alert_id", "/alert/id"),
        "CancelAlert": link("delete", "/api/v1/alerts/{alert_id}", "alert_id", "/alert/id")},
}


def _finish(paths: dict[str, dict[str, Schema]]) -> dict[str, dict[str, Schema]]:
    """Name, group and link every operation; put in the hand-written examples."""
    for path, operations in paths.items():
        for method, operation in operations.items():
            operation["operationId"] = operation_id(method, path)
            operation["tags"] = [tag_of(path)]
            shown = (method, path) in EXAMPLES
            if (example := EXAMPLES.get((method, path))) is not None:
                operation["requestBody"]["content"]["application/json"]["example"] = example
            for status, response in operation["responses"].items():
                if (found := LINKS.get((method, path, status))) is not None:
                    response["links"] = found
                if shown and status.startswith("2") and "content" in response:
                    content = response["content"]["application/json"]
                    content["example"] = example_of(content["schema"], SCHEMAS)
    return paths


def _show_models() -> None:
    """Give the main models an example: their hand-picked fields, the rest made up."""
    for name, shown in SCHEMA_EXAMPLES.items():
        SCHEMAS[name]["examples"] = [merged(example_of(SCHEMAS[name], SCHEMAS), shown)]


_show_models()
_finish(PATHS)

# Served by the server but not part of the JSON API (the page, at the paths of the
# links it emails too).
UNDESCRIBED = {"/", "/app/{name}", "/vendor/{name}", "/verify-email", "/reset-password",
               "/metrics", "/api/v1/openapi.json", "/api/asyncapi.json", "/api/docs",
               "/api/docs/{name}", "/ws", "/stream"}
# Alpaca's APIs (handlers/alpaca/) are described by Alpaca's own documents, not here.
UNDESCRIBED_PREFIXES = ("/v2/", "/v1beta1/", "/v1beta3/")


def undescribed(path: str) -> bool:
    """Whether a served path is left out of this description on purpose."""
    return path in UNDESCRIBED or path.startswith(UNDESCRIBED_PREFIXES)


def document(server_url: str) -> Schema:
    """The description, its server at server_url (the origin the client reached)."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "PaperDesk", "version": "1",
                 "description": "Paper trading with virtual money against live prices. "
                                "Socket.IO and /ws commands and events: /api/asyncapi.json "
                                "(AsyncAPI 3.0)."},
        "servers": [{"url": server_url}],
        "tags": [{"name": name, "description": text}
                 for name, text in TAG_DESCRIPTIONS.items()],
        "paths": PATHS,
        "components": {"schemas": SCHEMAS,
                       "securitySchemes": {
                           "bearer": {"type": "http", "scheme": "bearer",
                                      "description": "A login's access token (a JWT), or an "
                                                     "API key as <key_id>.<secret>"},
                           "apiKeyId": {"type": "apiKey", "in": "header",
                                        "name": "APCA-API-KEY-ID"},
                           "apiKeySecret": {"type": "apiKey", "in": "header",
                                            "name": "APCA-API-SECRET-KEY"}}},
    }
