"""`/console/insights` over HTTP on the seeded data set (tests/insights_seed.py): the page, its
charts and links, every CSV, the bad-range errors; and that the loop stores retrieval where the
insights read it and nowhere the shopper or the model sees it."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from console_helpers import sign_in
from insights_seed import Clock, seed
from starlette.testclient import TestClient

from agent.app.server import build_app
from agent.app.settings import Settings
from agent.store.conversations import ConversationStore
from agent.turn.history import model_history

DEMO_KB = Path(__file__).resolve().parent.parent / "examples" / "demo-store" / "knowledge"
RANGE = "from=2026-11-18&to=2026-11-20"


@pytest.fixture(scope="module")
def app_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, TestClient, dict]]:
    data = tmp_path_factory.mktemp("insights-console")
    settings = Settings(data=data, kb=DEMO_KB, now="2026-11-21T17:00:00Z")
    seeded = seed(settings.resolved_database_url)
    ids = dict(seeded.ids)
    # One more, on its own day: shopper text that a spreadsheet would run as a formula.
    clock = Clock().at("2026-11-10T15:00:00Z")
    store = ConversationStore(settings.resolved_database_url, clock=clock)
    conv = store.create().id
    store.append(
        conv, "user", {"role": "user", "content": "=HYPERLINK(1) what is your phone number?"}
    )
    store.append(conv, "assistant", {"role": "assistant", "content": "?", "retrieval": {
        "confidence": 0.1, "threshold": 0.35, "top": []}})  # fmt: skip
    store.close()
    seeded.close()
    app = build_app(settings)
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        yield app, client, ids


def kpi(html: str, name: str) -> str:
    return re.search(rf'id="kpi-{name}">([^<]*)<', html).group(1)


def rows_of(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_without_signing_in_insights_and_its_csv_redirect_to_sign_in(app_client) -> None:
    _app, client, _ids = app_client
    client.cookies.clear()
    for path in ["/console/insights", f"/console/insights/daily.csv?{RANGE}"]:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/console/login"


def test_the_insights_page_shows_the_seeded_figures_with_inline_charts(app_client) -> None:
    _app, client, ids = app_client
    sign_in(client)
    page = client.get(f"/console/insights?{RANGE}")
    assert page.status_code == 200
    html = page.text
    assert kpi(html, "conversations") == "7"
    assert kpi(html, "ai-rate") == "28.6%"  # c2 and c10 ended on "I don't know"
    assert kpi(html, "handoff-rate") == "28.6%"
    assert kpi(html, "returns") == "3"
    assert kpi(html, "refunds") == "68.00 USD"
    assert html.count('<svg class="chart') == 4 and "<title>Conversations per day" in html
    assert 'aria-label="Return requests by reason"' in html
    # Nothing from outside: no CDN, no external script, style or image.
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "Do you ship to Canada?" in html and "also: can you ship to canada?" in html

    table = re.search(r'<table class="in-table" id="unanswered">(.*?)</table>', html, re.S).group(1)
    links = [unescape(h) for h in re.findall(r'<a class="fix-link" href="([^"]+)"', table)]
    assert links == [
        "/console/knowledge/edit?source=faq.md&q=Can+I+buy+a+gift+card%3F",
        "/console/knowledge?q=Is+the+wool+sweater+machine+washable%3F",
        "/console/knowledge/edit?source=faq.md&q=Do+you+sell+gift+cards%3F",
        "/console/knowledge/edit?source=returns.md&q=How+long+do+I+have+to+return+an+item%3F",
    ]
    assert f'href="/console/c/{ids["c4"]}"' in table
    client.cookies.clear()


def test_the_default_range_is_the_last_30_days(app_client) -> None:
    _app, client, _ids = app_client
    sign_in(client)
    html = client.get("/console/insights").text
    # The store's clock reads the demo's Nov 21, and so "today" is Nov 21 whatever the wall says.
    assert 'name="from" value="2026-10-23"' in html
    assert 'name="to" value="2026-11-21"' in html
    assert kpi(html, "conversations") == "10"  # 7 + c7, c8 and the Nov 10 one
    client.cookies.clear()


def test_each_insights_table_downloads_as_csv(app_client) -> None:
    _app, client, ids = app_client
    sign_in(client)

    def get(table: str, query: str = RANGE) -> list[list[str]]:
        response = client.get(f"/console/insights/{table}.csv?{query}")
        assert response.status_code == 200, table
        assert response.headers["content-type"].startswith("text/csv")
        assert "attachment" in response.headers["content-disposition"]
        return rows_of(response.text)

    assert get("daily") == [
        ["date", "conversations"], ["2026-11-18", "2"], ["2026-11-19", "2"], ["2026-11-20", "3"],
    ]  # fmt: skip
    questions = get("questions")
    assert questions[:3] == [
        ["question", "times_asked", "other_wordings"],
        ["Do you ship to Canada?", "3", "can you ship to canada?"],
        ["Do you sell gift cards?", "2", "Can I buy a gift card?"],
    ]
    assert len(questions) == 1 + 6
    unanswered = get("unanswered")
    assert unanswered[0][:4] == ["date", "asked_at_utc", "question", "why"]
    assert [(r[0], r[2], r[3], r[4], r[5], r[7]) for r in unanswered[1:]] == [
        ("2026-11-20", "Can I buy a gift card?", "no answer, low retrieval confidence", "0.3",
         "faq.md", ids["c10"]),
        ("2026-11-20", "Is the wool sweater machine washable?", "no answer, handed off", "", "",
         ids["c5"]),
        ("2026-11-19", "Do you sell gift cards?", "no answer, low retrieval confidence, handed off",
         "0.2", "faq.md", ids["c4"]),
        ("2026-11-18", "How long do I have to return an item?", "no answer, low retrieval confidence",
         "0.2", "returns.md", ids["c2"]),
    ]  # fmt: skip
    assert get("return_reasons") == [
        ["reason", "requests", "items"], ["changed_mind", "2", "4"], ["damaged", "1", "1"],
    ]  # fmt: skip
    assert get("return_products") == [
        ["sku", "product", "quantity", "requests"],
        ["CER-MUG-SAGE", "Sage speckled stoneware mug", "2", "1"],
        ["PRT-FERN-A4", "Fern Study — giclée print, A4", "2", "1"],
        ["PRT-HERON-A3", "Heron at Dawn — giclée print, A3", "1", "1"],
    ]
    assert get("eligibility") == [
        ["outcome", "lines"], ["eligible", "1"], ["final_sale", "1"], ["not_delivered", "1"],
    ]  # fmt: skip
    assert get("refunds") == [["currency", "refunds", "total"], ["USD", "1", "68.00"]]
    # Shopper text never runs as a spreadsheet formula.
    formula = get("unanswered", "from=2026-11-10&to=2026-11-10")
    assert formula[1][2] == "'=HYPERLINK(1) what is your phone number?"
    assert get("daily", "from=2026-10-01&to=2026-10-02") == [
        ["date", "conversations"], ["2026-10-01", "0"], ["2026-10-02", "0"],
    ]  # fmt: skip
    client.cookies.clear()


def test_a_bad_range_is_explained_on_the_page_and_refused_for_csv(app_client) -> None:
    _app, client, _ids = app_client
    sign_in(client)
    cases = {
        "from=2026-11-20&to=2026-11-18": "is after the end date",
        "from=2026-02-30": "not a real calendar date",
        "from=soon": "YYYY-MM-DD",
        "from=2024-01-01&to=2026-01-01": "at most 366 days",
    }
    for query, message in cases.items():
        page = client.get(f"/console/insights?{query}")
        assert page.status_code == 400, query
        error = re.search(r'id="range-error" role="alert">([^<]*)<', page.text).group(1)
        assert message in unescape(error), query
        assert 'class="in-range-form"' in page.text  # the form is there to fix it
        csv_response = client.get(f"/console/insights/daily.csv?{query}")
        assert csv_response.status_code == 400 and message in csv_response.text
    assert client.get(f"/console/insights/secrets.csv?{RANGE}").status_code == 404
    client.cookies.clear()


def test_a_real_turn_stores_retrieval_for_insights_but_never_shows_it(tmp_path: Path) -> None:
    app = build_app(Settings(data=tmp_path, kb=DEMO_KB, now="2026-11-21T17:00:00Z"))
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        with client.websocket_connect("/ws") as ws:
            ws.send_json({"type": "hello"})
            first = ws.receive_json()
            conv, token = first["conversation_id"], first["resume_token"]
            ws.send_json({"type": "user_message", "text": "How long do I have to return a print?"})
            while ws.receive_json()["type"] != "assistant_message":
                pass
        store = app.state.conversations
        final = [m for m in store.messages(conv) if m.role == "assistant"][-1]
        retrieval = final.content["retrieval"]
        assert set(retrieval) == {"confidence", "threshold", "top"}
        assert retrieval["threshold"] == app.state.settings.confidence_threshold
        assert 1 <= len(retrieval["top"]) <= 3
        assert set(retrieval["top"][0]) == {"source", "heading", "score"}
        assert "retrieval" not in json.dumps(store.transcript(conv))
        assert "retrieval" not in json.dumps(model_history(store.history(conv)))
        with client.websocket_connect("/ws") as ws:  # resume: what the shopper sees
            ws.send_json({"type": "hello", "conversation_id": conv, "resume_token": token})
            ready = ws.receive_json()
            assert ready["type"] == "ready" and len(ready["transcript"]) >= 2
            assert "retrieval" not in json.dumps(ready)
        sign_in(client)
        html = client.get("/console/insights?from=2026-11-21&to=2026-11-21").text
        assert kpi(html, "conversations") == "1"


def _converse(client: TestClient, *texts: str) -> str:
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "hello"})
        conv = ws.receive_json()["conversation_id"]
        for text in texts:
            ws.send_json({"type": "user_message", "text": text})
            while ws.receive_json()["type"] != "assistant_message":
                pass
    return conv


def _unanswered_rows(html: str) -> list[tuple[str, str]]:
    table = re.search(r'<table class="in-table" id="unanswered">(.*?)</table>', html, re.S).group(1)
    cells = re.findall(r"<tr>\s*<td[^>]*>[^<]*</td>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>", table)
    return [(unescape(q), unescape(why)) for q, why in cells]


def test_dead_ends_through_the_real_chat_are_not_resolved_and_are_listed(tmp_path: Path) -> None:
    # The offline model over the demo knowledge: a policy it knows, then one it does not.
    app = build_app(Settings(data=tmp_path, kb=DEMO_KB, now="2026-11-21T17:00:00Z"))
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        conv = _converse(
            client, "How long do I have to return a print?", "Do you run pottery classes?"
        )
        answers = [
            m.content for m in app.state.conversations.messages(conv) if m.role == "assistant"
        ]
        assert answers[-1]["content"].startswith("I'm sorry, I don't know that")
        assert answers[-1]["fallback"] == "no_answer" and "fallback" not in answers[0]
        sign_in(client)
        html = client.get("/console/insights?from=2026-11-21&to=2026-11-21").text
        assert kpi(html, "conversations") == "1" and kpi(html, "ai-rate") == "0.0%"
        assert _unanswered_rows(html) == [
            ("Do you run pottery classes?", "no answer, low retrieval confidence")
        ]


def test_the_model_down_is_listed_under_unanswered_in_words(tmp_path: Path) -> None:
    from agent.models.function import FunctionModel

    def down(request: Any) -> Any:
        raise ConnectionError("the provider is unreachable")

    settings = Settings(data=tmp_path, kb=DEMO_KB, now="2026-11-21T17:00:00Z", model_retries=0)
    app = build_app(settings, model=FunctionModel(down))
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        _converse(client, "How long do I have to return a print?")
        sign_in(client)
        html = client.get("/console/insights?from=2026-11-21&to=2026-11-21").text
        assert kpi(html, "ai-rate") == "0.0%"
        assert _unanswered_rows(html) == [
            ("How long do I have to return a print?", "the model was down")
        ]
