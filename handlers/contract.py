"""The API's description: OpenAPI and AsyncAPI JSON, and the page that presents both.

Their servers name the origin the client reached (the Host header, and the scheme
a trusted proxy's X-Forwarded-Proto names), so a server behind any name documents
itself; a Host that is not a plain host[:port] falls back to PUBLIC_URL.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from handlers import asyncapi, docs_page, keys, openapi
from handlers.page import PAGE_HEADERS
from trading.errors import NotFound

routes = web.RouteTableDef()

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
# A DNS name or IPv4 address, or a bracketed IPv6 address, and maybe a port.
_HOST = re.compile(rf"(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9A-Fa-f:.]{{2,45}}\])(?::[0-9]{{1,5}})?")
MAX_HOST = 255
STATIC = Path(__file__).with_name("docs_static")
STATIC_FILES = {"docs.js": "text/javascript", "docs.css": "text/css"}


def origin(request: web.Request) -> tuple[str, str]:
    """(scheme, host) of the server as the client reached it, or of PUBLIC_URL."""
    settings = request.app[keys.SETTINGS]
    host = request.headers.get("Host", "")
    if len(host) > MAX_HOST or not _HOST.fullmatch(host):
        public = urlsplit(settings.public_url)
        return public.scheme, public.netloc
    scheme = request.scheme
    if settings.limits.trust_forwarded_for:  # behind a proxy: its scheme, not ours
        # The last scheme is the one the trusted proxy added (as X-Forwarded-For's address).
        forwarded = request.headers.get("X-Forwarded-Proto", "").rsplit(",", 1)[-1]
        forwarded = forwarded.strip().lower()
        if forwarded in ("http", "https"):
            scheme = forwarded
    return scheme, host


@routes.get("/api/v1/openapi.json")
async def openapi_json(request: web.Request) -> web.Response:
    """The OpenAPI 3.1 description of every REST route."""
    scheme, host = origin(request)
    return web.json_response(openapi.document(f"{scheme}://{host}"))


@routes.get("/api/asyncapi.json")
async def asyncapi_json(request: web.Request) -> web.Response:
    """The AsyncAPI 3.0 description of the Socket.IO and /ws commands and events."""
    scheme, host = origin(request)
    return web.json_response(asyncapi.document(host, secure=scheme == "https"))


@routes.get("/api/docs")
async def docs(request: web.Request) -> web.Response:
    """Every route, command and event on one page, with examples and a form to try each
    route."""
    scheme, host = origin(request)
    return web.Response(text=docs_page.render(f"{scheme}://{host}"),
                        content_type="text/html",
                        headers={**PAGE_HEADERS, "Cache-Control": "no-cache"})


@routes.get("/api/docs/{name}")
async def docs_file(request: web.Request) -> web.FileResponse:
    """The page's script or stylesheet."""
    name = request.match_info["name"]
    if name not in STATIC_FILES:
        raise NotFound(f"No docs file {name[:40]!r}.")
    return web.FileResponse(STATIC / name, headers={
        **PAGE_HEADERS, "Cache-Control": "no-cache", "Content-Type": STATIC_FILES[name]})
