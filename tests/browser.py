"""Playwright helpers for the widget tests: Debian's Chromium, a real uvicorn server, a host-page server.

Also runnable: `.venv/bin/python tests/browser.py` starts the demo server, saves the README screenshots
(docs/widget-desktop.png, docs/widget-mobile.png) and prints widget.js size and load timing.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parent.parent
DEMO_KB = ROOT / "examples" / "demo-store" / "knowledge"
# The demo clock (noon on Saturday 21 November 2026 in New York): the demo orders' day counts and
# return windows are written for it.
DEMO_NOW = "2026-11-21T17:00:00Z"
STAFF_PASSWORD = "demo-staff-password"  # Settings.staff_password's default
W = "shopdesk-chat"  # Playwright's CSS engine pierces open shadow roots, so "shopdesk-chat .x" works


def require_chromium() -> None:
    """Skip without a browser, except under CI where a missing browser is a failure."""
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing (apt-get install -y chromium)"
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def launch(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)


def new_page(browser: Any, width: int = 1280, height: int = 820, timeout_ms: int = 15_000) -> Any:
    """A page in a context of its own (close it with `page.context.close()`) that keeps every
    uncaught script error in `page.errors`, so a test can assert the page never threw."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(timeout_ms)
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    return page


def console_sign_in(page: Any, base_url: str, name: str) -> None:
    """Fill in the console's sign-in form (the page must be on it) with the demo team password."""
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", STAFF_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base_url + "/console")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on port {port}")


# ---- the real server ------------------------------------------------------------------------
@dataclass
class AppServer:
    """`agent.app.server.build_app(settings)` on uvicorn in a thread; stop() and start() again on the
    same port and data dir is a server restart as far as the browser can tell."""

    settings: Any
    port: int
    thread: threading.Thread | None = None
    server: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0) -> None:
        import uvicorn

        from agent.app.server import build_app

        config = uvicorn.Config(
            build_app(self.settings),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
            ws_ping_interval=None,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="shopdesk-uvicorn", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("uvicorn exited during start-up")
            if time.monotonic() > deadline:
                raise TimeoutError("uvicorn did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=30)
        self.server = self.thread = None


def make_settings(data: Path, kb: Path, port: int, allowed_origins: list[str]) -> Any:
    from agent.app.settings import Settings

    return Settings(
        data=data,
        kb=kb,
        now=DEMO_NOW,
        host="127.0.0.1",
        port=port,
        allowed_origins=allowed_origins,
        messages_per_minute=200,
        # One browser on loopback stands for many shoppers here: page loads are new conversations.
        limit_new_conversations_per_address="1000 per minute",
        limit_messages_per_address="1000 per minute",
    )


def knowledge_copy(dest: Path, extra: dict[str, str] | None = None) -> Path:
    """The demo knowledge plus test files, in a directory the test owns."""
    shutil.copytree(DEMO_KB, dest)
    for name, text in (extra or {}).items():
        (dest / name).write_text(text, encoding="utf-8")
    return dest


# ---- a second origin: the host-page server -----------------------------------------------------
class PageServer:
    """Serves fixed HTML pages on its own loopback port: another origin than the chat server."""

    def __init__(self, pages: dict[str, str]) -> None:
        self.pages = pages
        self.port = free_port()
        pages_ref = pages

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                body = pages_ref.get(self.path.split("?")[0])
                if body is None:
                    self.send_error(404)
                    return
                data = body.encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> PageServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# ---- watching the socket and the widget ------------------------------------------------------
@dataclass
class Frames:
    """Every websocket frame the page sent and received, parsed."""

    received: list[dict[str, Any]] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    sockets: int = 0

    def attach(self, page: Any) -> Frames:
        def on_ws(ws: Any) -> None:
            self.sockets += 1
            ws.on("framereceived", lambda payload: self.received.append(_parse(payload)))
            ws.on("framesent", lambda payload: self.sent.append(_parse(payload)))

        page.on("websocket", on_ws)
        return self

    def types(self) -> list[str]:
        return [f.get("type", "?") for f in self.received]

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [f for f in self.received if f.get("type") == kind]


def _parse(payload: Any) -> dict[str, Any]:
    try:
        data = json.loads(payload)
        return data if isinstance(data, dict) else {}
    except (TypeError, ValueError):
        return {}


def wait_until(page: Any, check: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
    """Poll a Python-side condition while letting Playwright deliver its events."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        page.wait_for_timeout(50)


# Counts the sockets the page opens and the closes it has seen, in the page itself: after the fake
# clock has run every timer due, "no reconnect" is then a fact to read, not a wait to sit out. It
# also records each timer's delay, so a backoff is read from what the widget scheduled.
COUNT_SOCKETS = """(() => {
  const Base = window.WebSocket;
  const schedule = window.setTimeout;
  window.__sockets = {opened: 0, closed: 0, overlaps: 0, delays: []};
  window.setTimeout = function (fn, ms, ...rest) {
    window.__sockets.delays.push(Number(ms) || 0);
    return schedule.call(this, fn, ms, ...rest);
  };
  window.WebSocket = class extends Base {
    constructor(...args) {
      super(...args);
      if (window.__sockets.opened > window.__sockets.closed) window.__sockets.overlaps += 1;
      window.__sockets.opened += 1;
      this.addEventListener("close", () => { window.__sockets.closed += 1; });
    }
  };
})();"""


def run_timers_then_count_sockets(page: Any, closes: int, ms: int = 60_000) -> int:
    """Wait until the page has seen `closes` socket closes, run every timer due in the next `ms` of
    the page's fake clock (a reconnect's backoff is at most 8 s), and return the sockets opened."""
    page.wait_for_function(f"() => window.__sockets.closed >= {closes}")
    page.clock.run_for(ms)
    return int(page.evaluate("window.__sockets.opened"))


def run_timers_until_sockets(
    page: Any, opened: int, step_ms: int = 250, limit_ms: int = 60_000
) -> int:
    """Advance the page's fake clock in small steps until it has opened `opened` sockets (or
    `limit_ms` ran out), and return the sockets opened. Small steps keep a close that arrives in real
    time during the advance from letting a second backoff run out in the same step."""
    for _ in range(limit_ms // step_ms):
        if int(page.evaluate("window.__sockets.opened")) >= opened:
            break
        page.clock.run_for(step_ms)
    return int(page.evaluate("window.__sockets.opened"))


def open_widget(page: Any) -> None:
    page.locator(f"{W} .sd-bubble").click()
    page.locator(f"{W} .sd-input").wait_for(state="visible")
    page.wait_for_function(
        "() => !document.querySelector('shopdesk-chat').shadowRoot"
        ".querySelector('.sd-send').disabled"
    )


def send(page: Any, text: str) -> None:
    box = page.locator(f"{W} .sd-input")
    box.fill(text)
    box.press("Enter")


STOPS = {"assistant_message", "confirmation_request", "error", "handoff"}


def next_stop(page: Any, frames: Frames, cursor: int, timeout: float = 45.0) -> int:
    """Index of the first frame at or after `cursor` where the agent stops and waits for the shopper:
    its final message, a confirmation request, an error or a handoff."""
    found: list[int] = []

    def check() -> bool:
        for i in range(cursor, len(frames.received)):
            if frames.received[i].get("type") in STOPS:
                found.append(i)
                return True
        return False

    wait_until(page, check, timeout, "the agent's reply")
    return found[0]


def wait_idle(page: Any, frames: Frames, cursor: int, timeout: float = 45.0) -> dict[str, Any]:
    """The first stop (see next_stop) at or after frame `cursor`."""
    return frames.received[next_stop(page, frames, cursor, timeout)]


def converse(page: Any, frames: Frames, text: str, *, approve: bool = True) -> list[dict[str, Any]]:
    """Send `text`; click Confirm (or Decline) on every confirmation card until the turn ends.
    Returns the frames the turn received."""
    start = cursor = len(frames.received)
    send(page, text)
    while True:
        stop = next_stop(page, frames, cursor)
        cursor = stop + 1
        if frames.received[stop].get("type") != "confirmation_request":
            return frames.received[start:]
        card = page.locator(f"{W} .sd-row-confirm .sd-card").last
        card.get_by_role("button", name="Confirm" if approve else "Decline").click()


def transcript_texts(page: Any) -> list[str]:
    return page.evaluate(
        """() => [...document.querySelector('shopdesk-chat').shadowRoot
              .querySelectorAll('.sd-msg:not(.sd-greeting)')].map(e => e.innerText.trim())"""
    )


# ---- README screenshots and figures ------------------------------------------------------------
def _screenshots() -> None:  # pragma: no cover - a maintenance script, run by hand
    import gzip
    import tempfile

    from playwright.sync_api import sync_playwright

    from widget.pages import load_assets

    js = load_assets()["widget.js"].body
    print(f"widget.js served: {len(js)} bytes, {len(gzip.compress(js, 9))} gzipped")
    raw = (ROOT / "widget" / "static" / "widget.js").read_bytes()
    print(f"widget.js source alone: {len(raw)} bytes, {len(gzip.compress(raw, 9))} gzipped")
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        server = AppServer(make_settings(Path(tmp), DEMO_KB, port, []), port)
        server.start()
        try:
            with sync_playwright() as p:
                browser = launch(p)
                timings = []
                for _ in range(5):
                    page = browser.new_page()
                    page.goto(server.url + "/")
                    page.locator(f"{W} .sd-bubble").wait_for(state="visible")
                    page.wait_for_function(
                        "performance.getEntriesByName('shopdesk-bubble-visible').length"
                    )
                    timings.append(page.evaluate(TIMING_JS))
                    page.close()
                for t in timings:
                    print("timing (ms):", t)
                shots = {
                    "desktop": (
                        {"width": 1280, "height": 900},
                        1,
                        [
                            "Can I return an engraved mug?",
                            "I'd like to return the sage mug from order WK-1001, I changed my mind",
                            "yes please",
                        ],
                    ),
                    "mobile": (
                        {"width": 390, "height": 844},
                        2,
                        ["How long do I have to return a print?"],
                    ),
                }
                for name, (viewport, scale, questions) in shots.items():
                    page = browser.new_page(viewport=viewport, device_scale_factor=scale)
                    frames = Frames().attach(page)
                    page.goto(server.url + "/?as=shopper")
                    open_widget(page)
                    for question in questions:
                        n = len(frames.received)
                        send(page, question)
                        next_stop(page, frames, n)
                        chips = page.locator(f"{W} .sd-chip")
                        if chips.count() and name == "mobile":
                            chips.first.click()
                    page.wait_for_timeout(400)
                    page.screenshot(path=str(ROOT / "docs" / f"widget-{name}.png"))
                    page.close()
                browser.close()
        finally:
            server.stop()


TIMING_JS = """() => {
  const res = performance.getEntriesByType('resource').find(r => r.name.endsWith('/widget.js'));
  const start = performance.getEntriesByName('shopdesk-script-start')[0].startTime;
  const shown = performance.getEntriesByName('shopdesk-bubble-visible')[0].startTime;
  return {request_start: res && Math.round(res.startTime), script_run: Math.round(start),
          bubble: Math.round(shown), run_to_bubble: +(shown - start).toFixed(1),
          request_to_bubble: res ? +(shown - res.startTime).toFixed(1) : null,
          transfer_bytes: res && res.transferSize};
}"""


if __name__ == "__main__":  # pragma: no cover
    import sys

    sys.path.insert(0, str(ROOT))
    from agent.app.offline_env import use_offline_env

    use_offline_env()
    _screenshots()
