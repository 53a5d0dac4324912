"""The approval email's label: made through the carrier (the same code as `generate_label`) when
the email is sent, attached as `return-label-<RMA>.pdf` and linked."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from actions.carrier import Carrier
from actions.email.transport import Withdrawn
from actions.return_methods import ReturnMethod
from actions.return_status import ReturnStatus
from actions.store.orders import OrderStore
from actions.workflow import ReturnsWorkflow, WorkflowError


@dataclass(frozen=True)
class LabelFile:
    url: str
    tracking_number: str
    pdf: bytes | None  # None when the carrier hosts the file itself: the email links it


class ReturnLabels:
    def __init__(self, workflow: ReturnsWorkflow, carrier: Carrier, store: OrderStore) -> None:
        self.workflow, self.carrier, self.store = workflow, carrier, store

    def __call__(self, rma_id: str) -> LabelFile | None:
        """The return's label, made now if it is approved and has none; None when it needs no
        parcel label (or is no longer approved: the email then goes without one)."""
        rma = self.workflow.get(rma_id)
        if rma is not None and rma.status in (ReturnStatus.CANCELLED, ReturnStatus.REJECTED):
            raise Withdrawn(f"{rma.id} was {rma.status} before this email went out")
        if rma is None or not rma.return_shipping_required:
            return None
        if self.workflow.method_of(rma) not in (None, ReturnMethod.PARCEL_LABEL):
            return None  # collected or kept: no parcel label will be made for it
        if rma.label is None:
            if rma.status != ReturnStatus.APPROVED:
                return None
            order = self.store.find_order(rma.order_id)
            if order is None:
                return None
            label = self.carrier.create_label(rma, order)
            try:
                rma = self.workflow.attach_label(rma.id, label)  # a label made meanwhile wins
            except WorkflowError:
                # The return moved on while the carrier worked (the parcel is already back, say):
                # the email goes without a label rather than failing until it gives up.
                moved = self.workflow.get(rma.id)
                if moved is None:
                    return None
                rma = moved
        if rma.label is None:
            return None
        name = PurePosixPath(urlsplit(rma.label.url).path).name
        pdf = self.carrier.label_bytes(name)
        return LabelFile(url=rma.label.url, tracking_number=rma.label.tracking_number, pdf=pdf)


__all__ = ["LabelFile", "ReturnLabels", "Withdrawn"]
