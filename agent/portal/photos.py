"""The portal's seam to photo evidence: which reasons need photos, and where the photos go.

The image module (actions/evidence, built beside this) decodes, re-encodes and stores each photo;
the portal only hands it the uploaded bytes and keeps the ids it answers with in the draft, then
attaches them to the RMA once it exists. Until a store is plugged in (`Portal.photos`), a reason the
policy requires photos for is refused in words rather than accepted without them.
"""

from __future__ import annotations

from typing import Protocol

from actions.policy import Policy

MAX_PHOTOS = 5


class PhotoRefused(Exception):
    """A file that is not a photo we take (wrong type, too large, corrupt): the words say why."""


class PhotoIntake(Protocol):
    async def accept(self, data: bytes, filename: str, content_type: str) -> str:
        """Store one photo (re-encoded, metadata stripped); its id. Raises PhotoRefused."""
        ...

    async def attach(self, rma_id: str, photo_ids: list[str]) -> None:
        """Link stored photos to the return they are evidence for."""
        ...


def photos_required(policy: Policy, reason: str) -> bool:
    """Whether the policy wants photos for this reason (`evidence_required_reasons`)."""
    wanted = getattr(policy.returns, "evidence_required_reasons", None) or ()
    return reason in {str(r) for r in wanted}


__all__ = ["MAX_PHOTOS", "PhotoIntake", "PhotoRefused", "photos_required"]
