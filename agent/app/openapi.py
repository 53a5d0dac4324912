"""The OpenAPI 3.1 document at `/v1/openapi.json`.

Request bodies are the pydantic models the routes validate with (actions/api.py), so the document
cannot drift from what a route accepts; query strings are described by models here, checked against
the same rules the routes apply. One table lists every operation; the schema is built from it once
per app and served as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from actions.api import ActionCallIn, ReturnIn, ReturnPatch, WebhookIn
from actions.return_status import STATUSES
from agent.app.state import AppState


class ErrorOut(BaseModel):
    """Every error: a code for programs, a sentence for people."""

    error: str
    message: str


class ReturnsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Annotated[str, Field(json_schema_extra={"enum": list(STATUSES)})] | None = None
    order_id: Annotated[str, Field(max_length=64)] | None = None


class ConversationsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: Annotated[int, Field(ge=1, le=500, description="At most 500 a page")] = 50
    offset: Annotated[int, Field(ge=0)] = 0
    status: Literal["open", "handoff", "closed"] | None = None


@dataclass(frozen=True)
class Op:
    method: str
    path: str
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    ok: int = 200
    errors: tuple[int, ...] = (401,)
    admin: bool = True
    media: str = "application/json"
    extra: dict[str, Any] = field(default_factory=dict)


OPERATIONS: tuple[Op, ...] = (
    Op("get", "/healthz", "Liveness: the process answers", "operations", admin=False, errors=()),
    Op(
        "get",
        "/readyz",
        "Readiness: database, Redis, knowledge index (503 names what fails)",
        "operations",
        admin=False,
        errors=(503,),
    ),  # fmt: skip
    Op(
        "get",
        "/metrics",
        "Prometheus metrics (admin or metrics token)",
        "operations",
        media="text/plain",
    ),  # fmt: skip
    Op("get", "/v1/openapi.json", "This document", "operations", admin=False, errors=()),
    Op(
        "get",
        "/v1/conversations",
        "List conversations",
        "conversations",
        query=ConversationsQuery,
        errors=(400, 401),
    ),  # fmt: skip
    Op(
        "get",
        "/v1/conversations/{conversation_id}",
        "A conversation with its transcript",
        "conversations",
        errors=(401, 404),
    ),  # fmt: skip
    Op(
        "post",
        "/v1/returns",
        "Create a return authorization",
        "returns",
        body=ReturnIn,
        ok=201,
        errors=(400, 401, 404, 409, 413, 422),
    ),  # fmt: skip
    Op("get", "/v1/returns", "List returns", "returns", query=ReturnsQuery, errors=(401, 422)),
    Op("get", "/v1/returns/{rma_id}", "One return", "returns", errors=(401, 404)),
    Op(
        "patch",
        "/v1/returns/{rma_id}",
        "Move a return on (approve, receive, refund, …)",
        "returns",
        body=ReturnPatch,
        errors=(400, 401, 404, 409, 413, 422),
    ),  # fmt: skip
    Op(
        "post",
        "/v1/webhooks",
        "Subscribe a URL to events",
        "webhooks",
        body=WebhookIn,
        ok=201,
        errors=(400, 401, 413, 422),
    ),  # fmt: skip
    Op("get", "/v1/webhooks", "List subscriptions", "webhooks"),
    Op(
        "delete",
        "/v1/webhooks/{sub_id}",
        "Delete a subscription",
        "webhooks",
        errors=(400, 401, 404),
    ),  # fmt: skip
    Op(
        "get",
        "/v1/webhooks/{sub_id}/deliveries",
        "A subscription's deliveries",
        "webhooks",
        errors=(400, 401, 404),
    ),  # fmt: skip
    Op(
        "post",
        "/v1/webhooks/{sub_id}/rotate-secret",
        "Rotate a subscription's secret",
        "webhooks",
        errors=(400, 401, 404),
    ),  # fmt: skip
    Op(
        "post",
        "/v1/webhook-deliveries/{delivery_id}/redeliver",
        "Send a delivery again",
        "webhooks",
        ok=202,
        errors=(400, 401, 404),
    ),  # fmt: skip
    Op("get", "/v1/actions", "The registered actions and their argument schemas", "actions"),
    Op(
        "post",
        "/v1/actions/{name}",
        "Call an action",
        "actions",
        body=ActionCallIn,
        errors=(400, 401, 404, 413, 422),
    ),  # fmt: skip
    Op(
        "get",
        "/labels/{file}",
        "A return label (the random file name is the credential)",
        "returns",
        admin=False,
        media="application/pdf",
        errors=(404,),
    ),  # fmt: skip
)

STATUS_WORDS = {
    200: "OK", 201: "Created", 202: "Accepted", 400: "Malformed request or id",
    401: "A bearer token is required", 404: "Not found", 409: "Not allowed in this state",
    413: "Body too large", 422: "Invalid input", 503: "Not ready",
}  # fmt: skip


# The ids whose shape the routes check before looking them up (actions/api.py `_webhook_id`).
ID_SCHEMAS: dict[str, dict[str, Any]] = {
    "sub_id": {"type": "string", "pattern": "^whk_[A-Za-z0-9]{1,36}$"},
    "delivery_id": {"type": "string", "pattern": "^dlv_[A-Za-z0-9]{1,36}$"},
}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _parameters(op: Op, schemas: dict[str, Any]) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True,
         "schema": ID_SCHEMAS.get(name, {"type": "string", "minLength": 1, "maxLength": 200})}
        for name in re.findall(r"{(\w+)}", op.path)
    ]  # fmt: skip
    if op.query is not None:
        props = schemas[op.query.__name__].get("properties", {})
        params += [{"name": n, "in": "query", "required": False, "schema": s} for n, s in props.items()]  # fmt: skip
    return params


def _operation(op: Op, schemas: dict[str, Any]) -> dict[str, Any]:
    ok_content = (
        {op.media: {"schema": {"type": "object"}}}
        if op.media == "application/json"
        else {op.media: {"schema": {"type": "string"}}}
    )
    responses: dict[str, Any] = {str(op.ok): {"description": STATUS_WORDS[op.ok], "content": ok_content}}  # fmt: skip
    for code in op.errors:
        responses[str(code)] = {
            "description": STATUS_WORDS[code],
            "content": {"application/json": {"schema": _ref(ErrorOut)}},
        }
    body: dict[str, Any] = {
        "operationId": f"{op.method}_{re.sub(r'[^a-z0-9]+', '_', op.path.lower()).strip('_')}",
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": _parameters(op, schemas),
        "responses": responses,
        "security": [{"bearer": []}] if op.admin else [],
    }
    if op.body is not None:
        body["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(op.body)}},
        }
    return body


def build_openapi(title: str = "shopdesk", version: str = "0.1.0") -> dict[str, Any]:
    models: list[type[BaseModel]] = [ErrorOut]
    for op in OPERATIONS:
        models += [m for m in (op.body, op.query) if m is not None and m not in models]
    _, defs = models_json_schema(
        [(m, "validation") for m in models], ref_template="#/components/schemas/{model}"
    )
    schemas: dict[str, Any] = defs.get("$defs", {})
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{title} API",
            "version": version,
            "description": "Staff and developer REST. Admin routes take "
            "`Authorization: Bearer <SHOPDESK_ADMIN_TOKEN>`; errors are {error, message}.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def openapi_routes(state: AppState) -> list[BaseRoute]:
    document = build_openapi(f"{state.settings.store_name} (shopdesk)")

    async def openapi(request: Request) -> JSONResponse:
        return JSONResponse(document)

    return [Route("/v1/openapi.json", openapi, methods=["GET"])]


__all__ = ["OPERATIONS", "build_openapi", "openapi_routes"]
