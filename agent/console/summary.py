"""An action's result as staff read it in a conversation: a few lines in words, not the JSON.

The JSON stays one click away (a <details> toggle in the template); this is the line above it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from actions import wording

_IDS = (("order_id", "Order"), ("rma_id", "Return"), ("tracking_number", "Tracking"))
MAX_LINES = 5
JSON_CHARS = 6000  # the block scrolls; the cap only keeps one odd result from bloating the page


def status_words(code: str) -> str:
    """A status from either world: a return's status or a carrier's event."""
    if code in wording.RETURN_STATUSES:
        return wording.return_status(code)
    return wording.carrier_event(code)


def details_json(result: object) -> str:
    """The result behind the "Details (JSON)" toggle; a cut one says so rather than ending mid-value
    (staff would take a cut JSON for the whole result)."""
    text = json.dumps(result, indent=1, default=str, ensure_ascii=False)  # "×", not "\\u00d7"
    if len(text) <= JSON_CHARS:
        return text
    return f"{text[:JSON_CHARS]}\n… (the first {JSON_CHARS} of {len(text)} characters)"


def action_summary(result: object) -> list[str]:
    """Readable lines for an action's result; an empty list when there is nothing to say."""
    if not isinstance(result, Mapping):
        return [str(result)[:300]] if result not in (None, "") else []
    error = result.get("error")
    inner = result.get("result")
    body: Mapping[str, Any] = inner if isinstance(inner, Mapping) else result  # {"ok", "result"}
    lines: list[str] = []
    if isinstance(error, Mapping):
        error = error.get("message") or wording.in_words(str(error.get("code") or ""))
    if isinstance(error, str) and error:
        lines.append(f"Failed: {error}")
    ids = [f"{label} {body[key]}" for key, label in _IDS if body.get(key)]
    if ids:
        lines.append(" · ".join(ids))
    facts = _facts(body)
    if facts:
        lines.append(" · ".join(facts))
    message = str(body.get("message") or "")
    # A parcel the message already tells of (the tracking's own answer) is not said twice.
    lines.extend(_parcels(body.get("shipments"), told=message))
    if message:
        lines.append(message[:300])
    return lines[:MAX_LINES]


def _facts(body: Mapping[str, Any]) -> list[str]:
    facts = []
    if isinstance(body.get("status"), str):
        facts.append(f"status: {status_words(body['status'])}")
    if isinstance(body.get("reason"), str):
        facts.append(f"reason: {wording.return_reason(body['reason'])}")
    if body.get("refund_total") is not None:
        facts.append(f"refund: ${body['refund_total']}")
    return facts


def _parcels(shipments: object, told: str = "") -> list[str]:
    """A tracking result's parcels by their last scan: the order's own status says "delivered"
    while its return parcel is only a label, and staff need to tell the two apart."""
    if not isinstance(shipments, list):
        return []
    lines = []
    for parcel in shipments[:2]:
        if not isinstance(parcel, Mapping) or str(parcel.get("tracking_number")) in told:
            continue
        what = "Return parcel" if parcel.get("direction") == "return" else "Parcel"
        carrier = wording.carrier_name(str(parcel.get("carrier") or "carrier"))
        last = _last_scan(parcel)
        if last is None:
            lines.append(f"{what} {parcel.get('tracking_number')} ({carrier}): no scans yet")
            continue
        code = str(last.get("status") or "")
        where = wording.place(str(last.get("location") or ""), code)
        scan = f"{wording.carrier_event(code)}{where}"
        lines.append(f"{what} {parcel.get('tracking_number')} ({carrier}): {scan}")
    return lines


def _last_scan(parcel: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """A tracking result lists a parcel's scans; an order lookup keeps only the last one, flat."""
    events = parcel.get("events")
    if isinstance(events, list):
        last = events[-1] if events else None
        return last if isinstance(last, Mapping) else None
    return parcel if isinstance(parcel.get("status"), str) else None
