"""Run PaperDesk as several processes on one machine: `make cluster`.

Starts the embedded database (data in data/cluster/), a redis-server (unless REDIS_URL is
set), and N server processes on consecutive ports that share them; prints which
one leads; stops everything on Ctrl-C. Put a load balancer in front of the
ports for one address (docs/SCALING.md has an nginx configuration).

    python scripts/cluster.py [--processes 3] [--port 8001]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import signal
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from store.embedded import EmbeddedDatabase, free_port, wait_for_port  # noqa: E402

DATA = ROOT / "data" / "cluster"


def shared_secret() -> str:
    """One JWT secret for every process, kept (mode 0600) so tokens survive restarts."""
    path = DATA / "jwt_secret"
    if not path.exists():
        path.write_text(secrets.token_hex(32) + "\n")
        path.chmod(0o600)
    return path.read_text().strip()


async def start_redis() -> tuple[str, asyncio.subprocess.Process | None]:
    if url := os.environ.get("REDIS_URL"):
        return url, None
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is missing: `make packages` installs it, or set REDIS_URL")
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
        stdout=asyncio.subprocess.DEVNULL)
    await wait_for_port(port, process, 10.0)
    return f"redis://127.0.0.1:{port}/0", process


def role(port: int) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as answer:
            return str(json.loads(answer.read())["role"])
    except OSError:
        return "starting"


async def main(processes: int, first_port: int) -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    database = EmbeddedDatabase(ROOT / ".tools" / "bin" / "secantusd-rs", DATA)
    mongo_uri = await database.start()
    redis_url, redis = await start_redis()
    env = {**os.environ, "MONGO_URI": mongo_uri, "REDIS_URL": redis_url,
           "JWT_SECRET": shared_secret()}
    servers = []
    for n in range(processes):
        servers.append(await asyncio.create_subprocess_exec(
            sys.executable, str(ROOT / "run.py"), cwd=ROOT,
            env={**env, "PORT": str(first_port + n)}))
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    try:
        for n in range(processes):
            await wait_for_port(first_port + n, servers[n], 60.0)
        ports = [first_port + n for n in range(processes)]
        for _ in range(50):  # the first lease is taken within a second or so
            roles = [await asyncio.to_thread(role, port) for port in ports]
            if "leader" in roles:
                break
            await asyncio.sleep(0.1)
        for port, name in zip(ports, roles, strict=True):
            print(f"  http://127.0.0.1:{port}/  {name}")
        print("PaperDesk cluster running; Ctrl-C stops it.")
        await stop.wait()
    finally:
        for server in servers:
            if server.returncode is None:
                server.send_signal(signal.SIGTERM)
        await asyncio.gather(*(server.wait() for server in servers))
        if redis is not None:
            redis.terminate()
            await redis.wait()
        await database.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--port", type=int, default=8001, help="port of the first process")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.processes, arguments.port))
