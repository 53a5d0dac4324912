"""`safe_path`: the one check for every file the server reads, serves or writes under a folder.

A symlink planted in the knowledge folder made the chat quote /etc/passwd, and one in the labels
folder served it. So a path is accepted only when it stays inside its folder both as written and
as resolved, and no part of it below the folder is a symlink (a link pointing inside the folder is
refused too: nothing the product writes makes one, so one is somebody else's doing).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath


class UnsafePath(ValueError):
    """A path outside its folder, or through a symlink; the message says which, in words."""

    def __init__(self, message: str, relative: str) -> None:
        super().__init__(message)
        self.message = message
        self.relative = relative


def safe_path(root: Path | str, relative: str | os.PathLike[str]) -> Path:
    """`root / relative`, checked: relative, no `..`, inside `root` once resolved, and no
    component below `root` a symlink. The file itself need not exist (a write may create it)."""
    rel = PurePosixPath(Path(relative).as_posix())
    shown = str(relative)
    if rel.is_absolute() or not rel.parts or any(p in ("", ".", "..") for p in rel.parts):
        raise UnsafePath(f"{shown!r} is not a path inside its folder.", shown)
    if any("\x00" in p for p in rel.parts):
        raise UnsafePath(f"{shown!r} is not a valid file name.", shown)
    base = Path(root)
    real_root = base.resolve()
    current = base
    for part in rel.parts:
        current = current / part
        try:
            mode = current.lstat().st_mode
        except FileNotFoundError:
            break  # nothing below a missing part can be a link yet
        if stat.S_ISLNK(mode):
            raise UnsafePath(f"{shown!r} is a symbolic link; links are not followed.", shown)
    path = base / Path(*rel.parts)
    if not path.resolve().is_relative_to(real_root):
        raise UnsafePath(f"{shown!r} resolves outside its folder.", shown)
    return path


def is_safe(root: Path | str, relative: str | os.PathLike[str]) -> bool:
    try:
        safe_path(root, relative)
    except UnsafePath:
        return False
    return True


def read_bytes_nofollow(path: Path) -> bytes:
    """Read a file, refusing (OSError ELOOP) if its last component became a symlink after the
    check: closes the window between `safe_path` and the read."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


__all__ = ["UnsafePath", "is_safe", "read_bytes_nofollow", "safe_path"]
