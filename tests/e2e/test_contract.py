"""The REST contract: every route described in OpenAPI, and the server fuzzed against it."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from handlers.openapi import PATHS, undescribed
from tests.conftest import TEST_SECRET
from tests.processes import ServerProcess
from tests.support import PASSWORD

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
# Each body is also sent with one field made hostile (huge exponents, surrogates, nesting).
HOSTILE_BODIES = Path(__file__).resolve().parents[1] / "hostile_bodies.py"
METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def served_routes(app) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    routes = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter")
        if route.method in METHODS and path and not path.startswith("/socket.io"):
            routes.add((route.method.lower(), path))
    return routes


async def test_every_route_is_described_and_every_description_is_served(api):
    served = {(m, p) for m, p in served_routes(api.app) if not undescribed(p)}
    described = {(method, path) for path, operations in PATHS.items() for method in operations}
    assert served - described == set(), "routes without an OpenAPI description"
    assert described - served == set(), "descriptions of routes that do not exist"


async def test_the_description_and_its_page_are_served(api):
    status, spec = await api.call("GET", "/api/v1/openapi.json")
    assert status == 200
    assert spec["openapi"] == "3.1.0" and set(spec["paths"]) == set(PATHS)
    page = await api.client.get("/api/docs")
    text = await page.text()
    assert page.status == 200 and "PaperDesk API" in text
    assert all(path in text for path in PATHS)
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")


async def test_fuzzing_the_live_server_finds_no_server_error_and_no_schema_violation(
        mongo_uri: str, db_name: str, tmp_path: Path) -> None:
    server = ServerProcess(tmp_path, MONGO_URI=mongo_uri, MONGO_DB=db_name,
                            JWT_SECRET=TEST_SECRET, LOG_LEVEL="WARNING",
                            MARKET_SYMBOLS="sim:AAPL=100,BTCUSDT=65000", SIM_SEED="1",
                            RATE_USER_PER_MINUTE="0", RATE_AUTH_PER_IP_PER_MINUTE="0",
                            RATE_SOCKET_PER_SECOND="0", RATE_NOTICES_PER_MINUTE="0")
    await server.start()
    try:
        await server.wait_healthy()
        account = {"email": "fuzz@example.com", "password": PASSWORD, "name": "Fuzz"}
        assert (await server.request("POST", "/api/v1/auth/register", account))[0] == 201
        _, tokens = await server.request("POST", "/api/v1/auth/login",
                                         {"email": account["email"], "password": PASSWORD})
        process = await asyncio.create_subprocess_exec(
            str(SCHEMATHESIS), "run", f"{server.url}/api/v1/openapi.json", "--url", server.url,
            "-H", f"Authorization: Bearer {tokens['access_token']}",
            "--checks", "not_a_server_error,response_schema_conformance,"
                        "status_code_conformance,content_type_conformance",
            "--phases", "coverage,fuzzing,stateful", "-n", "20", "--generation-deterministic",
            # These two would end the session the run authenticates with.
            "--exclude-name", "POST /api/v1/auth/logout", "--exclude-name", "DELETE /api/v1/me",
            "--no-color", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            cwd=tmp_path, env={**os.environ, "SCHEMATHESIS_HOOKS": str(HOSTILE_BODIES)})
        output = (await asyncio.wait_for(process.communicate(), 50))[0].decode()
        assert process.returncode == 0, output[-4000:]
        assert " passed" in output and "failures" not in output.split("SUMMARY")[-1], output
    finally:
        await server.stop()
