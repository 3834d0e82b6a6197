"""REST: the signed-in user's in-app notifications."""

from __future__ import annotations

from aiohttp import web

from handlers.common import authenticated, json_ok
from handlers.validation import integer_param
from notifier.channels import inbox_view
from server import keys
from trading.errors import NotFound

routes = web.RouteTableDef()


@routes.get("/api/v1/notifications")
async def list_notifications(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    unread = request.query.get("unread", "false").lower() in ("1", "true", "yes")
    notes = await request.app[keys.STORE].inbox.find(
        principal.user_id, unread=unread, after=request.query.get("after"),
        limit=integer_param(request, "limit", default=50, low=1, high=200))
    return json_ok({"notifications": [inbox_view(note) for note in notes]})


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
