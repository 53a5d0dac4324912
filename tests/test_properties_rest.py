"""Property: no body breaks the server. Every route that takes a body (the `/v1` API and the
console's form and JSON posts, found by walking the app's routes, so a new one is covered the day it
is added) answers anything below 500; and no text frame drops the chat socket.

Against a real uvicorn server on loopback; derandomized, so CI sees the same examples every run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.routing import Route
from websockets.sync.client import connect

from agent.app.background import BackgroundServer
from agent.app.server import build_app
from tests.test_properties_events import ANY_CHAR, JSON, TEXT, deep, event_shaped
from tests.ws_helpers import bell_settings

ADMIN = "Bearer demo-admin-token"
PASSWORD = "demo-staff-password"
FAST = settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
LIMIT = 65536  # the server's max_frame_bytes here
OPS = ["assign", "reply", "resolve", "reopen", "handback", "note", "tags", "approve", "reject"]


class Site:
    """The running server, a signed-in staff session, a real conversation, the body routes."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.http_url, timeout=30)
        page = self.http.get("/console/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        form = {"csrf": token, "name": "Sam", "password": PASSWORD}
        assert self.http.post("/console/login", data=form).status_code in (200, 303)
        inbox = self.http.get("/console")
        self.csrf = re.search(r'name="csrf-token" content="([^"]+)"', inbox.text).group(1)
        with connect(server.ws_url) as ws:
            ws.send(json.dumps({"type": "hello"}))
            self.conversation = json.loads(ws.recv(timeout=30))["conversation_id"]
        self.routes = [
            (method, route.path)
            for route in server.app.routes
            if isinstance(route, Route)
            for method in sorted((route.methods or set()) & {"POST", "PATCH", "PUT"})
            if route.path != "/console/logout"  # it would end the session the others need
        ]

    def url(self, path: str, draw: st.DrawFn) -> str:
        values = {
            "rma_id": st.sampled_from(["RMA-NOPE00", "x", "%2e%2e"]) | TEXT,
            "name": st.sampled_from(["lookup_order", "create_return_authorization", "nope"]),
            "conv_id": st.sampled_from([self.conversation, "nope"]),
            "op": st.sampled_from([*OPS, "nope"]),
        }

        def fill(match: re.Match[str]) -> str:
            value = draw(values.get(match.group(1), TEXT))
            return quote(value.encode("utf-8", "surrogatepass"), safe="") or "x"

        return re.sub(r"\{(\w+)\}", fill, path)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("properties")
    kb = root / "kb"  # a real knowledge folder: the console's editor writes and re-indexes it
    kb.mkdir()
    (kb / "returns.md").write_text("# Returns\n\n## Window\n\nWithin 30 days of delivery.\n")
    settings = bell_settings(
        root / "data", kb=kb, max_frame_bytes=LIMIT, messages_per_minute=10_000
    )
    server = BackgroundServer(
        lambda port: build_app(settings.model_copy(update={"port": port})), settings=settings
    ).start()
    s = Site(server)
    yield s
    s.http.close()
    server.stop()


def field_dicts() -> st.SearchStrategy[dict[str, Any]]:
    names = [
        "order_id", "lines", "reason", "resolution", "customer_email", "status", "note", "url",
        "events", "args", "customer", "text", "tags", "source", "sha1", "csrf", "password",
        "name", "received_condition",
    ]  # fmt: skip
    return st.dictionaries(st.sampled_from(names), JSON, max_size=6)


@st.composite
def bodies(draw: st.DrawFn) -> tuple[bytes, str | None]:
    """A body and its content type: JSON (honest-looking or not), deep, form, or junk."""
    kind = draw(st.sampled_from(["json", "deep", "form", "bytes", "text"]))
    if kind == "json":
        value = draw(field_dicts() | JSON | event_shaped())
        body = json.dumps(value, allow_nan=True).encode()
    elif kind == "deep":
        body = draw(deep()).encode()
    elif kind == "form":
        pairs = draw(st.lists(st.tuples(TEXT, st.text(ANY_CHAR, max_size=80)), max_size=5))
        body = urlencode([(k, v) for k, v in pairs], errors="surrogatepass").encode()
    elif kind == "bytes":
        body = draw(st.binary(max_size=200))
    else:
        body = draw(st.text(ANY_CHAR, max_size=200)).encode("utf-8", "surrogatepass")
    ctype = draw(
        st.sampled_from(
            [
                "application/json",
                "application/x-www-form-urlencoded",
                "text/plain",
                "multipart/form-data; boundary=x",
                None,
            ]
        )
    )
    return body, ctype


@FAST
@given(data=st.data())
def test_no_body_on_any_route_gets_a_500(site: Site, data: st.DataObject) -> None:
    method, path = data.draw(st.sampled_from(site.routes))
    url = site.url(path, data.draw)
    body, ctype = data.draw(bodies())
    headers = {"authorization": ADMIN, "x-csrf-token": site.csrf, "accept": "application/json"}
    if ctype is not None:
        headers["content-type"] = ctype
    response = site.http.request(method, url, content=body, headers=headers)
    assert response.status_code < 500, (method, url, body[:200], response.text[:300])
    if response.headers.get("content-type", "").startswith("application/json"):
        response.json()


@FAST
@given(data=st.data())
def test_no_frame_drops_the_socket(site: Site, data: st.DataObject) -> None:
    """Each frame, then a probe the server must answer on the same socket: so every frame was
    read, answered or not, and the socket is still there. Frames stay under the size limit (over
    it the close is the designed answer, tested in test_ws_protocol)."""
    one = (
        (event_shaped() | JSON).map(lambda v: json.dumps(v, allow_nan=True))
        | deep()
        | st.text(ANY_CHAR, max_size=200).map(lambda t: t.encode("utf-8", "replace").decode())
    ).filter(lambda frame: len(frame.encode("utf-8")) <= LIMIT)
    frames = data.draw(st.lists(one, min_size=1, max_size=4))
    with connect(site.server.ws_url, max_size=None) as ws:
        for n, frame in enumerate(frames):
            ws.send(frame)
            probe = f"probe-{n}"
            ws.send(json.dumps({"type": probe}))
            while True:  # a frame may start a turn: its events come first, in any number
                event = json.loads(ws.recv(timeout=30))
                if event.get("type") == "error" and probe in event.get("message", ""):
                    break
