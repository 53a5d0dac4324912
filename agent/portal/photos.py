"""The portal's seam to photo evidence: which reasons need photos, and where the photos go.

The image module (actions/evidence, built beside this) decodes, re-encodes and stores each photo;
the portal only hands it the uploaded bytes and keeps the ids it answers with in the draft, then
attaches them to the RMA once it exists. Until a store is plugged in (`Portal.photos`), a reason the
policy requires photos for is refused in words rather than accepted without them.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from actions.evidence import MAX_PER_RETURN, EvidenceStore, ImageRefused, accept_image
from actions.policy import BUYER_REASONS, Policy, ReturnReason

MAX_PHOTOS = MAX_PER_RETURN


class PhotoRefused(Exception):
    """A file that is not a photo we take (wrong type, too large, corrupt): the words say why."""


class PhotoIntake(Protocol):
    async def accept(self, owner: str, data: bytes, content_type: str) -> str:
        """Store one photo for `owner` (the portal visit's conversation); its id. Raises
        PhotoRefused."""
        ...

    async def attach(self, owner: str, rma_id: str) -> None:
        """Put the owner's waiting photos on the return they are evidence for."""
        ...


class EvidencePhotos:
    """The image module behind the portal: the same cleaning and storage as the chat's uploads."""

    def __init__(self, evidence: EvidenceStore) -> None:
        self.evidence = evidence

    async def accept(self, owner: str, data: bytes, content_type: str) -> str:
        try:
            image = await asyncio.to_thread(accept_image, data, content_type)
            saved = await asyncio.to_thread(self.evidence.save, owner, image)
        except ImageRefused as exc:
            raise PhotoRefused(exc.message) from None
        return saved.id

    async def attach(self, owner: str, rma_id: str) -> None:
        await asyncio.to_thread(self.evidence.attach, owner, rma_id)


def photos_required(policy: Policy, reason: str) -> bool:
    """Whether the policy wants photos for this reason (`evidence_required_reasons`)."""
    return reason in {str(r) for r in policy.returns.evidence_required_reasons}


def photos_offered(policy: Policy, reason: str) -> bool:
    """Photos help with any fault (damaged, faulty, …), and are a must where the policy says."""
    return photos_required(policy, reason) or ReturnReason(reason) not in BUYER_REASONS


__all__ = [
    "MAX_PHOTOS",
    "EvidencePhotos",
    "PhotoIntake",
    "PhotoRefused",
    "photos_offered",
    "photos_required",
]
