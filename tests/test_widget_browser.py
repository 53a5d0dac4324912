"""The widget in real headless Chromium against a real shopdesk server on loopback.

One browser and one server for the module (a fresh browser context per test, so each test starts with
empty storage); the restart test stops and starts that server on the same port and data directory.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser import (
    COUNT_SOCKETS,
    TIMING_JS,
    AppServer,
    Frames,
    PageServer,
    W,
    converse,
    free_port,
    knowledge_copy,
    make_settings,
    open_widget,
    run_timers_then_count_sockets,
    send,
    transcript_texts,
    wait_idle,
    wait_until,
)

pytestmark = pytest.mark.timeout(180)

# A knowledge file whose passage carries markup: the widget must show it as text and run nothing.
HOSTILE_DOC = """---
title: Gift wrapping
---
# Gift wrapping

## Wrapping and gift notes
We gift wrap any order in kiln-fired paper with a handwritten note. Our old shop system printed
notes as <img src=x onerror="window.__shopdeskPwned=1;alert(1)"> and
<script>window.__shopdeskPwned=2;alert(2)</script> so please type gift notes as plain words.
Links in notes like [this one](javascript:window.__shopdeskPwned=3) are printed as text; our
[gift guide](https://example.com/gifts) has ideas.
"""

# Host pages on other origins: one allowed, one not. `{chat}` is the chat server's URL.
HOSTILE_HOST_PAGE = """<!doctype html>
<html><head><title>Someone else's shop</title>
<style>
  * { all: unset; }
  div { display: none !important; }
  button { background: rgb(255, 0, 0) !important; font-size: 40px !important; }
  body { display: block; background: rgb(250, 240, 230); }
  #probe { display: block; color: rgb(10, 20, 30); font-size: 13px; }
  script, style, head, title { display: none; }
</style>
<script>window.hostState = { clicks: 0 }; window.$ = function () { return "host-jquery"; };</script>
</head><body>
<p id="probe">The host page's own text</p>
<button id="host-button" onclick="window.hostState.clicks++">Host button</button>
<div id="host-div">hidden by the host</div>
{embed}
</body></html>"""
EMBED = '<script src="{chat}/widget.js" data-shopdesk="{chat}" async></script>'

POLICY_QUESTION = "Can I return an engraved mug?"
RETURN_ORDER, RETURN_EMAIL = "WK-1001", "maya.chen@example.com"
DECLINE_ORDER, DECLINE_EMAIL = "WK-1011", "grace.kim@example.com"


# ---- fixtures --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def hosts() -> Iterator[tuple[PageServer, PageServer]]:
    allowed, refused = PageServer({}), PageServer({})
    with allowed, refused:
        yield allowed, refused


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, hosts: tuple[PageServer, PageServer]
) -> Iterator[AppServer]:
    allowed, refused = hosts
    root = tmp_path_factory.mktemp("widget")
    kb = knowledge_copy(root / "kb", {"gift-wrapping.md": HOSTILE_DOC})
    port = free_port()
    app = AppServer(make_settings(root / "data", kb, port, [allowed.url]), port)
    app.start()
    chat = app.url
    plain = HOSTILE_HOST_PAGE.replace("{embed}", "")
    # The tag twice: loading the widget twice must do nothing the second time.
    twice = HOSTILE_HOST_PAGE.replace("{embed}", (EMBED + "\n") * 2).replace("{chat}", chat)
    allowed.pages.update({"/": twice, "/plain": plain})
    refused.pages.update({"/": twice})
    yield app
    app.stop()


@pytest.fixture
def page(pw_browser: Any) -> Iterator[Any]:
    context = pw_browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.add_init_script(COUNT_SOCKETS)
    page.dialogs = []  # type: ignore[attr-defined]
    page.errors = []  # type: ignore[attr-defined]

    def on_dialog(dialog: Any) -> None:
        page.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.set_default_timeout(15_000)
    yield page
    context.close()


def shadow(page: Any, js: str) -> Any:
    """Evaluate `js` with `root` bound to the widget's shadow root."""
    return page.evaluate(f"() => {{ const root = document.querySelector('{W}').shadowRoot; {js} }}")


# ---- scenarios -------------------------------------------------------------------------------
def test_policy_question_streams_an_answer_with_a_citation_chip_that_expands(
    server: AppServer, page: Any
) -> None:
    frames = Frames().attach(page)
    page.goto(server.url + "/")
    open_widget(page)
    n = len(frames.received)
    send(page, POLICY_QUESTION)
    final = wait_idle(page, frames, n)
    kinds = [f["type"] for f in frames.received[n:]]
    assert final["type"] == "assistant_message", kinds
    assert "assistant_delta" in kinds and kinds.index("assistant_delta") < kinds.index(
        "assistant_message"
    )
    # How the partial text is painted is tested with a paced socket in test_widget_events: the
    # offline model is so fast here that the final message can land before the next frame.
    assert final["citations"], "a policy answer must cite"

    answer = page.locator(f"{W} .sd-msg.sd-assistant").last
    assert answer.inner_text().strip()
    chip = answer.locator(".sd-chip").first
    heading = final["citations"][0]["heading"]
    assert heading in chip.inner_text()
    quote = answer.locator(".sd-quote").first
    assert quote.is_hidden()
    chip.click()
    assert chip.get_attribute("aria-expanded") == "true"
    assert quote.is_visible()
    assert final["citations"][0]["text"].split()[0] in quote.inner_text()
    assert not page.errors


def test_full_return_confirms_and_offers_a_label_pdf(server: AppServer, page: Any) -> None:
    frames = Frames().attach(page)
    page.goto(server.url + "/")
    open_widget(page)
    shadow(
        page,
        """window.__sdStatus = new Set(); window.__sdTyping = false;
        new MutationObserver(() => {
          const st = root.querySelector('.sd-status');
          if (!st.hidden && st.textContent) window.__sdStatus.add(st.textContent);
          if (root.querySelector('.sd-typing')) window.__sdTyping = true;
        }).observe(root, {subtree: true, childList: true, attributes: true});""",
    )

    # The README's demo return, as a shopper types it.
    def actions(turn: list[dict]) -> list[str]:
        return [f["action"] for f in turn if f["type"] == "action_finished" and f["ok"]]

    converse(page, frames, "Hi! I want to return the mug from my order")
    turn = converse(page, frames, f"It's {RETURN_ORDER}, {RETURN_EMAIL}")
    assert actions(turn) == ["lookup_order"]
    turn = converse(page, frames, "I changed my mind, it doesn't go with my kitchen")
    assert actions(turn) == ["check_eligibility"]
    assert "Shall I start this return" in turn[-1]["text"]
    turn = converse(page, frames, "Yes please", approve=True)
    assert actions(turn) == ["create_return_authorization", "generate_label"]

    confirms = frames.of("confirmation_request")
    assert confirms and confirms[0]["action"] == "create_return_authorization"
    assert page.locator(f"{W} .sd-answered").first.inner_text().strip().endswith("Confirmed")
    created = [
        f for f in frames.of("action_finished") if f["action"] == "create_return_authorization"
    ]
    assert created and created[-1]["ok"], created
    rma = created[-1]["result"]["rma_id"]
    assert re.fullmatch(r"RMA-[A-Z0-9]+", rma)
    wait_until(page, lambda: rma in " ".join(transcript_texts(page)), what="the RMA number shown")

    link = page.locator(f"{W} a.sd-label")
    link.wait_for()
    assert link.get_attribute("rel") == "noopener noreferrer"
    with page.expect_download() as download:
        link.click()
    pdf = Path(download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    # While the agent worked the shopper saw it: a typing indicator, then what each action does.
    statuses = page.evaluate("[...window.__sdStatus]")
    assert "Looking up your order…" in statuses, statuses
    assert "Creating your return…" in statuses, statuses
    assert page.evaluate("window.__sdTyping")
    assert not page.errors


def test_decline_creates_nothing(server: AppServer, page: Any) -> None:
    frames = Frames().attach(page)
    page.goto(server.url + "/")
    open_widget(page)
    converse(page, frames, f"I want to return the cereal bowls from order {DECLINE_ORDER}")
    converse(page, frames, DECLINE_EMAIL)
    converse(page, frames, "one cereal bowl, I changed my mind")
    converse(page, frames, "yes", approve=False)

    assert frames.of("confirmation_request"), "nothing asked for a confirmation"
    assert page.locator(f"{W} .sd-answered").last.inner_text().strip() == "Declined"
    assert not [f for f in frames.of("action_finished") if f["ok"] and "create" in f["action"]]
    returns = httpx.get(
        server.url + "/v1/returns",
        headers={"Authorization": f"Bearer {server.settings.admin_token}"},
    ).json()
    items = returns.get("returns", returns) if isinstance(returns, dict) else returns
    assert not [r for r in items if r.get("order_id") == DECLINE_ORDER]


def test_reload_restores_the_transcript_without_duplicates(server: AppServer, page: Any) -> None:
    frames = Frames().attach(page)
    page.goto(server.url + "/")
    open_widget(page)
    converse(page, frames, POLICY_QUESTION)
    before = transcript_texts(page)
    conversation = frames.of("ready")[0]["conversation_id"]

    page.reload()
    wait_until(page, lambda: len(frames.of("ready")) == 2, what="ready after the reload")
    assert frames.of("ready")[1]["conversation_id"] == conversation
    hello = [f for f in frames.sent if f.get("type") == "hello"][-1]
    assert hello["conversation_id"] == conversation
    page.locator(f"{W} .sd-panel").wait_for()  # it was open, so it opens again
    assert transcript_texts(page) == before

    page.locator(f"{W} .sd-restart").click()
    wait_until(page, lambda: len(frames.of("ready")) == 3, what="a fresh conversation")
    assert frames.of("ready")[2]["conversation_id"] != conversation
    assert transcript_texts(page) == []


def test_passage_markup_shows_as_text_and_runs_nothing(server: AppServer, page: Any) -> None:
    frames = Frames().attach(page)
    page.goto(server.url + "/")
    open_widget(page)
    turn = converse(page, frames, "Do you gift wrap orders? Can I add a gift note?")
    final = [f for f in turn if f["type"] == "assistant_message"][-1]
    assert any("gift" in c["source"] for c in final["citations"]), final
    for chip in page.locator(f"{W} .sd-chip").all():
        chip.click()
    shown = " ".join(transcript_texts(page))
    assert "<img src=x onerror=" in shown or "<script>" in shown, shown
    assert shadow(page, "return root.querySelectorAll('img, script, iframe, object').length") == 0
    links = shadow(
        page,
        "return [...root.querySelectorAll('a')].map(a => [a.protocol, a.target, a.rel]);",
    )
    assert links, "the safe link in the passage should be a link"
    for protocol, target, rel in links:
        assert protocol in ("http:", "https:") and target == "_blank"
        assert rel == "noopener noreferrer"
    assert page.evaluate("window.__shopdeskPwned") is None
    assert page.dialogs == []  # type: ignore[attr-defined]


def test_host_page_styles_and_scripts_are_unaffected_on_an_allowed_origin(
    server: AppServer, hosts: tuple[PageServer, PageServer], page: Any
) -> None:
    allowed, _ = hosts
    probe = """() => {
      const cs = (el) => { const s = getComputedStyle(el);
        return [s.color, s.fontSize, s.display, s.backgroundColor, s.fontFamily].join('|'); };
      return { probe: cs(document.getElementById('probe')), body: cs(document.body),
               button: cs(document.getElementById('host-button')),
               div: cs(document.getElementById('host-div')),
               globals: Object.keys(window).sort() };
    }"""
    page.goto(allowed.url + "/plain")
    without = page.evaluate(probe)

    frames = Frames().attach(page)
    page.goto(allowed.url + "/")
    page.locator(f"{W} .sd-bubble").wait_for(state="visible")
    page.wait_for_function("performance.getEntriesByName('shopdesk-bubble-visible').length")
    timing = page.evaluate(TIMING_JS)
    assert timing["run_to_bubble"] < 1000, timing  # typically 20-50 ms
    with_widget = page.evaluate(probe)
    for key in ("probe", "body", "button", "div"):
        assert with_widget[key] == without[key], key
    added = set(with_widget["globals"]) - set(without["globals"])
    assert added == {"__shopdesk"}, added
    assert page.evaluate(f"document.querySelectorAll('{W}').length") == 1  # the tag was there twice

    bubble = page.locator(f"{W} .sd-bubble").bounding_box()
    assert bubble and bubble["width"] >= 48 and bubble["x"] > 1000 and bubble["y"] > 600
    open_widget(page)
    assert frames.sockets == 1
    turn = converse(page, frames, POLICY_QUESTION)
    assert turn[-1]["type"] == "assistant_message"
    panel = page.locator(f"{W} .sd-panel").bounding_box()
    assert panel and panel["width"] >= 320 and panel["height"] >= 400

    page.locator("#host-button").click()
    assert page.evaluate("[window.hostState.clicks, window.$()]") == [1, "host-jquery"]
    assert not page.errors

    # Removed from the page: the socket closes and no reconnect follows.
    # Fake timers from here on (earlier, they would fake the performance marks read above).
    page.clock.install()
    page.evaluate(f"document.querySelector('{W}').remove()")
    assert run_timers_then_count_sockets(page, closes=1) == 1
    assert frames.sockets == 1


def test_a_page_on_an_origin_not_allowed_is_refused(
    server: AppServer, hosts: tuple[PageServer, PageServer], page: Any
) -> None:
    _, refused = hosts
    frames = Frames().attach(page)
    page.goto(refused.url + "/")
    page.locator(f"{W} .sd-bubble").click()
    page.locator(f"{W} .sd-banner").wait_for(state="visible", timeout=12_000)
    assert frames.sockets >= 2, "the widget should keep retrying with backoff"
    assert frames.of("ready") == []
    assert page.locator(f"{W} .sd-send").is_disabled()


def test_narrow_viewport_gets_a_full_screen_panel(server: AppServer, pw_browser: Any) -> None:
    context = pw_browser.new_context(viewport={"width": 375, "height": 700}, has_touch=True)
    page = context.new_page()
    try:
        page.goto(server.url + "/")
        open_widget(page)
        panel = page.locator(f"{W} .sd-panel")
        # Polled: the panel rises in with a short animation.
        wait_until(
            page,
            lambda: panel.bounding_box() == {"x": 0, "y": 0, "width": 375, "height": 700},
            timeout=5,
            what="a full-screen panel",
        )
        assert page.locator(f"{W} .sd-bubble").is_hidden()
        font = page.locator(f"{W} .sd-input").evaluate("e => getComputedStyle(e).fontSize")
        assert font == "16px"  # no zoom-on-focus on phones
        page.keyboard.press("Escape")
        assert page.locator(f"{W} .sd-bubble").is_visible()
    finally:
        context.close()


def test_keyboard_only_use(server: AppServer, page: Any) -> None:
    frames = Frames().attach(page)
    page.goto(server.url + "/")
    page.locator(f"{W} .sd-bubble").wait_for()
    focused = f"() => document.activeElement?.tagName === '{W.upper()}' && document.querySelector('{W}').shadowRoot.activeElement?.className"
    # Shift+Tab from the top of the page reaches the last control: the bubble.
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(focused) == "sd-bubble"
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => !document.querySelector('shopdesk-chat').shadowRoot.querySelector('.sd-send').disabled"
    )
    assert page.evaluate(focused) == "sd-input"
    n = len(frames.received)
    page.keyboard.type(POLICY_QUESTION)
    page.keyboard.press("Enter")
    wait_idle(page, frames, n)
    for _ in range(12):  # back from the input to the citation chip
        page.keyboard.press("Shift+Tab")
        if page.evaluate(focused) == "sd-chip":
            break
    assert page.evaluate(focused) == "sd-chip"
    page.keyboard.press("Enter")
    assert page.locator(f"{W} .sd-chip").last.get_attribute("aria-expanded") == "true"
    # The widget clears the live region and refills it on its next tick, so that a repeat is
    # announced too: wait for the refill rather than read it mid-way.
    page.wait_for_function(
        f"() => document.querySelector('{W}').shadowRoot"
        ".querySelector('[aria-live=polite]').textContent.trim() !== ''"
    )
    live = shadow(page, "return root.querySelector('[aria-live=polite]').textContent")
    assert live.strip(), "the live region announces new messages"
    page.keyboard.press("Escape")
    assert page.locator(f"{W} .sd-panel").is_hidden()
    assert page.evaluate(focused) == "sd-bubble"


def test_server_restart_mid_conversation_reconnects_and_resumes(
    server: AppServer, page: Any
) -> None:
    frames = Frames().attach(page)
    page.goto(server.url + "/")
    open_widget(page)
    converse(page, frames, POLICY_QUESTION)
    before = transcript_texts(page)
    conversation = frames.of("ready")[0]["conversation_id"]

    server.stop()
    page.locator(f"{W} .sd-send").wait_for(state="attached")
    wait_until(page, lambda: page.locator(f"{W} .sd-send").is_disabled(), what="the drop noticed")
    server.start()
    wait_until(page, lambda: len(frames.of("ready")) == 2, timeout=40, what="the reconnect")
    assert frames.of("ready")[1]["conversation_id"] == conversation
    assert transcript_texts(page) == before

    turn = converse(page, frames, "How long do I have to return a print?")
    assert turn[-1]["type"] == "assistant_message"
    assert transcript_texts(page)[: len(before)] == before
