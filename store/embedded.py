"""Run FerretDB (SQLite handler) as a child process for the embedded default."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import socket
import sys
from pathlib import Path

log = logging.getLogger(__name__)

INSTALL_HINT = "run `make setup` to install it, or set MONGO_URI to use another MongoDB server"


class EmbeddedDatabaseError(Exception):
    """The embedded database could not be started; the message is one line."""


def free_port() -> int:
    """Return a TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ferretdb_command(binary: Path, data_dir: Path, port: int) -> list[str]:
    """Build the FerretDB command line for a SQLite store under data_dir."""
    db_dir = data_dir / "ferretdb"
    return [
        str(binary),
        "--handler=sqlite",
        f"--sqlite-url=file:{db_dir.resolve()}/",
        f"--state-dir={db_dir.resolve()}",
        f"--listen-addr=127.0.0.1:{port}",
        "--telemetry=disable",
        "--debug-addr=-",
        # WARN and below echo whole wire messages, which may hold user data.
        "--log-level=error",
    ]


def ferretdb_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment to run FerretDB in: base (default: this process's), with Go's
    garbage collector set to let the heap grow to three times what is live (GOGC=200)
    unless base sets GOGC.

    Against Go's default (100), FerretDB spent about a tenth less CPU per order
    in bench/orders.py, and its resident size went from 40 to 44 MB there
    (docs/BENCHMARKS.md).
    """
    return {"GOGC": "200", **(os.environ if base is None else base)}


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Ask Linux to stop the child if this process dies without cleaning up."""
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


async def wait_for_port(port: int, process: asyncio.subprocess.Process | None,
                        within: float) -> None:
    """Wait until something accepts connections on 127.0.0.1:port."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        if process is not None and process.returncode is not None:
            raise EmbeddedDatabaseError(f"FerretDB exited with code {process.returncode} at start")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if loop.time() > deadline:
                raise EmbeddedDatabaseError(
                    f"FerretDB did not listen on port {port} within {within:.0f} s") from None
            await asyncio.sleep(0.05)
        else:
            writer.close()
            await writer.wait_closed()
            return


class EmbeddedFerretDB:
    """A FerretDB child process that lives exactly as long as the server."""

    def __init__(self, binary: Path, data_dir: Path) -> None:
        self.binary = binary
        self.data_dir = data_dir
        self.process: asyncio.subprocess.Process | None = None
        self.uri = ""

    async def start(self, within: float = 30.0) -> str:
        """Start FerretDB on a free loopback port and return its URI."""
        if not self.binary.is_file():
            raise EmbeddedDatabaseError(
                f"FerretDB is not installed at {self.binary}: {INSTALL_HINT}.")
        (self.data_dir / "ferretdb").mkdir(parents=True, exist_ok=True)
        port = free_port()
        log_path = self.data_dir / "ferretdb.log"
        with log_path.open("ab") as log_file:
            self.process = await asyncio.create_subprocess_exec(
                *ferretdb_command(self.binary, self.data_dir, port),
                stdin=asyncio.subprocess.DEVNULL, stdout=log_file, stderr=log_file,
                env=ferretdb_environment(),
                # Own process group: a terminal's Ctrl-C reaches the server only,
                # which then stops FerretDB after its last write.
                start_new_session=True, preexec_fn=_die_with_parent,
            )
        try:
            await wait_for_port(port, self.process, within)
        except BaseException:
            await self.stop()
            raise
        self.uri = f"mongodb://127.0.0.1:{port}/"
        log.info("embedded FerretDB started on 127.0.0.1:%d (data in %s)", port, self.data_dir)
        return self.uri

    async def stop(self, grace: float = 10.0) -> None:
        """Stop FerretDB gracefully, killing it only if it does not exit in time."""
        process, self.process = self.process, None
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), grace)
        except TimeoutError:
            log.warning("FerretDB did not stop within %.0f s; killing it", grace)
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        log.info("embedded FerretDB stopped")
