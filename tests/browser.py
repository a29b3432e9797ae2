"""Headless Chromium driven over its DevTools protocol, for the report's browser tests.

Debian's ``chromium`` is started with a fresh profile and
``--remote-debugging-port=0``; the port it picked is read from the profile's
``DevToolsActivePort`` file, and one page is attached to over a websocket on
127.0.0.1. Everything the page logs (console errors, uncaught exceptions,
blocked loads) and every request it makes is recorded, so a test can assert
that none happened. A small client rather than Playwright or Selenium: those
download their own browser builds, which these machines must not do.
"""

import base64
import itertools
import json
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

from pipeline.report.load import ReportError
from pipeline.report.screenshot import CHROMIUM_FLAGS, chromium_path

START_SECONDS = 60.0


class BrowserError(Exception):
    """Chromium did not start, or a DevTools command failed."""


class Page:
    """One browser tab: commands, and the events recorded while waiting for replies."""

    def __init__(self, socket: ClientConnection, session: str) -> None:
        self._socket = socket
        self._session = session
        self._ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, timeout: float = 60.0, **params: Any) -> dict[str, Any]:
        number = next(self._ids)
        self._socket.send(
            json.dumps(
                {"id": number, "method": method, "params": params, "sessionId": self._session}
            )
        )
        deadline = time.monotonic() + timeout
        while True:
            message = json.loads(self._socket.recv(timeout=max(0.01, deadline - time.monotonic())))
            if message.get("id") == number:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            if "method" in message:
                self.events.append(message)

    def evaluate(self, expression: str) -> Any:
        reply = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in reply:
            raise BrowserError(f"{expression!r} threw: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def open(
        self, url: str, width: int = 1280, height: int = 800, mobile: bool = False
    ) -> tuple[float, float]:
        """Loads ``url`` at that viewport; returns the page's (rendered, painted) times in ms.

        Both are the page's own marks, measured from navigation start. The tab
        goes to about:blank first, so a mark left by the previous page is
        never mistaken for this one's.
        """
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=mobile,
        )
        self.send("Page.navigate", url="about:blank")
        self.send("Page.navigate", url=url)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            marks = self.evaluate(
                "(function(){var e=document.documentElement;return e?"
                "[e.getAttribute('data-rendered-ms'),e.getAttribute('data-painted-ms')]:null})()"
            )
            if marks and marks[1] is not None:
                return float(marks[0]), float(marks[1])
            time.sleep(0.05)
        raise BrowserError(f"{url} never finished rendering (no data-painted-ms)")

    def screenshot(self, destination: Path) -> Path:
        data = self.send("Page.captureScreenshot", format="png")["data"]
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(base64.b64decode(data))
        return destination

    def click(self, selector: str) -> None:
        found = self.evaluate(
            f"(function(){{var e=document.querySelector({json.dumps(selector)});"
            "if(!e)return false;e.dispatchEvent(new MouseEvent('click',{bubbles:true}));"
            "return true;})()"
        )
        if not found:
            raise BrowserError(f"nothing matches {selector!r}")

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and error log entries seen so far."""
        self.evaluate("0")  # drain events that arrived before this call
        found = []
        for event in self.events:
            method, params = event["method"], event.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(f"exception: {params['exceptionDetails']}")
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append(f"console.{params['type']}: {params.get('args')}")
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                found.append(f"log: {params['entry'].get('text')}")
        return found

    def requests(self) -> list[str]:
        """URLs of every request the page made (its own file included)."""
        self.evaluate("0")
        return [
            e["params"]["request"]["url"]
            for e in self.events
            if e["method"] == "Network.requestWillBeSent"
        ]


def open_file(page: Page, html: Path, **viewport: Any) -> tuple[float, float]:
    """Opens a local page with the events of earlier pages forgotten (see ``Page.open``)."""
    page.events.clear()
    return page.open(html.resolve().as_uri(), **viewport)


def assert_clean(page: Page, html: Path) -> None:
    """The page logged no error and fetched nothing but itself (data: URLs aside)."""
    assert page.errors() == []
    fetched = {u for u in page.requests() if not u.startswith("data:")}
    assert fetched == {html.resolve().as_uri()}, "the page must fetch nothing but itself"


@contextmanager
def chromium(profile: Path) -> Iterator[Page]:
    """A fresh headless Chromium with one page attached; stopped (killed) on exit."""
    try:
        binary = chromium_path()
    except ReportError as exc:
        raise BrowserError(str(exc)) from exc
    profile.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            binary,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + START_SECONDS
        while not (port_file.is_file() and len(port_file.read_text().splitlines()) >= 2):
            if process.poll() is not None or time.monotonic() > deadline:
                raise BrowserError(f"Chromium did not start (exit {process.poll()})")
            time.sleep(0.05)
        port, path = port_file.read_text().splitlines()[:2]
        with connect(
            f"ws://127.0.0.1:{port}{path}", proxy=None, max_size=2**28, open_timeout=30
        ) as socket:
            target = _browser_call(socket, 1, "Target.createTarget", url="about:blank")
            session = _browser_call(
                socket, 2, "Target.attachToTarget", targetId=target["targetId"], flatten=True
            )["sessionId"]
            page = Page(socket, session)
            for domain in ("Runtime", "Log", "Network", "Page"):
                page.send(f"{domain}.enable")
            yield page
    finally:
        process.kill()
        process.wait(timeout=30)


def _browser_call(
    socket: ClientConnection, number: int, method: str, **params: Any
) -> dict[str, Any]:
    """A browser-level command (no session): replies only, events ignored."""
    socket.send(json.dumps({"id": number, "method": method, "params": params}))
    while True:
        message = json.loads(socket.recv(timeout=30))
        if message.get("id") == number:
            if "error" in message:
                raise BrowserError(f"{method}: {message['error']}")
            result: dict[str, Any] = message["result"]
            return result
