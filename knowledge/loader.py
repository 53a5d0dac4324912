"""Finding markdown files and reading them: UTF-8 text, optional YAML front matter (title, tags)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path

import yaml

from actions.paths import UnsafePath, read_bytes_nofollow, safe_path
from actions.text import normalise_text
from knowledge.models import Document, LoadProblem

log = logging.getLogger(__name__)

MARKDOWN_SUFFIXES = {".md", ".markdown"}


def discover(kb_dir: Path) -> Iterator[tuple[str, Path]]:
    """Yield (source, path) for every markdown file below kb_dir, skipping hidden entries and
    anything reached through a symlink or resolving outside kb_dir (a planted link made the chat
    quote /etc/passwd): those are logged and never read."""
    if not kb_dir.is_dir():
        return
    for path in sorted(kb_dir.rglob("*")):
        rel = path.relative_to(kb_dir)
        if any(part.startswith(".") for part in rel.parts):
            continue  # editors' swap files, .git, …
        if path.suffix.lower() not in MARKDOWN_SUFFIXES:
            continue
        try:
            safe = safe_path(kb_dir, rel)
        except UnsafePath as exc:
            log.warning("knowledge: skipping %s: %s", rel.as_posix(), exc.message)
            continue
        if safe.suffix.lower() in MARKDOWN_SUFFIXES and safe.is_file():
            yield rel.as_posix(), safe


def read_discovered(path: Path) -> bytes:
    """The bytes of a file `discover` yielded, opened without following a link that appeared
    since (OSError then, which the scan reports as unreadable)."""
    return read_bytes_nofollow(path)


def sha1_bytes(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def default_title(source: str) -> str:
    """A file's title when it has none: its name in words ("gift-cards.md" → "Gift cards")."""
    stem = Path(source).stem.replace("-", " ").replace("_", " ").strip()
    return stem[:1].upper() + stem[1:] if stem else source


def decode(data: bytes) -> str:
    """UTF-8 (a BOM is tolerated); anything else is a LoadProblem naming the line of the bad byte.
    The text is normalised (actions.text: line ends, NUL and control characters) before it is
    chunked, stored and embedded."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise LoadProblem(f"not valid UTF-8 (byte 0x{data[exc.start]:02x})", line) from None
    return normalise_text(text)


def parse(source: str, data: bytes) -> Document:
    """Parse one file's bytes; raises LoadProblem for empty files and invalid front matter."""
    text = decode(data)
    if not text.strip():
        raise LoadProblem("empty file")
    title: str | None = None
    tags: tuple[str, ...] = ()
    body, body_line = text, 1
    lines = text.split("\n")
    if lines[0].strip() == "---":
        end = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
        if end is None:
            raise LoadProblem("front matter opened with '---' is never closed", 1)
        raw = "\n".join(lines[1:end])
        try:
            meta = yaml.safe_load(raw) if raw.strip() else {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 2 if mark is not None else 1  # +1 for '---', +1 for 1-based
            problem = getattr(exc, "problem", None) or "invalid YAML"
            raise LoadProblem(f"invalid front matter: {problem}", line) from None
        meta = meta or {}
        if not isinstance(meta, dict):
            raise LoadProblem("front matter must be a mapping (title: …, tags: […])", 2)
        title, tags = _title(meta), _tags(meta)
        body, body_line = "\n".join(lines[end + 1 :]), end + 2
        if not body.strip():
            raise LoadProblem("no content after the front matter", end + 1)
    return Document(
        source=source,
        title=title or _first_heading(body) or default_title(source),
        tags=tags,
        body=body,
        body_line=body_line,
    )


def _title(meta: dict) -> str | None:
    value = meta.get("title")
    if value is None:
        return None
    if not isinstance(value, str | int | float):
        raise LoadProblem("front matter 'title' must be a string", 2)
    return str(value).strip() or None


def _tags(meta: dict) -> tuple[str, ...]:
    value = meta.get("tags")
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(t, str | int | float) for t in value):
        raise LoadProblem("front matter 'tags' must be a list of strings", 2)
    return tuple(str(t).strip() for t in value if str(t).strip())


def _first_heading(body: str) -> str | None:
    for line in body.split("\n"):
        if line.startswith("# "):
            return line[2:].strip().strip("#").strip() or None
    return None
