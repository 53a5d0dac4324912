"""The returns queue (/console/returns): returns the policy sent to a person, approved or
rejected here; the shopper is told in every open conversation (agent/chat/notices.py)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from actions.policy import Policy
from actions.return_status import ReturnStatus
from actions.store.rma import ReturnAuthorization
from actions.workflow import WorkflowError
from agent.chat.uploads import image_response
from agent.console.app import Console
from agent.console.events import ReturnUpdated
from agent.console.staff import StaffSession


def review_reasons(rma: ReturnAuthorization, policy: Policy) -> list[str]:
    """Why the policy sent this return to a person (the same rules evaluate_line applies)."""
    rules = policy.returns
    out: list[str] = []
    if rma.reason in {str(reason) for reason in rules.manual_review_reasons}:
        out.append(f"Reason “{rma.reason}” is always reviewed by a person.")
    limit = rules.manual_review_over
    for line in rma.lines:
        if limit is not None and line.refund_amount > limit:
            out.append(
                f"{line.sku}: refund ${line.refund_amount:,.2f} is over the "
                f"${Decimal(limit):,.2f} review limit."
            )
    return out or ["The policy marked a line for manual review."]


async def returns_page(c: Console, request: Request, staff: StaffSession) -> Response:
    services = c.state.services
    rmas = await asyncio.to_thread(services.workflow.list, ReturnStatus.MANUAL_REVIEW)
    photos = await asyncio.to_thread(
        services.evidence.for_rmas, [r.id for r in rmas]
    ) if services.evidence else {}  # fmt: skip
    rows = [
        {"rma": r, "why": review_reasons(r, services.policy), "photos": photos.get(r.id, [])}
        for r in rmas
    ]
    recent = [
        r
        for r in await asyncio.to_thread(services.workflow.list)
        if any(h.from_status == ReturnStatus.MANUAL_REVIEW for h in r.history)
    ][:10]
    bounces, bounced = await asyncio.to_thread(_bounces, services, [*rmas, *recent])
    return c.render(
        "console_returns.jinja2", staff=staff, rows=rows, recent=recent, section="returns",
        bounces=bounces, bounced=bounced,
    )  # fmt: skip


def _bounces(services: Any, rmas: list[ReturnAuthorization]) -> tuple[dict[str, str], list[Any]]:
    """The bounce reason (in words) of each listed return, and the latest bounced return emails
    (an email that never arrived needs a person, whatever the return's status)."""
    outbox = services.email
    if outbox is None:
        return {}, []
    bounced = [m for m in outbox.messages(300) if m.status == "bounced" and m.rma_id][:20]
    return outbox.bounces(r.id for r in rmas), bounced


async def return_op(
    c: Console, request: Request, staff: StaffSession, form: dict[str, Any]
) -> Response:
    rma_id = request.path_params["rma_id"]
    op = request.path_params["op"]
    if op == "approve":
        status, note = ReturnStatus.APPROVED, f"Approved by {staff.name}"
    elif op == "reject":
        reason = str(form.get("reason", "")).strip()[:500]
        if not reason:
            return JSONResponse(
                {"error": "reason_required", "message": "Give the shopper a reason."}, 422
            )
        status, note = ReturnStatus.REJECTED, reason
    else:
        return JSONResponse({"error": "unknown_operation", "message": op}, 404)
    workflow = c.state.services.workflow
    try:
        rma = await asyncio.to_thread(workflow.transition, rma_id, status, note=note)
    except WorkflowError as exc:
        return JSONResponse({"error": exc.code, "message": exc.message}, exc.status)
    c.inbox.events.publish(ReturnUpdated(rma_id=rma.id))
    # The shopper hears of it in every open widget of theirs, with the next step: the workflow's
    # observer does that for every change, wherever it is made (agent/chat/notices.py).
    return c.done(request, "/console/returns", rma=rma.to_dict())


async def photo(c: Console, request: Request, staff: StaffSession) -> Response:
    """A shopper's photo, full size or its thumbnail, for signed-in staff only (the re-encoded
    bytes: the original upload was never kept)."""
    evidence = c.state.services.evidence
    item = (
        await asyncio.to_thread(evidence.get, request.path_params["evidence_id"])
        if evidence
        else None
    )
    if evidence is None or item is None:
        return c.render("console_missing.jinja2", code=404, staff=staff, section="returns")
    thumbnail = request.path_params.get("size") == "thumb"
    data = await asyncio.to_thread(evidence.read, item, thumbnail=thumbnail)
    kind = (
        "image/png"
        if (item.thumb_name if thumbnail else item.file_name).endswith(".png")
        else "image/jpeg"
    )
    return image_response(data, kind)


def routes(c: Console) -> list[BaseRoute]:
    return [
        Route("/console/evidence/{evidence_id}", c.page(partial(photo, c)), methods=["GET"]),
        Route(
            "/console/evidence/{evidence_id}/{size:str}", c.page(partial(photo, c)), methods=["GET"]
        ),
        Route("/console/returns", c.page(partial(returns_page, c)), methods=["GET"]),
        Route(
            "/console/api/returns/{rma_id}/{op}", c.action(partial(return_op, c)), methods=["POST"]
        ),
    ]


__all__ = ["review_reasons", "routes"]
