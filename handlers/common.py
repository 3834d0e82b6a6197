"""Helpers shared by REST handlers."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from handlers import keys
from handlers.middleware import count
from services.auth import Principal
from trading.errors import AuthenticationRequired


def bearer_token(header: str) -> str | None:
    """Return the token of an 'Authorization: Bearer <token>' header."""
    scheme, _, token = header.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


async def authenticated(request: web.Request) -> Principal:
    """Return who the request's access token speaks for, or raise 401."""
    token = bearer_token(request.headers.get("Authorization", ""))
    if token is None:
        raise AuthenticationRequired("Send an access token as 'Authorization: Bearer <token>'.")
    principal = await request.app[keys.AUTH].authenticate(token)
    if (limit := request.app[keys.LIMITS].per_user) is not None:
        await count(request, limit, principal.user_id)
    return principal


def json_ok(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)
