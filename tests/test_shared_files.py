"""Files every replica can serve: a return label made on replica A downloads from replica B, each
replica with a data directory of its own (as on two machines), whether the files live in the
database or in a directory both mount; so do the stored .eml messages."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from pypdf import PdfReader

from actions.email.events import EmailEvent
from actions.email.transport import EmlFileTransport
from actions.policy import evaluate_line
from actions.services import ActionServices
from tests.shared_helpers import two_replicas
from tests.ws_helpers import eventually


def _label_made_on(svc: ActionServices) -> tuple[str, str, str]:
    """An approved return with its label, made by replica `svc`: (rma id, label url, tracking)."""
    order = svc.store.find_order("WK-1006")
    assert order is not None
    line = evaluate_line(order, order.line("FUR-OAK-SIDE"), 1, "changed_mind", svc.policy, svc.clock())  # type: ignore[arg-type]  # fmt: skip
    rma = svc.workflow.create_authorization(order, [line], "changed_mind", "refund", "k", None)
    rma = svc.workflow.attach_label(rma.id, svc.carrier.create_label(rma, order))
    assert rma.label is not None
    return rma.id, rma.label.url, rma.label.tracking_number


@pytest.mark.parametrize("where", ["database", "shared directory"])
async def test_a_label_made_on_one_replica_downloads_from_the_other(
    database_url: str, tmp_path: Path, where: str
) -> None:
    options: dict[str, object] = (
        {"files_store": "database"} if where == "database" else {"files_dir": tmp_path / "shared"}
    )
    with two_replicas(database_url, tmp_path, **options) as (a, b):
        rma_id, url, tracking = _label_made_on(a.app.state.services)
        name = url.rsplit("/", 1)[1]
        assert not (tmp_path / "b" / "labels" / name).exists()  # B's own disk never saw it
        async with httpx.AsyncClient() as http:
            response = await http.get(f"{b.http_url}/labels/{name}")
            assert response.status_code == 200
            assert response.headers["content-type"] == "application/pdf"
            assert f"return-label-{rma_id}.pdf" in response.headers["content-disposition"]
            pdf = tmp_path / "downloaded.pdf"
            pdf.write_bytes(response.content)
            assert tracking in PdfReader(pdf).pages[0].extract_text()
            missing = await http.get(f"{b.http_url}/labels/{'x' * 24}.pdf")
            assert missing.status_code == 404


async def test_an_email_stored_by_one_replica_is_readable_on_the_other(
    database_url: str, tmp_path: Path
) -> None:
    with two_replicas(database_url, tmp_path, files_store="database") as (a, b):
        outbox_a, outbox_b = a.app.state.services.email, b.app.state.services.email
        queued = outbox_a.enqueue_now(
            EmailEvent.AGENT_REPLY, "ada@example.com",
            {"staff_name": "Sam", "text": "Your parcel is on its way.", "conversation_id": "c1"},
        )  # fmt: skip
        assert queued is not None

        transport_b = outbox_b.transport
        assert isinstance(transport_b, EmlFileTransport)

        def stored() -> bool:
            return transport_b.read(f"{queued}.eml") is not None

        await eventually(stored, "the .eml stored where B can read it")
        raw = transport_b.read(f"{queued}.eml") or b""
        assert b"To: ada@example.com" in raw and b"Subject: A reply from" in raw
        assert not (tmp_path / "b" / "outbox").exists()  # not on B's own disk
