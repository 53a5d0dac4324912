"""Lead capture: the capture_lead action against the real store (SQLite and PostgreSQL), and the
/console/leads page with its CSV export."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from console_helpers import sign_in
from starlette.testclient import TestClient

from actions import ActionContext, ActionError, ActionRegistry, load_registry
from actions.builtin.leads import FormContext, capture_from_form, form_consent_text
from actions.services import build_services
from actions.store.leads import list_leads
from actions.store.models import LeadRow
from agent.app.server import build_app
from agent.app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DEMO_POLICY = ROOT / "examples" / "demo-store" / "policy.toml"
DEMO_KB = ROOT / "examples" / "demo-store" / "knowledge"
NOW = datetime(2026, 11, 21, 17, 0, tzinfo=UTC)


@pytest.fixture
def services(database_url: str, tmp_path: Path) -> Iterator[Any]:
    built = build_services(
        data_dir=tmp_path / "data",
        database_url=database_url,
        policy_path=DEMO_POLICY,
        public_url="http://127.0.0.1:8000",
        clock=lambda: NOW,
    )
    yield built
    built.close()


@pytest.fixture(scope="module")
def registry() -> ActionRegistry:
    return load_registry()


def ctx(services: Any, now: datetime = NOW, conv: str | None = "conv-1") -> ActionContext:
    return ActionContext(services=services, now=now, conversation_id=conv)


def rows(services: Any) -> list[LeadRow]:
    with services.store.reading() as s:
        return list(s.scalars(sa.select(LeadRow).order_by(LeadRow.id)))


ARGS = {"email": "Ada@Example.com ", "interest": "restock of the sage mug", "consent": True}


# The action -------------------------------------------------------------------------------------
async def test_capture_lead_without_consent_is_refused_and_stores_nothing(
    services, registry
) -> None:
    with pytest.raises(ActionError) as refused:
        await registry.run("capture_lead", ctx(services), {**ARGS, "consent": False})
    assert refused.value.code == "consent_required"
    # The confirmation step would refuse too, so the shopper is never asked to approve it.
    text, problem = await registry.preview(
        "capture_lead", ctx(services), {**ARGS, "consent": False}
    )
    assert problem is not None and problem.code == "consent_required"
    assert rows(services) == []


async def test_capture_lead_stores_the_consent_with_its_time_words_and_source(
    services, registry
) -> None:
    spec = registry.get("capture_lead")
    assert spec is not None and spec.confirm and not spec.identity
    summary = (await registry.preview("capture_lead", ctx(services), ARGS))[0]
    result = await registry.run("capture_lead", ctx(services), ARGS)
    assert result.created and result.email == "ada@example.com" and result.source == "chat"
    assert "ada@example.com" in result.message and "sage mug" in result.message
    [row] = rows(services)
    assert (row.email, row.interest, row.consent) == (
        "ada@example.com",
        "restock of the sage mug",
        True,
    )
    assert row.consented_at == NOW and row.created_at == NOW
    assert row.conversation_id == "conv-1" and row.source == "chat"
    # What the shopper said yes to in the chat is the confirmation text itself.
    assert row.consent_text == summary


async def test_capture_lead_is_idempotent_on_email_and_interest(services, registry) -> None:
    await registry.run("capture_lead", ctx(services), ARGS)
    later = NOW + timedelta(days=3)
    again = {**ARGS, "email": "ADA@example.com", "interest": "  Restock of the SAGE  mug "}
    result = await registry.run("capture_lead", ctx(services, later, "conv-2"), again)
    assert not result.created and "already" in result.message
    [row] = rows(services)
    assert row.consented_at == later and row.created_at == NOW  # consent renewed, one row
    assert row.conversation_id == "conv-2"
    other = {**ARGS, "interest": "new prints"}
    assert (await registry.run("capture_lead", ctx(services), other)).created
    assert len(rows(services)) == 2


async def test_two_identical_captures_at_once_leave_one_row(services, registry) -> None:
    results = await asyncio.gather(
        *(registry.run("capture_lead", ctx(services), ARGS) for _ in range(4))
    )
    assert sum(r.created for r in results) == 1
    assert len(rows(services)) == 1


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ({"email": "ada@example"}, "invalid_email"),
        ({"email": "ada example.com"}, "invalid_email"),
        ({"email": "<script>@x.com"}, "invalid_email"),
        ({"email": "a@b.c" + "o" * 260}, "invalid_arguments"),
        ({"interest": "x" * 201}, "invalid_arguments"),
        ({"interest": " \n\t "}, "interest_required"),
        ({"consent": "maybe"}, "invalid_arguments"),
    ],
)
async def test_bad_arguments_are_refused_with_a_code(services, registry, args, code) -> None:
    with pytest.raises(ActionError) as refused:
        await registry.run("capture_lead", ctx(services), {**ARGS, **args})
    assert refused.value.code == code
    assert rows(services) == []


async def test_the_form_path_records_its_own_wording_and_source(services, registry) -> None:
    wording = form_consent_text("Willow & Kiln")
    result = await capture_from_form(
        registry,
        services,
        email="grace@example.com",
        interest="",
        consent=True,
        consent_text=wording,
        now=NOW,
        conversation_id="conv-9",
    )
    assert result.source == "widget_form" and result.interest == "news from the store"
    [row] = rows(services)
    assert row.consent_text == wording and row.source == "widget_form"
    assert row.conversation_id == "conv-9"
    with pytest.raises(ActionError) as empty:
        await capture_from_form(
            registry, services, email="", interest="", consent=True, consent_text=wording,
            now=NOW, conversation_id="conv-9",
        )  # fmt: skip
    assert empty.value.code == "invalid_email"  # plain words, not the schema's
    assert isinstance(FormContext(services=services, now=NOW), ActionContext)


def test_list_leads_is_newest_first_searchable_and_bounded_by_time(services) -> None:
    from actions.store.leads import save_lead

    for day, email, interest in [
        (1, "a@example.com", "mugs"),
        (2, "b@example.com", "50% off sale"),
        (3, "c@example.com", "new prints"),
    ]:
        save_lead(
            services.store, email=email, interest=interest,
            consented_at=NOW + timedelta(days=day), consent_text="ok", source="chat",
            conversation_id=None,
        )  # fmt: skip
    assert [x.email for x in list_leads(services.store)] == [
        "c@example.com",
        "b@example.com",
        "a@example.com",
    ]
    assert [x.email for x in list_leads(services.store, query="PRINTS")] == ["c@example.com"]
    assert [x.email for x in list_leads(services.store, query="50%")] == ["b@example.com"]
    assert [x.email for x in list_leads(services.store, query="%")] == ["b@example.com"]
    assert list_leads(services.store, query="_") == []  # wildcards are literal characters
    window = list_leads(
        services.store, since=NOW + timedelta(days=2), until=NOW + timedelta(days=3)
    )
    assert [x.email for x in window] == ["b@example.com"]


# /console/leads ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def app_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, TestClient]]:
    data = tmp_path_factory.mktemp("console-leads")
    app = build_app(Settings(data=data, kb=DEMO_KB, now="2026-11-21T17:00:00Z", orders=None))
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        yield app, client


def seed(app: Any) -> None:
    from actions.store.leads import save_lead

    store = app.state.services.store
    with store.writing() as s:
        s.execute(sa.delete(LeadRow))
    # Local (New York) days: Nov 19 10:00, Nov 20 23:30 (= Nov 21 04:30 UTC), Nov 21 09:00.
    for when, email, interest, source in [
        ("2026-11-19T15:00:00Z", "ada@example.com", "restocks", "widget_form"),
        ("2026-11-21T04:30:00Z", "bob@example.com", '=HYPERLINK("http://x")', "chat"),
        ("2026-11-21T14:00:00Z", "cy@example.com", "-new prints", "widget_form"),
    ]:
        save_lead(
            store, email=email, interest=interest,
            consented_at=datetime.fromisoformat(when), consent_text="Yes, email me.",
            source=source, conversation_id=f"conv-{email[:2]}",
        )  # fmt: skip


def test_leads_page_and_csv_need_a_staff_session(app_client) -> None:
    _app, client = app_client
    client.cookies.clear()
    for path in ("/console/leads", "/console/leads.csv"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/console/login"


def test_leads_page_lists_newest_first_with_a_conversation_link(app_client) -> None:
    app, client = app_client
    seed(app)
    sign_in(client)
    page = client.get("/console/leads")
    assert page.status_code == 200
    emails = re.findall(r'<td class="lead-email">([^<]+)</td>', page.text)
    assert emails == ["cy@example.com", "bob@example.com", "ada@example.com"]
    assert 'href="/console/c/conv-cy"' in page.text
    assert "=HYPERLINK(&#34;http://x&#34;)" in page.text  # escaped, not markup
    assert 'aria-current="page">Leads' in page.text
    searched = client.get("/console/leads", params={"q": "RESTOCK"})
    assert re.findall(r'<td class="lead-email">([^<]+)</td>', searched.text) == ["ada@example.com"]
    # Days are the store's: 04:30 UTC on the 21st is still the 20th in New York.
    day = client.get("/console/leads", params={"from": "2026-11-20", "to": "2026-11-20"})
    assert re.findall(r'<td class="lead-email">([^<]+)</td>', day.text) == ["bob@example.com"]
    assert 'href="/console/leads.csv?from=2026-11-20&amp;to=2026-11-20"' in day.text
    bad = client.get("/console/leads", params={"from": "yesterday"})
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.text
    client.cookies.clear()


def test_csv_export_has_every_lead_and_neutralises_formulas(app_client) -> None:
    app, client = app_client
    seed(app)
    sign_in(client)
    response = client.get("/console/leads.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="leads.csv"' in response.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert table[0] == [
        "email",
        "interest",
        "consented_at",
        "source",
        "conversation_id",
        "consent_text",
        "first_seen",
    ]
    assert [r[0] for r in table[1:]] == ["cy@example.com", "bob@example.com", "ada@example.com"]
    by_email = {r[0]: r for r in table[1:]}
    assert by_email["bob@example.com"][1] == '\'=HYPERLINK("http://x")'
    assert by_email["cy@example.com"][1] == "'-new prints"
    assert by_email["ada@example.com"][2] == "2026-11-19T15:00:00+00:00"
    assert by_email["ada@example.com"][3:6] == ["widget_form", "conv-ad", "Yes, email me."]
    ranged = client.get("/console/leads.csv", params={"from": "2026-11-21", "to": "2026-11-21"})
    assert 'filename="leads-2026-11-21-2026-11-21.csv"' in ranged.headers["content-disposition"]
    assert ranged.content.decode("utf-8-sig").count("example.com") == 1
    wrong = client.get("/console/leads.csv", params={"from": "2026-11-22", "to": "2026-11-01"})
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_range"
    client.cookies.clear()
