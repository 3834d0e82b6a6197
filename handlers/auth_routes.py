"""REST: register, log in, refresh, log out, passwords."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import web

from handlers import keys
from handlers.common import authenticated, json_ok
from handlers.middleware import client_address
from handlers.validation import optional_string, read_json, string
from services.auth import public_user
from services.identity import normalize_email, normalize_name, normalize_phone
from trading.errors import InvalidCredentials, RateLimited

routes = web.RouteTableDef()
T = TypeVar("T")


async def password_checked(request: web.Request, email: str,
                           check: Callable[[], Awaitable[T]]) -> T:
    """Run check, which verifies a password of the account with this email, under the
    limit on failed password checks (LIMITS.login_failures).

    Login, password change and account deletion count in one window per account
    *and* client address: a stranger guessing from elsewhere slows down only
    themselves, never the owner, and a stolen access token gives no guesses beyond
    those a login would. Once the window is full the check is not even run (no
    bcrypt work): 429 rate_limited with Retry-After.
    """
    limits = request.app[keys.LIMITS]
    failures = limits.login_failures
    key = f"{email}|{client_address(request, limits.trust_forwarded_for)}"
    if failures is not None and (wait := await failures.blocked(key)) is not None:
        raise RateLimited("Too many wrong passwords for this account from your address; "
                          "try again later.", retry_after=max(1, math.ceil(wait)),
                          limit=failures.events)
    try:
        return await check()
    except InvalidCredentials:
        if failures is not None:
            await failures.add(key)
        raise


@routes.post("/api/v1/auth/register")
async def register(request: web.Request) -> web.Response:
    body = await read_json(request)
    email = normalize_email(string(body, "email"))
    password = string(body, "password")
    name = normalize_name(string(body, "name"))
    phone = optional_string(body, "phone")
    user = await request.app[keys.AUTH].register(
        email, password, name, None if phone is None else normalize_phone(phone))
    return json_ok({"user": public_user(user)}, status=201)


@routes.post("/api/v1/auth/login")
async def login(request: web.Request) -> web.Response:
    body = await read_json(request)
    email = string(body, "email").strip().lower()
    password = string(body, "password")
    pair = await password_checked(request, email,
                                  lambda: request.app[keys.AUTH].login(email, password))
    return json_ok(pair.to_dict())


@routes.post("/api/v1/auth/refresh")
async def refresh(request: web.Request) -> web.Response:
    body = await read_json(request)
    pair = await request.app[keys.AUTH].refresh(string(body, "refresh_token", max_chars=4096))
    return json_ok(pair.to_dict())


@routes.post("/api/v1/auth/logout")
async def logout(request: web.Request) -> web.Response:
    principal = await authenticated(request, logged_in=True)
    await request.app[keys.AUTH].logout(principal)
    return web.Response(status=204)


@routes.post("/api/v1/auth/password/change")
async def change_password(request: web.Request) -> web.Response:
    principal = await authenticated(request, logged_in=True)
    body = await read_json(request)
    current, new = string(body, "current_password"), string(body, "new_password")
    auth = request.app[keys.AUTH]
    user = await auth.profile(principal)
    await password_checked(request, user["email"],
                           lambda: auth.change_password(principal, current, new))
    return web.Response(status=204)


@routes.post("/api/v1/auth/password/forgot")
async def forgot_password(request: web.Request) -> web.Response:
    body = await read_json(request)
    email = string(body, "email").strip().lower()
    request.app[keys.AUTH].forgot_password(email)
    return json_ok({"message": "If the account exists, a reset link is on its way."},
                   status=202)


@routes.post("/api/v1/auth/password/reset")
async def reset_password(request: web.Request) -> web.Response:
    body = await read_json(request)
    await request.app[keys.AUTH].reset_password(
        string(body, "token", max_chars=256), string(body, "new_password"))
    return web.Response(status=204)


@routes.post("/api/v1/auth/verify-email")
async def verify_email(request: web.Request) -> web.Response:
    body = await read_json(request)
    user = await request.app[keys.AUTH].verify_email(string(body, "token", max_chars=256))
    return json_ok({"user": public_user(user)})
