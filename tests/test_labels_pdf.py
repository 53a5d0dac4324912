"""The local carrier's label: a real 4×6 inch PDF with the tracking number, served by a random name."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from actions.carrier import LocalCarrier
from actions.policy import evaluate_line
from actions.services import ActionServices, build_services

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo-store"
NOW = datetime(2026, 11, 21, 17, 0, tzinfo=UTC)


@pytest.fixture
def services(database_url: str, tmp_path: Path) -> Iterator[ActionServices]:
    svc = build_services(
        data_dir=tmp_path / "data", database_url=database_url, policy_path=DEMO / "policy.toml",
        public_url="http://shop.test:8000/", clock=lambda: NOW,
    )  # fmt: skip
    svc.store.import_file(DEMO / "orders.json")
    yield svc
    svc.close()


def _approved(svc: ActionServices, order_id: str = "WK-1006", sku: str = "FUR-OAK-SIDE"):  # type: ignore[no-untyped-def]
    order = svc.store.find_order(order_id)
    assert order is not None
    line = evaluate_line(order, order.line(sku), 1, "changed_mind", svc.policy, NOW)  # type: ignore[arg-type]
    return svc.workflow.create_authorization(
        order, [line], "changed_mind", "refund", "k", None
    ), order


def test_label_is_a_4x6_pdf_with_the_tracking_number_and_rma(services: ActionServices) -> None:
    rma, order = _approved(services)
    label = services.carrier.create_label(rma, order)
    assert re.fullmatch(r"WKR\d{12}", label.tracking_number)
    assert label.path.parent == services.data_dir / "labels"
    assert label.path.read_bytes().startswith(b"%PDF-")
    name = label.path.name
    assert len(name) >= 28 and label.url == f"http://shop.test:8000/labels/{name}"

    reader = PdfReader(label.path)
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (288, 432)
    text = reader.pages[0].extract_text()
    assert label.tracking_number in text
    assert rma.id in text and "WK-1006" in text and "James Whitfield" in text
    assert "Willow & Kiln Returns" in text


def test_label_names_are_unguessable_and_only_our_names_are_served(
    services: ActionServices,
) -> None:
    rma, order = _approved(services)
    carrier = services.carrier
    assert isinstance(carrier, LocalCarrier)
    a = carrier.create_label(rma, order)
    b = carrier.create_label(rma, order)
    assert a.path.name != b.path.name and a.tracking_number != b.tracking_number
    assert carrier.label_path(a.path.name) == a.path
    assert carrier.label_path("../orders.json") is None
    assert carrier.label_path("x.pdf") is None


def test_attaching_a_label_adds_return_tracking_and_is_idempotent(services: ActionServices) -> None:
    rma, order = _approved(services)
    label = services.carrier.create_label(rma, order)
    labelled = services.workflow.attach_label(rma.id, label)
    assert (
        labelled.status == "label_sent" and labelled.label.tracking_number == label.tracking_number
    )  # type: ignore[union-attr]
    second = services.carrier.create_label(rma, order)
    assert (
        services.workflow.attach_label(rma.id, second).label.tracking_number
        == label.tracking_number
    )  # type: ignore[union-attr]

    found = services.store.find_shipment(label.tracking_number)
    assert found is not None
    fresh_order, shipment = found
    assert shipment.direction == "return" and [e.status for e in shipment.events] == [
        "label_created"
    ]
    assert any(s.direction == "return" for s in fresh_order.shipments)
    assert [e.status for e in services.carrier.tracking(label.tracking_number)] == ["label_created"]

    services.workflow.transition(rma.id, "item_received", received_condition="as new")
    assert [e.status for e in services.carrier.tracking(label.tracking_number)] == [
        "label_created",
        "received",
    ]
    # The order record (cached per revision) shows the new event too.
    order_now = services.store.find_order("WK-1006")
    ret = next(s for s in order_now.shipments if s.direction == "return")  # type: ignore[union-attr]
    assert [e.status for e in ret.events] == ["label_created", "received"]


def test_carrier_tracking_without_a_store_reads_its_own_events(
    tmp_path: Path, services: ActionServices
) -> None:
    rma, order = _approved(services)
    carrier = LocalCarrier(tmp_path / "standalone", "http://x", clock=lambda: NOW)
    label = carrier.create_label(rma, order)
    assert [e.status for e in carrier.tracking(label.tracking_number.lower())] == ["label_created"]
    assert carrier.tracking("WKR000") == []
    assert carrier.tracking("../../etc/passwd") == []
