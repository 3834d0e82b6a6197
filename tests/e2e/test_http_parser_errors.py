"""Requests aiohttp's HTTP parser refuses (headers over the limit, bad syntax) still get
the API's JSON error object, from the server as run.py serves it."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from server.app import MAX_HEADER_FIELD_BYTES, AppRunner, create_app
from tests.conftest import TEST_SECRET
from tests.processes import RunPy

TOKEN = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXRva2Vu."  # what must never be echoed or logged


async def exchange(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes on a new connection; return the status, headers and body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.split(": ", 1) for line in lines[1:] if line)
        body = await reader.readexactly(int(headers["Content-Length"]))
        return int(lines[0].split()[1]), headers, body
    finally:
        writer.close()


def get(path: str = "/api/v1/me", *headers: bytes) -> bytes:
    return (f"GET {path} HTTP/1.1\r\nHost: localhost\r\n".encode()
            + b"".join(header + b"\r\n" for header in headers) + b"\r\n")


def bearer(size: int) -> bytes:
    """An Authorization header whose token is size bytes, starting with TOKEN."""
    return b"Authorization: Bearer " + (TOKEN + "x" * (size - len(TOKEN))).encode()


def error_of(status: int, headers: dict[str, str], body: bytes) -> tuple[int, str]:
    """Check the JSON error shape (and that no part of the token came back)."""
    assert headers["Content-Type"].startswith("application/json"), (headers, body[:200])
    assert TOKEN.encode() not in body
    payload = json.loads(body)
    assert set(payload) == {"error"}
    assert set(payload["error"]) >= {"code", "message"}
    assert payload["error"]["code"].replace("_", "").isalpha()
    assert payload["error"]["code"].islower() and payload["error"]["message"]
    return status, payload["error"]["code"]


@pytest.fixture
async def port(settings, clock, email) -> AsyncIterator[int]:  # type: ignore[no-untyped-def]
    """The app served in this process by the runner run.py uses."""
    runner = AppRunner(create_app(settings, clock=clock, email=email, feeds=[]))
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        yield int(runner.addresses[0][1])
    finally:
        await runner.cleanup()


async def test_a_token_within_the_header_limit_reaches_the_app(port):
    assert MAX_HEADER_FIELD_BYTES > 9 * 1024
    assert error_of(*await exchange(port, get("/api/v1/me", bearer(9 * 1024)))) == (
        401, "invalid_token")


@pytest.mark.parametrize("size", [MAX_HEADER_FIELD_BYTES, 20 * 1024, 100 * 1024])
async def test_an_authorization_header_over_the_limit_is_json_431(port, size, caplog):
    with caplog.at_level(logging.DEBUG):
        status, headers, body = await exchange(port, get("/api/v1/me", bearer(size)))
    assert error_of(status, headers, body) == (431, "header_too_large")
    assert str(MAX_HEADER_FIELD_BYTES) in json.loads(body)["error"]["message"]
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "refused an unparsable request" in logged
    assert TOKEN not in logged
    assert not [record for record in caplog.records if record.exc_info]


async def test_a_long_header_name_and_too_many_headers_are_json_431(port):
    long_name = b"X-" + b"n" * (20 * 1024) + b": v"
    assert error_of(*await exchange(port, get("/healthz", long_name))) == (
        431, "header_too_large")
    many = [f"X-Header-{n}: v".encode() for n in range(200)]
    assert error_of(*await exchange(port, get("/healthz", *many))) == (
        431, "header_too_large")


@pytest.mark.parametrize("request_bytes", [
    get("/healthz?q=" + "a" * 9000),                              # request line too long
    b"G@T /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n",          # bad method
    b"hello\r\n\r\n",                                             # not HTTP
    get("/healthz", b"Bad Header: " + TOKEN.encode()),           # space in a field name
    get("/healthz", b"Authorization: Bearer " + TOKEN.encode() + b"\x01"),  # control in value
    b"POST /api/v1/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Length: x\r\n\r\n",
])
async def test_other_malformed_requests_are_json_400(port, request_bytes):
    assert error_of(*await exchange(port, request_bytes)) == (400, "validation_error")


async def test_well_formed_requests_are_served_as_before(port):
    ok = get("/healthz")
    status, headers, body = await exchange(port, ok)
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    assert headers["Content-Type"].startswith("application/json")


async def test_run_py_answers_oversized_authorization_headers_in_json(
        tmp_path: Path, mongo_uri, db_name):  # type: ignore[no-untyped-def]
    server = RunPy(tmp_path, MONGO_URI=mongo_uri, MONGO_DB=db_name, JWT_SECRET=TEST_SECRET,
                   HOST="127.0.0.1")
    await server.start()
    try:
        await server.wait_healthy()
        assert error_of(*await exchange(server.port, get("/api/v1/me", bearer(9 * 1024)))) == (
            401, "invalid_token")
        assert error_of(*await exchange(server.port,
                                        get("/api/v1/me", bearer(100 * 1024)))) == (
            431, "header_too_large")
        assert error_of(*await exchange(server.port, b"hello\r\n\r\n")) == (
            400, "validation_error")
    finally:
        assert await server.stop() == 0
