"""The action services for a settings object: the one place their constructor arguments are
read off the settings (the server and the CLI's `actions` / `orders` commands both use it)."""

from __future__ import annotations

from actions.services import ActionServices, build_services
from agent.app.settings import Settings


def open_services(settings: Settings) -> ActionServices:
    """Open (and migrate) the order store and wire the workflow, carrier, ledger and webhooks."""
    return build_services(
        data_dir=settings.data,
        database_url=settings.resolved_database_url,
        policy_path=settings.policy,
        public_url=settings.resolved_public_url,
        clock=settings.clock,
        returns_address=settings.returns_address_lines,
        webhook_options=settings.webhook_options,
    )


__all__ = ["open_services"]
