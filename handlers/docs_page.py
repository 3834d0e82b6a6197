"""The HTML of /api/docs, made from the OpenAPI and AsyncAPI documents.

Routes are grouped by tag, each with its parameters, body and answers, examples
made from the schemas, and a form docs.js sends with the user's token. The
Socket.IO and /ws section lists the commands and events of handlers/asyncapi.py.
Every text that comes from a document or the request is escaped.
"""

from __future__ import annotations

import functools
import json
from html import escape
from typing import Any

from handlers import asyncapi
from handlers.examples import example_of
from handlers.openapi import PATHS, SCHEMAS, Schema, document

MAX_FIELDS = 60
# Where the page names its server: filled in per request, the rest is made once.
SERVER, WS_SERVER = "\x00server\x00", "\x00ws-server\x00"


def type_of(schema: Schema) -> str:
    """A short name of a schema's type, e.g. "Order", "decimal", "buy | sell"."""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[1]
    if "const" in schema:
        return json.dumps(schema["const"])
    if "enum" in schema:
        return " | ".join("null" if v is None else str(v) for v in schema["enum"])
    for key in ("oneOf", "anyOf", "allOf"):
        if key in schema:
            return (" & " if key == "allOf" else " | ").join(type_of(s) for s in schema[key])
    kind = schema.get("type", "object")
    if kind == "array" or (isinstance(kind, list) and "array" in kind):
        return f"array of {type_of(schema.get('items', {}))}"
    if schema.get("pattern", "").startswith(r"^-?\d+"):
        kind = ["decimal string"] + (["null"] if "null" in kind else [])
    if kind == ["string", "number"]:
        return "decimal (string or number)"
    return " | ".join(kind) if isinstance(kind, list) else str(kind)


def _model_link(schema: Schema) -> str:
    text = escape(type_of(schema))
    if "$ref" in schema:
        return f'<a href="#model-{text}">{text}</a>'
    return text


def fields(schema: Schema) -> str:
    """A table of an object schema's fields (of the model it names, with a link to it)."""
    if "$ref" in schema:
        model = SCHEMAS[type_of(schema)]
        return f"<p class='type'>{_model_link(schema)}</p>" + (
            fields(model) if "properties" in model else "")
    properties = schema.get("properties")
    if not properties:
        return f"<p class='type'>{_model_link(schema)}</p>"
    required = set(schema.get("required", []))
    rows = "".join(
        f"<tr><td><code>{escape(name)}</code>{'' if name in required else ' <i>optional</i>'}"
        f"</td><td>{_model_link(value)}</td></tr>"
        for name, value in list(properties.items())[:MAX_FIELDS])
    return f"<table class='fields'><tbody>{rows}</tbody></table>"


def pre(value: Any) -> str:
    return f"<pre>{escape(json.dumps(value, indent=2, ensure_ascii=False))}</pre>"


def _parameters(parameters: list[Schema]) -> str:
    if not parameters:
        return ""
    rows = "".join(
        f"<tr><td><code>{escape(p['name'])}</code></td><td>{escape(p['in'])}</td>"
        f"<td>{escape(type_of(p['schema']))}</td>"
        f"<td>{'required' if p.get('required') else ''}</td>"
        f"<td>{escape(p.get('description', ''))}</td></tr>" for p in parameters)
    return f"<h4>Parameters</h4><table class='fields'><tbody>{rows}</tbody></table>"


def _responses(responses: dict[str, Schema]) -> str:
    shown, errors = [], []
    for status, response in responses.items():
        content = response.get("content", {}).get("application/json")
        if not status.startswith("2"):
            errors.append(f"{escape(status)} {escape(response['description'])}")
        elif content is None:
            shown.append(f"<p><b>{escape(status)}</b> {escape(response['description'])}</p>")
        else:
            example = content.get("example", example_of(content["schema"], SCHEMAS))
            shown.append(f"<p><b>{escape(status)}</b> {escape(response['description'])}</p>"
                         f"{fields(content['schema'])}{pre(example)}")
    return (f"<h4>Answers</h4>{''.join(shown)}"
            f"<p class='errors'>Errors (<a href='#errors'>shape</a>): {', '.join(errors)}</p>")


def _try_form(method: str, path: str, operation: Schema, body: Any) -> str:
    inputs = "".join(
        f"<label>{escape(p['name'])} <small>{escape(p['in'])}</small>"
        f"<input name='{escape(p['in'])}:{escape(p['name'])}'"
        f"{' required' if p.get('required') else ''}></label>"
        for p in operation.get("parameters", []))
    textarea = ("" if body is None else
                f"<label>body<textarea name='body' rows='6' spellcheck='false'>"
                f"{escape(json.dumps(body, indent=2, ensure_ascii=False))}</textarea></label>")
    return (f"<form class='try' data-method='{method}' data-path='{escape(path)}'>"
            f"<h4>Try it</h4>{inputs}{textarea}<button>Send {method.upper()}</button>"
            f"<output hidden><span class='status'></span><pre class='answer'></pre></output>"
            f"</form>")


def operation_html(method: str, path: str, operation: Schema) -> str:
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    body = None
    request = ""
    if content is not None:
        body = content.get("example", example_of(content["schema"], SCHEMAS))
        request = f"<h4>Request body</h4>{fields(content['schema'])}{pre(body)}"
    lock = "<span class='auth' title='needs a bearer token'>token</span>" if operation.get(
        "security") else ""
    return (f"<details class='op' id='{escape(operation['operationId'])}'><summary>"
            f"<span class='method {method}'>{method.upper()}</span> <code>{escape(path)}"
            f"</code> <span class='summary'>{escape(operation['summary'])}</span>{lock}"
            f"</summary>{_parameters(operation.get('parameters', []))}{request}"
            f"{_responses(operation['responses'])}{_try_form(method, path, operation, body)}"
            f"</details>")


def rest_html(spec: Schema) -> str:
    groups: dict[str, list[str]] = {tag["name"]: [] for tag in spec["tags"]}
    for path, operations in PATHS.items():
        for method, operation in operations.items():
            groups[operation["tags"][0]].append(operation_html(method, path, operation))
    return "".join(
        f"<section class='tag' id='tag-{_slug(tag['name'])}'><h2>{escape(tag['name'])}</h2>"
        f"<p>{escape(tag['description'])}</p>{''.join(groups[tag['name']])}</section>"
        for tag in spec["tags"])


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower())


def sockets_html() -> str:
    """The commands and events, from the tables the AsyncAPI document is made of."""
    command_rows = "".join(
        f"<details class='op command' id='command-{escape(name)}'><summary><span class='method "
        f"cmd'>CMD</span> <code>{escape(name)}</code> <span class='summary'>"
        f"{escape(command.summary)}</span> <small>{escape(', '.join(command.transports))}"
        f"</small></summary><h4>Payload</h4>{fields(command.payload)}"
        f"{pre(asyncapi.payload_example(command))}<h4>Ack</h4>"
        f"{pre(asyncapi.ack_example(command))}</details>"
        for name, command in asyncapi.COMMANDS.items())
    event_rows = "".join(
        f"<details class='op event' id='event-{escape(name)}'><summary><span class='method "
        f"evt'>EVENT</span> <code>{escape(name)}</code> <span class='summary'>"
        f"{escape(event.when)}</span> <small>to {escape(event.to)}</small></summary>"
        f"{fields(event.payload)}{pre(asyncapi.event_example(event))}</details>"
        for name, event in asyncapi.EVENTS.items())
    return f"""<section id="sockets"><h2>Socket.IO and /ws</h2>
<p>Socket.IO: <code>io("{SERVER}", {{auth: {{token}}}})</code>, then
<code>socket.emit(command, payload, ack =&gt; ...)</code>. Plain WebSocket:
<code>{WS_SERVER}/ws</code>, first message <code>{{"type": "auth", "id": 1, "data":
{{"token": "..."}}}}</code> (or an Authorization header on the upgrade), then
<code>{{"type": command, "id": any, "data": payload}}</code>, answered
<code>{{"type": "ack", "id": the same, "ok": true, ...}}</code>; events arrive as
<code>{{"type": event, ...payload}}</code>. A refused command's ack is
<code>{{"ok": false, "error": {{"code", "message", "details?"}}}}</code>. Events with a
<code>seq</code> are stored: after a reconnect read
<code>GET /api/v1/events?after=&lt;seq&gt;</code>. Machine-readable:
<a href="/api/asyncapi.json">/api/asyncapi.json</a> (AsyncAPI 3.0).</p>
<h3>Commands</h3>{command_rows}<h3>Events</h3>{event_rows}</section>"""


def models_html() -> str:
    return "<section id='models'><h2>Models</h2>" + "".join(
        f"<details class='model' id='model-{escape(name)}'><summary><code>{escape(name)}"
        f"</code></summary>{fields(schema)}{pre(example_of(schema, SCHEMAS))}</details>"
        for name, schema in SCHEMAS.items()) + "</section>"


def render(server_url: str) -> str:
    """The whole page; server_url is shown (escaped) as where the API answers."""
    return (_page().replace(SERVER, escape(server_url))
            .replace(WS_SERVER, escape(server_url.replace("http", "ws", 1))))


@functools.cache
def _page() -> str:
    """The page, its server left as SERVER and WS_SERVER (it takes tens of ms to make)."""
    spec = document(SERVER)
    nav = "".join(f"<a href='#tag-{_slug(t['name'])}'>{escape(t['name'])}</a>"
                  for t in spec["tags"])
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>PaperDesk API</title><link rel="stylesheet" href="/api/docs/docs.css">
<script type="module" src="/api/docs/docs.js"></script></head>
<body><header><h1>PaperDesk API</h1>
<p>Server: <code id="server">{SERVER}</code>. Machine-readable:
<a href="/api/v1/openapi.json">/api/v1/openapi.json</a> (OpenAPI 3.1),
<a href="/api/asyncapi.json">/api/asyncapi.json</a> (AsyncAPI 3.0).</p>
<form id="login"><b>Token</b> <input name="email" type="email" placeholder="email"
autocomplete="username"> <input name="password" type="password" placeholder="password"
autocomplete="current-password"> <button>Log in</button> or paste
<input id="token" name="token" placeholder="access token" autocomplete="off">
<span id="who" role="status"></span></form>
<nav>{nav}<a href="#sockets">Socket.IO and /ws</a><a href="#models">Models</a></nav>
</header><main>
<p id="errors">Money, prices and quantities are decimal strings (numbers are accepted in
requests); times are ISO 8601. Errors are <code>{{"error": {{"code", "message",
"details?"}}}}</code> with the HTTP status.</p>
{rest_html(spec)}{sockets_html()}{models_html()}</main></body></html>"""
