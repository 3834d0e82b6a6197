"""Helpers shared by REST handlers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from handlers import keys
from handlers.middleware import count
from services.api_keys import pair_token
from services.principal import Principal
from trading.errors import (
    AuthenticationRequired,
    ForbiddenForApiKey,
    InsufficientScope,
    InvalidApiKey,
    InvalidToken,
    PaperDeskError,
)

# An API key sent as a pair of headers, as Alpaca's clients send theirs.
KEY_ID_HEADER, SECRET_HEADER = "APCA-API-KEY-ID", "APCA-API-SECRET-KEY"
# What a read-only API key may send.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def bearer_token(header: str) -> str | None:
    """Return the token of an 'Authorization: Bearer <token>' header."""
    scheme, _, token = header.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def header_token(headers: Mapping[str, str]) -> str | None:
    """The token of 'Authorization: Bearer <token>' (an access token, or an API key's
    '<key_id>.<secret>'), else of the key_id and secret headers, else None."""
    token = bearer_token(headers.get("Authorization", ""))
    key_id, secret = headers.get(KEY_ID_HEADER), headers.get(SECRET_HEADER)
    if token is not None or (key_id is None and secret is None):
        return token
    return pair_token(key_id or "", secret or "")


def auth_object_token(auth: Mapping[str, Any]) -> str | None:
    """The token of a socket's auth object, {token} or {key_id, secret}, or None."""
    token = auth.get("token")
    if isinstance(token, str) and token:
        return token
    if "key_id" not in auth and "secret" not in auth:
        return None
    key_id, secret = auth.get("key_id"), auth.get("secret")
    if not isinstance(key_id, str) or not isinstance(secret, str):
        raise InvalidApiKey()
    return pair_token(key_id, secret)


async def authenticated(request: web.Request, *, logged_in: bool = False) -> Principal:
    """Return who the request's access token or API key speaks for, or raise 401.

    A read-only key may only read (403 insufficient_scope otherwise); with
    logged_in, only a login's access token will do (managing API keys, the password,
    the account itself): a key is 403 forbidden_for_api_key.
    """
    token = header_token(request.headers)
    if token is None:
        raise AuthenticationRequired("Send an access token or API key as "
                                     "'Authorization: Bearer <token>'.")
    principal = await request.app[keys.AUTH].authenticate(token)
    if (limit := request.app[keys.LIMITS].per_user) is not None:
        await count(request, limit, principal.bucket)
    if principal.key_id is not None and (keys_limit := request.app[keys.LIMITS].keys_per_user):
        await count(request, keys_limit, principal.user_id)
    if logged_in and principal.via_key:
        raise ForbiddenForApiKey()
    if principal.read_only and request.method not in SAFE_METHODS:
        raise InsufficientScope()
    return principal


def ended(principal: Principal) -> PaperDeskError:
    """The refusal of a connection whose session or API key ended as it was admitted."""
    return InvalidApiKey() if principal.key_id is not None else InvalidToken()


def json_ok(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)
