"""Small row → record helpers."""

from __future__ import annotations

from actions.records import Customer
from actions.store.models import CustomerRow


def customer_record(row: CustomerRow) -> Customer:
    return Customer(email=row.email, name=row.name)
