"""One pass over the knowledge folder: which files changed since the manifest, parsed and chunked.

Pure of the index itself: it reads files and the manifest's file states and says what to do.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from knowledge.chunker import chunk_document, headings
from knowledge.loader import discover, parse, read_discovered, sha1_bytes
from knowledge.models import Chunk, FileState, IndexWarning, LoadProblem


@dataclass
class Scan:
    files: int = 0
    states: list[FileState] = field(default_factory=list)  # file rows to write
    chunks: dict[str, list[Chunk]] = field(default_factory=dict)  # new chunks of changed files
    removed: list[str] = field(default_factory=list)  # sources gone from disk
    warnings: list[IndexWarning] = field(default_factory=list)
    unchanged_sources: list[str] = field(default_factory=list)  # kept as indexed


def scan(kb_dir: Path, known: dict[str, FileState]) -> Scan:
    """Compare the folder with the manifest. Files whose size and mtime match are not even read;
    a file that cannot be used (bad front matter, not UTF-8, empty) yields a warning and keeps
    whatever was indexed for it before."""
    result = Scan()
    if not kb_dir.is_dir():
        # A mistyped --kb or an unmounted volume must not wipe the index: keep everything.
        message = "not a directory; keeping the current index"
        result.warnings.append(IndexWarning(source=str(kb_dir), message=message))
        result.unchanged_sources = list(known)
        return result
    on_disk = dict(discover(kb_dir))
    result.files = len(on_disk)
    result.removed = [source for source in known if source not in on_disk]
    for source, path in on_disk.items():
        prev = known.get(source)
        try:
            stat = path.stat()
            if prev and (prev.mtime_ns, prev.size) == (stat.st_mtime_ns, stat.st_size):
                result.unchanged_sources.append(source)
                continue
            data = read_discovered(path)
            digest = sha1_bytes(data)
            if prev and prev.sha1 == digest:  # touched, not changed: remember the new stat
                result.states.append(replace(prev, mtime_ns=stat.st_mtime_ns, size=stat.st_size))
                result.unchanged_sources.append(source)
                continue
            doc = parse(source, data)
            chunks = chunk_document(doc)
            if not chunks:
                raise LoadProblem("no text to index under any heading")
        except (LoadProblem, OSError) as exc:
            line = exc.line if isinstance(exc, LoadProblem) else None
            message = str(exc) if isinstance(exc, LoadProblem) else f"unreadable: {exc}"
            if prev is not None:
                message += " (keeping the previously indexed version)"
            result.warnings.append(IndexWarning(source=source, line=line, message=message))
            result.unchanged_sources.append(source)
            continue
        result.chunks[source] = chunks
        result.states.append(
            FileState(
                source=source,
                mtime_ns=stat.st_mtime_ns,
                size=stat.st_size,
                sha1=digest,
                title=doc.title,
                tags=list(doc.tags),
                headings=list(dict.fromkeys(headings(doc))),
            )
        )
    return result
