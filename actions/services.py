"""Everything an action needs from the outside world, built once per process."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from actions.carrier import DEFAULT_RETURNS_ADDRESS, Carrier, LocalCarrier
from actions.email import EmailConfig, EmailOutbox
from actions.email.labels import ReturnLabels
from actions.email.transport import EmlFileTransport, SmtpTransport, Transport
from actions.evidence.store import EvidenceStore
from actions.ledger import LedgerGateway, PaymentGateway
from actions.store.orders import OrderStore
from actions.webhooks import WebhookService
from actions.workflow import ReturnsWorkflow

if TYPE_CHECKING:
    from actions.policy import Policy
    from actions.verification import IdentityGate


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
    # What a guest's lookup must also pass (throttles, email codes); the chat server sets it.
    identity_gate: IdentityGate | None = None
    email: EmailOutbox | None = None
    evidence: EvidenceStore | None = None  # shoppers' photos (actions/evidence)

    async def start(self) -> None:
        """Start the webhook and email senders (call from the server's lifespan)."""
        await self.webhooks.start()
        if self.email is not None:
            await self.email.start()

    async def stop(self) -> None:
        if self.email is not None:
            await self.email.stop()
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
    email: EmailConfig | None = None,
    migrate: bool = True,
    returns_address: Sequence[str] = DEFAULT_RETURNS_ADDRESS,
    evidence_dir: Path | None = None,
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
    carrier = LocalCarrier(
        data_dir, public_url, clock=clock, store=store, returns_address=tuple(returns_address)
    )
    config = email or EmailConfig(public_url=public_url)
    outbox = EmailOutbox(store, config, transport=email_transport(config, data_dir), clock=clock,
                         labels=ReturnLabels(workflow, carrier, store))  # fmt: skip
    workflow.email = outbox
    outbox.method_of = workflow.method_in
    return ActionServices(
        store=store, policy=policy, workflow=workflow, carrier=carrier, ledger=ledger,
        webhooks=webhooks, data_dir=data_dir, public_url=public_url, clock=clock, email=outbox,
        evidence=EvidenceStore(store, evidence_dir or data_dir / "evidence", clock),
    )  # fmt: skip


def email_transport(config: EmailConfig, data_dir: Path) -> Transport:
    """SMTP when configured, else the embedded default: .eml files in <data>/outbox."""
    if config.smtp is not None:
        return SmtpTransport(config.smtp, envelope_from=config.mail_from)
    return EmlFileTransport(config.outbox_dir or Path(data_dir) / "outbox")
