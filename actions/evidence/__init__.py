"""Photo evidence (issue 17): `accept_image` cleans an upload, `EvidenceStore` keeps the result."""

from __future__ import annotations

from actions.evidence.images import (
    ACCEPTED_WORDS,
    MAX_BYTES,
    CleanImage,
    ImageRefused,
    accept_image,
)
from actions.evidence.store import MAX_PER_RETURN, Evidence, EvidenceStore

__all__ = [
    "ACCEPTED_WORDS",
    "MAX_BYTES",
    "MAX_PER_RETURN",
    "CleanImage",
    "Evidence",
    "EvidenceStore",
    "ImageRefused",
    "accept_image",
]
