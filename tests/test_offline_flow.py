"""The offline model through the real loop, knowledge base, order store and actions: the demo
conversations from start to finish (the README shows them; agent-server replays them over /ws)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from actions.registry import load_registry
from actions.services import build_services
from agent.app.settings import DEMO_STORE, Settings
from agent.models.offline import OfflineModel
from agent.turn.deps import AgentDeps, Conversation
from agent.turn.loop import run_turn

# The demo's "today" (see examples/demo-store/orders.json: windows are counted from it).
DEMO_NOW = datetime(2026, 11, 21, 17, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def kb(tmp_path_factory):
    from knowledge import KnowledgeBase

    base = KnowledgeBase(DEMO_STORE / "knowledge", tmp_path_factory.mktemp("kb"))
    base.index()
    return base


@pytest.fixture
def deps(kb, tmp_path):
    settings = Settings(data=tmp_path, now=DEMO_NOW, model="shopdesk/offline")
    services = build_services(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'shopdesk.db'}",
        policy_path=DEMO_STORE / "policy.toml",
        public_url="http://127.0.0.1:8000",
        clock=settings.clock,
    )
    services.store.import_file(DEMO_STORE / "orders.json")
    yield AgentDeps(
        settings=settings,
        kb=kb,
        registry=load_registry(),
        services=services,
        model=OfflineModel(),
    )
    services.close()


class Shopper:
    """Types messages, answers confirmations, and keeps every event it receives."""

    def __init__(self, deps: AgentDeps, approve: bool = True) -> None:
        self.deps = deps
        self.conv = Conversation(id="demo-conversation")
        self.approve = approve
        self.events: list[Any] = []
        self.confirmations: list[Any] = []
        self.stored: list[dict[str, Any]] = []

    async def say(self, text: str):
        self.stored.append({"role": "user", "content": text})  # the server stores it first
        self.events = []

        async def emit(event):
            self.events.append(event)

        async def confirm(request):
            self.confirmations.append(request)
            return self.approve

        async def record(message):
            self.stored.append(message)

        return await run_turn(self.conv, text, self.deps, emit=emit, confirm=confirm, record=record)

    def actions(self) -> list[tuple[str, bool]]:
        return [(e.action, e.ok) for e in self.events if e.type == "action_finished"]


async def test_policy_question_is_answered_with_a_citation(deps):
    shopper = Shopper(deps)
    answer = await shopper.say("Can I return an engraved mug?")
    assert "final sale" in answer.text and "[1]" in answer.text
    assert answer.citations and answer.citations[0].source == "personalised.md"
    assert [e.type for e in shopper.events][-1] == "assistant_message"
    assert any(e.type == "assistant_delta" for e in shopper.events)


async def test_an_off_topic_question_gets_i_dont_know_and_a_person(deps):
    answer = await Shopper(deps).say("Do you sell cars?")
    assert "don't know" in answer.text and "person" in answer.text and not answer.citations


async def test_the_full_return_demo(deps):
    shopper = Shopper(deps)
    workflow = deps.services.workflow

    answer = await shopper.say("Hi! I want to return the mug from my order")
    assert "order number" in answer.text and "email" in answer.text

    answer = await shopper.say("It's WK-1001, maya.chen@example.com")
    assert shopper.actions() == [("lookup_order", True)]
    assert shopper.conv.customer_email == "maya.chen@example.com"
    assert "why" in answer.text and "mug" in answer.text

    answer = await shopper.say("I changed my mind, it doesn't go with my kitchen")
    assert shopper.actions() == [("check_eligibility", True)]
    assert "$34.00" in answer.text and "December 10, 2026" in answer.text
    assert "Shall I start this return" in answer.text
    assert workflow.list() == []

    answer = await shopper.say("Yes please")
    assert [c.action for c in shopper.confirmations] == [
        "create_return_authorization",
        "generate_label",
    ]
    assert "$34.00" in shopper.confirmations[0].summary
    assert shopper.actions() == [("create_return_authorization", True), ("generate_label", True)]
    (rma,) = workflow.list()
    assert rma.id in answer.text and rma.label is not None
    assert rma.label.url in answer.text and rma.label.url.startswith(
        "http://127.0.0.1:8000/labels/"
    )

    answer = await shopper.say("Where is my parcel?")
    assert shopper.actions() == [("fetch_tracking", True)]
    assert rma.label.tracking_number in answer.text

    # Everything the turns appended was recorded, in order, after each user message.
    assert [m["role"] for m in shopper.stored] == [m["role"] for m in shopper.conv.history.messages]


async def test_declining_the_confirmation_creates_nothing(deps):
    shopper = Shopper(deps, approve=False)
    await shopper.say("I want to return the mug from WK-1001, maya.chen@example.com")
    await shopper.say("changed my mind")
    answer = await shopper.say("yes")
    assert [c.action for c in shopper.confirmations] == ["create_return_authorization"]
    assert deps.services.workflow.list() == []
    assert "haven't started a return" in answer.text


async def test_a_personalised_items_change_of_mind_return_is_refused_in_the_policys_words(deps):
    shopper = Shopper(deps)
    await shopper.say("I'd like to return the engraved mug from order WK-1002")
    answer = await shopper.say("d.okafor@example.com, I just changed my mind")
    assert "personalised" in answer.text and "final sale" in answer.text
    assert "Shall I start" not in answer.text
    # …but a mistake of ours is another matter.
    answer = await shopper.say("Actually the engraving is misspelled")
    assert "can be returned" in answer.text


async def test_a_strangers_order_is_not_found(deps):
    shopper = Shopper(deps)
    answer = await shopper.say("Where is my order WK-1009? my email is maya.chen@example.com")
    assert "couldn't find" in answer.text
    assert shopper.conv.customer_email is None
    assert "Hannah" not in answer.text and "vase" not in answer.text


async def test_tracking_a_shipped_order(deps):
    shopper = Shopper(deps)
    answer = await shopper.say("Where is my order WK-1009? hannah.schultz@example.com")
    assert shopper.actions() == [("lookup_order", True), ("fetch_tracking", True)]
    assert "in_transit" in answer.text or "transit" in answer.text


async def test_details_one_message_at_a_time_and_a_restocking_fee(deps):
    shopper = Shopper(deps)
    await shopper.say("ok I'd like to return something")
    answer = await shopper.say("#1006")
    assert "email" in answer.text
    answer = await shopper.say("jwhitfield@example.com")
    assert "Oak side table" in answer.text and "why" in answer.text
    answer = await shopper.say("the table is too big")
    assert "$289.00" in answer.text and "$51.00 restocking fee" in answer.text
    answer = await shopper.say("sure")
    (rma,) = deps.services.workflow.list()
    assert rma.reason == "wrong_size" and rma.id in answer.text


async def test_asking_for_a_person_emits_a_handoff(deps):
    shopper = Shopper(deps)
    answer = await shopper.say("Can I talk to a person?")
    assert [e.type for e in shopper.events if e.type == "handoff"] == ["handoff"]
    assert "person from the store" in answer.text
