"""An action's result as staff read it in a conversation: a few lines in words, not the JSON.

The JSON stays one click away (a <details> toggle in the template); this is the line above it.
"""

from __future__ import annotations

from collections.abc import Mapping

from actions import wording

_IDS = (("order_id", "Order"), ("rma_id", "Return"), ("tracking_number", "Tracking"))
MAX_LINES = 5


def status_words(code: str) -> str:
    """A status from either world: a return's status or a carrier's event."""
    if code in wording.RETURN_STATUSES:
        return wording.return_status(code)
    return wording.carrier_event(code)


def action_summary(result: object) -> list[str]:
    """Readable lines for an action's result; an empty list when there is nothing to say."""
    if not isinstance(result, Mapping):
        return [str(result)[:300]] if result not in (None, "") else []
    error = result.get("error")
    if isinstance(result.get("result"), Mapping):  # the executor's envelope: {"ok", "result"}
        result = result["result"]
    lines: list[str] = []
    if isinstance(error, Mapping):
        error = error.get("message") or error.get("code")
    if isinstance(error, str) and error:
        lines.append(f"Failed: {error}")
    ids = [f"{label} {result[key]}" for key, label in _IDS if result.get(key)]
    if ids:
        lines.append(" · ".join(ids))
    facts = []
    if isinstance(result.get("status"), str):
        facts.append(f"status: {status_words(result['status'])}")
    if isinstance(result.get("reason"), str):
        facts.append(f"reason: {wording.return_reason(result['reason'])}")
    if result.get("refund_total") is not None:
        facts.append(f"refund: ${result['refund_total']}")
    if facts:
        lines.append(" · ".join(facts))
    if isinstance(result.get("message"), str):
        lines.append(result["message"][:300])
    return lines[:MAX_LINES]
