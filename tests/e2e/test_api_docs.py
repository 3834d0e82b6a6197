"""/api/docs, /api/v1/openapi.json and /api/asyncapi.json: every route, command and event
documented, examples true to their schemas, servers at the origin the client reached."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import replace
from typing import Any, cast
from urllib.parse import urlsplit

import jsonschema
import pytest

from config.settings import Settings
from handlers import asyncapi, docs_page, keys
from handlers.examples import example_of
from handlers.openapi import PATHS, SCHEMAS
from handlers.plain_ws import Session
from tests.e2e.test_browser_page import ARTIFACTS, BROWSER_CLIENT, needs_browser
from tests.services import ROOT
from tests.support import PASSWORD, Api, Servers

OPERATIONS = [(method, path, operation) for path, operations in PATHS.items()
              for method, operation in operations.items()]


def valid(instance: Any, schema: dict[str, Any], components: dict[str, Any]) -> None:
    """Check instance against schema, its #/components/schemas/ refs in components."""
    root = {"allOf": [schema], "components": {"schemas": components}}
    jsonschema.Draft202012Validator(root).validate(instance)


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return ([node["$ref"]] if isinstance(node.get("$ref"), str) else []) + [
            found for value in node.values() for found in refs(value)]
    if isinstance(node, list):
        return [found for value in node for found in refs(value)]
    return []


def resolve(document: dict[str, Any], pointer: str) -> Any:
    node: Any = document
    for part in pointer.removeprefix("#/").split("/"):
        node = node[part]
    return node


async def page(api: Api, **headers: str) -> str:
    async with api.client.get("/api/docs", headers=headers) as response:
        assert response.status == 200
        assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
        return await response.text()


async def test_the_page_groups_every_route_with_its_examples_and_a_form_to_try_it(api):
    text = await page(api)
    for method, path, operation in OPERATIONS:
        block = re.search(rf"<details class='op' id='{operation['operationId']}'>.*?</details>",
                          text, re.DOTALL)
        assert block is not None, (method, path)
        assert f"<code>{path}</code>" in block.group(0)
        assert f"<form class='try' data-method='{method}' data-path='{path}'>" in block.group(0)
    assert text.count("<form class='try'") == len(OPERATIONS)
    # Grouped: every tag a section, in the order the description lists them.
    _, spec = await api.call("GET", "/api/v1/openapi.json")
    sections = re.findall(r"<section class='tag' id='tag-[a-z-]+'><h2>([^<]+)</h2>", text)
    assert sections == [tag["name"].replace("&", "&amp;") for tag in spec["tags"]]
    assert {op["tags"][0] for _, _, op in OPERATIONS} == {tag["name"] for tag in spec["tags"]}
    # The main routes show their hand-written examples.
    orders = re.search(r"id='post_orders'>.*?</details>", text, re.DOTALL)
    assert orders is not None and "&quot;limit_price&quot;: &quot;189.50&quot;" in orders.group(0)
    for script in ("/api/docs/docs.js", "/api/docs/docs.css"):
        async with api.client.get(script) as response:
            assert response.status == 200 and len(await response.read()) > 500
    for name in ("..%2Fopenapi.py", "docs.js%00", "%C3%A9.js", "a" * 5000, "%2e%2e",
                 "docs.js.map", "DOCS.JS"):
        status, body = await api.call("GET", f"/api/docs/{name}")
        assert status == 404 and body["error"]["code"] == "not_found", name
        assert len(body["error"]["message"]) < 100


async def test_every_example_satisfies_its_schema():
    for schema in SCHEMAS.values():
        valid(example_of(schema, SCHEMAS), schema, SCHEMAS)
    for _, _, operation in OPERATIONS:
        content = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if content is not None:
            valid(content.get("example", example_of(content["schema"], SCHEMAS)),
                  content["schema"], SCHEMAS)
        for response in operation["responses"].values():
            shown = response.get("content", {}).get("application/json")
            if shown is not None:
                valid(shown.get("example", example_of(shown["schema"], SCHEMAS)),
                      shown["schema"], SCHEMAS)


def dispatched(api: Api) -> tuple[set[str], set[str]]:
    """The commands the Socket.IO server and a /ws connection dispatch on."""
    socket_io = set(api.app[keys.SIO].handlers["/"]) - {"connect", "disconnect", "*"}
    plain = set(Session(api.app, cast(Any, None)).handlers) | {"auth"}  # auth comes first
    return socket_io, plain


async def test_the_socket_section_lists_every_command_both_transports_dispatch(api):
    socket_io, plain = dispatched(api)
    documented = asyncapi.COMMANDS
    assert {n for n, c in documented.items() if asyncapi.SOCKET_IO in c.transports} == socket_io
    assert {n for n, c in documented.items() if asyncapi.PLAIN in c.transports} == plain
    text = await page(api)
    section = text[text.index("<section id=\"sockets\">"):text.index("<section id='models'>")]
    assert set(re.findall(r"id='command-([a-z_]+)'", section)) == socket_io | plain
    assert set(re.findall(r"id='event-([a-z_]+)'", section)) == set(asyncapi.EVENTS)


def emitted_events() -> set[str]:
    """The event names the server's code emits or stores."""
    patterns = [r"emit\(\s*\"([a-z_]+)\"", r"\(\"([a-z]+_(?:update|triggered))\", \{",
                r"\.push\([^,]+, \"([a-z_]+)\"", r"\[\(\"([a-z_]+)\", changed",
                r"event_message\(\"([a-z_]+)\"", r"send\(\{\"type\": \"([a-z_]+)\""]
    found: set[str] = set()
    for folder in ("services", "handlers", "notifier", "server"):
        for source in (ROOT / folder).glob("*.py"):
            text = source.read_text()
            for pattern in patterns:
                found.update(re.findall(pattern, text))
    return found


def test_every_event_the_server_sends_is_described():
    # /ws frames its acks and refusals as {"type": "ack" | "error"}: not events.
    assert emitted_events() - {"ack", "error"} == set(asyncapi.EVENTS)
    table = (ROOT / "docs" / "API.md").read_text().split("### Events (server → client)")[1]
    table = table.split("\n\n")[1]
    assert set(re.findall(r"^\| `([a-z_]+)` \|", table, re.MULTILINE)) == set(asyncapi.EVENTS)


async def test_the_asyncapi_document_names_a_channel_and_messages_for_each_command_and_event(
        api):
    async with api.client.get("/api/asyncapi.json") as response:
        assert response.status == 200
        document = json.loads(await response.text())
    assert document["asyncapi"] == "3.0.0"
    for pointer in refs(document):
        assert pointer.startswith("#/") and resolve(document, pointer) is not None, pointer
    socket_io, plain = dispatched(api)
    components = document["components"]["schemas"]
    for name in socket_io | plain:
        channel = document["channels"][name]
        assert set(channel["messages"]) == {"request", "ack"}
        operation = document["operations"][name]
        assert operation["action"] == "receive"
        assert operation["reply"]["messages"] == [{"$ref": f"#/channels/{name}/messages/ack"}]
        for message in ("request", "ack"):
            shown = resolve(document, channel["messages"][message]["$ref"])
            valid(shown["examples"][0]["payload"], shown["payload"], components)
    for name in asyncapi.EVENTS:
        assert document["operations"][f"on_{name}"]["action"] == "send"
        message = document["components"]["messages"][name]
        valid(message["examples"][0]["payload"], message["payload"], components)
    assert set(document["channels"]) == socket_io | plain | set(asyncapi.EVENTS)


async def test_servers_follow_the_host_the_client_reached(api):
    headers = {"Host": "desk.example.com:8443", "X-Forwarded-Proto": "https"}
    _, spec = await api.call("GET", "/api/v1/openapi.json", headers=headers)
    # No proxy is trusted: the scheme is the connection's own.
    assert spec["servers"] == [{"url": "http://desk.example.com:8443"}]
    _, document = await api.call("GET", "/api/asyncapi.json", headers=headers)
    assert {(s["host"], s["protocol"]) for s in document["servers"].values()} == {
        ("desk.example.com:8443", "ws")}
    assert "<code id=\"server\">http://desk.example.com:8443</code>" in await page(
        api, **headers)
    _, spec = await api.call("GET", "/api/v1/openapi.json", headers={"Host": "[::1]:9000"})
    assert spec["servers"] == [{"url": "http://[::1]:9000"}]


async def test_a_trusted_proxy_names_the_scheme(servers: Servers, settings: Settings):
    proxied = await servers.start(replace(settings, limits=replace(
        settings.limits, trust_forwarded_for=True)))
    headers = {"Host": "desk.example.com", "X-Forwarded-Proto": "http, https"}
    _, spec = await proxied.call("GET", "/api/v1/openapi.json", headers=headers)
    assert spec["servers"] == [{"url": "https://desk.example.com"}]
    _, document = await proxied.call("GET", "/api/asyncapi.json", headers=headers)
    assert document["servers"]["ws"] == {**document["servers"]["ws"], "protocol": "wss",
                                         "host": "desk.example.com"}
    port = urlsplit(proxied.url).port
    assert port is not None
    for proto in (b"gopher", b"", b"https" * 1500, "\uff48\uff54\uff54\uff50\uff53".encode(),
                  b"\xff", b"https\x01", b",,,", b"https, javascript"):
        status, body = await exchange(port, "/api/v1/openapi.json", b"desk.example.com",
                                      b"X-Forwarded-Proto: " + proto)
        assert status < 500, (proto, body[:300])
        if status == 200:
            assert json.loads(body)["servers"] == [{"url": "http://desk.example.com"}], proto


HOSTILE_HOSTS = [
    b"a" * 6000, b"x." * 200 + b"com", "b\u00f6rse.example".encode(),
    "\u0431\u0438\u0440\u0436\u0430".encode(),
    b"\xff\xfe", b"evil.example/<script>alert(1)</script>", b"evil.example?x=\"'><b>",
    b"evil.example:99999999", b"user@evil.example", b"", b"  ", b"[::1", b"{{x}}",
    b"evil.example\\path",
]


async def exchange(port: int, path: str, host: bytes | None,
                   *headers: bytes) -> tuple[int, bytes]:
    """One raw HTTP/1.1 request with exactly this Host (none if None) and these headers;
    the status and body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        head = b"".join(h + b"\r\n" for h in ([] if host is None else [b"Host: " + host])
                        + list(headers))
        writer.write(f"GET {path} HTTP/1.1\r\n".encode() + head + b"Connection: close\r\n\r\n")
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


@pytest.mark.parametrize("host", [*HOSTILE_HOSTS, None])
async def test_a_hostile_host_never_fails_the_docs_and_never_reaches_them(api, host):
    port = urlsplit(api.url).port
    assert port is not None
    public = api.app[keys.SETTINGS].public_url
    for path in ("/api/docs", "/api/v1/openapi.json", "/api/asyncapi.json"):
        status, body = await exchange(port, path, host)
        assert status < 500, (path, host, body[:300])
        if status != 200:
            continue
        assert b"evil" not in body and b"<script>alert" not in body and b"'><b>" not in body
        assert host is None or len(host.strip()) < 5 or host not in body
        if path == "/api/v1/openapi.json":
            assert json.loads(body)["servers"] == [{"url": public}]


def test_the_page_escapes_what_it_shows():
    text = docs_page.render("http://x\"><script>alert(1)</script>")
    assert "<script>alert" not in text and "&lt;script&gt;alert(1)" in text


@needs_browser
async def test_a_user_logs_in_on_the_page_and_tries_get_account(api: Api) -> None:
    email = "docs@example.com"
    token = (await api.account(email, "Docs"))["access_token"]
    process = await asyncio.create_subprocess_exec(
        "node", "tests/api-docs.mjs", api.url, email, PASSWORD, str(ARTIFACTS),
        cwd=BROWSER_CLIENT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(process.communicate(), 50)
    assert process.returncode == 0, stdout.decode() + stderr.decode()
    shown = json.loads(stdout.decode().strip().splitlines()[-1])
    assert shown["who"] == f"Logged in as {email}."
    assert shown["before"].startswith("401")
    assert shown["status"] == "200 OK"
    _, account = await api.call("GET", "/api/v1/account", token=token)
    assert shown["answer"] == account
