"""The log an operator reads, from real turns on a real server: every line of a turn names its
conversation and turn, JSON lines parse, and no message text, token or secret is written."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from agent.app.logs import configure_logging
from tests.ws_helpers import bell_server, bell_settings, client

SECRET_WORDS = "my-private-parcel-words"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The root logger's output in JSON, as `SHOPDESK_LOG_FORMAT=json` configures it."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    stream = io.StringIO()
    configure_logging("json", "INFO", stream=stream)
    yield stream
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/hook"
    httpd.shutdown()
    httpd.server_close()


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


async def _until(stream: io.StringIO, wanted: str, count: int = 1) -> list[dict[str, object]]:
    deadline = time.monotonic() + 30
    while sum(wanted in str(line["message"]) for line in _lines(stream)) < count:
        assert time.monotonic() < deadline, f"no log line with {wanted!r}"
        await asyncio.sleep(0.02)
    return _lines(stream)


async def test_turn_lines_carry_their_ids_and_never_the_message_or_a_secret(
    tmp_path: Path, captured: io.StringIO
) -> None:
    settings = bell_settings(tmp_path, secret="store-secret-for-logging", admin_token="admin-secret-for-logging")  # fmt: skip
    server = bell_server(settings)
    try:
        async with client(server.ws_url) as c:
            ready = await c.hello()
            await c.say(f"please keep {SECRET_WORDS} safe")
            request = (await c.say("ring 2"))[-1]
            await c.answer(request["id"], True)
        lines = await _until(captured, "turn finished", count=2)
    finally:
        server.stop()
    conv = ready["conversation_id"]
    turns = [x for x in lines if "turn finished" in str(x["message"])]
    assert len(turns) == 2 and all(x["level"] == "INFO" for x in turns)
    assert {x["conversation_id"] for x in turns} == {conv}
    assert len({x["turn_id"] for x in turns}) == len(turns)  # a new id for every turn
    assert all(x["turn_id"] for x in turns)
    text = captured.getvalue()
    for secret in (SECRET_WORDS, ready["resume_token"], settings.secret, settings.admin_token):
        assert secret not in text


async def test_a_delivered_webhook_is_logged_at_info(
    tmp_path: Path, captured: io.StringIO, receiver: str
) -> None:
    server = bell_server(bell_settings(tmp_path))
    try:
        services = server.app.state.services
        services.webhooks.subscribe(receiver, ["*"])
        with services.store.writing() as s:
            services.webhooks.enqueue(s, "return.approved", {"rma_id": "RMA-LOG"})
        services.webhooks.wake()
        lines = await _until(captured, "delivered")
    finally:
        server.stop()
    [line] = [x for x in lines if "delivered" in str(x["message"])]
    assert line["logger"] == "shopdesk.webhooks" and line["level"] == "INFO"
    assert "return.approved" in str(line["message"])


def test_text_lines_name_the_conversation_and_turn() -> None:
    from agent.app.logs import turn_context

    stream = io.StringIO()
    root = logging.getLogger()
    handler = configure_logging("text", "INFO", stream=stream)
    try:
        with turn_context("conv-abc", "turn-123"):
            logging.getLogger("shopdesk.test").info("inside a turn")
        logging.getLogger("shopdesk.test").info("outside")
    finally:
        root.removeHandler(handler)
    inside, outside = stream.getvalue().splitlines()
    assert "INFO shopdesk.test [conversation=conv-abc turn=turn-123]: inside a turn" in inside
    assert outside.endswith("INFO shopdesk.test: outside")


def test_an_access_line_never_names_a_label_file() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    handler = configure_logging("json", "INFO", stream=stream)
    access = logging.getLogger("uvicorn.access")
    level = access.level
    access.setLevel(logging.INFO)  # as `serve --log-level info` sets it (other servers lower it)
    try:
        args = ("127.0.0.1:5000", "GET", "/labels/3f9c1d2e7a.pdf", "1.1", 200)
        access.info('%s - "%s %s HTTP/%s" %d', *args)
    finally:
        root.removeHandler(handler)
        access.setLevel(level)
    [line] = _lines(stream)
    assert line["message"] == '127.0.0.1:5000 - "GET /labels/… HTTP/1.1" 200'
