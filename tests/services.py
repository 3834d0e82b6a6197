"""Real database (secantusd-rs) and redis-server processes for the test session."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import redis
from pymongo import MongoClient

from store.embedded import free_port, secantusd_command

ROOT = Path(__file__).resolve().parents[1]


def wait_until(check: Callable[[], object], process: subprocess.Popen[bytes],
               what: str, within: float = 30.0) -> None:
    """Call check until it stops raising; fail if the process exits or time runs out."""
    deadline = time.monotonic() + within
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode}")
        try:
            check()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class DatabaseProcess:
    """secantusd-rs, started as the server's embedded mode starts it (store/embedded.py)."""

    def __init__(self, data_dir: Path, port: int | None = None,
                 options: tuple[str, ...] = ()) -> None:
        binary = Path(os.environ.get("SECANTUSD_BIN", ROOT / ".tools/bin/secantusd-rs"))
        if not binary.is_file():
            raise RuntimeError(f"{binary} is missing: run `make setup`")
        self.port = port or free_port()
        self.uri = f"mongodb://127.0.0.1:{self.port}/"
        folder = data_dir / "secantus"
        folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [*secantusd_command(binary, data_dir, self.port), *options], cwd=folder,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client: MongoClient[dict[str, object]] = MongoClient(self.uri,
                                                             serverSelectionTimeoutMS=500)
        try:
            wait_until(lambda: client.admin.command("ping"), self.process, "secantusd-rs")
        finally:
            client.close()

    def stop(self) -> None:
        stop(self.process)

    def kill(self) -> None:
        """kill -9: whatever it acknowledged must be on disk (--sync-on-commit)."""
        self.process.kill()
        self.process.wait()


class RedisProcess:
    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is missing: run `make setup`")
        self.data_dir = data_dir
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(data_dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        try:
            wait_until(client.ping, self.process, "redis-server")
        finally:
            client.close()

    def stop(self) -> None:
        stop(self.process)
