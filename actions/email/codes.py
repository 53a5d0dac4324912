"""Verification codes by email: `VerificationCodeSender` (the identity side's seam) over the outbox.

The code is a secret: it is in the outbox only until it has been sent (the outbox then scrubs it),
never in the subject, and the console shows such a message's headers only.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING

from actions.email.events import EmailEvent

if TYPE_CHECKING:
    from actions.email.outbox import EmailOutbox

CODE = re.compile(r"\d{6}")
CODE_MINUTES = 10


class OutboxCodeSender:
    """`async def send_code(email, code, store_name)`: queue the code's email and wake the sender."""

    def __init__(self, outbox: EmailOutbox, *, valid_minutes: int = CODE_MINUTES) -> None:
        self.outbox = outbox
        self.valid_minutes = valid_minutes

    async def send_code(self, email: str, code: str, store_name: str) -> None:
        if not CODE.fullmatch(code):
            raise ValueError("a verification code is six digits")
        context = {"code": code, "store_name": store_name, "valid_minutes": self.valid_minutes}
        queued = await asyncio.to_thread(
            self.outbox.enqueue_now, EmailEvent.VERIFICATION_CODE, email, context
        )
        if queued is None:
            raise ValueError("that is not an email address we can send to")


__all__ = ["OutboxCodeSender"]
