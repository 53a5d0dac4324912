"""Carrier interface and the built-in local carrier: real 4×6 inch PDF labels with a Code128 barcode.

The local carrier keeps `labels/<random>.pdf` in the configured file store (actions/files.py: the
data directory by default, a shared directory or the database for replicas; an unguessable name:
the URL is the only credential a shopper needs) and serves it at `{public_url}/labels/<name>.pdf`; the download is
named `return-label-<RMA>.pdf` (`label_filename`). The label goes from the order's shipping address
to the store's returns address (`SHOPDESK_RETURNS_ADDRESS`).
"""

from __future__ import annotations

import json
import re
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from actions.files import DirectoryFiles, FileStore
from actions.records import Order, TrackingEvent

if TYPE_CHECKING:
    from actions.store.orders import OrderStore
    from actions.store.rma import ReturnAuthorization

LABEL_NAME = re.compile(r"^[A-Za-z0-9_-]{16,64}\.pdf$")
# The demo store's; a real store sets SHOPDESK_RETURNS_ADDRESS (agent/app/settings.py).
DEFAULT_RETURNS_ADDRESS = (
    "Willow & Kiln Returns",
    "118 Foundry Lane, Unit 4",
    "Hudson, NY 12534",
    "United States",
)


def label_filename(rma_id: str) -> str:
    """What a downloaded (or emailed) label is called: the shopper's RMA, not the random token."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "", rma_id) or "return"
    return f"return-label-{safe}.pdf"


@dataclass(frozen=True)
class Label:
    tracking_number: str
    path: Path  # the file, or (a store with no files on disk) just its name
    url: str
    carrier: str = "local"
    events: tuple[TrackingEvent, ...] = ()


class Carrier(Protocol):
    name: str

    def create_label(self, rma: ReturnAuthorization, order: Order) -> Label: ...

    def tracking(self, tracking_number: str) -> list[TrackingEvent]: ...

    def label_path(self, name: str) -> Path | None:
        """The label file on this machine, or None (labels in the database, or a carrier that
        hosts its labels itself)."""
        ...

    def label_bytes(self, name: str) -> bytes | None:
        """The PDF `/labels/<name>` serves, from wherever the labels are kept, or None."""
        ...


class LocalCarrier:
    """A carrier that lives on this machine: labels on disk, events in a JSON file per parcel."""

    name = "local"

    def __init__(
        self,
        data_dir: Path,
        public_url: str,
        *,
        clock: Callable[[], datetime],
        store: OrderStore | None = None,
        returns_address: tuple[str, ...] = DEFAULT_RETURNS_ADDRESS,
        files: FileStore | None = None,
    ) -> None:
        self.files: FileStore = files if files is not None else DirectoryFiles(Path(data_dir))
        self.public_url = public_url.rstrip("/")
        self.clock = clock
        self.store = store
        self.returns_address = returns_address

    def label_path(self, name: str) -> Path | None:
        """The file for a served name, or None (rejects anything but our own random names)."""
        if not LABEL_NAME.match(name):
            return None
        return self.files.path("labels", name)

    def label_bytes(self, name: str) -> bytes | None:
        if not LABEL_NAME.match(name):
            return None
        return self.files.get("labels", name)

    def create_label(self, rma: ReturnAuthorization, order: Order) -> Label:
        from actions.labelpdf import draw_label

        tracking = "WKR" + "".join(secrets.choice("0123456789") for _ in range(12))
        name = secrets.token_urlsafe(18) + ".pdf"
        names = {item.sku: item.name for item in order.items}
        address = order.shipping_address
        scratch = tempfile.TemporaryDirectory(prefix="shopdesk-label-")
        tmp = Path(scratch.name) / name
        draw_label(
            tmp,
            tracking_number=tracking,
            rma_id=rma.id,
            order_id=order.id,
            ship_from=address.lines() if address else None,
            sender_name=order.customer.name,
            ship_to=self.returns_address,
            items=[(names.get(ln.sku, ln.sku), ln.quantity) for ln in rma.lines
                   if ln.return_shipping_required],
            created=self.clock(),
        )  # fmt: skip
        with scratch:
            # The store writes it whole: no replica serves a half-written PDF.
            self.files.put("labels", name, tmp.read_bytes())
        path = self.files.path("labels", name) or Path(name)
        event = TrackingEvent(
            at=self.clock(), status="label_created", location=self.returns_address[0]
        )
        self._write_events(tracking, [event])
        return Label(tracking_number=tracking, path=path, url=f"{self.public_url}/labels/{name}",
                     carrier=self.name, events=(event,))  # fmt: skip

    def tracking(self, tracking_number: str) -> list[TrackingEvent]:
        """Events for a return parcel: the store's (label, received scan) or this carrier's file."""
        if self.store is not None:
            found = self.store.find_shipment(tracking_number)
            if found is not None:
                return list(found[1].events)
        number = tracking_number.strip().upper()
        if not re.fullmatch(r"[A-Z0-9]{1,40}", number):
            return []
        stored = self.files.get("carrier", f"{number}.json")
        if stored is None:
            return []
        raw = json.loads(stored)
        return [
            TrackingEvent(
                at=datetime.fromisoformat(e["at"]), status=e["status"], location=e["location"]
            )
            for e in raw
        ]

    def _write_events(self, tracking_number: str, events: list[TrackingEvent]) -> None:
        payload = [
            {"at": e.at.isoformat(), "status": e.status, "location": e.location} for e in events
        ]
        self.files.put("carrier", f"{tracking_number}.json", json.dumps(payload).encode())
