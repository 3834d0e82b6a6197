"""The browser trading page (client_examples/browser), served at /."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from handlers import keys
from trading.errors import NotFound

routes = web.RouteTableDef()

# The page's own files: plain ES modules, no build step.
PAGE_FILES = frozenset({"index.html", "style.css", "app.js", "api.js", "chart.js",
                        "decimal.js", "dom.js", "views.js", "equity.js", "orders.js",
                        "positions.js", "ticket.js", "wallet.js", "forecast.js", "news.js",
                        "intel.js", "leaderboard.js", "welcome.js", "settings.js"})
# Import-map names → files of the npm packages `make setup` installs.
VENDOR_FILES = {
    "lightweight-charts.mjs":
        "node_modules/lightweight-charts/dist/lightweight-charts.standalone.production.mjs",
    "socket.io-client.mjs": "node_modules/socket.io-client/dist/socket.io.esm.min.js",
}
# The one inline <style> the page runs: lightweight-charts 5.2.1's attribution
# logo (its licence asks for the attribution). A new chart version changes it,
# and the browser test then fails on the CSP console error.
CHART_LOGO_STYLE = "'sha256-3pRED1tOXas1FXFoPb9TGCjmYe9XQsmO9OV23khV2nY='"
# Only our own origin may run scripts, load styles or open sockets (the chart
# sets style attributes on its own elements); the page may not be framed.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; "
        f"style-src 'self' {CHART_LOGO_STYLE}; style-src-attr 'unsafe-inline'; "
        "img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def _send(path: Path, cache: str) -> web.FileResponse:
    if not path.is_file():
        raise NotFound(f"{path.name} is missing: run `make setup` to install the page's packages.")
    return web.FileResponse(path, headers={**PAGE_HEADERS, "Cache-Control": cache})


@routes.get("/")
@routes.get("/verify-email")  # the links the server emails open the page on their screen
@routes.get("/reset-password")
async def page(request: web.Request) -> web.FileResponse:
    """The trading page."""
    return _send(request.app[keys.SETTINGS].web_root / "index.html", "no-cache")


@routes.get("/app/{name}")
async def page_file(request: web.Request) -> web.FileResponse:
    """One of the page's modules or its stylesheet."""
    name = request.match_info["name"]
    if name not in PAGE_FILES:
        raise NotFound(f"No page file {name!r}.")
    return _send(request.app[keys.SETTINGS].web_root / name, "no-cache")


@routes.get("/vendor/{name}")
async def vendor_file(request: web.Request) -> web.FileResponse:
    """A third-party module the page imports, from the installed npm package."""
    relative = VENDOR_FILES.get(request.match_info["name"])
    if relative is None:
        raise NotFound(f"No vendor file {request.match_info['name']!r}.")
    return _send(request.app[keys.SETTINGS].web_root / relative, "public, max-age=3600")
