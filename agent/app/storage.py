"""Storage faults said in one line: the data directory is checked before anything opens it, and
the CLI turns a storage error anywhere into one clear line and a non-zero exit.

Found: an unwritable SQLite `-shm` file killed the server with SIGBUS (SQLite maps that file and
the first write to the mapping faults), and a read-only data directory gave a raw traceback.
Opening each file for writing up front finds both before SQLite does.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

# Folders whose files the server never writes in place: label PDFs and backups are written once
# and only read after, the ONNX model cache is optional. Skipping them keeps the check quick.
_WRITE_ONCE = {"labels", "backups", "models"}
_REASONS = {
    errno.EACCES: "permission denied (the server's user cannot write there)",
    errno.EPERM: "permission denied (the server's user cannot write there)",
    errno.EROFS: "the file system is read-only",
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
}


class StorageError(Exception):
    """A storage problem in words: what, where, and what to do."""


def reason(exc: OSError) -> str:
    return _REASONS.get(exc.errno or 0, exc.strerror or str(exc))


def check_data_dir(data: Path) -> None:
    """Raise StorageError unless `data` exists (or can be made), takes a new file, and every file
    the server writes in place (SQLite's database, -wal and -shm, Chroma's files) opens for
    writing."""
    where = Path(data)
    try:
        where.mkdir(parents=True, exist_ok=True)
        _probe_write(where)
    except OSError as exc:
        raise StorageError(
            f"the data directory {where} is not writable: {reason(exc)}; "
            "choose another with --data / SHOPDESK_DATA or fix its permissions"
        ) from None
    for path in _files_written_in_place(where):
        try:
            _open_for_writing(path)
        except OSError as exc:
            raise StorageError(
                f"{path} in the data directory is not writable: {reason(exc)}; "
                "fix its permissions (it must belong to the server's user)"
            ) from None


def _probe_write(folder: Path) -> None:
    """Create, write, sync and remove a file: what a read-only mount, a folder of another user or
    a full disk refuses."""
    fd, probe = tempfile.mkstemp(dir=folder, prefix=".shopdesk-write-check-")
    try:
        os.write(fd, b"ok")
        os.fsync(fd)
    finally:
        os.close(fd)
        Path(probe).unlink(missing_ok=True)


def _open_for_writing(path: Path) -> None:
    os.close(os.open(path, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0)))


def _files_written_in_place(root: Path) -> list[Path]:
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        if Path(folder) == root:
            dirs[:] = [d for d in dirs if d not in _WRITE_ONCE]
        found.extend(Path(folder) / name for name in files if not name.startswith(".shopdesk-"))
    return [path for path in found if not path.is_symlink()]


def storage_failure(exc: BaseException) -> str | None:
    """The one line for an exception that is a storage fault, or None when it is not one."""
    if isinstance(exc, StorageError):
        return str(exc)
    if isinstance(exc, OSError) and exc.errno in _REASONS:
        target = f" ({exc.filename})" if exc.filename else ""
        return f"cannot write{target}: {reason(exc)}"
    database = _database_error(exc)
    if database is not None:
        return database
    cause = exc.__cause__ or exc.__context__
    return storage_failure(cause) if cause is not None and cause is not exc else None


def _database_error(exc: BaseException) -> str | None:
    """SQLite's own words for a storage fault, read through SQLAlchemy's wrapper when present."""
    inner = getattr(exc, "orig", exc) if "sqlalchemy" in sys.modules else exc
    if not isinstance(inner, sqlite3.Error):
        return None
    text = str(inner).lower()
    if "readonly" in text or "read-only" in text:
        return "the database is read-only: the data directory or its files cannot be written"
    if "disk is full" in text or "database or disk is full" in text:
        return "the disk is full: the database cannot be written"
    if "disk i/o error" in text or "unable to open database" in text:
        return f"the database cannot be opened or written: {inner}"
    return None


class StartupFaults:
    """ASGI wrapper for `serve`: a storage fault while the app starts (indexing the knowledge,
    importing orders) is reported to uvicorn as its one line instead of Starlette's traceback,
    and kept in `failure` so the CLI can end on it."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.failure: str | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def said(message: Any) -> None:
            if message.get("type") == "lifespan.startup.failed":
                # Starlette sends this from inside its `except`: the exception is the current one.
                line = storage_failure(sys.exc_info()[1] or Exception())
                if line is not None:
                    self.failure = line
                    message = {**message, "message": f"start-up failed: {line}"}
            await send(message)

        await self.app(scope, receive, said)


__all__ = ["StartupFaults", "StorageError", "check_data_dir", "reason", "storage_failure"]
