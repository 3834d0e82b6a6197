"""Run the embedded database, SecantusDB's secantusd-rs, as a child process.

secantusd-rs is a MongoDB-compatible server (WiredTiger storage, a one-node
replica set, multi-document transactions). It is GPL-2.0, so it runs as a
separate process and is never imported. It is started with --sync-on-commit
(without it, acknowledged writes were lost on kill -9) and a bounded
--cache-size (its default is 4 GB), on a free loopback port, with its data under
data_dir/secantus.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import signal
import socket
import sys
from pathlib import Path

log = logging.getLogger(__name__)

INSTALL_HINT = "run `make setup` to install it, or set MONGO_URI to use a MongoDB replica set"
CACHE_SIZE = "256M"  # WiredTiger's cache: the embedded server's memory, bounded


class EmbeddedDatabaseError(Exception):
    """The embedded database could not be started; the message is one line."""


def free_port() -> int:
    """Return a TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def secantusd_command(binary: Path, data_dir: Path, port: int,
                      cache_size: str = CACHE_SIZE) -> list[str]:
    """The secantusd-rs command line for a store under data_dir/secantus."""
    return [str(binary), "--host", "127.0.0.1", "--port", str(port),
            "--storage-path", str((data_dir / "secantus").resolve()),
            "--log-level", "WARNING", "--sync-on-commit", "--cache-size", cache_size]


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
            raise EmbeddedDatabaseError(
                f"the database exited with code {process.returncode} at start")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if loop.time() > deadline:
                raise EmbeddedDatabaseError(
                    f"the database did not listen on port {port} within {within:.0f} s"
                ) from None
            await asyncio.sleep(0.05)
        else:
            writer.close()
            await writer.wait_closed()
            return


class EmbeddedDatabase:
    """A secantusd-rs child process that lives exactly as long as the server."""

    def __init__(self, binary: Path, data_dir: Path) -> None:
        self.binary = binary
        self.data_dir = data_dir
        self.process: asyncio.subprocess.Process | None = None
        self.uri = ""

    async def start(self, within: float = 30.0) -> str:
        """Start secantusd-rs on a free loopback port and return its URI."""
        if not self.binary.is_file():
            raise EmbeddedDatabaseError(
                f"secantusd-rs is not installed at {self.binary}: {INSTALL_HINT}.")
        if (self.data_dir / "ferretdb").is_dir():
            log.warning("%s holds data of the FerretDB that earlier versions embedded: it is "
                        "left as it is and not read (the embedded database is now in %s)",
                        self.data_dir / "ferretdb", self.data_dir / "secantus")
        (self.data_dir / "secantus").mkdir(parents=True, exist_ok=True)
        port = free_port()
        log_path = self.data_dir / "secantus.log"
        with log_path.open("ab") as log_file:
            self.process = await asyncio.create_subprocess_exec(
                *secantusd_command(self.binary, self.data_dir, port),
                # Its own folder as the working directory: it reads ./secantusd.toml.
                cwd=self.data_dir / "secantus",
                stdin=asyncio.subprocess.DEVNULL, stdout=log_file, stderr=log_file,
                # Own process group: a terminal's Ctrl-C reaches the server only,
                # which then stops the database after its last write.
                start_new_session=True, preexec_fn=_die_with_parent,
            )
        try:
            await wait_for_port(port, self.process, within)
        except BaseException:
            await self.stop()
            raise
        self.uri = f"mongodb://127.0.0.1:{port}/"
        log.info("embedded database started on 127.0.0.1:%d (data in %s)", port,
                 self.data_dir / "secantus")
        return self.uri

    async def stop(self, grace: float = 10.0) -> None:
        """Stop the database gracefully, killing it only if it does not exit in time."""
        process, self.process = self.process, None
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), grace)
        except TimeoutError:
            log.warning("the database did not stop within %.0f s; killing it", grace)
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        log.info("embedded database stopped")
