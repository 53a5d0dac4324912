"""Shared test set-up: offline environment, an isolated environment for the settings, the optional
shifted wall clock, screenshots, and a database URL for SQLite and (when asked) PostgreSQL.

Variables the tests themselves read are `SHOPDESK_TEST_*`; every other `SHOPDESK_*` of the
developer's shell is removed before each test, so `Settings()` sees only what a test sets.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.app.offline_env import use_offline_env

# Before any test module imports a library: nothing may reach the internet or print progress bars.
use_offline_env()

POSTGRES_URL = os.environ.get("SHOPDESK_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]

# `SHOPDESK_TEST_SHIFT_DAYS=400` moves Python's wall clock (time.time, datetime.now, in every
# thread, so in the uvicorn servers the tests start too) that many days ahead for the whole run,
# still ticking. A test that takes an expectation from the wall clock fails under it. Monotonic
# clocks are left alone: timeouts keep working.
SHIFT_DAYS = int(os.environ.get("SHOPDESK_TEST_SHIFT_DAYS") or 0)
_traveller: Any = None
if SHIFT_DAYS:
    import time_machine

    _traveller = time_machine.travel(datetime.now(UTC) + timedelta(days=SHIFT_DAYS), tick=True)
    _traveller.start()


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = [
        "shopdesk: database tests run on SQLite and PostgreSQL"
        if POSTGRES_URL
        else "shopdesk: database tests run on SQLite only (set SHOPDESK_TEST_POSTGRES_URL for PostgreSQL)"
    ]
    if SHIFT_DAYS:
        lines.append(
            f"shopdesk: wall clock moved {SHIFT_DAYS} days ahead: {datetime.now(UTC):%Y-%m-%d}"
        )
    return lines


@pytest.fixture(autouse=True)
def isolated_settings_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No `SHOPDESK_*` of the developer's own shell reaches a test's `Settings()`."""
    for name in list(os.environ):
        if name.startswith("SHOPDESK_") and not name.startswith("SHOPDESK_TEST_"):
            monkeypatch.delenv(name)
    # The CLI commands switch this process's query encoder to an ONNX export (made by `index`):
    # tests that run them in-process would change it for every later test. The ONNX tests choose
    # it explicitly.
    monkeypatch.setenv("SHOPDESK_QUERY_MODEL", "torch")


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where browser tests save screenshots: a temporary folder, so a test run leaves the tree as
    it found it; `make screenshots` sets SHOPDESK_TEST_SCREENSHOTS=docs to refresh README's."""
    chosen = os.environ.get("SHOPDESK_TEST_SCREENSHOTS")
    if chosen:
        path = Path(chosen).resolve()
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    if not POSTGRES_URL:
        pytest.skip("SHOPDESK_TEST_POSTGRES_URL is not set")
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database: SQLite in tmp_path, and PostgreSQL when configured."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shopdesk.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture(scope="module")
def pw_browser() -> Iterator[Any]:
    """Headless Chromium (Debian's, never a download) for one test module; each test opens its own
    contexts. Not session-wide: Playwright's sync API keeps an event loop running in this thread
    while it is open, and later modules call asyncio.run()."""
    from browser import launch, require_chromium

    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        yield browser
        browser.close()


@pytest.fixture
def contexts(pw_browser: Any) -> Iterator[list[Any]]:
    """Browser contexts a test opened (append `page.context`), closed when it ends."""
    made: list[Any] = []
    yield made
    for context in made:
        context.close()
