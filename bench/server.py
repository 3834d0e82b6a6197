"""Start a real PaperDesk server (embedded database) for a benchmark, and measure it."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

from store.embedded import free_port

ROOT = Path(__file__).resolve().parents[1]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PASSWORD = "benchmark password"  # noqa: S105 - a throwaway local account


def trading_env() -> dict[str, str]:
    """A server's settings for the trading benchmarks: one simulated stock (AAPL at 100,
    ticking every 0.1 s, seeded) and accounts rich enough never to run out; MONGO_URI,
    MONGO_DB and JWT_SECRET from this environment, if set, to measure another store."""
    env = {"MARKET_SYMBOLS": "sim:AAPL=100", "SIM_TICK_INTERVAL": "0.1", "SIM_SEED": "1",
           "INITIAL_CASH": "1000000000"}
    for name in ("MONGO_URI", "MONGO_DB", "JWT_SECRET"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def raise_file_limit() -> int:
    """Allow as many open sockets as the hard limit permits (children inherit it)."""
    import resource
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def children(pid: int) -> list[int]:
    """The process ids of a process's children (the embedded database is the server's)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


class BenchServer:
    def __init__(self, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data = tempfile.TemporaryDirectory(prefix="paperdesk-bench-")
        # The abuse limits are off: the benchmarks measure capacity, one user at a time;
        # every market is open, so they run on any day at any hour.
        self.env = {"PATH": os.environ["PATH"], "PORT": str(self.port), "BCRYPT_COST": "4",
                    "MARKET_HOURS": "ignore", "INTEL_SOURCES": "none",
                    "DATA_DIR": self.data.name, "LOG_LEVEL": "WARNING",
                    "RATE_USER_PER_MINUTE": "0", "RATE_SOCKET_PER_SECOND": "0",
                    "RATE_SOCKET_USER_PER_SECOND": "0", "MAX_SOCKETS_PER_USER": "0",
                    "MAX_OPEN_ORDERS_PER_USER": "0", "MAX_ALERTS_PER_USER": "0",
                    "RATE_AUTH_PER_IP_PER_MINUTE": "0", **env}
        self.process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> BenchServer:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, str(ROOT / "run.py"), cwd=self.data.name, env=self.env)
        async with aiohttp.ClientSession() as session:
            for _ in range(600):
                try:
                    async with session.get(self.url + "/readyz") as response:
                        if response.status == 200:
                            return self
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError("the server did not become ready")

    async def __aexit__(self, *exc: object) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            await self.process.wait()
        self.data.cleanup()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def urls(self) -> list[str]:
        return [self.url]

    @property
    def pids(self) -> list[int]:
        return [self.pid]

    async def token(self, session: aiohttp.ClientSession,
                    email: str = "bench@example.com") -> str:
        """Register (once) and log in; return an access token."""
        body: dict[str, Any] = {"email": email, "password": PASSWORD, "name": "Bench"}
        async with session.post(self.url + "/api/v1/auth/register", json=body):
            pass
        async with session.post(self.url + "/api/v1/auth/login",
                                json={"email": email, "password": PASSWORD}) as response:
            return str((await response.json())["access_token"])


class BenchCluster:
    """N server processes on one embedded database and one redis-server (REDIS_URL mode)."""

    def __init__(self, processes: int, **env: str) -> None:
        self.count = processes
        self.data = tempfile.TemporaryDirectory(prefix="paperdesk-bench-cluster-")
        self.env = env
        self.servers: list[BenchServer] = []
        self.database: Any = None
        self.redis: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> BenchCluster:
        import secrets
        import shutil

        from store.embedded import EmbeddedDatabase, wait_for_port
        self.database = EmbeddedDatabase(ROOT / ".tools" / "bin" / "secantusd-rs",
                                         Path(self.data.name) / "db")
        mongo_uri = await self.database.start()
        redis_port = free_port()
        self.redis = await asyncio.create_subprocess_exec(
            shutil.which("redis-server") or "redis-server", "--port", str(redis_port),
            "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            stdout=asyncio.subprocess.DEVNULL)
        await wait_for_port(redis_port, self.redis, 10.0)
        shared = {"MONGO_URI": mongo_uri, "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
                  "JWT_SECRET": secrets.token_hex(32), **self.env}
        for _ in range(self.count):
            self.servers.append(await BenchServer(**shared).__aenter__())
        return self

    async def __aexit__(self, *exc: object) -> None:
        for server in reversed(self.servers):
            await server.__aexit__()
        if self.redis is not None:
            self.redis.terminate()
            await self.redis.wait()
        if self.database is not None:
            await self.database.stop()
        self.data.cleanup()

    @property
    def urls(self) -> list[str]:
        return [server.url for server in self.servers]

    @property
    def pids(self) -> list[int]:
        return [server.pid for server in self.servers]

    async def token(self, session: aiohttp.ClientSession) -> str:
        return await self.servers[0].token(session)
