"""Data shapes of the knowledge base: pydantic at the public boundary, dataclasses inside."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, Field


class Passage(BaseModel):
    """One retrieved section, citable as `source > heading`."""

    source: str = Field(description="Path relative to the knowledge dir, posix separators")
    heading: str = Field(description='Heading path, e.g. "Returns > Custom items"')
    text: str
    score: float


class SearchResult(BaseModel):
    passages: list[Passage]
    # In [0, 1]; below the agent's confidence_threshold the question is treated as unanswerable.
    confidence: float


class IndexWarning(BaseModel):
    source: str
    line: int | None = None
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.message}"


class IndexReport(BaseModel):
    files: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    seconds: float = 0.0
    warnings: list[IndexWarning] = Field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


class FileInfo(BaseModel):
    source: str
    title: str
    tags: list[str] = Field(default_factory=list)
    headings: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class Document:
    """A parsed markdown file: front matter split off, body kept with its first line number."""

    source: str
    title: str
    tags: tuple[str, ...]
    body: str
    body_line: int  # 1-based line of the body's first line in the file


@dataclass(frozen=True)
class Chunk:
    id: str  # stable: hash of source + heading path + occurrence + part
    source: str
    heading: str
    part: int
    text: str
    hash: str  # content hash of what is embedded (heading + text)
    ordinal: int = 0  # position in the file, for stable listings

    @property
    def embed_text(self) -> str:
        # The heading path carries the topic; embedding it with the body helps short sections.
        return f"{self.heading}\n\n{self.text}"


@dataclass
class LoadProblem(Exception):
    message: str
    line: int | None = None

    def __str__(self) -> str:
        return self.message


@dataclass
class FileState:
    source: str
    mtime_ns: int
    size: int
    sha1: str
    title: str
    tags: list[str] = field(default_factory=list)
    headings: list[str] = field(default_factory=list)
