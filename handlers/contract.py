"""The API's description: OpenAPI JSON, and a page that lists every route."""

from __future__ import annotations

import html
import json
from typing import Any

from aiohttp import web

from handlers import keys
from handlers.openapi import document
from handlers.page import PAGE_HEADERS

routes = web.RouteTableDef()


@routes.get("/api/v1/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    """The OpenAPI 3.1 description of every REST route."""
    return web.json_response(document(request.app[keys.SETTINGS].public_url))


def _fields(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return f"<code>{html.escape(name)}</code>"
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    return ", ".join(f"<code>{html.escape(name)}{'' if name in required else '?'}</code>"
                     for name in properties) or "-"


@routes.get("/api/docs")
async def docs(request: web.Request) -> web.Response:
    """Every route on one page, from the same description."""
    spec = document(request.app[keys.SETTINGS].public_url)
    schemas = spec["components"]["schemas"]
    rows = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            request_body = content.get("application/json", {}).get("schema")
            statuses = ", ".join(operation["responses"])
            rows.append(
                f"<tr><td><code>{method.upper()} {html.escape(path)}</code></td>"
                f"<td>{html.escape(operation['summary'])}</td>"
                f"<td>{'bearer' if operation.get('security') else '-'}</td>"
                f"<td>{_fields(request_body) if request_body else '-'}</td>"
                f"<td>{statuses}</td></tr>")
    models = "".join(
        f"<h3 id='{name}'>{name}</h3><pre>{html.escape(json.dumps(schema, indent=1))}</pre>"
        for name, schema in schemas.items())
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>PaperDesk API</title><link rel="stylesheet" href="/app/style.css"></head>
<body class="docs"><main class="card"><h1>PaperDesk API</h1>
<p>Machine-readable: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a> (OpenAPI 3.1).
Errors are <code>{{"error": {{"code", "message", "details?"}}}}</code>.</p>
<table class="grid"><thead><tr><th>route</th><th>what</th><th>auth</th><th>body</th>
<th>statuses</th></tr></thead><tbody>{''.join(rows)}</tbody></table>
<h2>Models</h2>{models}</main></body></html>"""
    return web.Response(text=page, content_type="text/html", headers=PAGE_HEADERS)
