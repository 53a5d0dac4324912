"""Store knowledge: markdown files → heading chunks → Chroma + BM25; hybrid retrieval with citations.

Public surface:
- `KnowledgeBase(kb_dir, data_dir)`: `.index(progress=False) -> IndexReport`, `.search(query, k, mode)`,
  `await .asearch(query, k)`, `.start_watching() -> handle with .stop()`, `.warnings`, `.files()`.
- `Passage`, `SearchResult`, `IndexReport`, `IndexWarning`, `FileInfo`: the shapes it returns.
- `load_questions`, `evaluate`: retrieval evaluation over a TSV of (question, source, heading).

Heavy libraries (torch, sentence-transformers, chromadb) load on first use, not on import.
"""

from __future__ import annotations

from knowledge.base import MODES, KnowledgeBase
from knowledge.evaluate import EvalQuestion, EvalReport, evaluate, load_questions
from knowledge.models import FileInfo, IndexReport, IndexWarning, Passage, SearchResult

__all__ = [
    "MODES",
    "EvalQuestion",
    "EvalReport",
    "FileInfo",
    "IndexReport",
    "IndexWarning",
    "KnowledgeBase",
    "Passage",
    "SearchResult",
    "evaluate",
    "load_questions",
]
