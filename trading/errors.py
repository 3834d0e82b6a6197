"""Every error a client can see, each with a stable ``code``.

    PaperDeskError                  internal_error
    ├── InvalidInput                validation_error   (400)
    │   ├── InvalidJSON             invalid_json
    │   ├── InvalidPassword         invalid_password
    │   ├── InvalidResetToken       invalid_reset_token
    │   ├── InvalidVerificationToken invalid_verification_token
    │   ├── UnknownSymbolInput      unknown_symbol     (a symbol in a body)
    │   ├── InvalidQuantity         invalid_quantity
    │   ├── InvalidPrice            invalid_price
    │   ├── AmountOutOfRange        validation_error   (beyond what the books keep)
    │   └── InsufficientFunds       insufficient_funds
    │   └── PayloadTooLarge         payload_too_large  (413)
    ├── AuthenticationError                            (401)
    │   ├── AuthenticationRequired  authentication_required
    │   ├── InvalidCredentials      invalid_credentials
    │   ├── InvalidToken            invalid_token
    │   ├── InvalidApiKey           invalid_api_key    (a wrong or revoked API key)
    │   └── TokenExpired            token_expired
    ├── Forbidden                   forbidden          (403)
    │   ├── InsufficientScope       insufficient_scope (a read-only API key changing state)
    │   └── ForbiddenForApiKey      forbidden_for_api_key (keys, password, account deletion)
    ├── NotFound                    not_found          (404)
    │   └── UnknownSymbol           unknown_symbol     (a symbol in the path)
    ├── MethodNotAllowed            method_not_allowed (405)
    ├── Conflict                    conflict           (409)
    │   ├── EmailTaken              email_taken
    │   ├── TooManyApiKeys          too_many_api_keys
    │   ├── StalePrice              stale_price
    │   ├── FxUnavailable           fx_unavailable     (no fresh rate into the account currency)
    │   ├── DuplicateClientOrderId  duplicate_client_order_id
    │   ├── OrderNotOpen            order_not_open
    │   ├── TradeNotOpen            trade_not_open
    │   ├── MarketClosed            market_closed      (a market order while it is closed)
    │   └── IllegalTransition       illegal_transition
    ├── Unprocessable               unprocessable      (422)
    │   ├── StopPriceCrossed        stop_price_crossed (a buy stop at or below the price,
    │   │                                               a sell stop at or above it)
    │   ├── InsufficientHistory     insufficient_history (too few candles to forecast)
    │   └── NoForecast              no_forecast        (no model fits the candles)
    ├── RateLimited                 rate_limited       (429)
    ├── LimitExceeded               limit_exceeded     (429: a per-user cap is full)
    ├── Unavailable                 unavailable        (503)
    └── HeaderTooLarge              header_too_large   (431: a request header, or their
                                                        number, over the server's limit)

HTTP statuses are assigned in exactly two places that share these codes:
``handlers.middleware`` (REST) and ``handlers.socket_server`` (Socket.IO acks).
"""

from __future__ import annotations

from typing import Any


class PaperDeskError(Exception):
    """Base of every error with a client-facing code."""

    code = "internal_error"
    default_message = "Internal server error."

    def __init__(self, message: str | None = None, *,
                 details: dict[str, Any] | None = None) -> None:
        self.message = message or self.default_message
        self.details = details
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        """Return the error as the ``error`` object of a response."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class InvalidInput(PaperDeskError):
    code = "validation_error"
    default_message = "The request is not valid."

    def __init__(self, message: str | None = None, *, field: str | None = None,
                 details: dict[str, Any] | None = None) -> None:
        if field is not None:
            details = {**(details or {}), "field": field}
        super().__init__(message, details=details)


class ShortNotAllowed(InvalidInput):
    code = "short_not_allowed"
    default_message = ("Short selling is disabled on this server: sell at most what you "
                       "hold.")


class InvalidJSON(InvalidInput):
    code = "invalid_json"
    default_message = "The request body is not a valid JSON object."


class InvalidPassword(InvalidInput):
    code = "invalid_password"
    default_message = "Password must be 8 to 72 bytes long (UTF-8)."


class InvalidResetToken(InvalidInput):
    code = "invalid_reset_token"
    default_message = "The reset token is invalid, already used or expired."


class InvalidVerificationToken(InvalidInput):
    code = "invalid_verification_token"
    default_message = "The verification token is invalid, already used or expired."


class UnknownSymbolInput(InvalidInput):
    code = "unknown_symbol"
    default_message = "Unknown symbol."


class InvalidQuantity(InvalidInput):
    code = "invalid_quantity"
    default_message = "The quantity is not valid for this symbol."


class InvalidPrice(InvalidInput):
    code = "invalid_price"
    default_message = "The price is not valid."


class AmountOutOfRange(InvalidInput, ValueError):
    """An amount, given or worked out, that the books cannot keep exactly."""

    default_message = "The amount is beyond what the books keep."


class InsufficientFunds(InvalidInput):
    code = "insufficient_funds"
    default_message = "Not enough available funds."


class PayloadTooLarge(InvalidInput):
    code = "payload_too_large"
    default_message = "The request body is too large."


class AuthenticationError(PaperDeskError):
    code = "authentication_required"
    default_message = "Authentication is required."


class AuthenticationRequired(AuthenticationError):
    pass


class InvalidCredentials(AuthenticationError):
    code = "invalid_credentials"
    default_message = "Email or password is incorrect."


class InvalidToken(AuthenticationError):
    code = "invalid_token"
    default_message = "The token is invalid or has been revoked."


class AccountGone(InvalidToken):
    """The account a command is for was deleted (a token or key another process still
    held a moment after)."""

    code = "account_deleted"
    default_message = "This account was deleted."


class InvalidApiKey(AuthenticationError):
    code = "invalid_api_key"
    default_message = "The API key is wrong or has been revoked."


class TokenExpired(AuthenticationError):
    code = "token_expired"
    default_message = "The token has expired."


class Forbidden(PaperDeskError):
    code = "forbidden"
    default_message = "You are not allowed to do that."


class InsufficientScope(Forbidden):
    code = "insufficient_scope"
    default_message = "This API key may only read: create a trading key to change anything."


class ForbiddenForApiKey(Forbidden):
    code = "forbidden_for_api_key"
    default_message = "Log in to do this: an API key cannot."


class NotFound(PaperDeskError):
    code = "not_found"
    default_message = "Not found."


class UnknownSymbol(NotFound):
    code = "unknown_symbol"
    default_message = "Unknown symbol."


class MethodNotAllowed(PaperDeskError):
    code = "method_not_allowed"
    default_message = "Method not allowed."


class Conflict(PaperDeskError):
    code = "conflict"
    default_message = "The request conflicts with the current state."


class NotFillable(Conflict):
    code = "order_not_fillable"
    default_message = "The order cannot fill now, and its time in force does not let it rest."


class EmailTaken(Conflict):
    code = "email_taken"
    default_message = "An account with this email already exists."


class TooManyApiKeys(Conflict):
    code = "too_many_api_keys"
    default_message = "Too many API keys: revoke one first."


class StalePrice(Conflict):
    code = "stale_price"
    default_message = "The price of this symbol is stale; trading it is paused."


class FxUnavailable(Conflict):
    code = "fx_unavailable"
    default_message = ("No fresh exchange rate into the account currency; trading this "
                       "symbol is paused.")


class DuplicateClientOrderId(Conflict):
    code = "duplicate_client_order_id"
    default_message = "This client_order_id was used for a different order."


class OrderNotOpen(Conflict):
    code = "order_not_open"
    default_message = "The order is not open."


class TradeNotOpen(Conflict):
    code = "trade_not_open"
    default_message = "The trade is not open."


class MarketClosed(Conflict):
    code = "market_closed"
    default_message = "The market is closed."


class IllegalTransition(Conflict):
    code = "illegal_transition"
    default_message = "That state change is not allowed."


class Unprocessable(PaperDeskError):
    """The request is well formed, but what it asks about cannot be answered."""

    code = "unprocessable"
    default_message = "The request cannot be answered for this data."


class InsufficientHistory(Unprocessable):
    code = "insufficient_history"
    default_message = "There are too few candles to forecast from."


class StopPriceCrossed(Unprocessable):
    """A stop the price has already reached: it would fill on the next tick."""

    code = "stop_price_crossed"
    default_message = "The stop price has already been reached."


class NoForecast(Unprocessable):
    code = "no_forecast"
    default_message = "No forecast model fits these candles."


class RateLimited(PaperDeskError):
    code = "rate_limited"
    default_message = "Too many requests."

    def __init__(self, message: str | None = None, *, retry_after: int = 1,
                 limit: int | None = None) -> None:
        self.retry_after = retry_after
        self.limit = limit  # the allowance per window, for X-RateLimit-Limit
        super().__init__(message, details={"retry_after": retry_after})


class LimitExceeded(PaperDeskError):
    """A per-user cap (alerts, resting orders, sockets) is full: waiting does not help,
    removing something does."""

    code = "limit_exceeded"
    default_message = "A per-user limit is reached."

    def __init__(self, message: str | None = None, *, limit: int) -> None:
        super().__init__(message, details={"limit": limit})


class Unavailable(PaperDeskError):
    code = "unavailable"
    default_message = "The service is temporarily unavailable."


class HeaderTooLarge(PaperDeskError):
    """The request's headers are over the HTTP server's limits (refused as the request
    is parsed, before any route)."""

    code = "header_too_large"
    default_message = "A request header is too large."
