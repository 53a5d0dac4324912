"""Shared test set-up: offline environment, and a database URL for SQLite and (when asked) PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.app.offline_env import use_offline_env

# Before any test module imports a library: nothing may reach the internet or print progress bars.
use_offline_env()

POSTGRES_URL = os.environ.get("SHOPDESK_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]


def pytest_report_header(config: pytest.Config) -> str:
    if POSTGRES_URL:
        return "shopdesk: database tests run on SQLite and PostgreSQL"
    return "shopdesk: database tests run on SQLite only (set SHOPDESK_TEST_POSTGRES_URL for PostgreSQL)"


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
