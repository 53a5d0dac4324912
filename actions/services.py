"""Everything an action needs from the outside world, built once per process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from actions.carrier import Carrier, LocalCarrier
from actions.ledger import LedgerGateway, PaymentGateway
from actions.store.orders import OrderStore
from actions.webhooks import WebhookService
from actions.workflow import ReturnsWorkflow

if TYPE_CHECKING:
    from actions.policy import Policy


@dataclass
class ActionServices:
    store: OrderStore
    policy: Policy
    workflow: ReturnsWorkflow
    carrier: Carrier
    ledger: PaymentGateway
    webhooks: WebhookService
    data_dir: Path
    public_url: str
    clock: Callable[[], datetime]

    async def start(self) -> None:
        """Start the webhook sender (call from the server's lifespan)."""
        await self.webhooks.start()

    async def stop(self) -> None:
        await self.webhooks.stop()

    def close(self) -> None:
        self.store.close()


def build_services(
    *,
    data_dir: Path,
    database_url: str,
    policy_path: Path,
    public_url: str,
    clock: Callable[[], datetime],
    webhook_options: dict[str, Any] | None = None,
    migrate: bool = True,
) -> ActionServices:
    """Open (and migrate) the store and wire the workflow, carrier, ledger and webhooks to it."""
    from actions.policy import load_policy  # the engine's module; imported late on purpose

    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    policy = load_policy(policy_path)
    store = OrderStore(database_url)
    if migrate:
        store.migrate()
    webhooks = WebhookService(store, clock=clock, **(webhook_options or {}))
    ledger = LedgerGateway(store, clock)
    workflow = ReturnsWorkflow(
        store, clock=clock, payments=ledger, webhooks=webhooks, policy=policy
    )
    carrier = LocalCarrier(data_dir, public_url, clock=clock, store=store)
    return ActionServices(
        store=store, policy=policy, workflow=workflow, carrier=carrier, ledger=ledger,
        webhooks=webhooks, data_dir=data_dir, public_url=public_url, clock=clock,
    )  # fmt: skip
