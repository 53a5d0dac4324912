"""Photo evidence in real headless Chromium: a damaged-item return with two photos attached in the
widget → the return in the console's review queue with the thumbnails → approved → the label; and
bad files (a polyglot, an oversized image, a decompression bomb) each refused in the widget."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import (
    DEMO_KB,
    AppServer,
    Frames,
    W,
    console_sign_in,
    converse,
    free_port,
    make_settings,
    new_page,
    open_widget,
    wait_until,
)

from tests.test_evidence_images import photo, png_bomb
from tests.test_evidence_uploads import MAYA, policy_needing_photos

pytestmark = pytest.mark.timeout(240)
OFFER_LABEL = "Would you like me to create the prepaid return label now?"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    root = tmp_path_factory.mktemp("evidence-browser")
    port = free_port()
    settings = make_settings(root / "data", DEMO_KB, port, []).model_copy(
        update={"policy": policy_needing_photos(root)}
    )
    app = AppServer(settings, port)
    app.start()
    yield app
    app.stop()


def attach(page: Any, files: list[tuple[str, str, bytes]]) -> None:
    page.locator(f"{W} .sd-file").set_input_files(
        [{"name": name, "mimeType": kind, "buffer": data} for name, kind, data in files]
    )


def shown_photos(page: Any) -> int:
    """Thumbnails in the widget that the browser actually loaded and drew."""
    return int(
        page.evaluate(
            """() => [...document.querySelector('shopdesk-chat').shadowRoot
                  .querySelectorAll('.sd-photo img')].filter(i => i.complete && i.naturalWidth > 0)
                  .length"""
        )
    )


def test_a_damaged_return_with_two_photos_is_reviewed_with_them_and_gets_its_label(
    server: AppServer, pw_browser: Any, screenshot_dir: Path
) -> None:
    shopper = new_page(pw_browser, 420, 820)
    staff = new_page(pw_browser, 1280, 900)
    try:
        frames = Frames().attach(shopper)
        shopper.goto(server.url + "/")
        open_widget(shopper)
        converse(shopper, frames, f"my mug from WK-1001 arrived cracked, {MAYA}")
        asked = converse(shopper, frames, "yes please")
        assert "add photos" in [f for f in asked if f["type"] == "assistant_message"][-1]["text"]
        attach(shopper, [("box.jpg", "image/jpeg", photo("JPEG")),
                         ("crack.png", "image/png", photo("PNG"))])  # fmt: skip
        wait_until(shopper, lambda: shown_photos(shopper) == 2, what="two thumbnails in the chat")
        assert [f["type"] for f in frames.sent].count("upload_request") >= 1
        done = converse(shopper, frames, "I've added the photos")
        card = [f for f in done if f["type"] == "confirmation_request"][0]
        assert "with your 2 photos" in card["summary"]
        final = [f for f in done if f["type"] == "assistant_message"][-1]["text"]
        assert "Your 2 photos went with it." in final
        rma_id = [f for f in done if f["type"] == "action_finished"][-1]["result"]["rma_id"]
        shopper.screenshot(path=str(screenshot_dir / "widget-photos.png"))

        staff.goto(server.url + "/console/returns")
        console_sign_in(staff, server.url, "Robin")
        staff.goto(server.url + "/console/returns")
        queued = staff.locator(f".rma-card[data-rma='{rma_id}']")
        thumbs = queued.locator(".photo-list img")
        thumbs.nth(1).wait_for()
        assert thumbs.count() == 2
        staff.wait_for_function(
            "() => [...document.querySelectorAll('.photo-list img')]"
            ".every(i => i.complete && i.naturalWidth > 0)"
        )
        full = staff.request.get(
            server.url + queued.locator(".photo-list a").first.get_attribute("href")
        )
        assert full.status == 200 and full.headers["content-type"] == "image/jpeg"
        staff.screenshot(path=str(screenshot_dir / "console-returns-photos.png"), full_page=True)
        conv_id = [f for f in frames.received if f["type"] == "ready"][0]["conversation_id"]
        staff.goto(f"{server.url}/console/c/{conv_id}")
        assert staff.locator(".photo-list img").count() == 2  # the conversation page shows them
        staff.goto(server.url + "/console/returns")
        queued.get_by_role("button", name="Approve").click()
        queued.wait_for(state="detached")

        wait_until(shopper, lambda: any(OFFER_LABEL in str(f.get("text", "")) for f in frames.received),
                   timeout=30, what="the label offer after the approval")  # fmt: skip
        converse(shopper, frames, "yes")
        link = shopper.locator(f"{W} a", has_text="Download return label (PDF)")
        link.wait_for()
        assert "/labels/" in (link.get_attribute("href") or "")
        assert shopper.errors == [] and staff.errors == []
    finally:
        shopper.context.close()
        staff.context.close()


def test_a_polyglot_an_oversized_image_and_a_bomb_are_each_refused_in_the_widget(
    server: AppServer, pw_browser: Any
) -> None:
    page = new_page(pw_browser, 420, 820)
    try:
        page.goto(server.url + "/")
        open_widget(page)
        errors = page.locator(f"{W} .sd-photo-error")
        cases = [
            ("receipt.jpg", "image/jpeg", photo("JPEG") + b"PK\x03\x04" + b"\x00" * 64,
             "something else hidden inside it"),
            ("huge.jpg", "image/jpeg", photo("JPEG") + b"\x00" * (10 * 1024 * 1024),
             "over 10 MB"),
            ("bomb.png", "image/png", png_bomb(), "far too large to open safely"),
        ]  # fmt: skip
        for count, (name, kind, data, words) in enumerate(cases, start=1):
            attach(page, [(name, kind, data)])
            errors.nth(count - 1).wait_for()
            assert words in errors.nth(count - 1).inner_text()
            assert errors.nth(count - 1).get_attribute("role") == "alert"
        assert shown_photos(page) == 0
        assert page.locator(f"{W} .sd-photo").count() == 0
    finally:
        page.context.close()
