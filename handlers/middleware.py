"""HTTP middleware: errors as JSON responses (handlers/errors.py), rate limits."""

from __future__ import annotations

import logging
import math

from aiohttp import web
from aiohttp.typedefs import Handler

from handlers import keys
from handlers.errors import http_status, to_wire
from services.limits import Allowance, RateLimit
from trading import errors

log = logging.getLogger(__name__)

_FROM_HTTP: dict[int, type[errors.PaperDeskError]] = {
    400: errors.InvalidInput,
    404: errors.NotFound,
    405: errors.MethodNotAllowed,
    413: errors.PayloadTooLarge,
}


def error_response(error: errors.PaperDeskError) -> web.Response:
    """Render an error as {"error": {code, message, details?}} with its status."""
    status = http_status(error)
    response = web.json_response({"error": error.to_dict()}, status=status)
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    response.headers.update(refusal_headers(error))
    return response


def refusal_headers(error: errors.PaperDeskError) -> dict[str, str]:
    """A rate limit's refusal's Retry-After and X-RateLimit-* headers (none otherwise)."""
    if not isinstance(error, errors.RateLimited):
        return {}
    headers = {"Retry-After": str(error.retry_after)}
    if error.limit is not None:
        headers |= rate_headers(Allowance(error.limit, 0, error.retry_after))
    return headers


def _from_http_exception(exc: web.HTTPException, request: web.Request) -> errors.PaperDeskError:
    cls = _FROM_HTTP.get(exc.status)
    if cls is errors.NotFound:
        return errors.NotFound(f"No route for {request.method} {request.path}.")
    if cls is not None:
        return cls()
    error = errors.PaperDeskError(exc.reason)
    error.code = exc.reason.lower().replace(" ", "_")
    return error


# Where a request's rate-limit allowance is kept, for the X-RateLimit-* headers.
ALLOWANCE = web.RequestKey("allowance", Allowance)


async def count(request: web.Request, limit: RateLimit, key: str) -> None:
    """Count the request against limit (RateLimited if over), keeping the tightest allowance.

    A route under several limits (every user route, and 5 notices a minute) reports
    in its headers the one that refuses first: the fewest left, then the smallest.
    """
    allowance = await limit.hit(key)
    kept = request.get(ALLOWANCE)
    if kept is None or (allowance.remaining, allowance.limit) < (kept.remaining, kept.limit):
        request[ALLOWANCE] = allowance


def rate_headers(allowance: Allowance) -> dict[str, str]:
    return {"X-RateLimit-Limit": str(allowance.limit),
            "X-RateLimit-Remaining": str(max(0, allowance.remaining)),
            "X-RateLimit-Reset": str(max(0, math.ceil(allowance.reset)))}


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = error_response(_from_http_exception(exc, request))
        response.set_status(exc.status)
    except Exception as exc:
        response = error_response(to_wire(exc, f"{request.method} {request.path}"))
    # A request counted against a limit, then refused, tells what is left too.
    if (allowance := request.get(ALLOWANCE)) is not None:
        for name, value in rate_headers(allowance).items():
            response.headers.setdefault(name, value)
    return response


def client_address(request: web.Request, trust_forwarded_for: bool) -> str:
    """The client's address; behind a trusted proxy, the one it appended last."""
    if trust_forwarded_for and (forwarded := request.headers.get("X-Forwarded-For")):
        return forwarded.rsplit(",", 1)[-1].strip()
    return request.remote or "unknown"


@web.middleware
async def rate_limit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Limit the auth routes per client address, and report any allowance in headers.

    Authenticated routes count per user where they authenticate
    (handlers.common.authenticated).
    """
    limits = request.app[keys.LIMITS]
    if limits.auth_per_ip is not None and request.path.startswith("/api/v1/auth/"):
        address = client_address(request, limits.trust_forwarded_for)
        await count(request, limits.auth_per_ip, address)
    response = await handler(request)
    if (allowance := request.get(ALLOWANCE)) is not None:
        response.headers.update(rate_headers(allowance))
    return response
