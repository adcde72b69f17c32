"""A real dev server (own port, stopped by PID) and a real worker process, once per session.

The server starts *without* the custom search attributes, so the worker's own registration at
start is what makes them exist — as it would against any bare `temporal server start-dev`.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from demo import devserver
from tests.conftest import ROOT


@dataclass
class Engine:
    server: devserver.DevServer
    data_dir: Path
    task_queue: str
    worker: subprocess.Popen[bytes]

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "TEMPORAL_ADDRESS": self.server.address,
            "TEMPORAL_NAMESPACE": "default",
            "LEADFLOW_TASK_QUEUE": self.task_queue,
            "LEADFLOW_ID_SECRET": "integration-secret",
        }

    def cli(self, *args: str, expect: int | None = 0) -> subprocess.CompletedProcess[str]:
        """`python starter.py ARGS` as a person would run it."""
        done = subprocess.run(
            [sys.executable, str(ROOT / "starter.py"), *args],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        if expect is not None:
            assert done.returncode == expect, (args, done.returncode, done.stdout, done.stderr)
        return done

    def cli_json(self, *args: str) -> Any:
        return json.loads(self.cli(*args, "--json").stdout)


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    data_dir = tmp_path_factory.mktemp("engine")
    server = devserver.start(data_dir, headless=True, register_search_attributes=False)
    task_queue = f"it-{uuid.uuid4().hex[:8]}"
    log = (data_dir / "worker.log").open("wb")
    worker = subprocess.Popen(
        [
            *(sys.executable, str(ROOT / "worker.py"), "--address", server.address, "--task-queue", task_queue),
            *("--data-dir", str(data_dir), "--rules", str(ROOT / "rules" / "default.yaml")),
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "LEADFLOW_LOG_LEVEL": "INFO"},
    )
    engine = Engine(server=server, data_dir=data_dir, task_queue=task_queue, worker=worker)
    try:
        wait_for_worker(engine)
        yield engine
    finally:
        if worker.poll() is None:
            worker.send_signal(2)  # SIGINT: graceful
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
        log.close()
        server.stop()


def wait_for_worker(engine: Engine, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    log = engine.data_dir / "worker.log"
    while time.monotonic() < deadline:
        if engine.worker.poll() is not None:
            raise RuntimeError(f"worker exited: {log.read_text()[-3000:]}")
        if "worker running" in log.read_text(errors="replace"):
            return
        time.sleep(0.2)
    raise TimeoutError(f"worker did not start: {log.read_text()[-3000:]}")


@pytest_asyncio.fixture
async def client(engine: Engine) -> AsyncIterator[Client]:
    yield await Client.connect(engine.server.address, data_converter=pydantic_data_converter)


async def eventually(check: Callable[[], Any], seconds: float = 20.0) -> Any:
    """Poll an async or sync check until it returns something truthy (visibility lags a little)."""
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result or time.monotonic() > deadline:
            assert result, "condition not reached in time"
            return result
        await asyncio.sleep(0.2)
