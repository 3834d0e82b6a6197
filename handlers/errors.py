"""The one error boundary of every transport: what a client is told of an exception.

REST answers ``{"error": {code, message, details?}}`` with the status of its
class; Socket.IO and /ws acks say ``{"ok": false, "error": {...}}`` with the
same codes. A dependency that does not answer (the database, Redis) is
``unavailable`` (503); anything else unexpected is logged with its traceback
and told as ``internal_error``, never with its text.
"""

from __future__ import annotations

import logging
from typing import Any

import redis.exceptions
from pymongo.errors import PyMongoError

from store.database import DATABASE_DOWN
from trading import errors

log = logging.getLogger(__name__)

UNAVAILABLE = (*DATABASE_DOWN, redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)

_STATUS: dict[type[errors.PaperDeskError], int] = {
    errors.PayloadTooLarge: 413,
    errors.InvalidInput: 400,
    errors.AuthenticationError: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.MethodNotAllowed: 405,
    errors.Conflict: 409,
    errors.Unprocessable: 422,
    errors.RateLimited: 429,
    errors.LimitExceeded: 429,
    errors.HeaderTooLarge: 431,
    errors.Unavailable: 503,
}


def unavailable(exc: BaseException) -> bool:
    """Whether exc says a dependency did not answer (in time)."""
    return isinstance(exc, UNAVAILABLE) or (isinstance(exc, PyMongoError) and exc.timeout)


def to_wire(exc: Exception, during: str) -> errors.PaperDeskError:
    """The error a client is told for exc, raised during (e.g. "POST /api/v1/orders")."""
    if isinstance(exc, errors.PaperDeskError):
        return exc
    if unavailable(exc):
        log.warning("database or Redis unavailable during %s", during)
        return errors.Unavailable("The database is not answering; try again.")
    log.error("unhandled error during %s", during, exc_info=exc)
    return errors.PaperDeskError()


def http_status(error: errors.PaperDeskError) -> int:
    for cls in type(error).__mro__:
        if cls in _STATUS:
            return _STATUS[cls]
    return 500


def error_ack(error: errors.PaperDeskError) -> dict[str, Any]:
    return {"ok": False, "error": error.to_dict()}
