"""Two real uvicorn replicas over one database, each with a data directory of its own (as on two
machines), for the issue-16 tests of what replicas share."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from agent.app.background import BackgroundServer
from agent.app.server import build_app
from agent.app.settings import Settings
from tests.ws_helpers import CannedKnowledge

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo-store"
PASSWORD = "demo-staff-password"  # Settings.staff_password's default


def replica_settings(database_url: str, data: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data": data, "database_url": database_url, "orders": DEMO / "orders.json",
        "now": "2026-11-21T17:00:00Z",
    }  # fmt: skip
    return Settings(**(values | overrides))


def start_replica(settings: Settings, *, own_knowledge: bool = False) -> BackgroundServer:
    """A replica; with `own_knowledge` it opens its knowledge base from the settings (Chroma and
    all), else a canned one answers (no embedding model to load)."""

    def make(port: int) -> Any:
        knowledge = None if own_knowledge else CannedKnowledge()
        return build_app(settings.model_copy(update={"port": port}), kb=knowledge)

    return BackgroundServer(make, settings=settings).start()


@contextmanager
def two_replicas(
    database_url: str, tmp_path: Path, **overrides: Any
) -> Iterator[tuple[BackgroundServer, BackgroundServer]]:
    # One after the other: the first imports the demo orders into the shared database.
    a = start_replica(replica_settings(database_url, tmp_path / "a", **overrides))
    try:
        b = start_replica(replica_settings(database_url, tmp_path / "b", **overrides))
        try:
            yield a, b
        finally:
            b.stop()
    finally:
        a.stop()


def sign_in(client: httpx.Client, base: str, name: str = "Sam") -> str:
    """Signs in on the replica at `base`; returns the CSRF token its inbox page carries."""
    page = client.get(f"{base}/console/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token is not None
    response = client.post(
        f"{base}/console/login", data={"csrf": token.group(1), "name": name, "password": PASSWORD}
    )
    assert response.status_code == 303, response.text
    return csrf_on(client, base)


def csrf_on(client: httpx.Client, base: str) -> str:
    inbox = client.get(f"{base}/console")
    assert inbox.status_code == 200
    found = re.search(r'name="csrf-token" content="([^"]+)"', inbox.text)
    assert found is not None
    return found.group(1)


@contextmanager
def chroma_server(path: Path) -> Iterator[str]:
    """`chroma run` from the venv on a free loopback port; its URL, stopped afterwards."""
    import subprocess
    import sys
    import time

    from tests.email_helpers import free_port

    port = free_port()
    chroma = Path(sys.executable).with_name("chroma")
    proc = subprocess.Popen(
        [str(chroma), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**__import__("os").environ, "ANONYMIZED_TELEMETRY": "False"},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, "chroma run exited"
            assert time.monotonic() < deadline, "the Chroma server did not start"
            time.sleep(0.05)  # polling a starting subprocess, not product time
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
