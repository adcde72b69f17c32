"""Headless Chromium for the Web UI tests: find or install it, open a page, read it, photograph it.

The Temporal Web UI is a single-page app that keeps long polls open, so the browser is driven over
the DevTools protocol on a pipe (`--remote-debugging-pipe`; no port, no extra package): open the
page, poll until the text we expect is rendered, then read the DOM or take a screenshot. Every
browser gets a fresh profile directory and a deadline; it is stopped by its PID (its process group)
whatever happens.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "BrowserError",
    "BrowserTimeout",
    "Page",
    "chromium_path",
    "dump_dom",
    "open_page",
    "screenshot",
]

DEBIAN_CHROMIUM = Path("/usr/bin/chromium")
FLAGS = (
    "--headless",
    "--no-sandbox",  # we run as root in CI containers
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
)
_POLL = 0.3  # seconds between looks at the page
# What a person reads: the page's text and its same-origin frames' (the UI renders details in frames).
_VISIBLE_TEXT = """[document.body, ...Array.from(document.querySelectorAll("iframe"), (f) => f.contentDocument?.body)]
    .map((body) => (body ? body.innerText : "")).join("\\n")"""


class BrowserError(Exception):
    """Chromium is missing and could not be installed, or it failed or hung."""


class BrowserTimeout(BrowserError):
    """The page did not show what we waited for in time."""


@functools.cache
def chromium_path() -> Path:
    """Debian's chromium; installed with apt-get (once per test session) when missing."""
    found = DEBIAN_CHROMIUM if DEBIAN_CHROMIUM.exists() else shutil.which("chromium")
    if found:
        return Path(found)
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        raise BrowserError("chromium is missing; install Debian's package: sudo apt-get install -y chromium")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for args in ([apt, "update"], [apt, "install", "-y", "--no-install-recommends", "chromium"]):
        try:
            done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=900, check=False)
        except subprocess.TimeoutExpired:
            raise BrowserError(f"could not install chromium: apt-get {args[1]} took over 15 minutes") from None
        if done.returncode != 0:
            raise BrowserError(f"could not install chromium ({' '.join(args[1:])}): {done.stderr.strip()[-1500:]}")
    if not DEBIAN_CHROMIUM.exists():
        raise BrowserError(f"apt-get installed chromium but {DEBIAN_CHROMIUM} is still missing")
    return DEBIAN_CHROMIUM


class Page:
    """One tab of a running headless Chromium, spoken to over the DevTools pipe."""

    def __init__(self, process: subprocess.Popen[bytes], to_browser: int, from_browser: int, deadline: float) -> None:
        self._process = process
        self._to = to_browser
        self._from = from_browser
        self._deadline = deadline
        self._buffer = b""
        self._next_id = 0
        self._session = ""

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one DevTools command to the tab and return its result."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if self._session and not method.startswith(("Target.", "Browser.")):
            message["sessionId"] = self._session
        os.write(self._to, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read_message()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result

    def goto(self, url: str) -> None:
        self.call("Page.navigate", url=url)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression[:80]}: {result['exceptionDetails'].get('text')}")
        return result.get("result", {}).get("value")

    def text(self) -> str:
        """The page's visible text, its frames' included."""
        return str(self.evaluate(_VISIBLE_TEXT) or "")

    def dom(self) -> str:
        return str(self.evaluate("document.documentElement.outerHTML") or "")

    def wait_for_text(self, wanted: Iterable[str], settle: float = 1.0) -> str:
        """Poll until every string in `wanted` is on the page, then let rendering settle; the text."""
        wanted = list(wanted)
        text = ""
        with contextlib.suppress(BrowserTimeout):
            while time.monotonic() < self._deadline - 2 * _POLL:
                text = self.text()
                if all(w in text for w in wanted):
                    time.sleep(settle)
                    return self.text()
                time.sleep(_POLL)
        missing = [w for w in wanted if w not in text]
        raise BrowserTimeout(f"the page never showed {missing}; it shows:\n{text[:3000]}")

    def screenshot(self, path: Path) -> Path:
        shot = self.call("Page.captureScreenshot", format="png")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def _attach(self, width: int, height: int) -> None:
        targets = self.call("Target.getTargets")["targetInfos"]
        page = next((t for t in targets if t["type"] == "page"), None)
        target_id = page["targetId"] if page else self.call("Target.createTarget", url="about:blank")["targetId"]
        self._session = self.call("Target.attachToTarget", targetId=target_id, flatten=True)["sessionId"]
        self.call("Page.enable")
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)

    def _read_message(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                raise BrowserTimeout("chromium did not answer in time")
            ready, _, _ = select.select([self._from], [], [], remaining)
            if ready:
                chunk = os.read(self._from, 1 << 20)
                if not chunk:
                    raise BrowserError(f"chromium exited (code {self._process.poll()})")
                self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        return message


@contextlib.contextmanager
def open_page(url: str, timeout: float = 60.0, size: tuple[int, int] = (1600, 900)) -> Iterator[Page]:
    """A headless Chromium showing `url`, for at most `timeout` seconds; stopped by PID on exit."""
    deadline = time.monotonic() + timeout
    profile = Path(tempfile.mkdtemp(prefix="leadflow-chromium-"))
    commands_r, commands_w = os.pipe()  # we write DevTools commands; chromium reads them on fd 3
    replies_r, replies_w = os.pipe()  # chromium writes replies on fd 4; we read them
    # bash puts the pipe ends on fds 3 and 4 and execs chromium, so the PID is chromium's own.
    trampoline = f'exec "$0" "$@" 3<&{commands_r} 4>&{replies_w}'
    args = [str(chromium_path()), *FLAGS, f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}"]
    process = subprocess.Popen(
        ["bash", "-c", trampoline, *args, "about:blank"],
        pass_fds=(commands_r, replies_w),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        process_group=0,  # chromium and its helpers in one group, led by chromium's PID
    )
    os.close(commands_r)
    os.close(replies_w)
    page = Page(process, commands_w, replies_r, deadline)
    try:
        page._attach(*size)
        page.goto(url)
        yield page
    finally:
        _stop(process)
        os.close(commands_w)
        os.close(replies_r)
        shutil.rmtree(profile, ignore_errors=True)


def dump_dom(url: str, expect: Iterable[str] = (), timeout: float = 60.0) -> str:
    """The rendered DOM of `url` once every string in `expect` is on the page."""
    with open_page(url, timeout) as page:
        page.wait_for_text(expect)
        return page.dom()


def screenshot(
    url: str, path: Path, expect: Iterable[str] = (), timeout: float = 60.0, size: tuple[int, int] = (1600, 900)
) -> Path:
    """A PNG of `url` once every string in `expect` is on the page."""
    with open_page(url, timeout, size) as page:
        page.wait_for_text(expect)
        return page.screenshot(path)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the browser's process group (by its leader's PID), then SIGKILL if it lingers."""
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        if process.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=wait)
    with contextlib.suppress(ProcessLookupError):  # helpers left behind by a browser that died first
        os.killpg(process.pid, signal.SIGKILL)
