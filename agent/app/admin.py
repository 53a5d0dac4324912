"""The admin conversations API (`/v1/conversations`, bearer token); `/healthz` is in health.py."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from actions.auth import is_admin
from agent.app.state import AppState
from agent.store.conversations import ConversationRecord, PendingConfirmation
from agent.store.status import ACCEPTED_STATUSES, ConversationStatus


def _unauthorized() -> JSONResponse:
    return JSONResponse(
        {"error": "unauthorized", "message": "An admin bearer token is required."},
        status_code=401,
        headers={"WWW-Authenticate": "Bearer"},
    )


def _summary(record: ConversationRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "status": record.status,
        "customer_email": record.customer_email,
        "created_at": record.created_at.isoformat(),
        "updated_at": record.updated_at.isoformat(),
        "message_count": record.message_count,
    }


def _pending(pending: PendingConfirmation | None) -> dict[str, Any] | None:
    if pending is None:
        return None
    return {
        "id": pending.id,
        "action": pending.action,
        "arguments": pending.arguments,
        "summary": pending.summary,
    }


def _list_query(request: Request) -> tuple[int, int, ConversationStatus | None]:
    """limit, offset and status from the query string; ValueError when one is malformed."""
    limit = min(max(int(request.query_params.get("limit", 50)), 1), 500)
    offset = max(int(request.query_params.get("offset", 0)), 0)
    status = request.query_params.get("status") or None
    if status is not None and status not in ACCEPTED_STATUSES:
        raise ValueError(status)
    return limit, offset, ConversationStatus.parse(status) if status else None


def admin_routes(state: AppState) -> list[BaseRoute]:
    store = state.conversations

    def authorized(request: Request) -> bool:
        return is_admin(request.headers.get("authorization"), state.settings.admin_token)

    async def list_conversations(request: Request) -> JSONResponse:
        if not authorized(request):
            return _unauthorized()
        try:
            limit, offset, status = _list_query(request)
        except ValueError:
            message = "limit and offset must be integers; status one of open, handoff, closed."
            return JSONResponse({"error": "invalid_query", "message": message}, status_code=400)
        records = await store.acall(
            store.list_conversations, limit=limit, offset=offset, status=status
        )
        return JSONResponse(
            {"conversations": [_summary(r) for r in records], "limit": limit, "offset": offset}
        )

    async def get_conversation(request: Request) -> JSONResponse:
        if not authorized(request):
            return _unauthorized()
        conv_id = request.path_params["conversation_id"]
        record = await store.acall(store.get, conv_id)
        if record is None:
            return JSONResponse(
                {"error": "not_found", "message": "No such conversation."}, status_code=404
            )
        transcript = await store.acall(store.transcript, conv_id)
        pending = await store.acall(store.pending_confirmation, conv_id)
        body = _summary(record) | {
            "transcript": transcript,
            "pending_confirmation": _pending(pending),
        }
        return JSONResponse(body)

    return [
        Route("/v1/conversations", list_conversations),
        Route("/v1/conversations/{conversation_id}", get_conversation),
    ]


__all__ = ["admin_routes"]
