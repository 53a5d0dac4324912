"""The return portal in real Chromium: the same damaged-item return with JavaScript off and on, two
photos each time, the RMA waiting in the review queue; the widget's "Start a return" link; and the
README screenshots docs/portal-desktop.png and docs/portal-mobile.png."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import W

from tests.portal_helpers import MAYA, portal_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Any]:
    """A store of its own per test: each test returns the same mug."""
    srv, _ = portal_server(tmp_path / "data")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    from PIL import Image

    folder = tmp_path_factory.mktemp("photos")
    paths = []
    for name, colour in (("box.jpg", (180, 140, 90)), ("mug.jpg", (120, 150, 130))):
        out = io.BytesIO()
        Image.new("RGB", (320, 240), colour).save(out, format="JPEG")
        (folder / name).write_bytes(out.getvalue())
        paths.append(folder / name)
    return paths


def _page(pw_browser: Any, contexts: list[Any], *, js: bool, width: int = 1280, height: int = 900) -> Any:  # fmt: skip
    context = pw_browser.new_context(java_script_enabled=js, viewport={"width": width, "height": height})  # fmt: skip
    contexts.append(context)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def _damaged_return(page: Any, base: str, photos: list[Path], shots: Path | None = None) -> str:
    """Identify, choose the mug as damaged with two photos, review and confirm: the RMA id."""
    page.goto(base + "/returns")
    page.get_by_label("Order number").fill("WK-1001")
    page.get_by_label("Email address").fill(MAYA)
    page.get_by_role("button", name="Find my order").click()
    page.get_by_label("Why are they coming back?").select_option("damaged")
    page.get_by_role("button", name="Check what can be returned").click()
    assert "reason=damaged" in page.url and "Photos of the problem" in page.inner_text("main")
    page.get_by_label("How many Sage speckled stoneware mug to return").select_option("1")
    page.get_by_label("How many Sage side plate to return").select_option("0")
    page.set_input_files("#photos", [str(p) for p in photos])
    if shots is not None:
        page.screenshot(path=str(shots), full_page=True)
    page.get_by_role("button", name="Review the return").click()
    assert "Nothing has been created yet" in page.inner_text("main")
    assert "2 photos attached" in page.inner_text("main")
    page.get_by_role("button", name="Confirm the return").click()
    heading = page.get_by_role("heading", level=1).inner_text()
    assert heading.startswith("Return RMA-"), heading
    assert "waiting for a quick review" in page.inner_text("main")
    return heading.removeprefix("Return ")


def _in_review_queue_with_photos(server: Any, rma_id: str) -> None:
    services = server.app.state.services
    queued = [r.id for r in services.workflow.list(status="manual_review")]
    assert rma_id in queued
    assert len(services.evidence.for_rma(rma_id)) == 2


def test_damaged_return_through_the_portal_without_javascript(
    pw_browser: Any, contexts: list[Any], server: Any, photos: list[Path], screenshot_dir: Path
) -> None:
    page = _page(pw_browser, contexts, js=False)
    rma_id = _damaged_return(page, server.http_url, photos, screenshot_dir / "portal-desktop.png")
    _in_review_queue_with_photos(server, rma_id)


def test_damaged_return_through_the_portal_with_javascript_on_a_phone(
    pw_browser: Any, contexts: list[Any], server: Any, photos: list[Path], screenshot_dir: Path
) -> None:
    page = _page(pw_browser, contexts, js=True, width=390, height=844)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    rma_id = _damaged_return(page, server.http_url, photos, screenshot_dir / "portal-mobile.png")
    _in_review_queue_with_photos(server, rma_id)
    assert errors == []


def test_wrong_email_is_announced_and_focused(
    pw_browser: Any, contexts: list[Any], server: Any
) -> None:
    page = _page(pw_browser, contexts, js=True)
    page.goto(server.http_url + "/returns")
    page.get_by_role("link", name="Skip to the return form").focus()
    page.get_by_label("Order number").fill("WK-1001")
    page.get_by_label("Email address").fill("not.maya@example.com")
    page.get_by_role("button", name="Find my order").click()
    alert = page.get_by_role("alert")
    assert "couldn't find an order with that number" in alert.inner_text()
    assert page.evaluate("document.activeElement && document.activeElement.id") == "error"


def test_the_widget_footer_links_to_the_portal(
    pw_browser: Any, contexts: list[Any], server: Any
) -> None:
    page = _page(pw_browser, contexts, js=True)
    page.goto(server.http_url + "/")
    page.locator(f"{W} .sd-bubble").click()
    link = page.locator(f"{W} .sd-return-link")
    assert link.inner_text() == "Start a return"
    assert link.get_attribute("href") == server.http_url + "/returns"
