"""How a returned item goes back to the store, from the policy file: a pure rule, and its words.

    parcel_label        the default: a prepaid parcel label the shopper prints and drops off
    freight_collection  too big for a parcel: the team books a pick-up from the shopper's door
    store_collection    the store arranges (and pays for) the return itself, e.g. damaged originals
    keep_it             nothing comes back (a broken mug, a misspelt engraving): the shopper keeps it

Which one applies, first match wins: the category's rule for this reason; for a final-sale piece
accepted for a fault (a misspelt engraving), `final_sale_fault_method` — it cannot be resold, so
it is rarely worth sending back; the category's method; the reason's method; the store's `method`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from actions.policy import Policy
    from actions.records import OrderLine
    from actions.store.rma import ReturnAuthorization


class ReturnMethod(StrEnum):
    PARCEL_LABEL = "parcel_label"
    FREIGHT_COLLECTION = "freight_collection"
    STORE_COLLECTION = "store_collection"
    KEEP_IT = "keep_it"


M = ReturnMethod
# Methods under which the item travels back, and those the store (not the shopper) arranges.
TRAVELS = frozenset({M.PARCEL_LABEL, M.FREIGHT_COLLECTION, M.STORE_COLLECTION})
COLLECTED = frozenset({M.FREIGHT_COLLECTION, M.STORE_COLLECTION})


def choose_method(
    *,
    category_reasons: Mapping[str, ReturnMethod],
    category_method: ReturnMethod | None,
    reason_method: ReturnMethod | None,
    reason: str,
    fault: bool,
    final_sale: bool,
    final_sale_fault_method: ReturnMethod,
    default: ReturnMethod,
) -> ReturnMethod:
    """The method for one line; the arguments are the policy's rules that bear on it."""
    if reason in category_reasons:
        return category_reasons[reason]
    if fault and final_sale:
        return final_sale_fault_method
    if category_method is not None:
        return category_method
    if reason_method is not None:
        return reason_method
    return default


def stored_method(computed: str | None, shipping_required: bool) -> ReturnMethod:
    """A line's method as recorded: nothing to send back is always keep_it, whatever the policy
    says today; an item that travels never reads as kept (the policy changed since)."""
    if not shipping_required:
        return M.KEEP_IT
    method = ReturnMethod(computed) if computed in set(ReturnMethod) else M.PARCEL_LABEL
    return M.PARCEL_LABEL if method is M.KEEP_IT else method


def main_method(methods: Iterable[ReturnMethod]) -> ReturnMethod:
    """One return's method for the shopper: a collection when anything is collected, a label when
    anything goes by parcel, else keep it."""
    found = set(methods)
    for method in (M.FREIGHT_COLLECTION, M.STORE_COLLECTION, M.PARCEL_LABEL):
        if method in found:
            return method
    return M.KEEP_IT


def return_method_of(
    rma: ReturnAuthorization, line_of: Callable[[str], OrderLine | None], policy: Policy
) -> ReturnMethod:
    """How this return goes back: each line's method under the policy (`line_of` finds the
    order's line by SKU), as recorded on the line, then the one the shopper is told."""
    from actions.policy import line_method  # the policy engine imports this module

    methods = []
    for line in rma.lines:
        item = line_of(line.sku)
        computed = line_method(item, rma.reason, policy.returns) if item else None
        methods.append(stored_method(computed, line.return_shipping_required))
    return main_method(methods)


# Words ------------------------------------------------------------------------------------------
# Appended to "The X can be returned until … for a refund of $…".
ELIGIBLE_CLAUSE: dict[ReturnMethod, str] = {
    M.PARCEL_LABEL: "",
    M.FREIGHT_COLLECTION: ", and we'll arrange a freight collection from your door",
    M.STORE_COLLECTION: ", and we will arrange the return at our cost",
    M.KEEP_IT: ", and you can keep or recycle it",
}

# What happens once the return is approved, for the shopper.
APPROVED_NEXT: dict[ReturnMethod, str] = {
    M.PARCEL_LABEL: "The next step is your prepaid return label: I can create it for you here.",
    M.FREIGHT_COLLECTION: (
        "It doesn't go back by parcel: our team will contact you to arrange a freight collection "
        "(a pick-up from your door at a time that suits you), so there's no label to print. "
        "Please keep it wrapped in its original packaging."
    ),
    M.STORE_COLLECTION: (
        "We will arrange the return at our cost: our team will contact you to collect it, so "
        "there's no label to print or postage to pay."
    ),
    M.KEEP_IT: "There's nothing to send back: please keep or recycle it.",
}


def no_label_message(method: ReturnMethod, rma_id: str) -> str:
    """generate_label's refusal for a return that gets no parcel label, in that method's words."""
    if method is M.FREIGHT_COLLECTION:
        return (
            f"Return {rma_id} doesn't go back by parcel, so there's no label to print: our team "
            "will contact you to arrange a freight collection from your door."
        )
    if method is M.STORE_COLLECTION:
        return (
            f"Return {rma_id} needs no label from you: we will arrange the return at our cost "
            "and contact you to collect it."
        )
    return (
        f"You don't need to send anything back for return {rma_id}, so there's no label to "
        "make: please keep or recycle the item."
    )


__all__ = [
    "APPROVED_NEXT",
    "COLLECTED",
    "ELIGIBLE_CLAUSE",
    "TRAVELS",
    "ReturnMethod",
    "choose_method",
    "main_method",
    "no_label_message",
    "stored_method",
]
