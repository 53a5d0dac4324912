"""The action services for a settings object: the one place their constructor arguments are
read off the settings (the server and the CLI's `actions` / `orders` commands both use it)."""

from __future__ import annotations

from actions.email import EmailConfig, parse_smtp_url
from actions.services import ActionServices, build_services
from agent.app.settings import Settings


def email_config(settings: Settings) -> EmailConfig:
    smtp = settings.smtp_url.get_secret_value() if settings.smtp_url else None
    return EmailConfig(
        mail_from=settings.mail_from,
        store_name=settings.store_name,
        fulfilment_email=settings.fulfilment_email,
        smtp=parse_smtp_url(smtp) if smtp else None,
        public_url=settings.resolved_public_url,
        base_delay=settings.email_retry_base_seconds,
        max_delay=settings.email_retry_max_seconds,
        max_attempts=settings.email_max_attempts,
    )


def open_services(settings: Settings) -> ActionServices:
    """Open (and migrate) the order store and wire the workflow, carrier, ledger, webhooks and
    email."""
    return build_services(
        data_dir=settings.data,
        database_url=settings.resolved_database_url,
        policy_path=settings.policy,
        public_url=settings.resolved_public_url,
        clock=settings.clock,
        returns_address=settings.returns_address_lines,
        webhook_options=settings.webhook_options,
        email=email_config(settings),
        files_store=settings.files_store,
        files_dir=settings.files_dir,
        evidence_dir=settings.evidence_dir,
    )


__all__ = ["open_services"]
