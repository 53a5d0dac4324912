"""Retrieval quality, step by step: what each part of the hybrid ranking adds on the demo questions.

Indexes the demo store into a temporary folder and evaluates `examples/demo-store/questions.tsv`
with each part of `knowledge/ranking.py` and `knowledge/shopper_words.py` switched on in turn,
starting from the ranking before them (score fusion with a 0.2 keyword share, nothing else).
Prints a table of recall@1, recall@5 and MRR; not part of the test run.

    .venv/bin/python bench/retrieval_steps.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's packages

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from knowledge import KnowledgeBase, evaluate, load_questions, ranking, shopper_words  # noqa: E402

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo-store"
OFF = {"SENTENCE_WEIGHT": 0.0, "OVERVIEW_PENALTY": 0.0, "HEADING_KIND_BONUS": 0.0}
STEPS: list[tuple[str, dict[str, float], bool]] = [
    ("before: cosine + 0.2 × BM25", {"ALPHA": 0.8, **OFF, "ANSWER_TYPE_BONUS": 0.0}, False),
    ("keyword share 0.1", {"ALPHA": ranking.ALPHA}, False),
    ("+ best sentence", {"SENTENCE_WEIGHT": ranking.SENTENCE_WEIGHT}, False),
    (
        "+ overview penalty, answer kind",
        {
            "OVERVIEW_PENALTY": ranking.OVERVIEW_PENALTY,
            "HEADING_KIND_BONUS": ranking.HEADING_KIND_BONUS,
            "ANSWER_TYPE_BONUS": ranking.ANSWER_TYPE_BONUS,
        },
        False,
    ),
    ("+ shopper words (all of it)", {}, True),
]


def main() -> None:
    questions = load_questions(DEMO / "questions.tsv")
    expand = shopper_words.expand
    table = Table(title=f"Hybrid retrieval on {len(questions)} demo questions")
    for column in ("ranking", "recall@1", "recall@5", "MRR"):
        table.add_column(column, justify="left" if column == "ranking" else "right")
    with tempfile.TemporaryDirectory() as data:
        kb = KnowledgeBase(DEMO / "knowledge", data)
        kb.index()
        try:
            for name, weights, words in STEPS:
                for key, value in weights.items():
                    setattr(ranking, key, value)
                shopper_words.expand = expand if words else (lambda query: query)
                report = evaluate(kb, questions, k=5)
                table.add_row(
                    name,
                    f"{report.recall_at_1:.3f}",
                    f"{report.recall_at_k:.3f}",
                    f"{report.mrr:.3f}",
                )
            for mode in ("dense", "keyword"):
                report = evaluate(kb, questions, k=5, mode=mode)
                table.add_row(
                    f"{mode} only",
                    f"{report.recall_at_1:.3f}",
                    f"{report.recall_at_k:.3f}",
                    f"{report.mrr:.3f}",
                )
        finally:
            shopper_words.expand = expand
            kb.close()
    Console().print(table)


if __name__ == "__main__":
    main()
