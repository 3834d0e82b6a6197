"""REST: the signed-in user's in-app notifications."""

from __future__ import annotations

from aiohttp import web

from handlers import keys
from handlers.commands import page_of, paged
from handlers.common import authenticated, json_ok
from handlers.middleware import count
from handlers.validation import payload, read_json, string
from notifier.channels import inbox_view
from notifier.preferences import preferences, validate
from services.auth import new_id
from trading.errors import NotFound

routes = web.RouteTableDef()


@routes.get("/api/v1/notifications")
async def list_notifications(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    unread = request.query.get("unread", "false").lower() in ("1", "true", "yes")
    page = page_of("notifications", request.query)
    found = await request.app[keys.STORE].inbox.find(
        principal.user_id, unread=unread,
        after=page.after if page.after is not None else request.query.get("after"),
        limit=page.limit + 1)
    notes, next_cursor = paged("notifications", page, found)
    return json_ok({"notifications": [inbox_view(note) for note in notes],
                    "next_cursor": next_cursor})


@routes.get("/api/v1/notifications/unread-count")
async def unread_count(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    return json_ok({"unread": await request.app[keys.STORE].inbox.unread(principal.user_id)})


@routes.post("/api/v1/notifications/read-all")
async def read_all(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    marked = await request.app[keys.STORE].inbox.read_all(principal.user_id,
                                                          request.app[keys.CLOCK]())
    return json_ok({"marked": marked})


@routes.post("/api/v1/notifications/{note_id}/read")
async def mark_read(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    note = await request.app[keys.STORE].inbox.mark_read(
        principal.user_id, request.match_info["note_id"], request.app[keys.CLOCK]())
    if note is None:
        raise NotFound("No such notification.")
    return json_ok({"notification": inbox_view(note)})


@routes.get("/api/v1/notifications/preferences")
async def get_preferences(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    user = await request.app[keys.AUTH].user(principal)
    return json_ok({"preferences": preferences(user)})


@routes.put("/api/v1/notifications/preferences")
async def put_preferences(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    chosen = validate(payload(await read_json(request)).get("preferences"))
    user = await request.app[keys.AUTH].user(principal)
    merged = {**(user.get("notification_preferences") or {}), **chosen}
    user = await request.app[keys.AUTH].update_profile(principal,
                                                       {"notification_preferences": merged})
    return json_ok({"preferences": preferences(user)})


@routes.post("/api/v1/notifications")
async def send_notice(request: web.Request) -> web.Response:
    """A notice the user sends to their own channels (5 a minute at most)."""
    principal = await authenticated(request)
    body = await read_json(request)
    event = string(body, "event", max_chars=100)
    message = string(body, "message", max_chars=1000)
    if (limit := request.app[keys.LIMITS].notices) is not None:
        await count(request, limit, principal.user_id)
    user = await request.app[keys.AUTH].user(principal)
    channels = preferences(user)["notice"]
    await request.app[keys.OUTBOX].request(principal.user_id, "notice", f"notice:{new_id()}",
                                           channels, {"event": event, "message": message})
    return json_ok({"queued": channels}, status=202)
