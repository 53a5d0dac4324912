"""/healthz and /readyz on a real uvicorn server: what a load balancer and an orchestrator see."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx

from agent.app.health import readiness
from agent.app.server import build_app
from tests.ws_helpers import bell_server, bell_settings


def _closed_port() -> int:
    """A loopback port nothing listens on: bound for a moment, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_running_server_is_alive_and_ready(tmp_path: Path) -> None:
    server = bell_server(bell_settings(tmp_path))
    try:
        async with httpx.AsyncClient(base_url=server.http_url) as http:
            alive = await http.get("/healthz")
            ready = await http.get("/readyz")
    finally:
        server.stop()
    assert alive.status_code == 200 and alive.json()["status"] == "ok"
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["status"] == "ready" and body["failing"] == []
    assert set(body["checks"]) == {"conversations database", "orders database", "knowledge index"}
    assert body["checks"]["orders database"]["detail"] == "sqlite answers"


async def test_redis_down_makes_the_server_not_ready_but_still_alive(tmp_path: Path) -> None:
    port = _closed_port()
    server = bell_server(bell_settings(tmp_path, redis_url=f"redis://127.0.0.1:{port}/0"))
    try:
        async with httpx.AsyncClient(base_url=server.http_url) as http:
            alive = await http.get("/healthz")
            ready = await http.get("/readyz")
    finally:
        server.stop()
    assert alive.status_code == 200
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "not ready"
    assert body["checks"]["conversations database"]["ok"] is True
    assert body["checks"]["redis"]["ok"] is False
    [failing] = body["failing"]
    assert failing.startswith("redis: ") and "refused" in failing.lower(), failing


async def test_a_running_redis_counts_as_ready(tmp_path: Path) -> None:
    server = bell_server(bell_settings(tmp_path, redis_url="redis://127.0.0.1:6379/0"))
    try:
        async with httpx.AsyncClient(base_url=server.http_url) as http:
            ready = await http.get("/readyz")
    finally:
        server.stop()
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["redis"] == {"ok": True, "detail": "answers"}


async def test_before_start_up_the_missing_knowledge_index_and_app_are_named(
    tmp_path: Path,
) -> None:
    app = build_app(bell_settings(tmp_path))  # built, not started: no index, not ready
    try:
        checks = {c.name: c for c in await readiness(app.state)}
    finally:
        app.state.services.close()
        app.state.conversations.close()
    assert checks["conversations database"].ok and checks["orders database"].ok
    assert not checks["knowledge index"].ok
    assert checks["knowledge index"].detail == "the knowledge index is not loaded yet"
    assert not checks["app"].ok and checks["app"].detail == "starting up or shutting down"
