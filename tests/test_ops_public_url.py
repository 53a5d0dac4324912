"""Behind a TLS proxy (SHOPDESK_PUBLIC_URL=https://shop.example) every link handed out names the
public address: the label URL a return gets, the links in its emails, the demo store's widget."""

from __future__ import annotations

import asyncio
import time
from email import message_from_bytes, policy
from pathlib import Path

import httpx

from agent.app.background import BackgroundServer
from agent.app.server import build_app
from agent.app.settings import Settings
from tests.ws_helpers import CannedKnowledge

DEMO_NOW = "2026-11-21T17:00:00Z"
PUBLIC = "https://shop.example"
ADMIN = {"Authorization": "Bearer demo-admin-token"}


def _bodies(outbox: Path) -> list[str]:
    texts = []
    for path in sorted(outbox.glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        texts += [part.get_content() for part in message.walk() if part.get_content_maintype() == "text"]  # fmt: skip
    return texts


async def test_behind_a_proxy_labels_and_emails_link_to_the_public_url(tmp_path: Path) -> None:
    settings = Settings(data=tmp_path, now=DEMO_NOW, public_url=f"{PUBLIC}/")

    def make(port: int):  # type: ignore[no-untyped-def]
        return build_app(settings.model_copy(update={"port": port}), kb=CannedKnowledge())

    server = BackgroundServer(make, settings=settings).start()
    try:
        bound = server.http_url
        async with httpx.AsyncClient(base_url=bound, headers=ADMIN) as http:
            body = {"order_id": "WK-1001", "lines": [{"sku": "CER-MUG-SAGE", "quantity": 1}],
                    "reason": "changed_mind", "customer_email": "maya.chen@example.com"}  # fmt: skip
            created = await http.post("/v1/returns", json=body)
            assert created.status_code == 201, created.text
            rma = created.json()["id"]
            label = await http.post("/v1/actions/generate_label", json={"args": {"rma_id": rma}, "customer": "maya.chen@example.com"})  # fmt: skip
            assert label.status_code == 200, label.text
            label_url = label.json()["result"]["label_url"]
            stored = (await http.get(f"/v1/returns/{rma}")).json()["label"]
            store_page = (await http.get("/")).text
            # The proxy forwards https://shop.example/labels/… to this server: the path serves.
            pdf = await http.get(label_url.removeprefix(PUBLIC))
        outbox = tmp_path / "outbox"
        deadline = time.monotonic() + 30
        while not any(label_url in text for text in _bodies(outbox)):
            assert time.monotonic() < deadline, f"no email with {label_url}: {_bodies(outbox)}"
            await asyncio.sleep(0.05)
    finally:
        server.stop()
    assert label_url.startswith(f"{PUBLIC}/labels/") and label_url.endswith(".pdf")
    assert stored["url"] == label_url
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert f'src="{PUBLIC}/widget.js"' in store_page
    texts = _bodies(outbox)
    assert texts
    host_port = bound.removeprefix("http://")
    for text in texts:
        assert host_port not in text and "localhost" not in text
        links = [w for w in text.split() if "://" in w]
        assert all(PUBLIC in w for w in links), links
