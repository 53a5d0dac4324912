"""Markdown → chunks: one chunk per `#`/`##` section, long sections split on paragraph boundaries.

Deeper headings (`###` …) stay inside their section's text: they are usually too small to stand alone.
Lines inside fenced code blocks are never headings.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass

from knowledge.models import Chunk, Document

# all-MiniLM-L6-v2 truncates at 256 word pieces; ~1.3 pieces a word plus markdown punctuation and the
# heading path that is embedded with the text keeps 150 words safely below it.
MAX_WORDS = 150
CHUNKER_VERSION = "1"  # bump when the output for the same input changes: forces a re-read

_HEADING = re.compile(r"^(#{1,2})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass
class Section:
    heading: str
    lines: list[str]
    line: int  # 1-based line in the file where the section's heading is


def sections(doc: Document) -> list[Section]:
    """Split the body into heading sections, each with its heading path."""
    h1: str | None = None
    current = Section(heading=doc.title, lines=[], line=doc.body_line)
    found: list[Section] = [current]
    fence: str | None = None
    for offset, line in enumerate(doc.body.split("\n")):
        if _FENCE.match(line):
            fence = _fence_after(line, fence)
            current.lines.append(line)
            continue
        match = _HEADING.match(line) if fence is None else None
        if match is None:
            current.lines.append(line)
            continue
        level, title = len(match.group(1)), _clean_heading(match.group(2))
        if level == 1:
            h1, path = title, title
        else:
            path = f"{h1} > {title}" if h1 else title
        current = Section(heading=path, lines=[], line=doc.body_line + offset)
        found.append(current)
    return [s for s in found if "\n".join(s.lines).strip()]


def _fence_after(line: str, fence: str | None) -> str | None:
    """The open code fence after `line` (None: outside code). A fence closes with a marker of
    the same character at least as long as the one that opened it."""
    match = _FENCE.match(line)
    if match is None:
        return fence
    marker = match.group(1)
    if fence is None:
        return marker[0] * len(marker)
    if marker[0] == fence[0] and len(marker) >= len(fence):
        return None
    return fence


def _clean_heading(text: str) -> str:
    # Headings are cited verbatim; drop emphasis markers and collapse spaces.
    text = re.sub(r"[*_`]", "", text)
    return re.sub(r"\s+", " ", text).strip()


def paragraphs(lines: list[str]) -> list[str]:
    """Blank-line separated blocks; a fenced code block is one block even with blank lines inside."""
    blocks: list[str] = []
    buf: list[str] = []
    fence: str | None = None
    for line in lines:
        fence = _fence_after(line, fence)
        if fence is None and not line.strip():
            if buf:
                blocks.append("\n".join(buf).strip("\n"))
                buf = []
            continue
        buf.append(line.rstrip())
    if buf:
        blocks.append("\n".join(buf).strip("\n"))
    return [b for b in blocks if b.strip()]


def _words(text: str) -> int:
    return len(text.split())


def _split_block(block: str, max_words: int) -> list[str]:
    """A block longer than max_words: by sentences (or lines), then by words as a last resort."""
    units = _SENTENCE_END.split(block) if "\n" not in block.strip() else block.split("\n")
    pieces: list[str] = []
    for unit in units:
        words = unit.split()
        if len(words) <= max_words:
            pieces.append(unit)
        else:
            pieces.extend(
                " ".join(words[i : i + max_words]) for i in range(0, len(words), max_words)
            )
    return _pack(pieces, max_words, joiner=" " if "\n" not in block.strip() else "\n")


def _pack(pieces: list[str], max_words: int, joiner: str) -> list[str]:
    # Aim for even parts rather than one full part and a tiny remainder.
    total = sum(_words(p) for p in pieces)
    target = total / max(1, math.ceil(total / max_words))
    parts: list[str] = []
    buf: list[str] = []
    count = 0
    for piece in pieces:
        n = _words(piece)
        if buf and (count + n > max_words or count >= target):
            parts.append(joiner.join(buf))
            buf, count = [], 0
        buf.append(piece)
        count += n
    if buf:
        parts.append(joiner.join(buf))
    return parts


def split_text(lines: list[str], max_words: int = MAX_WORDS) -> list[str]:
    blocks: list[str] = []
    for block in paragraphs(lines):
        blocks.extend([block] if _words(block) <= max_words else _split_block(block, max_words))
    return _pack(blocks, max_words, joiner="\n\n")


def chunk_id(source: str, heading: str, occurrence: int, part: int) -> str:
    key = f"{source}\x00{heading}\x00{occurrence}\x00{part}"
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:24]


def chunk_document(doc: Document, max_words: int = MAX_WORDS) -> list[Chunk]:
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    for section in sections(doc):
        occurrence = seen.get(section.heading, 0)
        seen[section.heading] = occurrence + 1
        for part, text in enumerate(split_text(section.lines, max_words)):
            embed = f"{section.heading}\n\n{text}"
            chunks.append(
                Chunk(
                    id=chunk_id(doc.source, section.heading, occurrence, part),
                    source=doc.source,
                    heading=section.heading,
                    part=part,
                    text=text,
                    hash=hashlib.sha1(embed.encode("utf-8")).hexdigest(),
                    ordinal=len(chunks),
                )
            )
    return chunks


def headings(doc: Document) -> list[str]:
    return [s.heading for s in sections(doc)]
