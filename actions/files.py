"""Where the product keeps the files it makes (return labels, stored .eml messages, carrier
events, and photo evidence next): somewhere every replica can serve them.

- `DirectoryFiles`: `<root>/<kind>/<name>`. The root is the data directory by default (one
  machine, as before), or `SHOPDESK_FILES_DIR`, a directory every replica mounts.
- `DatabaseFiles`: a blob table in the order store (migration 0005), for replicas that share only
  the database.

Names are ours (random tokens, ids); a name is accepted only when it is one plain file name, and a
directory read goes through `safe_path` (a planted symlink once served /etc/passwd).
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

import sqlalchemy as sa

from actions.paths import UnsafePath, read_bytes_nofollow, safe_path
from actions.store.models import FileRow

if TYPE_CHECKING:
    from actions.store.orders import OrderStore

# A folder of the store: "labels", "outbox" (.eml), "carrier" (tracking events), "evidence".
FileKind = str
NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,199}$")  # never a dot file (our temporaries)
MAX_FILE_BYTES = 20 * 1024 * 1024  # a label is ~30 kB, a photo a few MB


def _checked(name: str, data: bytes | None = None) -> None:
    if not NAME.match(name) or ".." in name:
        raise ValueError(f"{name[:80]!r} is not a stored file's name")
    if data is not None and len(data) > MAX_FILE_BYTES:
        raise ValueError(f"{name} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")


class FileStore(Protocol):
    where: str  # in words, for the operator: "the directory /srv/shopdesk-files", "the database"

    def put(self, kind: FileKind, name: str, data: bytes) -> None: ...

    def get(self, kind: FileKind, name: str) -> bytes | None: ...

    def path(self, kind: FileKind, name: str) -> Path | None:
        """The file on disk, when there is one (a directory store); None otherwise."""
        ...


class DirectoryFiles:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.where = f"the directory {self.root}"

    def put(self, kind: FileKind, name: str, data: bytes) -> None:
        _checked(name, data)
        folder = self.root / kind
        folder.mkdir(parents=True, exist_ok=True)
        target = safe_path(folder, name)
        tmp = folder / f".{name}.{secrets.token_hex(4)}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, target)  # a reader on any replica never sees half a file

    def path(self, kind: FileKind, name: str) -> Path | None:
        try:
            _checked(name)
            found = safe_path(self.root / kind, name)
        except (ValueError, UnsafePath):
            return None
        return found if found.is_file() else None

    def get(self, kind: FileKind, name: str) -> bytes | None:
        found = self.path(kind, name)
        if found is None:
            return None
        try:
            return read_bytes_nofollow(found)
        except OSError:
            return None


class DatabaseFiles:
    def __init__(self, store: OrderStore, clock: Callable[[], datetime]) -> None:
        self.store, self.clock = store, clock
        self.where = "the database"

    def put(self, kind: FileKind, name: str, data: bytes) -> None:
        _checked(name, data)
        with self.store.writing() as s:
            row = s.get(FileRow, (kind, name))
            if row is None:
                s.add(FileRow(kind=kind, name=name, content=data, size=len(data),
                              created_at=self.clock()))  # fmt: skip
            else:
                row.content, row.size = data, len(data)

    def get(self, kind: FileKind, name: str) -> bytes | None:
        try:
            _checked(name)
        except ValueError:
            return None
        with self.store.reading() as s:
            return s.scalar(
                sa.select(FileRow.content).where(FileRow.kind == kind, FileRow.name == name)
            )

    def path(self, kind: FileKind, name: str) -> Path | None:
        return None


def open_files(
    mode: Literal["directory", "database"],
    *,
    data_dir: Path,
    files_dir: Path | None,
    store: OrderStore,
    clock: Callable[[], datetime],
) -> FileStore:
    """The configured store: the database's blob table, or a directory (`files_dir`, else the
    data directory, where labels and .eml files have always been)."""
    if mode == "database":
        return DatabaseFiles(store, clock)
    return DirectoryFiles(files_dir if files_dir is not None else data_dir)


__all__ = ["DatabaseFiles", "DirectoryFiles", "FileKind", "FileRow", "FileStore", "open_files"]
