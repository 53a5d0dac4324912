"""`shopdesk orders import`: validate the whole file first, then upsert every order in one transaction.

Re-importing the same file changes nothing (a content hash per order); an edited order replaces its
lines and outbound shipments (return shipments stay). The format lives in `actions.import_format`,
the writing in `OrderStore.import_data`; this module is the command's entry point.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from actions.import_format import ImportProblems, ImportReport, OrderIn, validate
from actions.store.orders import OrderStore


def import_file(store: OrderStore, path: Path) -> ImportReport:
    return store.import_file(path)


def import_data(store: OrderStore, data: Any) -> ImportReport:
    return store.import_data(data)


__all__ = ["ImportProblems", "ImportReport", "OrderIn", "import_data", "import_file", "validate"]
