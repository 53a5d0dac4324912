"""The store owner's loop in real headless Chromium: a question the assistant could not answer shows up
in insights, the owner follows its link into the knowledge editor, adds a section, saves, and the same
question asked in the widget is now answered with a citation to the new section.

Also saves the README screenshots console-insights.png and console-knowledge.png (to docs/ under
`make screenshots`, to a temporary folder otherwise).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import (
    AppServer,
    Frames,
    W,
    console_sign_in,
    converse,
    free_port,
    knowledge_copy,
    make_settings,
    new_page,
    open_widget,
)

pytestmark = pytest.mark.timeout(300)
QUESTION = "Do you run pottery classes?"
NEW_SECTION = """

## Pottery classes

Yes: we run beginner wheel-throwing classes at the studio in Portland on Saturday mornings, 10am to
1pm, for up to six people. A class costs $85 including clay, glazing and firing, and you can collect
your two finished pieces three weeks later. Book a place by emailing hello@willowandkiln.example.
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[AppServer]:
    kb = knowledge_copy(tmp_path / "kb")
    port = free_port()
    app = AppServer(make_settings(tmp_path / "data", kb, port, []), port)
    app.start()
    yield app
    app.stop()


def _ask(page: Any, frames: Frames, text: str) -> dict[str, Any]:
    answers = [f for f in converse(page, frames, text) if f.get("type") == "assistant_message"]
    assert answers, f"no answer to {text!r}"
    return answers[-1]


def test_owner_fixes_an_unanswered_question_and_the_widget_then_answers_it(
    pw_browser: Any, contexts: list[Any], server: AppServer, screenshot_dir: Path
) -> None:
    shopper = new_page(pw_browser, 1280, 820, timeout_ms=20_000)
    contexts.append(shopper.context)
    frames = Frames().attach(shopper)
    shopper.goto(server.url + "/")
    open_widget(shopper)
    before = _ask(shopper, frames, QUESTION)
    assert "don't know" in before["text"] and before["citations"] == []
    # Answered questions and a return: insights counts them, but not as unanswered.
    _ask(shopper, frames, "How long do I have to return a print?")
    _ask(shopper, frames, "Do you ship to Canada?")
    _ask(shopper, frames, "Can you ship my order to Canada?")
    _ask(shopper, frames, "Hi! I want to return the walnut bench from my order")
    _ask(shopper, frames, "It's WK-1007, elena.petrova@example.com")
    _ask(shopper, frames, "I changed my mind, it's too big")
    _ask(shopper, frames, "Yes please")
    assert any(
        f.get("action") == "create_return_authorization" and f.get("ok") for f in frames.received
    )

    owner = new_page(pw_browser, 1360, 900, timeout_ms=20_000)
    contexts.append(owner.context)
    owner.goto(server.url + "/console/insights")
    assert owner.url.endswith("/console/login")  # owners sign in like staff
    console_sign_in(owner, server.url, "Olive")
    owner.goto(server.url + "/console/insights")

    row = owner.locator("#unanswered tr", has_text=QUESTION)
    row.wait_for()
    assert "Walnut" in owner.locator("body").inner_text()  # the bench, under returned products
    assert owner.locator("#unanswered tr", has_text="return a print").count() == 0
    owner.screenshot(path=str(screenshot_dir / "console-insights.png"), full_page=True)
    row.locator("a.fix-link").click()
    owner.wait_for_url("**/console/knowledge/edit?*")
    # The link opened the closest file with the question ready to try.
    assert owner.locator("#try-q").input_value() == QUESTION

    editor = owner.locator("#editor")
    editor.press("Control+End")
    editor.type(NEW_SECTION, delay=0)
    owner.locator("#save").click()
    result = owner.locator("#save-result")
    result.filter(has_text="Saved").wait_for()
    assert "1 added" in result.inner_text()

    owner.locator("#try-go").click()
    first = owner.locator("#try-results li").first
    first.filter(has_text="Pottery classes").wait_for()
    owner.screenshot(path=str(screenshot_dir / "console-knowledge.png"), full_page=True)

    after = _ask(shopper, frames, QUESTION)
    assert "Saturday" in after["text"]
    headings = [c["heading"] for c in after["citations"]]
    assert any(h.endswith("Pottery classes") for h in headings), after["citations"]
    cited = shopper.locator(f"{W} .sd-msg.sd-assistant").last
    assert "Pottery classes" in cited.inner_text()
    assert not owner.errors and not shopper.errors  # type: ignore[attr-defined]


def test_broken_front_matter_is_refused_in_the_browser_and_the_file_is_unchanged(
    pw_browser: Any, contexts: list[Any], server: AppServer
) -> None:
    kb = Path(server.settings.kb)
    before = (kb / "shipping.md").read_bytes()
    owner = new_page(pw_browser, 1360, 900, timeout_ms=20_000)
    contexts.append(owner.context)
    owner.goto(server.url + "/console/login")
    console_sign_in(owner, server.url, "Olive")
    owner.goto(server.url + "/console/knowledge/edit?source=shipping.md")
    owner.locator("#editor").fill("---\ntitle: Shipping\ntags: [a, b\n---\n# Shipping\n\nText.\n")
    owner.locator("#save").click()
    refusal = owner.locator("#save-result").filter(has_text="Not saved")
    refusal.wait_for()
    assert "line 3" in refusal.inner_text()
    assert (kb / "shipping.md").read_bytes() == before
    assert not owner.errors  # type: ignore[attr-defined]
