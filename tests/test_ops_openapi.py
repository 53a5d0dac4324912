"""/v1/openapi.json: a valid OpenAPI 3.1 document of the routes the app really has, and
schemathesis against a live uvicorn server finds no 500 (a bounded, seeded run)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.routing import Route

from agent.app.background import BackgroundServer
from agent.app.openapi import build_openapi
from tests.ws_helpers import bell_server, bell_settings

ST = Path(sys.executable).with_name("st")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    srv = bell_server(bell_settings(tmp_path_factory.mktemp("openapi")))
    yield srv
    srv.stop()


def test_every_rest_route_is_documented_with_its_methods(server: BackgroundServer) -> None:
    document = build_openapi()
    documented = {(path, method.upper()) for path, ops in document["paths"].items() for method in ops}  # fmt: skip
    served = {
        (route.path, method)
        for route in server.app.routes
        if isinstance(route, Route)
        and route.path.startswith(
            ("/v1/", "/labels", "/healthz", "/readyz", "/metrics")
        )  # fmt: skip
        for method in (route.methods or set()) - {"HEAD"}
    }
    assert served <= documented, served - documented
    assert documented <= served, documented - served


async def test_the_document_is_served_and_its_bodies_are_the_routes_models(
    server: BackgroundServer,
) -> None:
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        response = await http.get("/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"] == "3.1.0"
    create = document["paths"]["/v1/returns"]["post"]
    ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/ReturnIn"
    schema = document["components"]["schemas"]["ReturnIn"]
    assert set(schema["required"]) == {"order_id", "lines", "reason"}
    assert schema["additionalProperties"] is False  # the model forbids extra fields
    assert create["security"] == [{"bearer": []}]
    assert document["paths"]["/healthz"]["get"]["security"] == []


def test_schemathesis_finds_no_server_error(server: BackgroundServer, tmp_path: Path) -> None:
    command = [
        str(ST), "run", f"{server.http_url}/v1/openapi.json",
        "--checks", "not_a_server_error",
        "--max-examples", "12", "--seed", "16", "--generation-deterministic",
        "--workers", "1", "--request-timeout", "20", "--no-color",
        "--header", "Authorization: Bearer demo-admin-token",
    ]  # fmt: skip
    # Run in a temporary folder: schemathesis keeps a cache of crashes where it runs.
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "No issues found" in run.stdout or "passed" in run.stdout.lower(), run.stdout[-3000:]
