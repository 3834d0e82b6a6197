"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

from aiohttp import web

from handlers import keys
from services.metrics import CONTENT_TYPE
from store.database import ping
from trading.errors import Unavailable

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

PROBE_TIMEOUT = 2.0


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """The process is up and serving."""
    return web.json_response({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    """The database and, when configured, Redis answer."""
    checks = {"database": await _probe(ping(request.app[keys.STORE].db.main, PROBE_TIMEOUT))}
    redis = request.app[keys.REDIS]
    if redis is not None:
        checks["redis"] = await _probe(asyncio.wait_for(redis.ping(), PROBE_TIMEOUT))
    if all(state == "ok" for state in checks.values()):
        node = request.app[keys.CLUSTER]
        role = "alone" if node is None else "leader" if node.leader else "follower"
        return web.json_response({"status": "ready", "checks": checks, "role": role})
    raise Unavailable("A dependency is not answering.", details={"checks": checks})


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    """This process's metrics in Prometheus's text format."""
    app = request.app
    readings = app[keys.METRICS].readings
    try:
        readings.outbox_backlog = await asyncio.wait_for(app[keys.STORE].outbox.backlog(),
                                                         PROBE_TIMEOUT)
    except Exception as exc:  # the other metrics are still worth serving
        log.warning("could not count the outbox backlog: %s", type(exc).__name__)
    return web.Response(body=app[keys.METRICS].render(),
                        headers={"Content-Type": CONTENT_TYPE})


async def _probe(check: Awaitable[object]) -> str:
    try:
        await check
    except Exception as exc:  # any failure means "not ready"
        log.warning("readiness check failed: %s", type(exc).__name__)
        return "down"
    return "ok"
