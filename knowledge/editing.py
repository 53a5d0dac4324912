"""Editing knowledge files from the console: validate, write atomically, keep a backup, re-index.

The editor writes the same files the watcher reads, so a save must never leave a half-written or
invalid file behind: the text is parsed and chunked exactly as the indexer would before anything
touches the disk, the write goes through a hidden temp file in the same folder (ignored by
`discover()` and the watcher) and `os.replace`, and the previous bytes are copied to a backup
folder outside the knowledge folder (a backup inside it would be indexed as a second copy).
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from actions.paths import UnsafePath, safe_path
from knowledge.chunker import chunk_document, headings
from knowledge.loader import MARKDOWN_SUFFIXES, parse, sha1_bytes
from knowledge.models import IndexReport, LoadProblem

if TYPE_CHECKING:
    from knowledge.base import KnowledgeBase

MAX_BYTES = 256 * 1024  # a store's policy page is a few KB; this bounds a paste accident
MAX_SOURCE = 200
MAX_DEPTH = 4
# New files get conservative names (they end up in URLs, citations and shell commands); existing
# files with other names stay editable as long as the path itself is safe.
_SAFE_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# One save at a time per process: the sha1 check and the replace must not interleave.
_SAVE_LOCK = threading.Lock()


@dataclass
class EditError(Exception):
    """A refused edit. `code` is the API's error code; `status` its HTTP status."""

    code: str
    message: str
    status: int = 400
    line: int | None = None

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Checked:
    """What the indexer would make of a text: its outline, or the problem that stops it."""

    title: str | None
    headings: list[str]
    problem: LoadProblem | None
    body: str  # the markdown after any front matter (the whole text when that is broken)


@dataclass
class SaveResult:
    report: IndexReport
    sha1: str
    headings: list[str]
    backup: Path | None = None  # None for a new file or an unchanged save
    created: bool = False
    warnings: list[str] = field(default_factory=list)  # index warnings about this file


def normalize(text: str) -> str:
    """Browsers send textarea lines as CRLF; files are stored with LF and a final newline."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text if text.endswith("\n") or not text else text + "\n"


def check_source(source: str, *, new: bool = False) -> str:
    """The normalized posix source, or EditError("bad_source"). `new` also demands a safe name."""
    source = (source or "").strip()
    if not source or len(source) > MAX_SOURCE:
        raise EditError("bad_source", f"A file name needs 1–{MAX_SOURCE} characters.")
    if "\\" in source or _CONTROL.search(source) or source.startswith("/"):
        raise EditError("bad_source", "Use a relative path with / between folders.")
    parts = PurePosixPath(source).parts
    if len(parts) > MAX_DEPTH or any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        raise EditError("bad_source", "That path is not allowed (no '..', no hidden names).")
    if PurePosixPath(source).suffix.lower() not in MARKDOWN_SUFFIXES:
        raise EditError("bad_source", "Knowledge files end in .md or .markdown.")
    if new and not all(_SAFE_PART.match(p) for p in parts):
        raise EditError(
            "bad_source", "Name new files with letters, digits, '-' and '_' (e.g. faq/gifts.md)."
        )
    return "/".join(parts)


def resolve(kb_dir: Path, source: str, *, new: bool = False) -> Path:
    """The file for `source`: inside kb_dir, and reached through no symlink (a link in the folder
    is refused for reading and writing alike, as the indexer refuses it)."""
    source = check_source(source, new=new)
    try:
        return safe_path(Path(kb_dir).resolve(), source)
    except UnsafePath as exc:
        raise EditError("bad_source", f"That path cannot be edited: {exc.message}") from None


def read(kb_dir: Path, source: str) -> tuple[str, str] | None:
    """(text, sha1) of an existing file, or None. Undecodable bytes show as U+FFFD for editing."""
    path = resolve(kb_dir, source)
    if not path.is_file():
        return None
    data = path.read_bytes()
    text = data.decode("utf-8-sig", errors="replace").replace("\r\n", "\n")
    return text, sha1_bytes(data)


def check(source: str, text: str) -> Checked:
    """Parse and chunk `text` as the indexer would; never raises for bad markdown."""
    data = normalize(text).encode("utf-8")
    try:
        doc = parse(source, data)
        if not chunk_document(doc):
            raise LoadProblem("no text to index under any heading", doc.body_line)
    except LoadProblem as problem:
        return Checked(title=None, headings=[], problem=problem, body=_strip_front_matter(text))
    outline = list(dict.fromkeys(headings(doc)))
    return Checked(title=doc.title, headings=outline, problem=None, body=doc.body)


def _strip_front_matter(text: str) -> str:
    lines = normalize(text).split("\n")
    if lines and lines[0].strip() == "---":
        end = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
        if end is not None:
            return "\n".join(lines[end + 1 :])
    return "\n".join(lines)


def save(
    kb: KnowledgeBase,
    source: str,
    text: str,
    expected_sha1: str | None,
    backup_dir: Path,
    *,
    now: datetime,
) -> SaveResult:
    """Validate, write atomically, back up the previous version, re-index.

    `expected_sha1` is the sha1 of the file as the editor loaded it ("" or None: the file must
    not exist yet). Raises EditError: bad_source 400, too_large 413, invalid_markdown 422 (with
    the line), conflict 409 (the file changed on disk since it was loaded)."""
    kb_dir = Path(kb.kb_dir)
    expected = (expected_sha1 or "").strip().lower() or None
    path = resolve(kb_dir, source, new=expected is None)
    source = check_source(source)
    backup_root = Path(backup_dir).resolve()
    if backup_root.is_relative_to(kb_dir.resolve()):
        raise ValueError("the backup folder must be outside the knowledge folder")
    text = normalize(text)
    data = text.encode("utf-8")
    if len(data) > MAX_BYTES:
        raise EditError("too_large", f"Files are limited to {MAX_BYTES // 1024} KB.", 413)
    checked = check(source, text)
    if checked.problem is not None:
        p = checked.problem
        where = f"line {p.line}: " if p.line else ""
        raise EditError("invalid_markdown", f"{where}{p.message}", 422, p.line)

    with _SAVE_LOCK:
        current = path.read_bytes() if path.is_file() else None
        _check_unchanged(source, current, expected)
        before = _file_chunks(kb, source)
        backup = None
        if current is not None and current != data:
            backup = _backup(backup_root, source, current, now)
        if current != data:
            _write_atomic(path, data)
    report = _reindex(kb, source, before)
    outline = next((f.headings for f in kb.files() if f.source == source), checked.headings)
    warnings = [str(w) for w in report.warnings]
    return SaveResult(
        report=report,
        sha1=sha1_bytes(data),
        headings=list(outline),
        backup=backup,
        created=current is None,
        warnings=warnings,
    )


def _check_unchanged(source: str, current: bytes | None, expected: str | None) -> None:
    """EditError conflict unless the file on disk is the one the editor loaded."""
    if current is None and expected is not None:
        raise EditError("conflict", "The file was deleted or moved since you opened it.", 409)
    if current is not None and expected is None:
        raise EditError("conflict", f"{source} already exists: open it to edit it.", 409)
    if current is not None and sha1_bytes(current) != expected:
        raise EditError(
            "conflict",
            "The file changed on disk since you opened it. Reload to see the new version "
            "(copy your text first).",
            409,
        )


def _reindex(kb: KnowledgeBase, source: str, before: dict[str, str]) -> IndexReport:
    """Index the change; the report counts the file's sections before and after, not this run's
    changes: the watcher may have picked the change up first, leaving this run nothing to do."""
    run = kb.index()
    after = _file_chunks(kb, source)
    return IndexReport(
        files=run.files,
        added=len(after.keys() - before.keys()),
        updated=sum(1 for cid in after.keys() & before.keys() if after[cid] != before[cid]),
        removed=len(before.keys() - after.keys()),
        unchanged=sum(1 for cid in after.keys() & before.keys() if after[cid] == before[cid]),
        seconds=run.seconds,
        warnings=[w for w in kb.warnings if w.source == source],
    )


def _file_chunks(kb: KnowledgeBase, source: str) -> dict[str, str]:
    """The indexed sections of one file: chunk id → content hash."""
    return {c.id: c.hash for c in kb.chunks() if c.source == source}


def _backup(root: Path, source: str, data: bytes, now: datetime) -> Path:
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    try:  # a link planted in the backup folder must not redirect the write
        base = safe_path(root, f"{source}.{stamp}")
    except UnsafePath as exc:
        raise EditError(
            "bad_backup", f"The previous version cannot be kept: {exc.message}"
        ) from None
    target, n = base, 0
    while target.exists() or target.is_symlink():  # two saves in one second keep both
        n += 1
        target = base.with_name(f"{base.name}-{n}")
    target.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(target, data)
    return target


def _write_atomic(path: Path, data: bytes) -> None:
    """Temp file beside the target (hidden, so never indexed), fsync, rename over, fsync the dir."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass  # some filesystems refuse a directory fsync; the rename is still atomic
    finally:
        os.close(dir_fd)


__all__ = [
    "MAX_BYTES",
    "Checked",
    "EditError",
    "SaveResult",
    "check",
    "check_source",
    "normalize",
    "read",
    "resolve",
    "save",
]
