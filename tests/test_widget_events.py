"""The widget's handling of each server event, in real Chromium with the websocket as the only fake.

Playwright routes `/ws` to a scripted server here, so the events the real agent rarely produces (a
person's message, a handoff, errors, drops at awkward moments) are driven deterministically, with no
shopdesk server at all: the page and widget.js are served from memory.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from browser import COUNT_SOCKETS, W, run_timers_then_count_sockets, run_timers_until_sockets

from widget.pages import load_assets

BASE = "http://shop.test"
PAGE = """<!doctype html><html lang="en"><head><title>Host</title></head><body>
<h1>A host page</h1><a href="#top">first link</a>
<script src="http://shop.test/widget.js" data-shopdesk="http://shop.test" {attrs} async></script>
</body></html>"""


class FakeChat:
    """A scripted /ws: records what the widget sends, replies through `on_hello`/`on_message`."""

    def __init__(self) -> None:
        self.connections: list[Any] = []
        self.received: list[dict[str, Any]] = []
        self.accept = True
        self.transcript: list[dict[str, Any]] = []
        self.on_message: Callable[[Any, dict[str, Any]], None] | None = None
        self.conversation_id = "c0ffee"

    def handle(self, ws: Any) -> None:
        self.connections.append(ws)
        if not self.accept:
            ws.close(code=1011, reason="down")
            return

        def message(text: str | bytes) -> None:
            event = json.loads(text)
            self.received.append(event)
            if event["type"] == "hello":
                self.send(ws, type="ready", conversation_id=self.conversation_id,
                          resume_token="tok-1", transcript=self.transcript)  # fmt: skip
            elif self.on_message is not None:
                self.on_message(ws, event)

        ws.on_message(message)

    @staticmethod
    def send(ws: Any, **event: Any) -> None:
        ws.send(json.dumps(event))

    def sent(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.received if e["type"] == kind]


@pytest.fixture
def chat() -> FakeChat:
    return FakeChat()


@pytest.fixture
def open_page(pw_browser: Any, chat: FakeChat) -> Iterator[Callable[..., Any]]:
    contexts: list[Any] = []
    js = load_assets()["widget.js"].body

    def opener(attrs: str = "", viewport: dict[str, int] | None = None) -> Any:
        context = pw_browser.new_context(viewport=viewport or {"width": 1280, "height": 800})
        contexts.append(context)
        # Fake timers that still run in real time until a test moves them (`run_for`).
        context.clock.install()
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        page.set_default_timeout(5_000)
        page.route(
            f"{BASE}/",
            lambda route: route.fulfill(
                body=PAGE.replace("{attrs}", attrs), content_type="text/html"
            ),  # fmt: skip
        )
        page.route(
            f"{BASE}/widget.js",
            lambda route: route.fulfill(body=js, content_type="text/javascript"),
        )
        page.route_web_socket("ws://shop.test/ws", chat.handle)
        page.add_init_script(COUNT_SOCKETS)
        page.goto(f"{BASE}/")
        page.locator(f"{W} .sd-bubble").wait_for()
        return page

    yield opener
    for context in contexts:
        context.close()


def open_chat(page: Any) -> None:
    page.locator(f"{W} .sd-bubble").click()
    page.wait_for_function(
        "() => !document.querySelector('shopdesk-chat').shadowRoot.querySelector('.sd-send').disabled"
    )


def wait_for(page: Any, check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        page.wait_for_timeout(25)


def shadow(page: Any, js: str) -> Any:
    return page.evaluate(f"() => {{ const root = document.querySelector('{W}').shadowRoot; {js} }}")


# ---- rendering -------------------------------------------------------------------------------
def test_markdown_subset_is_built_safely(open_page: Callable[..., Any], chat: FakeChat) -> None:
    text = (
        "Here is **bold** and <b>not bold</b>.\n\n- one\n- two [link](https://example.com/a)\n\n"
        "1. first\n2. second\n\nBad: [x](javascript:alert(1)) and [y](data:text/html,hi) "
        "and https://example.com/plain."
    )
    chat.on_message = lambda ws, e: chat.send(ws, type="assistant_message", text=text, citations=[])
    page = open_page()
    open_chat(page)
    page.locator(f"{W} .sd-input").fill("hi")
    page.keyboard.press("Enter")
    answer = page.locator(f"{W} .sd-msg.sd-assistant").last
    answer.locator("ol").wait_for()
    assert answer.locator("strong").inner_text() == "bold"
    assert "<b>not bold</b>" in answer.inner_text()
    assert answer.locator("ul li").count() == 2 and answer.locator("ol li").count() == 2
    hrefs = answer.locator("a").evaluate_all("as => as.map(a => [a.href, a.target, a.rel])")
    assert hrefs == [
        ["https://example.com/a", "_blank", "noopener noreferrer"],
        ["https://example.com/plain", "_blank", "noopener noreferrer"],
    ]
    assert "[x](javascript:alert(1))" in answer.inner_text()
    assert shadow(page, "return root.querySelectorAll('b, img, script').length") == 0


def test_citation_marks_follow_the_order_of_first_mention(
    open_page: Callable[..., Any], chat: FakeChat
) -> None:
    cites = [
        {"source": "returns.md", "heading": "Returns > Custom items", "text": "Final sale."},
        {"source": "refunds.md", "heading": "Refunds > Timing", "text": "Three days."},
    ]
    chat.on_message = lambda ws, e: chat.send(
        ws, type="assistant_message", text="Custom is final [3]. Refunds take days [1]. [9]",
        citations=cites,
    )  # fmt: skip
    page = open_page()
    open_chat(page)
    page.locator(f"{W} .sd-input").fill("q")
    page.keyboard.press("Enter")
    marks = page.locator(f"{W} .sd-mark")
    marks.first.wait_for()
    assert marks.all_inner_texts() == ["1", "2"]
    assert "[9]" in page.locator(f"{W} .sd-msg.sd-assistant").last.inner_text()
    marks.nth(1).click()
    chips = page.locator(f"{W} .sd-chip")
    assert chips.nth(1).get_attribute("aria-expanded") == "true"
    assert chips.nth(0).get_attribute("aria-expanded") == "false"
    assert page.locator(f"{W} .sd-quote").nth(1).inner_text().startswith("Three days.")


def test_stream_is_replaced_by_the_final_message(
    open_page: Callable[..., Any], chat: FakeChat
) -> None:
    def reply(ws: Any, event: dict[str, Any]) -> None:
        for part in ("Hel", "lo **wor", "ld**"):
            chat.send(ws, type="assistant_delta", text=part)

    chat.on_message = reply
    page = open_page()
    open_chat(page)
    page.locator(f"{W} .sd-input").fill("hi")
    page.keyboard.press("Enter")
    streaming = page.locator(f"{W} .sd-msg.sd-streaming")
    streaming.wait_for()
    wait_for(page, lambda: streaming.inner_text() == "Hello world")
    assert page.locator(f"{W} .sd-send").is_disabled()  # one turn at a time
    chat.send(chat.connections[-1], type="assistant_message", text="Hello, world.", citations=[])
    page.locator(f"{W} .sd-msg.sd-streaming").wait_for(state="detached")
    assert page.locator(f"{W} .sd-msg.sd-assistant").last.inner_text() == "Hello, world."
    assert page.locator(f"{W} .sd-msg.sd-assistant").count() == 2  # greeting + one answer
    assert not page.locator(f"{W} .sd-send").is_disabled()


def test_person_handoff_and_agent_message(open_page: Callable[..., Any], chat: FakeChat) -> None:
    page = open_page()
    open_chat(page)
    ws = chat.connections[-1]
    chat.send(ws, type="handoff", reason="asked for a person")
    chat.send(ws, type="agent_message", text="Hi, Sam **from the studio** here.", name="Sam")
    agent = page.locator(f"{W} .sd-msg.sd-agent")
    agent.wait_for()
    assert agent.locator(".sd-who").inner_text() == "Sam"
    assert agent.locator("strong").inner_text() == "from the studio"
    assert "A person from the store will join" in page.locator(f"{W} .sd-notice").inner_text()
    wait_for(page, lambda: "Sam" in shadow(page, "return root.querySelector('.sd-sr').textContent"))


def test_errors_show_one_friendly_banner(open_page: Callable[..., Any], chat: FakeChat) -> None:
    page = open_page()
    open_chat(page)
    ws = chat.connections[-1]
    chat.send(ws, type="error", code="busy", message="One moment, I'm still answering.")
    chat.send(ws, type="error", code="rate_limited", message="You're sending messages too fast.")
    banner = page.locator(f"{W} .sd-banner")
    wait_for(page, lambda: "too fast" in banner.inner_text())
    assert banner.count() == 1 and banner.get_attribute("role") == "alert"
    banner.get_by_role("button", name="Dismiss").click()
    assert banner.is_hidden()


def test_confirmation_sends_the_answer_and_label_link_is_safe(
    open_page: Callable[..., Any], chat: FakeChat
) -> None:
    def reply(ws: Any, event: dict[str, Any]) -> None:
        if event["type"] == "user_message":
            chat.send(ws, type="confirmation_request", id="conf-1", action="generate_label",
                      arguments={"rma_id": "RMA-1"}, summary="Create a label for RMA-1.",
                      fee="$6.00")  # fmt: skip
        elif event["type"] == "confirmation_response":
            chat.send(ws, type="action_started", action="generate_label", arguments={})
            chat.send(ws, type="action_finished", action="generate_label", ok=True,
                      result={"label_url": "/labels/a.pdf", "tracking_number": "WKR1"})  # fmt: skip
            chat.send(ws, type="action_finished", action="generate_label", ok=True,
                      result={"label_url": "javascript:alert(1)"})  # fmt: skip
            chat.send(ws, type="assistant_message", text="Done.", citations=[])

    chat.on_message = reply
    page = open_page()
    open_chat(page)
    page.locator(f"{W} .sd-input").fill("label please")
    page.keyboard.press("Enter")
    card = page.locator(f"{W} .sd-row-confirm .sd-card")
    card.wait_for()
    assert "Create a label for RMA-1." in card.inner_text() and "Fee: $6.00" in card.inner_text()
    card.get_by_role("button", name="Confirm").click()
    page.locator(f"{W} a.sd-label").wait_for()
    assert chat.sent("confirmation_response") == [
        {"type": "confirmation_response", "id": "conf-1", "approved": True}
    ]
    links = page.locator(f"{W} a.sd-label")
    assert links.count() == 1  # the javascript: one is dropped
    assert links.get_attribute("href") == f"{BASE}/labels/a.pdf"
    assert "WKR1" in page.locator(f"{W} .sd-labelcard").inner_text()


# ---- connection --------------------------------------------------------------------------------
def test_reconnects_with_backoff_and_rerenders_without_duplicates(
    open_page: Callable[..., Any], chat: FakeChat
) -> None:
    chat.transcript = [
        {"role": "user", "text": "Can I return a mug?"},
        {"role": "assistant", "text": "Yes, within 30 days.", "citations": []},
    ]
    page = open_page()
    open_chat(page)
    assert len(page.locator(f"{W} .sd-msg:not(.sd-greeting)").all()) == 2
    assert chat.sent("hello")[0].get("conversation_id") is None
    stored = sorted(page.evaluate("Object.entries(localStorage)"))
    key = f"shopdesk-conversation:{BASE}:guest"
    assert stored == [[key, "c0ffee"], [f"{key}:token", "tok-1"]]

    chat.accept = False
    chat.connections[-1].close(code=1012, reason="restart")
    for attempt in (2, 3, 4):  # each refused attempt is followed by one more, after its backoff
        page.wait_for_function(f"() => window.__sockets.closed >= {attempt - 1}")
        assert run_timers_until_sockets(page, opened=attempt) == attempt
    # Never two sockets at once: each attempt waits for the previous one to close.
    assert page.evaluate("window.__sockets.overlaps") == 0
    backoffs = [ms for ms in page.evaluate("window.__sockets.delays") if ms >= 100][:3]
    assert backoffs[1] > backoffs[0] * 1.3 and backoffs[2] > backoffs[1] * 1.3, backoffs
    assert page.locator(f"{W} .sd-send").is_disabled()

    chat.accept = True
    chat.transcript.append({"role": "user", "text": "Thanks"})
    page.wait_for_function("() => window.__sockets.closed >= 4")
    page.clock.run_for(60_000)
    wait_for(page, lambda: len(chat.sent("hello")) >= 2, timeout=10)
    assert chat.sent("hello")[-1]["conversation_id"] == "c0ffee"
    assert chat.sent("hello")[-1]["resume_token"] == "tok-1"
    page.wait_for_function(
        "() => !document.querySelector('shopdesk-chat').shadowRoot.querySelector('.sd-send').disabled"
    )
    texts = page.locator(f"{W} .sd-msg:not(.sd-greeting)").all_inner_texts()
    assert texts == ["Can I return a mug?", "Yes, within 30 days.", "Thanks"]


def test_removed_widget_stops_reconnecting(open_page: Callable[..., Any], chat: FakeChat) -> None:
    page = open_page()
    open_chat(page)
    chat.accept = False
    page.evaluate(f"document.querySelector('{W}').remove()")
    chat.connections[-1].close(code=1012)
    assert run_timers_then_count_sockets(page, closes=1) == 1
    assert len(chat.connections) == 1


def test_message_typed_after_an_idle_close_is_sent_on_reconnect(
    open_page: Callable[..., Any], chat: FakeChat
) -> None:
    page = open_page()
    open_chat(page)
    chat.connections[-1].close(code=4000, reason="idle_timeout")
    # Idle: no reconnect until the shopper acts, however long the page then sits.
    assert run_timers_then_count_sockets(page, closes=1) == 1
    assert len(chat.connections) == 1
    page.locator(f"{W} .sd-input").fill("still there?")
    page.locator(f"{W} .sd-input").press("Enter")
    wait_for(page, lambda: chat.sent("user_message") != [])
    assert len(chat.connections) == 2
    assert chat.sent("user_message") == [{"type": "user_message", "text": "still there?"}]
    assert page.locator(f"{W} .sd-msg.sd-user").all_inner_texts() == ["still there?"]


def test_data_attributes_colour_position_language_and_identity(
    open_page: Callable[..., Any], chat: FakeChat
) -> None:
    page = open_page(
        'data-colour="rgb(120, 30, 60)" data-position="left" data-language="fr" '
        'data-greeting="Bonjour !" data-email="maya.chen@example.com" data-signature="abc123"'
    )
    bubble = page.locator(f"{W} .sd-bubble")
    assert bubble.get_attribute("aria-label") == "Ouvrir le chat"
    box = bubble.bounding_box()
    assert box and box["x"] < 100
    assert bubble.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(120, 30, 60)"
    open_chat(page)
    assert chat.sent("hello")[0]["identity"] == {
        "email": "maya.chen@example.com",
        "signature": "abc123",
    }
    assert page.locator(f"{W} .sd-greeting").inner_text() == "Bonjour !"
    key = "shopdesk-conversation:http://shop.test:maya.chen@example.com"
    assert page.evaluate(f"localStorage.getItem('{key}')") == "c0ffee"


def test_escape_closes_and_returns_focus_to_the_bubble(
    open_page: Callable[..., Any], chat: FakeChat
) -> None:
    page = open_page()
    open_chat(page)
    active = f"() => document.querySelector('{W}').shadowRoot.activeElement?.className"
    assert page.evaluate(active) == "sd-input"
    panel = page.locator(f"{W} .sd-panel")
    assert panel.get_attribute("role") == "dialog" and panel.get_attribute("aria-label")
    for control in page.locator(f"{W} button").all():
        if control.is_visible():
            assert control.get_attribute("aria-label") or control.inner_text().strip()
    page.keyboard.press("Escape")
    assert panel.is_hidden()
    assert page.evaluate(active) == "sd-bubble"
    assert page.locator(f"{W} .sd-bubble").get_attribute("aria-expanded") == "false"


def test_a_dropped_socket_reconnects_once_its_backoff_runs_out(
    open_page: Callable[..., Any], chat: FakeChat
) -> None:
    page = open_page()
    open_chat(page)
    chat.connections[-1].close(code=1012)
    assert run_timers_then_count_sockets(page, closes=1) == 2
    wait_for(page, lambda: len(chat.sent("hello")) == 2)


def test_a_rotated_resume_token_is_kept_and_sent_with_the_next_hello(
    open_page: Callable[..., Any], chat: FakeChat
) -> None:
    chat.transcript = [
        {"role": "notice", "text": "Order details hidden — verify again to see them."}
    ]
    page = open_page()
    open_chat(page)
    assert "Order details hidden" in shadow(
        page, "return root.querySelector('.sd-notice').textContent"
    )
    chat.send(chat.connections[-1], type="session", resume_token="tok-2", verified=True)
    key = f"shopdesk-conversation:{BASE}:guest:token"
    page.wait_for_function(f"() => localStorage.getItem('{key}') === 'tok-2'")
    chat.connections[-1].close(code=1012, reason="restart")
    page.clock.run_for(60_000)
    wait_for(page, lambda: len(chat.sent("hello")) >= 2)
    assert chat.sent("hello")[-1]["resume_token"] == "tok-2"
    assert not page.errors
