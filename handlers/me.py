"""REST: the signed-in user's own profile, and their API keys."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from handlers import keys
from handlers.auth_routes import password_checked
from handlers.common import authenticated, json_ok
from handlers.rooms import user_room
from handlers.validation import choice, optional_string, read_json, string
from services.api_keys import MAX_NAME_CHARS, Scope
from services.auth import public_user
from services.identity import normalize_name, normalize_phone
from trading.errors import InvalidInput

routes = web.RouteTableDef()

EDITABLE = ("name", "phone", "leaderboard")


@routes.get("/api/v1/me")
async def get_me(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    user = await request.app[keys.AUTH].profile(principal)
    return json_ok({"user": public_user(user)})


@routes.patch("/api/v1/me")
async def patch_me(request: web.Request) -> web.Response:
    # The profile holds the phone text messages go to: only a login changes it.
    principal = await authenticated(request, logged_in=True)
    body = await read_json(request)
    changes: dict[str, Any] = {}
    if "name" in body:
        changes["name"] = normalize_name(string(body, "name"))
    if "phone" in body:
        phone = optional_string(body, "phone")
        changes["phone"] = None if phone is None else normalize_phone(phone)
    joins = body.get("leaderboard")
    if "leaderboard" in body and not isinstance(joins, bool):
        raise InvalidInput("'leaderboard' must be true or false.", field="leaderboard")
    if not changes and joins is None:
        raise InvalidInput(f"Send at least one of: {', '.join(EDITABLE)}.")
    board = request.app[keys.BOARD]
    if joins is not None:
        await board.opt(principal.user_id, joins)
    user = await request.app[keys.AUTH].update_profile(principal, changes)
    if "name" in changes:
        await board.renamed(user)
    view = public_user(user)
    await request.app[keys.SIO].emit("profile_update", {"user": view},
                                     room=user_room(principal.user_id))
    return json_ok({"user": view})


@routes.delete("/api/v1/me")
async def delete_me(request: web.Request) -> web.Response:
    principal = await authenticated(request, logged_in=True)
    body = await read_json(request)
    password = string(body, "password")
    auth = request.app[keys.AUTH]
    user = await auth.profile(principal)
    await password_checked(request, user["email"],
                           lambda: auth.delete_account(principal, password))
    return web.Response(status=204)


# -- API keys: only a login manages them, never a key ------------------------------

@routes.post("/api/v1/me/api-keys")
async def create_api_key(request: web.Request) -> web.Response:
    principal = await authenticated(request, logged_in=True)
    body = await read_json(request)
    name = normalize_name(string(body, "name"), max_chars=MAX_NAME_CHARS)
    scope = choice(body, "scope", Scope, Scope.TRADING)
    created = await request.app[keys.AUTH].api_keys.create(principal.user_id, name, scope)
    return json_ok(created, status=201)


@routes.get("/api/v1/me/api-keys")
async def list_api_keys(request: web.Request) -> web.Response:
    principal = await authenticated(request, logged_in=True)
    return json_ok({"api_keys": await request.app[keys.AUTH].api_keys.of_user(
        principal.user_id)})


@routes.delete("/api/v1/me/api-keys/{api_key_id}")
async def revoke_api_key(request: web.Request) -> web.Response:
    principal = await authenticated(request, logged_in=True)
    await request.app[keys.AUTH].api_keys.revoke(principal.user_id,
                                                 request.match_info["api_key_id"])
    return web.Response(status=204)
