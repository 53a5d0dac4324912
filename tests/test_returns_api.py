"""REST: the whole return workflow over HTTP, auth, error shapes, webhooks, actions and label files."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader
from starlette.applications import Starlette
from starlette.testclient import TestClient

from actions.api import MAX_BODY, api_routes
from actions.registry import load_registry
from actions.services import ActionServices, build_services

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo-store"
NOW = datetime(2026, 11, 21, 17, 0, tzinfo=UTC)
TOKEN = "test-admin-token-123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def services(database_url: str, tmp_path: Path) -> Iterator[ActionServices]:
    svc = build_services(
        data_dir=tmp_path / "data", database_url=database_url, policy_path=DEMO / "policy.toml",
        public_url="http://testserver", clock=lambda: NOW,
    )  # fmt: skip
    svc.store.import_file(DEMO / "orders.json")
    yield svc
    svc.close()


@pytest.fixture
def client(services: ActionServices) -> Iterator[TestClient]:
    app = Starlette(routes=api_routes(services, load_registry(), TOKEN))
    with TestClient(app) as c:
        yield c


def _create(client: TestClient, **over: object):  # type: ignore[no-untyped-def]
    body = {"order_id": "wk-1006", "lines": [{"sku": "FUR-OAK-SIDE", "quantity": 1}],
            "reason": "changed_mind", "resolution": "refund", **over}  # fmt: skip
    return client.post("/v1/returns", json=body, headers=AUTH)


def test_admin_routes_need_the_bearer_token(client: TestClient) -> None:
    for method, path in [("GET", "/v1/returns"), ("POST", "/v1/returns"), ("GET", "/v1/webhooks"),
                         ("GET", "/v1/actions"), ("PATCH", "/v1/returns/RMA-X")]:  # fmt: skip
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            r = client.request(method, path, headers=headers)
            assert r.status_code == 401, (method, path, headers)
            assert r.json()["error"] == "unauthorized"


def test_whole_workflow_over_rest(client: TestClient, services: ActionServices) -> None:
    r = _create(client)
    assert r.status_code == 201, r.text
    rma = r.json()
    assert rma["status"] == "approved" and rma["refund_total"] == "289.00"
    assert rma["lines"][0]["restocking_fee"] == "51.00"
    again = _create(client)
    assert again.status_code == 200 and again.json()["id"] == rma["id"]  # idempotent

    listed = client.get("/v1/returns", params={"status": "approved"}, headers=AUTH).json()[
        "returns"
    ]
    assert [x["id"] for x in listed] == [rma["id"]]
    assert client.get("/v1/returns?status=refunded", headers=AUTH).json()["returns"] == []

    # The demo's furniture goes back by freight collection: the label action refuses, in words.
    r = client.post("/v1/actions/generate_label", headers=AUTH,
                    json={"args": {"rma_id": rma["id"]}, "customer": "JWhitfield@example.com"})  # fmt: skip
    assert r.status_code == 400 and r.json()["error"] == "no_parcel_label", r.text
    assert "freight collection" in r.json()["message"]
    got = client.get(f"/v1/returns/{rma['id'].lower()}", headers=AUTH).json()
    assert got["status"] == "approved" and got["label"] is None

    r = client.patch(f"/v1/returns/{rma['id']}", headers=AUTH,
                     json={"status": "item_received", "received_condition": "unused, original box"})  # fmt: skip
    assert r.status_code == 200 and r.json()["received_condition"] == "unused, original box"
    r = client.patch(f"/v1/returns/{rma['id']}", json={"status": "refunded"}, headers=AUTH)
    assert r.status_code == 200, r.text
    refund = r.json()["refund"]
    assert refund["amount"] == "289.00" and refund["gateway"] == "ledger"

    r = client.patch(f"/v1/returns/{rma['id']}", json={"status": "refunded"}, headers=AUTH)
    assert r.status_code == 409 and r.json()["error"] == "illegal_transition"
    assert len(services.ledger.refunds(rma["id"])) == 1  # type: ignore[attr-defined]
    history = client.get(f"/v1/returns/{rma['id']}", headers=AUTH).json()["history"]
    assert [h["to"] for h in history] == ["return_requested", "eligibility_check", "approved",
                                          "item_received", "refunded"]  # fmt: skip


def test_illegal_transition_is_409_with_a_message(client: TestClient) -> None:
    rma = _create(client).json()
    r = client.patch(f"/v1/returns/{rma['id']}", json={"status": "refunded"}, headers=AUTH)
    assert r.status_code == 409
    assert r.json() == {
        "error": "illegal_transition",
        "message": f"{rma['id']} must be received before it is refunded.",
    }
    r = client.patch(f"/v1/returns/{rma['id']}", json={"status": "return_requested"}, headers=AUTH)
    assert r.status_code == 409 and "cannot move to return_requested" in r.json()["message"]


def test_staff_review_of_a_large_refund(client: TestClient) -> None:
    r = _create(client, order_id="WK-1022", lines=[{"sku": "CER-DIN-SET12"}])
    assert r.status_code == 201 and r.json()["status"] == "manual_review"
    assert (
        client.get("/v1/returns?status=manual_review", headers=AUTH).json()["returns"][0]["review"]
        == "manual"
    )
    r = client.patch(f"/v1/returns/{r.json()['id']}", json={"status": "rejected", "note": "outside policy"},
                     headers=AUTH)  # fmt: skip
    assert r.status_code == 200 and r.json()["status"] == "rejected"


def test_input_errors_have_codes_and_status(client: TestClient) -> None:
    r = _create(client, order_id="WK-1002", lines=[{"sku": "CER-MUG-ENGR", "quantity": 1}])
    assert r.status_code == 422 and r.json()["error"] == "not_eligible"
    assert r.json()["lines"][0]["reason_code"] == "final_sale"
    assert _create(client, order_id="WK-9999").status_code == 404
    assert _create(client, order_id="WK-9999").json()["error"] == "order_not_found"
    r = _create(client, reason="bored")
    assert (
        r.status_code == 422
        and r.json()["error"] == "invalid_reason"
        and "changed_mind" in r.json()["message"]
    )
    r = _create(client, lines=[{"sku": "NOPE", "quantity": 1}])
    assert r.status_code == 422 and r.json()["error"] == "item_not_on_order"
    r = _create(client, lines=[{"sku": "FUR-OAK-SIDE", "quantity": 2}])
    assert r.status_code == 422 and r.json()["lines"][0]["reason_code"] == "quantity_exceeds"
    r = _create(client, resolution="cash")
    assert (
        r.status_code == 422
        and r.json()["error"] == "invalid_request"
        and "resolution" in r.json()["message"]
    )
    r = client.post("/v1/returns", content=b"{not json", headers=AUTH)
    assert r.status_code == 400 and r.json()["error"] == "bad_json"
    r = client.post("/v1/returns", content=b"x" * (MAX_BODY + 1), headers=AUTH)
    assert r.status_code == 413 and r.json()["error"] == "body_too_large"
    assert client.get("/v1/returns/RMA-NOPE00", headers=AUTH).status_code == 404
    assert client.get("/v1/returns?status=lost", headers=AUTH).status_code == 422
    r = client.patch("/v1/returns/RMA-NOPE00", json={"status": "cancelled"}, headers=AUTH)
    assert r.status_code == 404 and r.json()["error"] == "not_found"


def test_webhook_registration_returns_the_secret_once(client: TestClient) -> None:
    r = client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/h", "events": ["return.updated"]},
                    headers=AUTH)  # fmt: skip
    assert r.status_code == 201 and r.json()["secret"].startswith("whsec_")
    listed = client.get("/v1/webhooks", headers=AUTH).json()["webhooks"]
    assert listed[0]["id"] == r.json()["id"] and "secret" not in listed[0]
    bad = client.post("/v1/webhooks", json={"url": "http://x", "events": ["nope"]}, headers=AUTH)
    assert bad.status_code == 422
    rma = _create(client).json()
    client.patch(f"/v1/returns/{rma['id']}", json={"status": "cancelled"}, headers=AUTH)
    deliveries = client.get(f"/v1/webhooks/{r.json()['id']}/deliveries", headers=AUTH).json()[
        "deliveries"
    ]
    assert [d["event"] for d in deliveries] == ["return.updated"]


def test_actions_are_listed_and_callable(client: TestClient) -> None:
    actions = client.get("/v1/actions", headers=AUTH).json()["actions"]
    names = {a["name"] for a in actions}
    assert {"lookup_order", "check_eligibility", "create_return_authorization"} <= names
    lookup = next(a for a in actions if a["name"] == "lookup_order")
    assert "order_id" in lookup["parameters"]["properties"]
    r = client.post("/v1/actions/check_eligibility", headers=AUTH,
                    json={"args": {"order_id": "WK-1003", "sku": "PRT-HERON-A3"}, "customer": "priya.raman@example.com"})  # fmt: skip
    assert r.status_code == 200 and r.json()["result"]["lines"][0]["eligible"] is True
    assert client.post("/v1/actions/teleport", json={"args": {}}, headers=AUTH).status_code == 404
    bad = client.post(
        "/v1/actions/check_eligibility", json={"args": {"quantity": "x"}}, headers=AUTH
    )
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_arguments"


def test_a_link_planted_over_a_label_is_not_served(
    client: TestClient, services: ActionServices, tmp_path: Path
) -> None:
    # A link in the labels folder once served /etc/passwd under a label's name.
    rma = _create(client).json()
    order = services.store.find_order("WK-1006")
    label = services.carrier.create_label(services.workflow.get(rma["id"]), order)  # type: ignore[arg-type]
    services.workflow.attach_label(rma["id"], label)
    assert client.get(f"/labels/{label.path.name}").status_code == 200
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    label.path.unlink()
    label.path.symlink_to(secret)
    refused = client.get(f"/labels/{label.path.name}")
    assert refused.status_code == 404 and "root:" not in refused.text
    assert refused.json()["message"] == "There is no such label."


def test_label_files_are_served_only_by_their_random_name(
    client: TestClient, services: ActionServices
) -> None:
    rma = _create(client).json()
    order = services.store.find_order("WK-1006")
    label = services.carrier.create_label(services.workflow.get(rma["id"]), order)  # type: ignore[arg-type]
    assert client.get(f"/labels/{label.path.name}").status_code == 404  # no return owns it yet
    services.workflow.attach_label(rma["id"], label)
    r = client.get(f"/labels/{label.path.name}")
    assert r.status_code == 200
    assert r.content == label.path.read_bytes()
    assert (
        r.headers["content-disposition"] == f'attachment; filename="return-label-{rma["id"]}.pdf"'
    )
    assert len(PdfReader(label.path).pages) == 1
    assert client.get("/labels/nothing-here-at-all-000000.pdf").status_code == 404
    assert client.get("/labels/..%2Fshopdesk.db").status_code == 404
