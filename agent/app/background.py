"""Run the app on uvicorn in a background thread, on a loopback socket bound up front.

Used by `shopdesk chat` (in-process mode), the tests and the turn benchmark: the socket is bound
before the app is built so the app knows its own port (label links point at it).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn


def bind_loopback(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def uvicorn_options(settings: Any) -> dict[str, Any]:
    """uvicorn settings that go with the app's own limits.

    Frames up to 16 × max_frame_bytes reach the app, which answers `frame_too_large` in words and
    then closes with 1009; only beyond that does the websocket layer close with 1009 unexplained.
    """
    return {
        "ws_max_size": max(settings.max_frame_bytes * 16, 1 << 20),
        # Chat frames are small: compressing each delta costs more CPU than the bytes are worth.
        "ws_per_message_deflate": False,
        "ws_ping_interval": 20.0,
        "ws_ping_timeout": 20.0,
        "lifespan": "on",
        "timeout_graceful_shutdown": 5,
        "backlog": 2048,
        # uvicorn would otherwise rewrite the client address from X-Forwarded-For whenever the
        # peer is 127.0.0.1; SHOPDESK_TRUSTED_PROXIES is the one rule (agent/chat/limits.py).
        "proxy_headers": False,
    }


class BackgroundServer:
    """`with BackgroundServer(lambda port: build_app(...)) as server: server.ws_url`"""

    def __init__(
        self,
        make_app: Callable[[int], Any],
        *,
        settings: Any = None,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
    ) -> None:
        self.sock = bind_loopback(host, port)
        self.host, self.port = self.sock.getsockname()[:2]
        self.app = make_app(self.port)
        options = uvicorn_options(settings or self.app.state.settings)
        config = uvicorn.Config(self.app, log_level=log_level, **options)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, name="shopdesk-server", daemon=True)
        self.error: BaseException | None = None

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/ws"

    def _run(self) -> None:
        try:
            self.server.run(sockets=[self.sock])
        except BaseException as exc:  # surfaced by start()
            self.error = exc

    def start(self, timeout: float = 120.0) -> BackgroundServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError(f"server failed to start: {self.error!r}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError("server did not start in time")
            time.sleep(0.02)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout)
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["BackgroundServer", "bind_loopback", "uvicorn_options"]
