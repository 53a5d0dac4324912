"""The shopper-conversation corpus and `shopdesk eval conversations`: the corpus is well formed and
true to the demo store, a slice plays through the real chat and passes, and the judge can fail."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from agent.app.settings import DEMO_STORE
from agent.cli.conversation_corpus import Conversation, load_corpus
from agent.cli.main import cli

CORPUS = DEMO_STORE / "conversations"
DEMO_NOW = "2026-11-21T17:00:00Z"
# Conversations across categories that the offline model passes today (the fast slice).
SLICE = (
    "track-return-parcel-after-label",  # the README's return, label and tracking
    "q-engraved-mug",
    "order-lower-dash",
    "all-in-one-tracking",
    "refuse-already-returned",  # a return made in setup through the REST API
    "person-human",
    "card-cancel-button",
    "reason-came-chipped",
)


@pytest.fixture(scope="module")
def corpus() -> list[Conversation]:
    return load_corpus(CORPUS)


def _orders() -> dict[str, dict[str, Any]]:
    data = json.loads((DEMO_STORE / "orders.json").read_text(encoding="utf-8"))
    return {order["id"]: order for order in data["orders"]}


def test_the_corpus_has_250_conversations_and_12_in_every_category(corpus):
    counts = Counter(conv.category for conv in corpus)
    assert len(corpus) >= 250
    assert 10 <= len(counts) <= 14
    assert {name: n for name, n in counts.items() if n < 12} == {}


def test_every_order_sku_and_shopper_in_the_corpus_is_in_the_demo_orders(corpus):
    orders = _orders()
    emails = {order["customer"]["email"].lower() for order in orders.values()}
    problems = []
    for conv in corpus:
        wanted = [(a.order, a.items or []) for a in conv.expect.action if a.order]
        wanted += [(s.return_.order, s.return_.items) for s in conv.setup if s.return_]
        for order_id, skus in wanted:
            order = orders.get(order_id.upper())
            if order is None:
                problems.append(f"{conv.id}: no order {order_id}")
                continue
            on_order = {item["sku"] for item in order["items"]}
            problems += [
                f"{conv.id}: {sku} not on {order_id}" for sku in skus if sku not in on_order
            ]
        if conv.signed_in and conv.signed_in.lower() not in emails:
            problems.append(f"{conv.id}: no shopper {conv.signed_in}")
    assert problems == []


def test_every_cited_section_is_a_heading_of_the_knowledge_base(corpus):
    from knowledge.chunker import headings
    from knowledge.loader import parse

    kb = DEMO_STORE / "knowledge"
    sections: dict[str, set[str]] = {}
    for path in kb.glob("*.md"):
        paths = headings(parse(path.name, path.read_bytes()))
        sections[path.name] = {h.rsplit(">", 1)[-1].strip() for h in paths} | set(paths)
    cited = {cite for conv in corpus for cite in conv.expect.cites}
    missing = []
    for cite in sorted(cited):
        source, _, heading = (part.strip() for part in cite.partition(">"))
        if heading not in sections.get(source, set()):
            missing.append(cite)
    assert missing == []
    assert len(cited) >= 40  # the questions reach across the whole knowledge base


def test_no_shopper_turn_loses_its_order_number_to_a_yaml_comment():
    # In a plain YAML scalar " #" starts a comment: "order #1013" would reach the chat as "order".
    import re

    plain = re.compile(r"^\s*(?:-|[a-z_]+:) [^\"'\s].* #")
    cut = [
        f"{path.name}:{n}"
        for path in sorted(CORPUS.glob("*.yaml"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if plain.match(line)
    ]
    assert cut == []


def test_a_broken_corpus_file_is_refused_naming_the_file_and_the_problem(tmp_path):
    (tmp_path / "fine.yaml").write_text(
        "category: fine\nconversations:\n  - id: ok\n    turns: [hello]\n"
        "    expect: {person: true}\n"
    )
    (tmp_path / "broken.yaml").write_text(
        "category: broken\nconversations:\n  - id: bare-yes\n    turns: [yes]\n"
        "    expect: {creates_nothing: true}\n"
    )
    result = CliRunner().invoke(cli, ["eval", "conversations", "--corpus", str(tmp_path)])
    assert result.exit_code == 2
    assert "broken.yaml" in result.stderr and "bare-yes" in result.stderr
    assert "quoted" in result.stderr


def _write(directory: Path, category: str, conversations: list[dict[str, Any]]) -> None:
    body = {"category": category, "conversations": conversations}
    (directory / f"{category}.yaml").write_text(yaml.safe_dump(body, sort_keys=False))


def _as_yaml(conv: Conversation) -> dict[str, Any]:
    return conv.model_dump(mode="json", by_alias=True, exclude_defaults=True, exclude={"category"})


def test_a_slice_passes_through_the_real_chat_and_a_wrong_expectation_fails(corpus, tmp_path):
    chosen = {conv.id: conv for conv in corpus if conv.id in SLICE}
    assert sorted(chosen) == sorted(SLICE)
    by_category: dict[str, list[dict[str, Any]]] = {}
    for conv in chosen.values():
        by_category.setdefault(conv.category, []).append(_as_yaml(conv))
    for category, conversations in by_category.items():
        _write(tmp_path, category, conversations)
    wrong = {
        "id": "engraved-mug-cites-shipping",
        "turns": ["Can I return an engraved mug?"],
        "expect": {"cites": ["shipping.md > Where we ship"], "action": "generate_label"},
    }
    _write(tmp_path, "deliberately-wrong", [wrong])

    args = ["--now", DEMO_NOW, "eval", "conversations", "--corpus", str(tmp_path), "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    verdicts = {c["id"]: c for c in report["conversations"]}
    assert {i: v["failures"] for i, v in verdicts.items() if i in SLICE and not v["passed"]} == {}
    failed = verdicts["engraved-mug-cites-shipping"]
    assert not failed["passed"]
    assert failed["failures"] == [
        "expected generate_label() to run and succeed",
        "expected the answer to cite shipping.md > Where we ship",
    ]
    assert report["categories"]["deliberately-wrong"] == {"passed": 0, "total": 1}
    assert report["passed"] == len(SLICE)
