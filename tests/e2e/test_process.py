"""The real entry points: `python run.py` with its embedded database, and the Node client."""

import asyncio
import json
import os
import shutil
import signal
from pathlib import Path

import pytest

from tests.processes import RunPy
from tests.services import ROOT
from tests.support import PASSWORD


def database_pids(data_dir: Path) -> list[int]:
    """Return the pids of embedded database processes serving data_dir."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if "secantusd-rs" in cmdline and str(data_dir.resolve()) in cmdline:
            pids.append(int(entry.name))
    return pids


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


async def wait_gone(data_dir: Path) -> None:
    for _ in range(100):
        if not database_pids(data_dir):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the embedded database outlived the server")


async def test_run_py_serves_on_embedded_defaults_and_keeps_data_across_restarts(workdir):
    server = RunPy(workdir)
    await server.start()
    try:
        await server.wait_healthy()
        assert (await server.request("GET", "/readyz"))[0] == 200
        assert len(database_pids(workdir / "data")) == 1
        status, _ = await server.request("POST", "/api/v1/auth/register", {
            "email": "ann@example.com", "password": PASSWORD, "name": "Ann"})
        assert status == 201
        _, tokens = await server.request("POST", "/api/v1/auth/login",
                                         {"email": "ann@example.com", "password": PASSWORD})
    finally:
        assert await server.stop(signal.SIGTERM) == 0
    await wait_gone(workdir / "data")
    assert (workdir / "data" / "jwt_secret").is_file()
    # The line a user needs, with the real port, once.
    printed = (await server.process.stdout.read()).decode()
    assert printed.count(f"PaperDesk is ready: open http://localhost:{server.port}/") == 1
    # Each thing start-up and shutdown tell at INFO, they tell once.
    log = (await server.process.stderr.read()).decode()
    told = [line.split(" ", 2)[-1] for line in log.splitlines() if " INFO " in line]
    assert told and len(told) == len(set(told)), log

    again = RunPy(workdir)
    await again.start()
    try:
        await again.wait_healthy()
        # Same data and the same kept secret: the old token still works.
        status, body = await again.request("GET", "/api/v1/me", token=tokens["access_token"])
        assert (status, body["user"]["email"]) == (200, "ann@example.com")
    finally:
        assert await again.stop(signal.SIGINT) == 0
    await wait_gone(workdir / "data")


async def test_embedded_database_does_not_outlive_a_killed_server(workdir):
    server = RunPy(workdir)
    await server.start()
    await server.wait_healthy()
    assert database_pids(workdir / "data")
    await server.stop(signal.SIGKILL)
    await wait_gone(workdir / "data")


async def test_missing_database_binary_exits_with_one_clear_line(workdir):
    server = RunPy(workdir, SECANTUSD_BIN=str(workdir / "no-such-secantusd"))
    await server.start()
    _, stderr = await asyncio.wait_for(server.process.communicate(), 20)
    assert server.process.returncode == 1
    lines = stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert "make setup" in lines[0] and "MONGO_URI" in lines[0]


async def test_external_database_without_jwt_secret_refuses_to_start(workdir, mongo_uri):
    server = RunPy(workdir, MONGO_URI=mongo_uri)
    await server.start()
    _, stderr = await asyncio.wait_for(server.process.communicate(), 20)
    assert server.process.returncode == 1
    assert "JWT_SECRET must be set" in stderr.decode()


NODE_EXAMPLE = ROOT / "client_examples" / "node"
needs_node = pytest.mark.skipif(
    shutil.which("node") is None or not (NODE_EXAMPLE / "node_modules").is_dir(),
    reason="Node.js or the example's node_modules (make test installs it) is missing")


async def run_node(url: str, token: str | None) -> tuple[int, str, str]:
    env = {"PATH": os.environ["PATH"]}
    if token:
        env["PAPERDESK_TOKEN"] = token
    process = await asyncio.create_subprocess_exec(
        "node", "connect.js", url, cwd=NODE_EXAMPLE, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
    return process.returncode, stdout.decode(), stderr.decode()


@needs_node
async def test_node_socketio_client_connects_with_a_token(api):
    tokens = await api.account()
    code, stdout, stderr = await run_node(api.url, tokens["access_token"])
    assert code == 0, stderr
    assert "connected as ann@example.com" in stdout


@needs_node
async def test_node_socketio_client_is_told_how_to_connect_without_a_token(api):
    code, _, stderr = await run_node(api.url, None)
    assert code == 1
    assert "whoami failed: authentication_required: Connect with an access token: " \
        'io(url, {auth: {token: "<access token from POST /api/v1/auth/login>"}})' in stderr


@needs_node
async def test_node_socketio_client_with_a_bad_token_is_refused(api):
    code, _, stderr = await run_node(api.url, "not.a.jwt")
    assert code == 2
    assert "refused: invalid_token" in stderr


# A client written for the first version of the server: it connects without a token
# and joins its user's room by user id. It is told how to connect (connect_error);
# sending its token in join instead lets it in.
SEED_STYLE_CLIENT = """
const { io } = require("socket.io-client");
const [url, userId, token] = process.argv.slice(1);
const socket = io(url, { transports: ["websocket"], reconnection: false });
socket.on("connect", () => {
  socket.emit("join", token ? { token } : { user_id: userId }, (ack) => {
    console.log(JSON.stringify({ ack }));
    if (ack.ok) socket.emit("whoami", (me) => { console.log(me.user.email); process.exit(0); });
  });
});
socket.on("connect_error", (err) => {
  console.log(JSON.stringify({ message: err.message, data: err.data }));
  process.exit(2);
});
"""


async def run_seed_style_client(url: str, user_id: str, token: str = "") -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        "node", "-e", SEED_STYLE_CLIENT, url, user_id, token, cwd=NODE_EXAMPLE,
        env={"PATH": os.environ["PATH"]}, stdout=asyncio.subprocess.PIPE)
    stdout, _ = await asyncio.wait_for(process.communicate(), 30)
    return process.returncode or 0, stdout.decode()


@needs_node
async def test_a_seed_style_node_client_is_told_how_to_connect_and_joins_with_a_token(api):
    tokens = await api.account()
    code, stdout = await run_seed_style_client(api.url, tokens["user"]["id"])
    assert code == 2
    ack, refusal = (json.loads(line) for line in stdout.splitlines())
    assert ack["ack"]["error"]["code"] == "authentication_required"
    assert refusal["message"] == ack["ack"]["error"]["message"]
    assert refusal["message"].startswith(
        'Connect with an access token: io(url, {auth: {token: "<access token from POST '
        '/api/v1/auth/login>"}})')
    assert refusal["data"] == {"code": "authentication_required",
                               "message": refusal["message"], "docs": "docs/API.md#socketio"}
    code, stdout = await run_seed_style_client(api.url, "", tokens["access_token"])
    assert code == 0, stdout
    assert stdout.splitlines()[-1] == "ann@example.com"
