"""Wiring the store's verification mode: the gate `lookup_order` consults, and the email codes."""

from __future__ import annotations

from agent.app.settings import Settings
from agent.chat.email_code import EmailCodes
from agent.chat.limits import Throttle
from agent.chat.verification import (
    LoggingCodeSender,
    StaffNotice,
    VerificationCodeSender,
    VerificationGate,
)
from agent.store.conversations import ConversationStore
from agent.store.verification_codes import CodeStore


def identity_gate(
    settings: Settings,
    throttle: Throttle,
    conversations: ConversationStore,
    staff: StaffNotice | None,
    sender: VerificationCodeSender | None = None,
) -> tuple[VerificationGate, EmailCodes | None]:
    """The gate for `lookup_order`, and (in email_code mode) what reads the codes shoppers type.

    `sender` is how codes reach the shopper: the email notifier when there is one; the embedded
    default only logs that a code went out."""
    gate = VerificationGate(settings, throttle, conversations, staff=staff)
    if settings.verification != "email_code":
        return gate, None
    codes = EmailCodes(
        gate, CodeStore(conversations, settings.secret), sender or LoggingCodeSender()
    )
    gate.codes = codes
    return gate, codes


__all__ = ["identity_gate"]
