"""The policy's evidence rule for a return: photos first, for the reasons the store names."""

from __future__ import annotations

from actions.builtin._common import blocking
from actions.context import ActionContext, ActionError
from actions.evidence import MAX_PER_RETURN
from actions.policy import ReturnReason

EVIDENCE_REQUIRED = "evidence_required"


def photo_count(count: int) -> str:
    return f"{count} photo{'' if count == 1 else 's'}"


def photos_sentence(count: int) -> str:
    """What a new return's message adds about the photos it carries ("" for none)."""
    return f" Your {photo_count(count)} went with it." if count else ""


def evidence_required(ctx: ActionContext, reason: ReturnReason) -> bool:
    return reason in ctx.services.policy.returns.evidence_required_reasons


async def photos_waiting(ctx: ActionContext) -> int:
    """Photos this conversation has attached that no return carries yet."""
    evidence = ctx.services.evidence
    if evidence is None or ctx.conversation_id is None:
        return 0
    waiting, _total = await blocking(evidence.counts, ctx.conversation_id)
    return waiting


async def require_photos(ctx: ActionContext, reason: ReturnReason) -> int:
    """The number of photos waiting; refuses in words ("add photos") when the policy needs some
    for this reason and there are none."""
    waiting = await photos_waiting(ctx)
    if evidence_required(ctx, reason) and waiting == 0:
        words = reason.value.replace("_", " ")
        raise ActionError(
            EVIDENCE_REQUIRED,
            f"For a {words} item we need photos before the return can start: please add photos "
            f"of the item and its packaging with the camera button (up to {MAX_PER_RETURN}), "
            "then tell me and I'll start the return.",
        )
    return waiting


async def attach_photos(ctx: ActionContext, rma_id: str) -> int:
    """Put the conversation's waiting photos on the return it just made."""
    evidence = ctx.services.evidence
    if evidence is None or ctx.conversation_id is None:
        return 0
    return await blocking(evidence.attach, ctx.conversation_id, rma_id)
