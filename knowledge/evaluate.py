"""Retrieval evaluation: recall@1, recall@k and MRR over (question, source, heading) triples."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

if TYPE_CHECKING:
    from knowledge.base import KnowledgeBase


class EvalQuestion(BaseModel):
    question: str
    source: str
    heading: str
    line: int = 0


class EvalHit(BaseModel):
    source: str
    heading: str


class EvalResult(BaseModel):
    question: str
    expected: EvalHit
    rank: int | None  # 1-based rank of the first hit matching source and heading; None if not in k
    results: list[EvalHit]


class EvalReport(BaseModel):
    mode: str
    k: int
    recall_at_1: float
    recall_at_k: float
    mrr: float
    questions: list[EvalResult]

    def as_json(self) -> dict:
        """The documented CLI shape (plus k and mode)."""
        return {
            "recall_at_1": self.recall_at_1,
            "recall_at_k": self.recall_at_k,
            "mrr": self.mrr,
            "k": self.k,
            "mode": self.mode,
            "questions": [
                {
                    "question": q.question,
                    "rank": q.rank,
                    "expected": q.expected.model_dump(),
                    "results": [r.model_dump() for r in q.results],
                }
                for q in self.questions
            ],
        }


class QuestionsError(ValueError):
    pass


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def load_questions(path: Path) -> list[EvalQuestion]:
    """Tab-separated `question, source, heading`; blank lines, `#` comments and a header row skipped."""
    questions: list[EvalQuestion] = []
    text = Path(path).read_text(encoding="utf-8")
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        fields = [f.strip() for f in raw.split("\t")]
        if number == 1 and [f.lower() for f in fields[:3]] == ["question", "source", "heading"]:
            continue
        if len(fields) != 3 or not all(fields):
            raise QuestionsError(
                f"{path}:{number}: expected 3 tab-separated fields, got {len(fields)}"
            )
        questions.append(
            EvalQuestion(question=fields[0], source=fields[1], heading=fields[2], line=number)
        )
    if not questions:
        raise QuestionsError(f"{path}: no questions")
    return questions


def evaluate(
    kb: KnowledgeBase, questions: list[EvalQuestion], k: int = 5, mode: str = "hybrid"
) -> EvalReport:
    results: list[EvalResult] = []
    for q in questions:
        found = kb.search(q.question, k=k, mode=mode).passages  # type: ignore[arg-type]
        hits = [EvalHit(source=p.source, heading=p.heading) for p in found]
        rank = next(
            (
                i
                for i, h in enumerate(hits, start=1)
                if h.source == q.source and _norm(h.heading) == _norm(q.heading)
            ),
            None,
        )
        results.append(
            EvalResult(
                question=q.question,
                expected=EvalHit(source=q.source, heading=q.heading),
                rank=rank,
                results=hits,
            )
        )
    n = len(results)
    return EvalReport(
        mode=mode,
        k=k,
        recall_at_1=round(sum(r.rank == 1 for r in results) / n, 4),
        recall_at_k=round(sum(r.rank is not None for r in results) / n, 4),
        mrr=round(sum(1 / r.rank for r in results if r.rank) / n, 4),
        questions=results,
    )
