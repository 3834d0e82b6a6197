"""REST: price alerts, visible and changeable by their owner only."""

from __future__ import annotations

from aiohttp import web

from handlers import commands, keys
from handlers.common import authenticated, json_ok
from handlers.validation import read_json
from services.alerts import alert_view

routes = web.RouteTableDef()


@routes.post("/api/v1/alerts")
async def create_alert(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    result = await commands.create_alert(request.app, principal, await read_json(request))
    return json_ok(result, status=201)


@routes.get("/api/v1/alerts")
async def list_alerts(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    return json_ok(await commands.list_alerts(request.app, principal, request.query))


@routes.get("/api/v1/alerts/{alert_id}")
async def get_alert(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    alert = await request.app[keys.ALERTS].get(principal.user_id, request.match_info["alert_id"])
    return json_ok({"alert": alert_view(alert)})


@routes.patch("/api/v1/alerts/{alert_id}")
async def update_alert(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    return json_ok(await commands.update_alert(request.app, principal,
                                               request.match_info["alert_id"],
                                               await read_json(request)))


@routes.delete("/api/v1/alerts/{alert_id}")
async def delete_alert(request: web.Request) -> web.Response:
    principal = await authenticated(request)
    return json_ok(await commands.delete_alert(request.app, principal,
                                               request.match_info["alert_id"]))
