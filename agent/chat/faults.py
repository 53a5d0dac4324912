"""The errors a fault gives the shopper: each claims only what is true."""

from __future__ import annotations

from agent.chat.events import ErrorEvent

# Nothing is known to be stored (the failure may have come before the message was).
INTERNAL_ERROR = ErrorEvent(
    code="internal_error",
    message="Sorry, something went wrong on our side; please try again.",
)
# The shopper's message was stored before the failure.
SAVED_INTERNAL_ERROR = ErrorEvent(
    code="internal_error",
    message="Sorry, something went wrong on our side. Your message is saved; please try again.",
)
ANSWER_NOT_SAVED = ErrorEvent(
    code="answer_not_saved",
    message="Sorry, we couldn't save your answer, so nothing was done. The question is still "
    "open: please answer it again.",
)


class AnswerNotSaved(Exception):
    """The shopper's answer to a confirmation could not be stored: the waiting turn ends, and the
    stored question stays pending, so the same card can be answered again."""


__all__ = ["ANSWER_NOT_SAVED", "INTERNAL_ERROR", "SAVED_INTERNAL_ERROR", "AnswerNotSaved"]
