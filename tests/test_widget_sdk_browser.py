"""The widget's SDK for the host page in real headless Chromium against a real shopdesk server:
`window.__shopdesk.setUser` signs the shopper in, `.reset()` (the host page's sign-out, or the
next person at a shared computer) starts fresh without the previous order data, and the host page
hears `shopdesk:ready`, `shopdesk:message` and `shopdesk:handoff` on `window`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from browser import (
    AppServer,
    Frames,
    PageServer,
    converse,
    free_port,
    knowledge_copy,
    make_settings,
    open_widget,
    transcript_texts,
    wait_until,
)

from agent.chat.identity import sign_email

pytestmark = pytest.mark.timeout(240)

MAYA, ORDER = "maya.chen@example.com", "WK-1001"
HOST_PAGE = """<!doctype html><html><head><title>A store</title></head><body>
<script>
window.__events = [];
["ready", "message", "handoff"].forEach(function (name) {
  window.addEventListener("shopdesk:" + name, function (e) {
    window.__events.push({ name: name, detail: e.detail });
  });
});
</script>
<script src="{chat}/widget.js" data-shopdesk="{chat}" async></script>
</body></html>"""


@pytest.fixture(scope="module")
def host() -> Iterator[PageServer]:
    with PageServer({}) as pages:
        yield pages


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, host: PageServer) -> Iterator[AppServer]:
    root = tmp_path_factory.mktemp("sdk")
    port = free_port()
    app = AppServer(
        make_settings(root / "data", knowledge_copy(root / "kb"), port, [host.url]), port
    )
    app.start()
    host.pages["/"] = HOST_PAGE.replace("{chat}", app.url)
    yield app
    app.stop()


@pytest.fixture
def page(pw_browser: Any) -> Iterator[Any]:
    context = pw_browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.set_default_timeout(20_000)
    yield page
    context.close()


def events(page: Any, name: str) -> list[dict[str, Any]]:
    return [e["detail"] for e in page.evaluate("window.__events") if e["name"] == name]


def stored(page: Any) -> str:
    """What the widget keeps to resume a conversation: its ids and tokens in localStorage."""
    entries = page.evaluate("Object.entries(localStorage)")
    return " ".join(f"{k}={v}" for k, v in entries if k.startswith("shopdesk-conversation:"))


def test_set_user_signs_in_and_reset_starts_fresh_with_the_window_events(
    server: AppServer, host: PageServer, page: Any
) -> None:
    frames = Frames().attach(page)
    page.goto(host.url + "/")
    page.wait_for_function("() => !!window.__shopdesk")
    signature = sign_email(MAYA, server.settings.secret)
    # Before the chat is open or connected, and twice: the second call changes nothing.
    page.evaluate(
        "([email, sig]) => { __shopdesk.setUser(email, sig); __shopdesk.setUser(email, sig); }",
        [MAYA, signature],
    )
    open_widget(page)
    hellos = [f for f in frames.sent if f.get("type") == "hello"]
    assert len(hellos) == 1 and hellos[0]["identity"]["email"] == MAYA
    first = frames.of("ready")[-1]
    assert first["verified"] is True
    wait_until(page, lambda: events(page, "ready") != [], what="shopdesk:ready")
    assert events(page, "ready")[-1] == {
        "conversationId": first["conversation_id"],
        "verified": True,
        "resumed": False,
    }

    turn = converse(page, frames, f"Where is my order {ORDER}?")
    answer = turn[-1]
    assert answer["type"] == "assistant_message"
    assert any(f["type"] == "action_finished" and f["ok"] for f in turn), turn
    wait_until(page, lambda: events(page, "message") != [], what="shopdesk:message")
    assert events(page, "message")[-1] == {"role": "assistant", "text": answer["text"]}
    assert first["conversation_id"] in stored(page)

    page.evaluate("() => __shopdesk.reset()")
    wait_until(page, lambda: len(frames.of("ready")) == 2, what="a fresh conversation")
    fresh = frames.of("ready")[-1]
    assert fresh["conversation_id"] != first["conversation_id"]
    assert fresh["verified"] is False and fresh["transcript"] == []
    assert "identity" not in [f for f in frames.sent if f.get("type") == "hello"][-1]
    wait_until(page, lambda: transcript_texts(page) == [], what="the old messages cleared")
    assert first["conversation_id"] not in stored(page)
    assert first["resume_token"] not in stored(page)
    assert events(page, "ready")[-1]["verified"] is False

    page.reload()  # the next person at this computer; the chat was open, so it opens again
    wait_until(page, lambda: len(frames.of("ready")) == 3, what="ready after the reload")
    again = frames.of("ready")[-1]
    assert again["conversation_id"] == fresh["conversation_id"] and again["verified"] is False
    assert ORDER not in " ".join(transcript_texts(page))
    assert not page.errors


def test_a_verified_guest_is_forgotten_by_reset_and_a_handoff_is_announced(
    server: AppServer, host: PageServer, page: Any
) -> None:
    frames = Frames().attach(page)
    page.goto(host.url + "/")
    page.wait_for_function("() => !!window.__shopdesk")
    open_widget(page)
    turn = converse(page, frames, f"It's {ORDER}, {MAYA}")
    assert [f["action"] for f in turn if f["type"] == "action_finished" and f["ok"]] == [
        "lookup_order"
    ]
    rotated = frames.of("session")
    assert rotated and rotated[-1]["verified"] is True
    assert rotated[-1]["resume_token"] in stored(page)  # the widget keeps the latest token

    turn = converse(page, frames, "Can I talk to a real person please?")
    if not frames.of("handoff"):
        converse(page, frames, "yes please")
    wait_until(page, lambda: events(page, "handoff") != [], what="shopdesk:handoff")
    assert events(page, "handoff")[-1]["reason"] == frames.of("handoff")[-1]["reason"]

    conversation = frames.of("ready")[-1]["conversation_id"]
    page.evaluate("() => { __shopdesk.reset(); __shopdesk.reset(); }")
    wait_until(
        page,
        lambda: frames.of("ready")[-1]["conversation_id"] != conversation,
        what="a fresh conversation",
    )
    wait_until(page, lambda: transcript_texts(page) == [], what="the old messages cleared")
    assert conversation not in stored(page) and rotated[-1]["resume_token"] not in stored(page)
    assert not page.errors
