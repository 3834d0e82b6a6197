"""`python run.py` as a child process, for tests that need the real entry point."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import urllib.error
import urllib.request
from pathlib import Path

from store.embedded import free_port
from tests.services import ROOT

STARTUP_LIMIT = 60.0


class RunPy:
    """`python run.py` in a scratch directory with no configuration but a port (and every
    market open, whatever the day and hour the suite runs at), fetching no news and
    polling no intelligence source on the internet."""

    def __init__(self, cwd: Path, **env: str) -> None:
        self.cwd = cwd
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {"PATH": os.environ["PATH"], "PORT": str(self.port), "BCRYPT_COST": "4",
                    "MARKET_HOURS": "ignore", "NEWS_ENABLED": "false", "INTEL_SOURCES": "none",
                    **env}
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, str(ROOT / "run.py"), cwd=self.cwd, env=self.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)

    async def wait_healthy(self) -> None:
        deadline = asyncio.get_running_loop().time() + STARTUP_LIMIT
        while True:
            assert self.process.returncode is None, await self.process.stderr.read()
            try:
                status, _ = await self.request("GET", "/healthz")
                if status == 200:
                    return
            except OSError:
                pass
            assert asyncio.get_running_loop().time() < deadline, "no /healthz within 60 s"
            await asyncio.sleep(0.1)

    async def request(self, method: str, path: str, body: dict | None = None,
                      token: str | None = None) -> tuple[int, dict]:
        def send() -> tuple[int, dict]:
            data = None if body is None else json.dumps(body).encode()
            request = urllib.request.Request(self.url + path, method=method,  # noqa: S310
                                             data=data)
            if token:
                request.add_header("Authorization", f"Bearer {token}")
            try:
                with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (http only)
                    raw = response.read()
                    return response.status, json.loads(raw) if raw else {}
            except urllib.error.HTTPError as error:
                return error.code, json.loads(error.read())
        return await asyncio.to_thread(send)

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        self.process.send_signal(sig)
        return await asyncio.wait_for(self.process.wait(), 20)


class ServerProcess(RunPy):
    """run.py whose log goes to a file (a pipe could fill); it can be killed and
    started again on the same port."""

    def __init__(self, cwd: Path, **env: str) -> None:
        super().__init__(cwd, **env)
        self.log = cwd / f"server-{self.port}.log"

    async def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, str(ROOT / "run.py"), cwd=self.cwd, env=self.env,
                stdout=log, stderr=log)

    async def wait_healthy(self) -> None:
        try:
            await super().wait_healthy()
        except (AssertionError, AttributeError):
            raise AssertionError(f"run.py on port {self.port} did not start:\n"
                                 f"{self.log.read_text()[-3000:]}") from None

    async def role(self) -> str | None:
        try:
            status, body = await self.request("GET", "/readyz")
        except OSError:
            return None
        return body.get("role") if status == 200 else None

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.process.wait(), 20)

    def kill(self) -> None:
        """kill -9."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()

    async def lead(self, within: float) -> None:
        """Wait until it answers /readyz as the cluster's leader."""
        deadline = asyncio.get_running_loop().time() + within
        while await self.role() != "leader":
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError(f"run.py on port {self.port} did not lead within {within} s")
            await asyncio.sleep(0.1)
