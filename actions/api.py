"""REST for staff and developers: returns, webhooks, actions, and the label files.

Every /v1 route needs `Authorization: Bearer <admin_token>`. Errors are `{"error": code, "message": ...}`
with 400 (bad JSON, a malformed id), 401, 404, 409 (illegal transition), 413 (body too large) or 422
(invalid input). Webhooks: register, list, delete (`DELETE /v1/webhooks/{id}`), rotate the secret
(`POST /v1/webhooks/{id}/rotate-secret`), read deliveries, redeliver one
(`POST /v1/webhook-deliveries/{id}/redeliver`).
Database work runs in the thread pool; the event loop never waits on SQL.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from actions.auth import is_admin
from actions.carrier import label_filename
from actions.context import ActionContext, ActionError
from actions.return_status import STATUSES
from actions.workflow import RESOLUTIONS, WorkflowError

if TYPE_CHECKING:
    from actions.registry import ActionRegistry
    from actions.services import ActionServices

MAX_BODY = 64 * 1024
Handler = Callable[[Request], Awaitable[Response]]


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def _error(exc: ApiError) -> JSONResponse:
    return JSONResponse(
        {"error": exc.code, "message": exc.message, **exc.extra}, status_code=exc.status
    )


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class LineIn(_In):
    sku: Annotated[str, Field(min_length=1, max_length=100)]
    quantity: Annotated[int, Field(ge=1, le=10_000)] = 1


class ReturnIn(_In):
    order_id: Annotated[str, Field(min_length=1, max_length=64)]
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=100)]
    reason: Annotated[str, Field(min_length=1, max_length=40)]
    resolution: Literal["refund", "replacement", "store_credit"] = "refund"
    customer_email: Annotated[str, Field(max_length=320)] | None = None


class ReturnPatch(_In):
    status: Annotated[str, Field(min_length=1, max_length=30)]
    received_condition: Annotated[str, Field(max_length=200)] | None = None
    note: Annotated[str, Field(max_length=2000)] | None = None


class WebhookIn(_In):
    url: Annotated[str, Field(min_length=1, max_length=2000)]
    events: Annotated[list[str], Field(min_length=1, max_length=20)]


class ActionCallIn(_In):
    args: dict[str, Any] = {}
    customer: Annotated[str, Field(max_length=320)] | None = None


async def _json(request: Request, model: type[BaseModel]) -> Any:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY:
        raise ApiError(413, "body_too_large", f"Request bodies are limited to {MAX_BODY} bytes.")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise ApiError(
                413, "body_too_large", f"Request bodies are limited to {MAX_BODY} bytes."
            )
    try:
        raw = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "bad_json", "The request body is not valid JSON.") from None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in e['loc']) or '(body)'}: {e['msg']}"
            for e in exc.errors(include_url=False)
        ]
        raise ApiError(422, "invalid_request", "; ".join(problems)) from None


class _Api:
    def __init__(
        self, services: ActionServices, registry: ActionRegistry, admin_token: str
    ) -> None:
        self.services = services
        self.registry = registry
        self.admin_token = admin_token

    def admin(self, handler: Handler) -> Handler:
        async def wrapped(request: Request) -> Response:
            if not is_admin(request.headers.get("authorization"), self.admin_token):
                return _error(
                    ApiError(401, "unauthorized", "A valid admin bearer token is required.")
                )
            try:
                return await handler(request)
            except ApiError as exc:
                return _error(exc)
            except WorkflowError as exc:
                return _error(ApiError(exc.status, exc.code, exc.message))

        return wrapped

    # Returns ----------------------------------------------------------------------------
    async def create_return(self, request: Request) -> Response:
        body: ReturnIn = await _json(request, ReturnIn)
        rma, created, lines = await run_in_threadpool(_create_return, self.services, body)
        if rma is None:
            raise ApiError(422, "not_eligible", " ".join(ln["message"] for ln in lines if not ln["eligible"]), lines=lines)  # fmt: skip
        return JSONResponse(rma.to_dict(), status_code=201 if created else 200)

    async def list_returns(self, request: Request) -> Response:
        status = request.query_params.get("status") or None
        if status is not None and status not in STATUSES:
            raise ApiError(422, "invalid_status", f"status must be one of {', '.join(STATUSES)}.")
        order_id = request.query_params.get("order_id") or None
        rmas = await run_in_threadpool(self.services.workflow.list, status, order_id)
        return JSONResponse({"returns": [r.to_dict() for r in rmas]})

    async def get_return(self, request: Request) -> Response:
        rma = await run_in_threadpool(self.services.workflow.get, request.path_params["rma_id"])
        if rma is None:
            raise ApiError(
                404, "not_found", f"No return authorization {request.path_params['rma_id']}."
            )
        return JSONResponse(rma.to_dict())

    async def patch_return(self, request: Request) -> Response:
        body: ReturnPatch = await _json(request, ReturnPatch)
        fields = body.model_dump(exclude={"status"}, exclude_none=True)
        rma = await run_in_threadpool(
            lambda: self.services.workflow.transition(
                request.path_params["rma_id"], body.status, **fields
            )
        )
        return JSONResponse(rma.to_dict())

    # Webhooks ---------------------------------------------------------------------------
    async def create_webhook(self, request: Request) -> Response:
        body: WebhookIn = await _json(request, WebhookIn)
        try:
            sub = await run_in_threadpool(self.services.webhooks.subscribe, body.url, body.events)
        except ValueError as exc:
            raise ApiError(422, "invalid_request", str(exc)) from None
        return JSONResponse(sub, status_code=201)

    async def list_webhooks(self, request: Request) -> Response:
        subs = await run_in_threadpool(self.services.webhooks.subscriptions)
        return JSONResponse({"webhooks": subs})

    async def webhook_deliveries(self, request: Request) -> Response:
        sub_id = _webhook_id(request, "sub_id", "whk_", "subscription")
        webhooks = self.services.webhooks
        if not any(sub["id"] == sub_id for sub in await run_in_threadpool(webhooks.subscriptions)):
            raise ApiError(404, "not_found", f"There is no webhook subscription {sub_id}.")
        rows = await run_in_threadpool(webhooks.deliveries, sub_id)
        return JSONResponse({"deliveries": rows})

    async def delete_webhook(self, request: Request) -> Response:
        sub_id = _webhook_id(request, "sub_id", "whk_", "subscription")
        return JSONResponse(await _found(self.services.webhooks.delete, sub_id))

    async def rotate_webhook_secret(self, request: Request) -> Response:
        sub_id = _webhook_id(request, "sub_id", "whk_", "subscription")
        return JSONResponse(await _found(self.services.webhooks.rotate_secret, sub_id))

    async def redeliver_webhook(self, request: Request) -> Response:
        delivery_id = _webhook_id(request, "delivery_id", "dlv_", "delivery")
        answer = await _found(self.services.webhooks.redeliver, delivery_id)
        return JSONResponse(answer, status_code=202)

    # Actions ----------------------------------------------------------------------------
    async def list_actions(self, request: Request) -> Response:
        return JSONResponse({"actions": [spec.describe() for spec in self.registry.specs()]})

    async def call_action(self, request: Request) -> Response:
        body: ActionCallIn = await _json(request, ActionCallIn)
        name = request.path_params["name"]
        ctx = ActionContext(
            services=self.services, customer_email=body.customer, now=self.services.clock()
        )
        try:
            args = self.registry.validate(name, body.args)
            result = await self.registry.run(name, ctx, args)
        except ActionError as exc:
            status = {"unknown_action": 404, "invalid_arguments": 422, "order_not_found": 404}.get(
                exc.code, 400
            )
            return JSONResponse(exc.to_dict(), status_code=status)
        return JSONResponse({"action": name, "ok": True, "result": result.model_dump(mode="json")})

    # Labels (public: the random file name is the credential) ------------------------------
    async def label_file(self, request: Request) -> Response:
        name = request.path_params["file"]
        # Only a label a return owns: one made in a race the return lost is not the shopper's.
        # The bytes come from the file store (actions/files.py), which refuses symlinks (one
        # planted in the labels folder served /etc/passwd) and serves any replica's labels.
        rma_id = await run_in_threadpool(self.services.store.label_rma, name)
        pdf = await run_in_threadpool(self.services.carrier.label_bytes, name) if rma_id else None
        if pdf is None or rma_id is None:
            return _error(ApiError(404, "not_found", "There is no such label."))
        disposition = f'attachment; filename="{label_filename(rma_id)}"'
        return Response(
            pdf, media_type="application/pdf",
            headers={"Cache-Control": "private, max-age=3600", "Content-Disposition": disposition},
        )  # fmt: skip


def api_routes(
    services: ActionServices, registry: ActionRegistry, admin_token: str
) -> list[BaseRoute]:
    api = _Api(services, registry, admin_token)
    return [
        Route("/v1/returns", api.admin(api.create_return), methods=["POST"]),
        Route("/v1/returns", api.admin(api.list_returns), methods=["GET"]),
        Route("/v1/returns/{rma_id}", api.admin(api.get_return), methods=["GET"]),
        Route("/v1/returns/{rma_id}", api.admin(api.patch_return), methods=["PATCH"]),
        Route("/v1/webhooks", api.admin(api.create_webhook), methods=["POST"]),
        Route("/v1/webhooks", api.admin(api.list_webhooks), methods=["GET"]),
        Route(
            "/v1/webhooks/{sub_id}/deliveries", api.admin(api.webhook_deliveries), methods=["GET"]
        ),
        Route("/v1/webhooks/{sub_id}", api.admin(api.delete_webhook), methods=["DELETE"]),
        Route(
            "/v1/webhooks/{sub_id}/rotate-secret",
            api.admin(api.rotate_webhook_secret),
            methods=["POST"],
        ),
        Route(
            "/v1/webhook-deliveries/{delivery_id}/redeliver",
            api.admin(api.redeliver_webhook),
            methods=["POST"],
        ),
        Route("/v1/actions", api.admin(api.list_actions), methods=["GET"]),
        Route("/v1/actions/{name}", api.admin(api.call_action), methods=["POST"]),
        Route("/labels/{file}", api.label_file, methods=["GET"]),
    ]


def _webhook_id(request: Request, param: str, prefix: str, what: str) -> str:
    value = request.path_params[param]
    if not (value.startswith(prefix) and 4 < len(value) <= 40 and value[4:].isalnum()):
        raise ApiError(400, "invalid_id", f"{value[:40]!r} is not a webhook {what} id (those look like {prefix}…).")  # fmt: skip
    return str(value)


async def _found(operation: Callable[[str], dict[str, Any]], ident: str) -> dict[str, Any]:
    try:
        return await run_in_threadpool(operation, ident)
    except KeyError as exc:
        raise ApiError(404, "not_found", str(exc.args[0])) from None


def _create_return(
    services: ActionServices, body: ReturnIn
) -> tuple[Any, bool, list[dict[str, Any]]]:
    """Staff create an RMA: the same eligibility rules as the shopper's action, then the workflow."""
    from actions.policy import evaluate_line, parse_reason

    try:
        reason = parse_reason(body.reason).value
    except ValueError as exc:
        raise ApiError(422, "invalid_reason", str(exc)) from None
    if body.resolution not in RESOLUTIONS:  # pragma: no cover - the Literal already checks
        raise ApiError(422, "invalid_resolution", "Unknown resolution.")
    order = services.store.find_order(body.order_id)
    if order is None:
        raise ApiError(404, "order_not_found", f"No order {body.order_id}.")
    email = (body.customer_email or order.customer.email).strip().lower()
    if email != order.customer.email:
        raise ApiError(422, "customer_mismatch", f"{order.id} does not belong to {email}.")
    wanted: dict[str, int] = {}
    for ln in body.lines:
        item = order.line(ln.sku)
        if item is None:
            raise ApiError(422, "item_not_on_order", f"{ln.sku} is not on order {order.id}.")
        if item.sku in wanted:
            raise ApiError(422, "invalid_request", f"{item.sku} is listed twice.")
        wanted[item.sku] = ln.quantity
    existing = services.workflow.find_request(order.id, wanted, reason, body.resolution, email)
    if existing is not None:
        return existing, False, []
    taken = services.store.authorized_quantities(order.id)
    now = services.clock()
    results = [
        evaluate_line(order, order.line(sku), qty, reason, services.policy, now, taken.get(sku, 0))  # type: ignore[arg-type]
        for sku, qty in wanted.items()
    ]
    if not all(r.eligible for r in results):
        return None, False, [r.model_dump(mode="json") for r in results]
    rma, created = services.workflow.create(order, results, reason, body.resolution, None, email)
    return rma, created, []
