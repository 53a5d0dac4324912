"""Hostile input, reproduced against a real server on loopback, and now held: deep JSON on the
socket and in REST bodies, lone surrogates, NUL and control characters in what gets stored, and a
label link that pointed at /etc/passwd."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from actions.json_limits import MAX_DEPTH, too_deep
from actions.text import normalise_json, normalise_text
from knowledge.loader import parse
from tests.ws_helpers import bell_server, bell_settings, client, last

ADMIN = {"Authorization": "Bearer demo-admin-token"}
PASSWORD = "demo-staff-password"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    data = tmp_path_factory.mktemp("harden-data")
    srv = bell_server(bell_settings(data))
    yield srv
    srv.stop()


def nested(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


@contextmanager
def staff_client(server) -> Iterator[tuple[httpx.Client, str]]:
    """A signed-in console session over HTTP and its CSRF token."""
    with httpx.Client(base_url=server.http_url, timeout=30) as http:
        page = http.get("/console/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        form = {"csrf": token, "name": "Sam", "password": PASSWORD}
        signed = http.post("/console/login", data=form)
        assert signed.status_code in (200, 303), signed.text
        inbox = http.get("/console")
        yield http, re.search(r'name="csrf-token" content="([^"]+)"', inbox.text).group(1)


# Depth ------------------------------------------------------------------------------------------
async def test_a_2kb_frame_nested_980_deep_gets_an_error_and_the_socket_stays(server) -> None:
    frame = '{"type": "user_message", "text": ' + nested(980) + "}"
    assert len(frame) < 2048  # under the frame limit: only the depth is wrong with it
    async with client(server.ws_url) as c:
        await c.hello()
        await c.ws.send(frame)
        error = await c.recv()
        assert error["type"] == "error" and error["code"] == "too_deep"
        assert f"at most {MAX_DEPTH} levels" in error["message"]
        # Same socket, still answering.
        assert last(await c.say("is the socket still there?"), "assistant_message")


async def test_deep_frames_of_every_shape_are_refused_in_words(server) -> None:
    shapes = [
        '{"type": "hello", "identity": ' + '{"a": ' * 200 + "1" + "}" * 200 + "}",
        nested(900),
        '{"type": "lead", "email": "a@b.co", "consent": true, "x": ' + nested(100) + "}",
    ]
    async with client(server.ws_url) as c:
        for frame in shapes:
            await c.ws.send(frame)
            assert (await c.recv())["code"] == "too_deep"
        assert (await c.hello())["type"] == "ready"


def test_the_depth_scan_ignores_brackets_inside_strings() -> None:
    honest = json.dumps({"text": "[" * 5000 + '\\"{' * 100, "list": [[1, [2, [3]]]]})
    assert not too_deep(honest)
    assert too_deep(nested(MAX_DEPTH + 1)) and not too_deep(nested(MAX_DEPTH))
    escaped = '{"a": "\\\\", "b": ' + nested(40) + "}"  # an escaped backslash ends no string
    assert too_deep(escaped)


def test_rest_bodies_nested_5000_deep_answer_400_in_words(server) -> None:
    body = '{"args": ' + nested(5000) + "}"
    with httpx.Client(base_url=server.http_url, headers=ADMIN, timeout=30) as http:
        for method, path in [
            ("POST", "/v1/returns"),
            ("PATCH", "/v1/returns/RMA-NOPE"),
            ("POST", "/v1/webhooks"),
            ("POST", "/v1/actions/lookup_order"),
        ]:
            response = http.request(method, path, content=body)
            assert response.status_code == 400, (path, response.text)
            assert response.json()["error"] == "too_deep"
            assert "nested too deeply" in response.json()["message"]
        # A declared JSON type makes no difference, nor does a shallow body that is fine.
        typed = http.post(
            "/v1/webhooks", content=nested(5000), headers={"content-type": "application/json"}
        )
        assert typed.status_code == 400
        assert http.post("/v1/webhooks", json={"url": "x"}).status_code == 422


def test_console_posts_nested_deep_answer_400_not_500(server) -> None:
    with staff_client(server) as (http, csrf):
        deep = '{"text": ' + nested(5000) + "}"
        for path in ("/console/api/conversations/c1/note", "/console/api/knowledge/preview"):
            response = http.post(
                path,
                content=deep,
                headers={"content-type": "application/json", "x-csrf-token": csrf},
            )
            assert response.status_code == 400 and response.json()["error"] == "too_deep"


def test_a_body_over_the_limit_is_refused_before_it_is_read(server) -> None:
    with httpx.Client(base_url=server.http_url, headers=ADMIN, timeout=30) as http:
        response = http.post("/v1/webhooks", content=b"[" + b" " * (2 << 20) + b"]")
    assert response.status_code == 413 and response.json()["error"] == "body_too_large"


# Normalisation ----------------------------------------------------------------------------------
def test_normalise_text_replaces_what_cannot_be_stored_and_keeps_text() -> None:
    for honest in ["Hello", "line one\nline two\ttab", "naïve 日本 🚚", "½ ＦＵＬＬ"]:
        assert normalise_text(honest) == honest
    assert (
        normalise_text("mug\ud800 back\x00 now\x1b[0m\x7f")
        == "mug\ufffd back\ufffd now\ufffd[0m\ufffd"
    )
    assert normalise_text("a\r\nb\rc") == "a\nb\nc"
    assert normalise_json({"k\x00": ["\udfff", 1, None, {"x": "\x07"}]}) == {
        "k\ufffd": ["\ufffd", 1, None, {"x": "\ufffd"}]
    }


async def test_a_lone_surrogate_and_nul_in_a_message_are_stored_as_replacement_marks(
    server,
) -> None:
    async with client(server.ws_url) as c:
        ready = await c.hello()
        # json.dumps writes them as \ud800 and \u0000 escapes: valid JSON, invalid text.
        assert last(await c.say("my mug \ud800 arrived\x00 broken"), "assistant_message")
    with httpx.Client(base_url=server.http_url, headers=ADMIN, timeout=30) as http:
        stored = http.get(f"/v1/conversations/{ready['conversation_id']}").json()
    users = [m["text"] for m in stored["transcript"] if m["role"] == "user"]
    assert users == ["my mug \ufffd arrived\ufffd broken"]


def test_staff_text_from_json_and_forms_is_stored_normalised(server) -> None:
    async def start() -> str:
        async with client(server.ws_url) as c:
            ready = await c.hello()
            assert last(await c.say("I need a person please"), "assistant_message")
            return str(ready["conversation_id"])

    import asyncio

    conv_id = asyncio.run(start())
    with staff_client(server) as (http, csrf):
        as_json = http.post(
            f"/console/api/conversations/{conv_id}/reply",
            content=json.dumps({"text": "Hi\u0000 there \ud83d"}),  # escapes, as JS would send
            headers={
                "x-csrf-token": csrf,
                "accept": "application/json",
                "content-type": "application/json",
            },
        )
        assert as_json.status_code == 200, as_json.text
        as_form = http.post(
            f"/console/api/conversations/{conv_id}/reply",
            content=f"csrf={csrf}&text=Second%00+reply%1B%0D%0Aok",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert as_form.status_code in (200, 303), as_form.text
    with httpx.Client(base_url=server.http_url, headers=ADMIN, timeout=30) as admin:
        stored = admin.get(f"/v1/conversations/{conv_id}").json()
    replies = [m["text"] for m in stored["transcript"] if m["role"] == "agent"]
    assert replies == ["Hi\ufffd there \ufffd", "Second\ufffd reply\ufffd\nok"]


def test_knowledge_text_is_normalised_before_it_is_chunked() -> None:
    doc = parse("care.md", b"# Care\r\n\r\nHand-wash\x00 the rim\x1b.\r\n")
    assert doc.body == "# Care\n\nHand-wash\ufffd the rim\ufffd.\n"
