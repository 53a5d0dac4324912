"""`/console/knowledge` over HTTP: the file list, the editor page, preview, save (JSON and plain
form), conflicts, path safety, "try a question", and the guard rails (session + CSRF)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from console_helpers import sign_in
from starlette.testclient import TestClient

from agent.app.server import build_app
from agent.app.settings import Settings
from knowledge.loader import sha1_bytes

DEMO_KB = Path(__file__).resolve().parent.parent / "examples" / "demo-store" / "knowledge"
JSON = {"accept": "application/json"}


@pytest.fixture(scope="module")
def app_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, TestClient]]:
    root = tmp_path_factory.mktemp("console-knowledge")
    kb = root / "knowledge"
    shutil.copytree(DEMO_KB, kb)  # the editor writes: never into the repo's demo store
    app = build_app(Settings(data=root / "data", kb=kb, now="2026-11-21T17:00:00Z"))
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        yield app, client


@pytest.fixture
def signed_in(app_client) -> Iterator[tuple[Any, TestClient, str]]:
    app, client = app_client
    yield app, client, sign_in(client)
    client.cookies.clear()


def kb_dir(app: Any) -> Path:
    return Path(app.state.kb.kb_dir)


def file_sha(app: Any, source: str) -> str:
    return sha1_bytes((kb_dir(app) / source).read_bytes())


def post_json(client: TestClient, url: str, csrf: str | None, body: dict[str, Any]):
    headers = {"x-csrf-token": csrf} if csrf else {}
    return client.post(url, json=body, headers=headers)


def test_without_a_session_or_csrf_token_nothing_is_shown_or_written(app_client) -> None:
    app, client = app_client
    client.cookies.clear()
    for path in ["/console/knowledge", "/console/knowledge/edit?source=returns.md"]:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/console/login"
    assert client.get("/console/api/knowledge/search?q=returns").status_code == 401
    before = (kb_dir(app) / "returns.md").read_bytes()
    body = {
        "source": "returns.md",
        "text": "# Hacked\n\nx\n",
        "base_sha1": file_sha(app, "returns.md"),
    }
    for url in ["/console/api/knowledge/save", "/console/api/knowledge/preview"]:
        assert post_json(client, url, None, body).status_code == 401
    csrf = sign_in(client)
    assert post_json(client, "/console/api/knowledge/save", None, body).status_code == 403
    forged = "forged" + csrf[6:]
    assert post_json(client, "/console/api/knowledge/save", forged, body).status_code == 403
    assert post_json(client, "/console/api/knowledge/preview", None, body).status_code == 403
    assert (kb_dir(app) / "returns.md").read_bytes() == before
    client.cookies.clear()


def test_the_list_shows_every_file_with_its_sections_and_the_try_box(signed_in) -> None:
    app, client, _csrf = signed_in
    page = client.get("/console/knowledge")
    assert page.status_code == 200
    for f in app.state.kb.files():
        assert f'data-source="{f.source}"' in page.text
    assert "Returns and exchanges &gt; The 30-day return window" in page.text
    assert 'href="/console/knowledge/edit?source=returns.md"' in page.text
    assert (
        'id="try-q"' in page.text and 'id="try-go"' in page.text and 'id="try-results"' in page.text
    )
    prefilled = client.get("/console/knowledge", params={"q": "gift <b>wrap</b>"})
    assert 'value="gift &lt;b&gt;wrap&lt;/b&gt;"' in prefilled.text


def _list_until(client: TestClient, check: Any, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        page = client.get("/console/knowledge").text
        if check(page) or time.monotonic() > deadline:
            return page
        time.sleep(0.1)


def test_a_file_edited_on_disk_shows_in_the_list_through_the_servers_watcher(signed_in) -> None:
    app, client, _csrf = signed_in
    (kb_dir(app) / "from-disk.md").write_text(
        "# Loyalty\n\n## Points\n\nEvery order earns points.\n", encoding="utf-8"
    )
    (kb_dir(app) / "broken-on-disk.md").write_text("---\ntitle: [x\n---\n# B\n\nb\n", "utf-8")
    # Nobody calls index(): the watcher the server started notices the new files.
    page = _list_until(client, lambda p: "Loyalty &gt; Points" in p and "not indexed" in p)
    assert 'data-source="from-disk.md"' in page and "Loyalty &gt; Points" in page
    assert 'data-source="broken-on-disk.md"' in page and "not indexed" in page
    assert "line 2: invalid front matter" in page
    (kb_dir(app) / "from-disk.md").unlink()
    (kb_dir(app) / "broken-on-disk.md").unlink()
    page = _list_until(client, lambda p: 'data-source="from-disk.md"' not in p)
    assert 'data-source="from-disk.md"' not in page


def test_the_editor_page_has_the_text_the_preview_and_the_controls(signed_in) -> None:
    app, client, _csrf = signed_in
    page = client.get("/console/knowledge/edit", params={"source": "returns.md", "q": "refund?"})
    assert page.status_code == 200
    text = (kb_dir(app) / "returns.md").read_text(encoding="utf-8")
    assert 'id="editor"' in page.text and 'name="text"' in page.text
    assert "We want you to love what you bring home" in page.text
    assert f'value="{file_sha(app, "returns.md")}"' in page.text
    for element in ['id="save"', 'id="save-result"', 'role="status"', 'id="try-q"']:
        assert element in page.text
    assert 'value="refund?"' in page.text
    assert "<h2>The 30-day return window</h2>" in page.text  # server-rendered preview
    assert "title: Returns and exchanges" not in page.text.split('id="preview"')[1]
    assert text.startswith("---")


def test_unknown_and_unsafe_sources_get_an_error_page_and_new_files_a_template(signed_in) -> None:
    _app, client, _csrf = signed_in
    assert client.get("/console/knowledge/edit", params={"source": "nope.md"}).status_code == 404
    bad = client.get("/console/knowledge/edit", params={"source": "../../etc/passwd.md"})
    assert bad.status_code == 400
    new = client.get("/console/knowledge/edit", params={"source": "faq/gift-wrap.md", "new": "1"})
    assert new.status_code == 200 and "title: Gift wrap" in new.text
    assert 'id="base-sha1" value=""' in new.text


def test_preview_renders_markdown_without_raw_html_and_names_problems(signed_in) -> None:
    _app, client, csrf = signed_in
    text = "# Care\n\n## Washing\n\n<script>alert(1)</script> Hand wash **only**. [x](javascript:alert(1))\n"
    body = post_json(
        client, "/console/api/knowledge/preview", csrf, {"source": "c.md", "text": text}
    )
    data = body.json()
    assert body.status_code == 200 and data["ok"] and data["problem"] is None
    assert "<script>" not in data["html"] and "&lt;script&gt;" in data["html"]
    assert "<strong>only</strong>" in data["html"] and 'href="javascript:' not in data["html"]
    assert data["sections"] == [{"heading": "Care > Washing"}]
    broken = post_json(
        client, "/console/api/knowledge/preview", csrf,
        {"source": "c.md", "text": "---\ntitle: Care\ntags: [a\n---\n# Care\n\nx\n"},
    ).json()  # fmt: skip
    assert broken["ok"] is False and broken["problem"]["line"] == 3


def test_an_invalid_front_matter_save_is_refused_with_the_line_and_the_file_unchanged(
    signed_in,
) -> None:
    app, client, csrf = signed_in
    before = (kb_dir(app) / "shipping.md").read_bytes()
    text = "---\ntitle: Shipping\ntags: [shipping\n---\n# Shipping\n\nWe ship.\n"
    response = post_json(
        client, "/console/api/knowledge/save", csrf,
        {"source": "shipping.md", "text": text, "base_sha1": file_sha(app, "shipping.md")},
    )  # fmt: skip
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_markdown" and body["line"] == 3
    assert body["message"].startswith("Not saved: line 3: invalid front matter")
    assert (kb_dir(app) / "shipping.md").read_bytes() == before


def test_a_valid_save_writes_backs_up_reindexes_and_is_searchable(signed_in) -> None:
    app, client, csrf = signed_in
    before = (kb_dir(app) / "care.md").read_bytes()
    text = (
        before.decode() + "\n## Gift wrapping\n\nWe gift wrap any order in recycled kraft paper.\n"
    )
    response = post_json(
        client, "/console/api/knowledge/save", csrf,
        {"source": "care.md", "text": text, "base_sha1": file_sha(app, "care.md")},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ok"] and body["report"]["added"] >= 1 and body["sha1"] == file_sha(app, "care.md")
    assert body["message"].startswith("Saved. Re-indexed: ")
    assert "Previous version kept as backups/knowledge/care.md." in body["message"]
    backup = Path(app.state.settings.data).resolve() / body["backup"]
    assert backup.read_bytes() == before and not backup.is_relative_to(kb_dir(app).resolve())
    assert any(s["heading"].endswith("Gift wrapping") for s in body["sections"])
    found = client.get("/console/api/knowledge/search", params={"q": "do you gift wrap orders"})
    top = found.json()["passages"][0]
    assert (top["source"], top["heading"].split(" > ")[-1]) == ("care.md", "Gift wrapping")
    again = post_json(
        client, "/console/api/knowledge/save", csrf,
        {"source": "care.md", "text": before.decode(), "base_sha1": file_sha(app, "care.md")},
    )  # fmt: skip
    assert again.status_code == 200 and (kb_dir(app) / "care.md").read_bytes() == before


def test_a_stale_editor_gets_a_conflict_and_does_not_overwrite(signed_in) -> None:
    app, client, csrf = signed_in
    stale = file_sha(app, "contact.md")
    original = (kb_dir(app) / "contact.md").read_text(encoding="utf-8")
    changed = original + "\nEdited on disk.\n"
    (kb_dir(app) / "contact.md").write_text(changed, encoding="utf-8")
    response = post_json(
        client, "/console/api/knowledge/save", csrf,
        {"source": "contact.md", "text": original + "\nMine.\n", "base_sha1": stale},
    )  # fmt: skip
    assert response.status_code == 409 and response.json()["error"] == "conflict"
    assert (kb_dir(app) / "contact.md").read_text(encoding="utf-8") == changed
    (kb_dir(app) / "contact.md").write_text(original, encoding="utf-8")


@pytest.mark.parametrize("source", ["../escape.md", "/tmp/x.md", ".hidden.md", "notes.txt"])
def test_path_traversal_and_odd_names_are_refused(signed_in, source) -> None:
    app, client, csrf = signed_in
    response = post_json(
        client, "/console/api/knowledge/save", csrf,
        {"source": source, "text": "# X\n\n## Y\n\nz\n", "base_sha1": ""},
    )  # fmt: skip
    assert response.status_code == 400 and response.json()["error"] == "bad_source"
    assert not (kb_dir(app).parent / "escape.md").exists()


def test_an_oversized_save_is_refused_with_413(signed_in) -> None:
    _app, client, csrf = signed_in
    body = {"source": "big.md", "text": "# Big\n\n" + "x" * 300_000, "base_sha1": ""}
    response = post_json(client, "/console/api/knowledge/save", csrf, body)
    assert response.status_code == 413 and response.json()["error"] == "too_large"


def test_the_save_works_as_a_plain_form_post_without_javascript(signed_in) -> None:
    app, client, csrf = signed_in
    original = (kb_dir(app) / "payments.md").read_text(encoding="utf-8")
    form = {
        "csrf": csrf, "source": "payments.md", "base_sha1": file_sha(app, "payments.md"),
        "text": original.replace("\n", "\r\n") + "\r\n## Layaway\r\n\r\nWe do not offer layaway.\r\n",
    }  # fmt: skip
    saved = client.post("/console/api/knowledge/save", data=form)
    assert saved.status_code == 200 and "Saved. Re-indexed: 1 added" in saved.text
    assert b"\r" not in (kb_dir(app) / "payments.md").read_bytes()
    assert f'value="{file_sha(app, "payments.md")}"' in saved.text
    broken = dict(
        form, text="---\ntitle: [\n---\n# P\n\np\n", base_sha1=file_sha(app, "payments.md")
    )
    refused = client.post("/console/api/knowledge/save", data=broken)
    assert refused.status_code == 422 and "Not saved: line 2:" in refused.text
    assert "Layaway" in (kb_dir(app) / "payments.md").read_text(encoding="utf-8")


def test_try_a_question_returns_scored_passages_and_the_confidence_verdict(signed_in) -> None:
    app, client, _csrf = signed_in
    assert client.get("/console/api/knowledge/search", params={"q": "  "}).status_code == 400
    good = client.get("/console/api/knowledge/search", params={"q": "how long do I have to return"})
    body = good.json()
    assert body["threshold"] == app.state.settings.confidence_threshold
    assert body["answered"] is (body["confidence"] >= body["threshold"]) and body["answered"]
    assert body["passages"] and {"source", "heading", "score", "text"} <= set(body["passages"][0])
    scores = [p["score"] for p in body["passages"]]
    assert scores == sorted(scores, reverse=True)
    off_topic = client.get("/console/api/knowledge/search", params={"q": "quantum chromodynamics"})
    assert off_topic.json()["answered"] is False
    long = client.get("/console/api/knowledge/search", params={"q": "returns " * 200}).json()
    assert len(long["question"]) <= 500
