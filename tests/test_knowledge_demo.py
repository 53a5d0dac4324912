"""The demo store's knowledge through the CLI: JSON shapes, retrieval quality, confidence calibration.

One index of the demo store is built per module and shared (indexing is the slow part).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from agent.app.settings import DEMO_STORE
from agent.cli.main import cli
from knowledge import KnowledgeBase, evaluate, load_questions

KB_DIR = DEMO_STORE / "knowledge"
QUESTIONS = DEMO_STORE / "questions.tsv"
THRESHOLD = 0.35  # agent/app/settings.py confidence_threshold default


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("demo-data")
    kb = KnowledgeBase(KB_DIR, data)
    report = kb.index()
    assert report.warnings == [] and report.added > 40
    kb.close()
    return data


@pytest.fixture(scope="module")
def demo_kb(demo_data: Path):
    kb = KnowledgeBase(KB_DIR, demo_data)
    yield kb
    kb.close()


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_demo_store_has_8_to_12_pages_and_enough_questions() -> None:
    pages = sorted(KB_DIR.glob("*.md"))
    assert 8 <= len(pages) <= 12
    questions = load_questions(QUESTIONS)
    assert len(questions) >= 40
    assert len({q.heading for q in questions}) >= 30  # spread over the help centre


def test_demo_questions_do_not_copy_headings() -> None:
    for q in load_questions(QUESTIONS):
        last = q.heading.split(" > ")[-1].casefold()
        assert last not in q.question.casefold(), q.question


def test_every_expected_heading_exists(demo_kb: KnowledgeBase) -> None:
    present = {(c.source, c.heading) for c in demo_kb.chunks()}
    missing = [(q.source, q.heading) for q in load_questions(QUESTIONS)]
    assert [m for m in missing if m not in present] == []


def test_demo_chunks_fit_the_model_token_limit(demo_kb: KnowledgeBase) -> None:
    from knowledge.embedding import MAX_TOKENS, get_model

    tokenizer = get_model().tokenizer
    longest = max(len(tokenizer(c.embed_text)["input_ids"]) for c in demo_kb.chunks())
    assert longest < MAX_TOKENS


def test_search_json_is_an_array_of_passages(demo_data: Path) -> None:
    out = run(
        "--data",
        str(demo_data),
        "--kb",
        str(KB_DIR),
        "search",
        "engraved mug return",
        "--k",
        "3",
        "--json",
    )
    hits = json.loads(out)
    assert isinstance(hits, list) and len(hits) == 3
    for hit in hits:
        assert set(hit) == {"source", "heading", "text", "score"}
        assert isinstance(hit["score"], float) and hit["text"]
    assert hits[0]["source"] == "personalised.md"
    assert hits[0]["heading"].startswith("Personalised and custom pieces > ")


def test_search_prints_a_table_for_people(demo_data: Path) -> None:
    out = run("--data", str(demo_data), "--kb", str(KB_DIR), "search", "gift card expiry")
    assert "gift-cards.md" in out and "confidence" in out


def test_index_reports_counts_and_eval_json_has_the_documented_shape(demo_data: Path) -> None:
    out = run("--data", str(demo_data), "--kb", str(KB_DIR), "index", "--json")
    report = json.loads(out)
    assert report["files"] == len(list(KB_DIR.glob("*.md")))
    assert report["added"] == report["updated"] == report["removed"] == 0

    out = run(
        "--data", str(demo_data), "--kb", str(KB_DIR),
        "eval", "retrieval", "--questions", str(QUESTIONS), "--k", "5", "--json",
    )  # fmt: skip
    result = json.loads(out)
    assert {"recall_at_1", "recall_at_k", "mrr", "questions"} <= set(result)
    assert len(result["questions"]) == len(load_questions(QUESTIONS))
    for q in result["questions"]:
        assert {"question", "rank", "results"} <= set(q)
        assert q["rank"] is None or 1 <= q["rank"] <= 5
        assert len(q["results"]) <= 5
        assert all(set(r) == {"source", "heading"} for r in q["results"])
    assert 0 <= result["recall_at_1"] <= result["recall_at_k"] <= 1


def test_eval_rejects_a_malformed_questions_file(demo_data: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.tsv"
    bad.write_text("only one field\n")
    result = CliRunner().invoke(
        cli, ["--data", str(demo_data), "eval", "retrieval", "--questions", str(bad)]
    )
    assert result.exit_code != 0 and "3 tab-separated fields" in result.output


def test_hybrid_retrieval_meets_the_targets_and_beats_each_half(demo_kb: KnowledgeBase) -> None:
    questions = load_questions(QUESTIONS)
    hybrid = evaluate(demo_kb, questions, k=5, mode="hybrid")
    dense = evaluate(demo_kb, questions, k=5, mode="dense")
    keyword = evaluate(demo_kb, questions, k=5, mode="keyword")
    assert hybrid.recall_at_k >= 0.95
    assert hybrid.recall_at_1 >= 0.90
    for other in (dense, keyword):
        assert hybrid.mrr > other.mrr
        assert hybrid.recall_at_1 >= other.recall_at_1
        assert hybrid.recall_at_k >= other.recall_at_k


OFF_TOPIC = [
    "do you sell cars?",
    "what's the weather like in Paris tomorrow?",
    "who won the football game last night?",
    "how do I reset my wifi router?",
    "can you write me a poem about cats?",
    "what is the capital of Australia?",
    "recommend a good laptop for gaming",
    "how do I fix a flat bicycle tyre?",
]


def test_confidence_separates_policy_questions_from_off_topic_ones(demo_kb) -> None:
    for question in OFF_TOPIC:
        assert demo_kb.search(question).confidence < THRESHOLD, question
    questions = load_questions(QUESTIONS)
    confident = [demo_kb.search(q.question).confidence >= THRESHOLD for q in questions]
    assert sum(confident) / len(confident) >= 0.9
    for question in ("can I return an engraved mug?", "how long do refunds take?"):
        assert demo_kb.search(question).confidence >= 0.5


@pytest.mark.parametrize(
    ("question", "heading"),
    [
        ("Can I return an engraved mug?", "Personalised items are final sale"),
        ("can I send back a monogrammed platter", "Personalised items are final sale"),
        ("How do I return a handmade item?", "How to start a return"),
        ("when do I get my money back?", "How long a refund takes"),
    ],
)
def test_the_demo_stores_newcomer_questions_find_their_section_first(
    demo_kb: KnowledgeBase, question: str, heading: str
) -> None:
    top = demo_kb.search(question, k=1).passages[0]
    assert top.heading.rsplit(" > ", 1)[-1] == heading
