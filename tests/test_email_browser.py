"""The console's outbox in real headless Chromium against a real shopdesk server (the embedded .eml
transport): the list in words, a message shown as the shopper sees it, hostile text kept as text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser import DEMO_KB, AppServer, console_sign_in, free_port, make_settings, new_page

pytestmark = pytest.mark.timeout(180)
ADMIN = {"Authorization": "Bearer demo-admin-token"}
HOSTILE = '<img src=x onerror="window.__pwned=1">Chip on the rim was there before.'


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    root = tmp_path_factory.mktemp("email-browser")
    port = free_port()
    app = AppServer(make_settings(root / "data", DEMO_KB, port, []), port)
    app.start()
    yield app
    app.stop()


def test_staff_read_the_outbox_and_see_an_email_as_the_shopper_will(
    server: AppServer, pw_browser: Any, screenshot_dir: Path
) -> None:
    with httpx.Client(base_url=server.url, headers=ADMIN) as api:
        body = {"order_id": "WK-1001", "lines": [{"sku": "CER-PLT-SAGE", "quantity": 1}],
                "reason": "damaged"}  # fmt: skip
        rma = api.post("/v1/returns", json=body).json()["id"]
        patch = api.patch(f"/v1/returns/{rma}", json={"status": "rejected", "note": HOSTILE})
        assert patch.status_code == 200
    page = new_page(pw_browser, 1280, 900)
    try:
        page.goto(server.url + "/console/outbox")
        console_sign_in(page, server.url, "Robin")
        page.goto(server.url + "/console/outbox")
        row = page.locator("#outbox tr", has_text="we can't accept it")
        row.locator(".mail-status", has_text="sent").wait_for()  # the app's loop sent it
        assert "return rejected" in row.inner_text() and "maya.chen@example.com" in row.inner_text()
        page.screenshot(path=str(screenshot_dir / "console-outbox.png"), full_page=True)
        row.locator("a").click()
        page.wait_for_url(server.url + "/console/outbox/eml_*")
        frame = page.frame_locator("iframe.mail-html")
        frame.locator("text=The reason:").wait_for()
        shown = frame.locator("body").inner_text()
        assert HOSTILE in shown  # the shopper-facing HTML shows the markup as text
        assert page.evaluate("window.__pwned") is None
        assert "Message-ID" in page.inner_text(".mail-headers")
        page.screenshot(path=str(screenshot_dir / "console-outbox-message.png"), full_page=True)
        assert page.errors == []
    finally:
        page.context.close()
