"""The error boundary of the Alpaca transport: PaperDesk's errors in Alpaca's shape.

Alpaca answers ``{"code": <8 digits>, "message": "..."}``; the first three digits are
the HTTP status. Every request under an Alpaca prefix goes through
``alpaca_error_middleware``, so a handler's error, a route that does not exist, a
method a route does not take and anything unexpected are all told this way:

    malformed body (invalid JSON, not an object)        400  40010000
    missing or wrong credentials                        401  40110000
    insufficient buying power or quantity, scope        403  40310000
    no such order, position, asset; no such route       404  40410000
    method not allowed                                  405  40510000
    invalid values, conflicts, unsupported features     422  42210000
    rate limit (with Retry-After and X-RateLimit-*)     429  42910000
    the database or Redis not answering                 503  50310000
    anything else                                       500  50010000
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from handlers.alpaca.shapes import uuid_of
from handlers.errors import http_status, to_wire
from handlers.middleware import refusal_headers
from trading import errors

# The paths Alpaca's transports serve (the Trading API and the market data API).
PREFIXES = ("/v2/", "/v1beta1/", "/v1beta3/")

# Alpaca features PaperDesk does not offer, by path prefix: a clear 422, not a 404.
UNSUPPORTED = {
    "/v2/options": "options trading",
    "/v2/wallets": "crypto wallets and on-chain transfers",
    "/v2/account/transfers": "transfers",
    "/v2/account/funding": "account funding",
    "/v2/corporate_actions": "corporate actions",
    "/v2/crypto/funding": "crypto funding",
    "/v2/crypto/transfers": "crypto transfers",
}

# PaperDesk's statuses as Alpaca's: invalid values and conflicts are Alpaca's 422,
# running short of money or of what is held its 403.
_STATUS = {400: 422, 409: 422}


class NotSupported(errors.Unprocessable):
    code = "not_supported"


def alpaca_status(error: errors.PaperDeskError) -> int:
    """The HTTP status Alpaca answers error with."""
    if isinstance(error, errors.InvalidJSON):
        return 400
    if isinstance(error, errors.InsufficientFunds | errors.ShortNotAllowed):
        return 403
    status = http_status(error)
    return _STATUS.get(status, status)


def alpaca_body(error: errors.PaperDeskError) -> dict[str, object]:
    """error as Alpaca's body: {code, message} (and the error's details, an order named
    by its id as /v2 names orders)."""
    details = dict(error.details or {})
    if isinstance(details.get("order_id"), str):
        details["order_id"] = uuid_of(details["order_id"])
    return {**details, "code": alpaca_status(error) * 100_000 + 10_000,
            "message": error.message}


def alpaca_response(error: errors.PaperDeskError) -> web.Response:
    """error as Alpaca's body and status (and a rate limit's headers)."""
    response = web.json_response(alpaca_body(error), status=alpaca_status(error))
    response.headers.update(refusal_headers(error))
    return response


def _unsupported(path: str) -> str | None:
    if path.startswith("/v2/positions/") and path.endswith("/exercise"):
        return "exercising options"
    for prefix, feature in UNSUPPORTED.items():
        if path == prefix or path.startswith(prefix + "/"):
            return feature
    return None


def _from_http(exc: web.HTTPException, request: web.Request) -> errors.PaperDeskError:
    if exc.status == 404:
        if (feature := _unsupported(request.path)) is not None:
            return NotSupported(f"PaperDesk does not support {feature}.")
        return errors.NotFound(f"No route for {request.method} {request.path[:200]}.")
    if exc.status == 405:
        return errors.MethodNotAllowed(f"{request.method} is not allowed on "
                                       f"{request.path[:200]}.")
    if exc.status == 413:
        return errors.PayloadTooLarge()
    if exc.status < 500:
        return errors.InvalidJSON(exc.reason)
    return errors.PaperDeskError()


@web.middleware
async def alpaca_error_middleware(request: web.Request, handler: Handler
                                  ) -> web.StreamResponse:
    """Answer every error under an Alpaca prefix in Alpaca's shape (others pass on)."""
    if not request.path.startswith(PREFIXES):
        return await handler(request)
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = alpaca_response(_from_http(exc, request))
        if exc.status == 405:
            response.headers["Allow"] = exc.headers.get("Allow", "")
        return response
    except Exception as exc:
        return alpaca_response(to_wire(exc, f"{request.method} {request.path[:200]}"))
