"""The return portal's tests: a real uvicorn on loopback over the demo orders, and an HTTP client
that behaves like a browser without JavaScript (keeps cookies, follows no redirects by itself)."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path
from typing import Any

import httpx

from agent.app.background import BackgroundServer
from tests.throttle_helpers import CapturedCodes, shop_server, shop_settings

MAYA = "maya.chen@example.com"  # WK-1001: a sage mug and a sage plate, delivered


class Shopper:
    """One browser tab on the portal: forms posted with the page's CSRF token, redirects followed."""

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, follow_redirects=True, timeout=30)
        self.page = ""
        self.status = 0

    def get(self, path: str) -> str:
        return self._seen(self.http.get(path))

    def post(self, path: str, data: dict[str, Any], files: Any = None) -> str:
        data = {"csrf": self.csrf, **data}
        return self._seen(self.http.post(path, data=data, files=files))

    def _seen(self, response: httpx.Response) -> str:
        self.status, self.page = response.status_code, response.text
        return self.page

    @property
    def csrf(self) -> str:
        found = re.search(r'name="csrf" value="([^"]+)"', self.page)
        return found.group(1) if found else ""

    @property
    def alert(self) -> str | None:
        found = re.search(r'role="alert"[^>]*>(.*?)</div>', self.page, re.S)
        return unescape(found.group(1)).strip() if found else None

    @property
    def text(self) -> str:
        return unescape(re.sub(r"<[^>]+>", " ", self.page))

    def identify(self, order_id: str = "WK-1001", email: str = MAYA) -> str:
        if not self.csrf:
            self.get("/returns")
        return self.post("/returns/identify", {"order_id": order_id, "email": email})

    def close(self) -> None:
        self.http.close()


def portal_server(data: Path, **overrides: Any) -> tuple[BackgroundServer, CapturedCodes]:
    srv = shop_server(shop_settings(data, **overrides))
    inbox = CapturedCodes()
    if srv.app.state.sessions.codes is not None:
        srv.app.state.sessions.codes.sender = inbox
    return srv, inbox


__all__ = ["MAYA", "Shopper", "portal_server"]
