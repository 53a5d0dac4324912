"""`EvidenceStore`: the cleaned photos on disk (random names under one folder, checked by
`safe_path`) and their rows in the order store. Only bytes that `accept_image` wrote are ever
read back; the original upload is never written anywhere."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from actions.evidence.images import CleanImage, ImageRefused
from actions.paths import read_bytes_nofollow, safe_path
from actions.store.models import EvidenceRow
from actions.store.orders import OrderStore

MAX_PER_RETURN = 5  # photos waiting for one return (not yet on an RMA)
MAX_PER_CONVERSATION = 20  # all photos of one conversation: bounds the disk a chat can fill


@dataclass(frozen=True)
class Evidence:
    id: str
    conversation_id: str
    rma_id: str | None
    file_name: str
    thumb_name: str
    content_type: str
    source_kind: str
    size: int
    thumb_size: int
    width: int
    height: int
    created_at: datetime


def _record(row: EvidenceRow) -> Evidence:
    return Evidence(
        id=row.id, conversation_id=row.conversation_id, rma_id=row.rma_id,
        file_name=row.file_name, thumb_name=row.thumb_name, content_type=row.content_type,
        source_kind=row.source_kind, size=row.size, thumb_size=row.thumb_size,
        width=row.width, height=row.height, created_at=row.created_at,
    )  # fmt: skip


def _write_new(path: Path, data: bytes) -> None:
    # O_EXCL: a random name that already exists (or a planted link) is never overwritten.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o640)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


class EvidenceStore:
    def __init__(self, store: OrderStore, root: Path, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.root = Path(root)
        self.clock = clock

    # Writing ---------------------------------------------------------------------------------
    def check_room(self, conversation_id: str) -> None:
        """Refuse (in words) when this conversation cannot take another photo."""
        waiting, total = self.counts(conversation_id)
        if waiting >= MAX_PER_RETURN:
            raise ImageRefused(
                "too_many",
                f"You've already attached {MAX_PER_RETURN} photos, the most one return can "
                "carry; that's plenty for our team to go on.",
            )
        if total >= MAX_PER_CONVERSATION:
            raise ImageRefused(
                "too_many",
                f"This conversation already has {MAX_PER_CONVERSATION} photos, the most it can "
                "hold; please start a new chat for another return.",
            )

    def save(self, conversation_id: str, image: CleanImage) -> Evidence:
        """Store a cleaned image and its thumbnail; on any failure nothing is left behind."""
        self.check_room(conversation_id)
        self.root.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(18)
        file_name = f"{secrets.token_urlsafe(24)}{image.extension}"
        thumb_ext = ".png" if image.thumbnail_type == "image/png" else ".jpg"
        thumb_name = f"{secrets.token_urlsafe(24)}{thumb_ext}"
        written: list[Path] = []
        try:
            for name, data in ((file_name, image.data), (thumb_name, image.thumbnail)):
                path = safe_path(self.root, name)
                _write_new(path, data)
                written.append(path)
            row = EvidenceRow(
                id=f"ev_{key}", conversation_id=conversation_id, rma_id=None,
                file_name=file_name, thumb_name=thumb_name, content_type=image.content_type,
                source_kind=image.source_kind, size=len(image.data),
                thumb_size=len(image.thumbnail), width=image.width, height=image.height,
                created_at=self.clock(),
            )  # fmt: skip
            with self.store.writing() as s:
                s.add(row)
                s.flush()
                return _record(row)
        except BaseException:
            for path in written:
                with contextlib.suppress(OSError):
                    path.unlink()
            raise

    def attach(self, conversation_id: str, rma_id: str) -> int:
        """Put this conversation's waiting photos on the return; how many were attached."""
        with self.store.writing() as s:
            result = s.execute(
                sa.update(EvidenceRow)
                .where(EvidenceRow.conversation_id == conversation_id)
                .where(EvidenceRow.rma_id.is_(None))
                .values(rma_id=rma_id)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    # Reading ---------------------------------------------------------------------------------
    def counts(self, conversation_id: str) -> tuple[int, int]:
        """(photos waiting for a return, all photos) of a conversation."""
        with self.store.reading() as s:
            rows = s.execute(
                sa.select(EvidenceRow.rma_id).where(EvidenceRow.conversation_id == conversation_id)
            ).all()
        return sum(1 for (rma,) in rows if rma is None), len(rows)

    def waiting(self, conversation_id: str) -> list[Evidence]:
        return self._list(
            (EvidenceRow.conversation_id == conversation_id) & EvidenceRow.rma_id.is_(None)
        )

    def for_conversation(self, conversation_id: str) -> list[Evidence]:
        return self._list(EvidenceRow.conversation_id == conversation_id)

    def for_rma(self, rma_id: str) -> list[Evidence]:
        return self._list(EvidenceRow.rma_id == rma_id)

    def for_rmas(self, rma_ids: list[str]) -> dict[str, list[Evidence]]:
        out: dict[str, list[Evidence]] = {rma: [] for rma in rma_ids}
        if rma_ids:
            for item in self._list(EvidenceRow.rma_id.in_(rma_ids)):
                out.setdefault(item.rma_id or "", []).append(item)
        return out

    def get(self, evidence_id: str) -> Evidence | None:
        with self.store.reading() as s:
            row = s.get(EvidenceRow, evidence_id)
            return _record(row) if row is not None else None

    def _list(self, where: sa.ColumnElement[bool]) -> list[Evidence]:
        with self.store.reading() as s:
            rows = s.scalars(
                sa.select(EvidenceRow).where(where).order_by(EvidenceRow.created_at, EvidenceRow.id)
            ).all()
            return [_record(row) for row in rows]

    def read(self, item: Evidence, *, thumbnail: bool) -> bytes:
        """The stored (re-encoded) bytes of a photo or its thumbnail."""
        name = item.thumb_name if thumbnail else item.file_name
        return read_bytes_nofollow(safe_path(self.root, name))

    def thumbnail_for(
        self, conversation_id: str, evidence_id: str
    ) -> tuple[Evidence, bytes] | None:
        """A thumbnail for the shopper: only when the photo belongs to their conversation."""
        item = self.get(evidence_id)
        if item is None or not secrets.compare_digest(item.conversation_id, conversation_id):
            return None
        return item, self.read(item, thumbnail=True)


__all__ = ["MAX_PER_CONVERSATION", "MAX_PER_RETURN", "Evidence", "EvidenceStore"]
