"""The widget's HTTP routes, without a browser: content types, caching, the embed, the signed identity."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from agent.app.settings import Settings
from agent.chat.identity import sign_email
from widget.pages import CSS_PLACEHOLDER, DEMO_SHOPPER, load_assets, routes

STATIC = Path(__file__).resolve().parent.parent / "widget" / "static"


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    settings = Settings(data=tmp_path, secret="a-test-secret-value")
    return TestClient(Starlette(routes=routes(settings)), base_url="http://shop.test")


def test_widget_js_is_javascript_with_its_css_inlined_and_cacheable(client: TestClient) -> None:
    response = client.get("/widget.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert "max-age=" in response.headers["cache-control"]
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert CSS_PLACEHOLDER not in response.text
    assert ".sd-panel" in response.text  # the stylesheet travels inside the script


def test_widget_js_revalidates_with_its_etag(client: TestClient) -> None:
    etag = client.get("/widget.js").headers["etag"]
    again = client.get("/widget.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""


def test_widget_js_is_gzipped_for_browsers_that_accept_it(client: TestClient) -> None:
    raw = client.get("/widget.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in raw.headers
    zipped = client.stream("GET", "/widget.js", headers={"Accept-Encoding": "gzip, br"})
    with zipped as response:
        body = b"".join(response.iter_raw())
        assert response.headers["content-encoding"] == "gzip"
        assert response.headers["vary"] == "Accept-Encoding"
    assert gzip.decompress(body) == raw.content
    assert len(body) < len(raw.content) / 2


def test_widget_css_is_css(client: TestClient) -> None:
    response = client.get("/widget.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert ":host" in response.text


def test_store_page_embeds_the_widget_as_a_store_would(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    html = response.text
    assert "Willow &amp; Kiln" in html
    tag = re.search(r"<script src=\"http://shop.test/widget.js\"[^>]*>", html, re.S)
    assert tag, "the one-line embed is missing"
    assert 'data-shopdesk="http://shop.test"' in tag.group(0)
    assert " async" in tag.group(0)
    assert "data-signature" not in html  # anonymous by default
    assert "http" not in re.sub(r"http://shop\.test|http://www\.w3\.org/2000/svg", "", html), (
        "the demo page must not load anything from elsewhere"
    )


def test_signed_in_demo_store_page_carries_a_server_computed_signature(tmp_path: Path) -> None:
    settings = Settings(data=tmp_path)  # demo mode: the demo orders and no SHOPDESK_SECRET
    demo = TestClient(Starlette(routes=routes(settings)), base_url="http://shop.test")
    html = demo.get("/?as=shopper").text
    signature = sign_email(DEMO_SHOPPER.email, settings.secret)
    assert f'data-email="{DEMO_SHOPPER.email}"' in html
    assert f'data-signature="{signature}"' in html
    assert settings.secret not in html


def test_with_a_store_secret_the_demo_signing_page_does_not_exist(client: TestClient) -> None:
    response = client.get("/?as=shopper")
    assert response.status_code == 404 and "demo mode" in response.text
    assert "data-signature" not in response.text
    assert "sign-in-as-shopper" not in client.get("/").text


def test_widget_source_never_writes_html_strings() -> None:
    # The rule the browser tests check from the outside, checked here at the source.
    source = (STATIC / "widget.js").read_text(encoding="utf-8")
    for sink in (
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "new Function",
    ):
        assert sink not in source, sink


def test_assets_load_from_the_package() -> None:
    assets = load_assets()
    assert set(assets) == {"widget.js", "widget.css"}
    assert assets["widget.js"].etag != assets["widget.css"].etag


def test_a_missing_browser_fails_under_ci_and_skips_elsewhere(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import browser

    monkeypatch.setattr(browser, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="no-chromium is missing"):
        browser.require_chromium()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        browser.require_chromium()
