"""Photo evidence over the wire: a token over the websocket, the photo by HTTP POST, on a real
uvicorn over loopback with the offline model and the demo orders; and a damaged-item return that
waits for photos, then carries them."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from actions.store.models import EvidenceRow
from tests.test_evidence_images import photo, png_bomb
from tests.throttle_helpers import shop_server, shop_settings
from tests.ws_helpers import Client, client, last

DEMO_POLICY = Path(__file__).resolve().parent.parent / "examples" / "demo-store" / "policy.toml"
MAYA = "maya.chen@example.com"


def policy_needing_photos(folder: Path) -> Path:
    text = DEMO_POLICY.read_text(encoding="utf-8")
    path = folder / "policy.toml"
    path.write_text(
        text.replace(
            "[returns]\n", '[returns]\nevidence_required_reasons = ["damaged", "defective"]\n', 1
        ),
        encoding="utf-8",
    )
    return path


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Any]:
    started: list[Any] = []

    def make(**overrides: Any) -> Any:
        settings = shop_settings(
            tmp_path / f"data{len(started)}", policy=policy_needing_photos(tmp_path), **overrides
        )
        srv = shop_server(settings)
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.stop()


async def token(c: Client) -> dict[str, Any]:
    await c.send(type="upload_request")
    event = await c.recv()
    assert event["type"] == "upload_token"
    return event


def post_photo(srv: Any, grant: dict[str, Any], data: bytes, kind: str = "image/jpeg",
               token_value: str | None = None) -> httpx.Response:  # fmt: skip
    headers = {"Authorization": f"Bearer {token_value or grant['token']}"}
    files = {"photo": ("photo.jpg", data, kind)}
    return httpx.post(f"{srv.http_url}{grant['url']}", headers=headers, files=files, timeout=30)


def stored(srv: Any) -> list[EvidenceRow]:
    with srv.app.state.services.store.reading() as s:
        return list(s.query(EvidenceRow).all())


def files_in(srv: Any) -> list[Path]:
    folder = srv.app.state.settings.data / "evidence"
    return sorted(folder.iterdir()) if folder.exists() else []


async def test_a_photo_uploads_with_the_token_and_the_shopper_sees_its_thumbnail(make_server):
    srv = make_server()
    async with client(srv.ws_url) as c:
        ready = await c.hello()
        grant = await token(c)
    assert grant["remaining"] == 5 and grant["max_bytes"] == 10 * 1024 * 1024
    response = post_photo(srv, grant, photo("JPEG"))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["message"] == "Photo received (1 photo attached so far)."
    assert body["remaining"] == 4
    thumb = httpx.get(srv.http_url + body["thumbnail_url"])
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert thumb.headers["x-content-type-options"] == "nosniff"
    assert max(Image.open(io.BytesIO(thumb.content)).size) <= 320
    rows = stored(srv)
    assert [r.conversation_id for r in rows] == [ready["conversation_id"]]
    # A guessed or altered signature shows nothing; the full size is for staff only.
    forged = body["thumbnail_url"][:-4] + "0000"
    assert httpx.get(srv.http_url + forged).status_code == 404
    full = httpx.get(f"{srv.http_url}/console/evidence/{rows[0].id}", follow_redirects=False)
    assert full.status_code == 303 and full.headers["location"] == "/console/login"


async def test_an_upload_without_a_token_is_refused_and_nothing_is_stored(make_server):
    srv = make_server()
    async with client(srv.ws_url) as c:
        await c.hello()
        grant = await token(c)
    response = httpx.post(f"{srv.http_url}{grant['url']}",
                          files={"photo": ("p.jpg", photo("JPEG"), "image/jpeg")})  # fmt: skip
    assert response.status_code == 401
    assert "not valid" in response.json()["message"]
    assert stored(srv) == [] and files_in(srv) == []


async def test_an_expired_token_is_refused_in_words(make_server):
    srv = make_server()
    async with client(srv.ws_url) as c:
        await c.hello()
        grant = await token(c)
    srv.app.state.settings.clock.advance(timedelta(minutes=11))
    response = post_photo(srv, grant, photo("JPEG"))
    assert response.status_code == 401
    assert response.json()["message"] == (
        "That upload link has expired; please attach the photo again from the chat."
    )
    assert stored(srv) == []


async def test_another_conversations_token_does_not_upload_here(make_server):
    srv = make_server()
    async with client(srv.ws_url) as a, client(srv.ws_url) as b:
        await a.hello()
        await b.hello()
        mine, theirs = await token(a), await token(b)
    response = post_photo(srv, mine, photo("JPEG"), token_value=theirs["token"])
    assert response.status_code == 401
    assert stored(srv) == []


async def test_uploads_are_throttled_per_conversation(make_server):
    srv = make_server(limit_uploads_per_conversation="2/hour")
    async with client(srv.ws_url) as c:
        await c.hello()
        grant = await token(c)
    small = photo("JPEG", (64, 64))
    assert [post_photo(srv, grant, small).status_code for _ in range(2)] == [201, 201]
    third = post_photo(srv, grant, small)
    assert third.status_code == 429
    assert "please wait" in third.json()["message"]
    assert len(stored(srv)) == 2


@pytest.mark.parametrize(
    ("data", "kind", "status", "words"),
    [
        (photo("JPEG") + b"\x00" * (10 * 1024 * 1024), "image/jpeg", 413, "at most 10 MB"),
        (png_bomb(), "image/png", 422, "far too large to open safely"),
        (photo("JPEG") + b"<script>alert(1)</script>", "image/jpeg", 415, "hidden inside"),
        (b"MZ\x90\x00 an executable", "image/png", 415, "not a photo we can take"),
    ],
    ids=["oversized", "bomb", "polyglot", "not-an-image"],
)
async def test_bad_uploads_are_refused_in_words_and_nothing_is_stored(
    make_server, data: bytes, kind: str, status: int, words: str
):
    srv = make_server()
    async with client(srv.ws_url) as c:
        await c.hello()
        grant = await token(c)
    response = post_photo(srv, grant, data, kind)
    assert response.status_code == status
    assert words in response.json()["message"]
    assert stored(srv) == [] and files_in(srv) == []


async def test_a_damaged_item_return_waits_for_photos_and_then_carries_them(make_server):
    srv = make_server()
    async with client(srv.ws_url) as c:
        ready = await c.hello()
        events = await c.say(f"my mug from WK-1001 arrived cracked, {MAYA}")
        assert "Shall I start this return for you?" in last(events, "assistant_message")["text"]
        events = await c.say("yes please")
        assert not [e for e in events if e["type"] == "confirmation_request"]
        asked = last(events, "assistant_message")["text"]
        assert "add photos" in asked
        events = await c.say("done, I've added them")
        assert "can't see any photos yet" in last(events, "assistant_message")["text"]
        grant = await token(c)
        for fmt in ("JPEG", "PNG"):
            assert post_photo(srv, grant, photo(fmt), f"image/{fmt.lower()}").status_code == 201
        await c.send(type="user_message", text="I've added the photos")
        events = [await c.recv()]
        while events[-1]["type"] != "confirmation_request":
            events.append(await c.recv())
        assert "with your 2 photos" in events[-1]["summary"]
        events = await c.answer(events[-1]["id"], True)
    final = last(events, "assistant_message")["text"]
    assert final.startswith("Thanks — I've got your 2 photos.")
    assert "Your 2 photos went with it." in final
    rows = stored(srv)
    assert len(rows) == 2 and len({r.rma_id for r in rows}) == 1 and rows[0].rma_id
    assert {r.conversation_id for r in rows} == {ready["conversation_id"]}
