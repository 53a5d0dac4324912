"""The tool-calling loop with the scripted model: streaming, actions, confirmation, limits."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from actions.context import ActionContext, ActionError, ActionResult
from actions.registry import ActionRegistry, action
from agent.app.settings import Settings
from agent.chat.events import AssistantDelta, AssistantMessage
from agent.models import ModelReply, model_for
from agent.turn.deps import AgentDeps, Conversation
from agent.turn.history import History, model_history
from agent.turn.loop import MODEL_DOWN_TEXT, ROUND_LIMIT_TEXT, TurnStats, run_turn
from agent.turn.tools import HANDOFF_MESSAGE, idempotency_key, tool_specs
from tests.scripted_model import ScriptedModel


# Test actions: real @action functions in a real registry ------------------------------------------
class SumResult(ActionResult):
    total: int


class HoldResult(ActionResult):
    item: str


HOLDS: list[tuple[str, str]] = []


@action(examples=("add two and three",))
async def add(ctx: ActionContext, a: int, b: int) -> SumResult:
    """Add two whole numbers.

    Args:
        a: The first number.
        b: The second number.
    """
    return SumResult(total=a + b, message=f"{a} + {b} = {a + b}.")


async def _hold_summary(ctx: ActionContext, args: Any) -> str:
    return f"Put the {args.item} on hold for you."


@action(confirm=True, summary=_hold_summary)
async def place_hold(ctx: ActionContext, item: str) -> HoldResult:
    """Put an item on hold (changes the store's records)."""
    HOLDS.append((item, ctx.idempotency_key))
    return HoldResult(item=item, message=f"The {item} is on hold.")


@action(confirm=True, identity=True)
async def cancel_order(ctx: ActionContext, order_id: str) -> ActionResult:
    """Cancel one of the shopper's orders."""
    HOLDS.append(("cancelled " + order_id, ctx.idempotency_key))
    return ActionResult(message="Cancelled.")


async def _doomed_summary(ctx: ActionContext, args: Any) -> str:
    raise ActionError("final_sale", "Engraved items are final sale.")


@action(confirm=True, summary=_doomed_summary)
async def return_engraved(ctx: ActionContext) -> ActionResult:
    """Return an engraved item (the policy always refuses)."""
    HOLDS.append(("returned", ctx.idempotency_key))
    return ActionResult(message="Returned.")


@action
async def explode(ctx: ActionContext) -> ActionResult:
    """Always fails."""
    raise ActionError("out_of_stock", "That item is out of stock.")


@action
async def buggy(ctx: ActionContext) -> ActionResult:
    """Has a bug."""
    raise ZeroDivisionError("oops")


# Fixtures -----------------------------------------------------------------------------------------
@dataclass
class Passage:
    source: str
    heading: str
    text: str
    score: float = 0.5


@dataclass
class Found:
    passages: list[Passage]
    confidence: float


class StaticKB:
    """Retrieval is not under test here: two fixed passages and a record of the queries."""

    def __init__(self) -> None:
        self.queries: list[str] = []

    async def asearch(self, query: str, k: int = 5) -> Found:
        self.queries.append(query)
        return Found(
            passages=[
                Passage("returns.md", "Returns > Window", "You can return items within 30 days."),
                Passage("personalised.md", "Personalised", "Engraved items are final sale."),
            ],
            confidence=0.8,
        )


@dataclass
class Recorder:
    events: list[Any] = field(default_factory=list)
    recorded: list[dict[str, Any]] = field(default_factory=list)
    confirmations: list[Any] = field(default_factory=list)
    approve: bool = True

    async def emit(self, event: Any) -> None:
        self.events.append(event)

    async def confirm(self, request: Any) -> bool:
        self.confirmations.append(request)
        return self.approve

    async def record(self, message: dict[str, Any]) -> None:
        self.recorded.append(message)

    def types(self) -> list[str]:
        return [e.type for e in self.events]


@pytest.fixture
def model():
    scripted = ScriptedModel()
    yield scripted
    scripted.close()


@pytest.fixture
def deps(model, tmp_path):
    HOLDS.clear()
    registry = ActionRegistry([add, place_hold, cancel_order, return_engraved, explode, buggy])  # type: ignore[list-item]
    settings = Settings(data=tmp_path, model=model.name, max_rounds=4, model_retries=0)
    # The scripted model is a litellm provider: these tests run litellm's real streaming path.
    return AgentDeps(
        settings=settings,
        kb=StaticKB(),
        registry=registry,
        services=None,
        model=model_for(settings),
    )


async def turn(deps, conv, text, rec: Recorder | None = None, stats=None):
    rec = rec or Recorder()
    answer = await run_turn(
        conv, text, deps, emit=rec.emit, confirm=rec.confirm, record=rec.record, stats=stats
    )
    return answer, rec


def echo_last_tool_result(
    messages: list[dict[str, Any]], tools: list[dict[str, Any]]
) -> ModelReply:
    last = json.loads(messages[-1]["content"])
    return ModelReply(text=f"Result: {json.dumps(last, sort_keys=True)}")


# Tests --------------------------------------------------------------------------------------------
async def test_deltas_arrive_in_order_before_the_final_message(model, deps):
    text = "You can return most items within thirty days of delivery, for a full refund [1]."
    model.reply(text)
    answer, rec = await turn(deps, Conversation(id="c1"), "can I return things?")
    deltas = [e for e in rec.events if isinstance(e, AssistantDelta)]
    assert len(deltas) > 2
    assert rec.types() == ["assistant_delta"] * len(deltas) + ["assistant_message"]
    assert "".join(d.text for d in deltas) == text == answer.text
    assert isinstance(rec.events[-1], AssistantMessage) and rec.events[-1] == answer


async def test_citations_are_the_passages_the_answer_refers_to(model, deps):
    model.reply("Engraved items are final sale [2]. Nothing else [7].")
    answer, _ = await turn(deps, Conversation(id="c1"), "engraved mug?")
    assert [c.source for c in answer.citations] == ["personalised.md"]
    assert answer.citations[0].heading == "Personalised"


async def test_the_system_prompt_carries_passages_identity_and_rules(model, deps):
    model.reply("ok")
    await turn(deps, Conversation(id="c1", customer_email="maya.chen@example.com"), "hello")
    system = model.calls[0]["messages"][0]["content"]
    assert "Willow &amp; Kiln" in system or "Willow & Kiln" in system
    assert '<passage id="2" source="personalised.md" heading="Personalised">' in system
    assert "verified as maya.chen@example.com" in system
    assert "[n]" in system and deps.settings.order_id_pattern in system
    # Written for a model, not a parser: no confidence figures, no tags to parse back.
    assert "confidence" not in system and "<identity" not in system


async def test_tool_round_trip(model, deps):
    model.call("add", a=2, b=3).then(echo_last_tool_result)
    conv = Conversation(id="c1")
    answer, rec = await turn(deps, conv, "what is 2 + 3?")
    kinds = rec.types()
    assert kinds[:2] == ["action_started", "action_finished"] and kinds[-1] == "assistant_message"
    assert set(kinds[2:-1]) == {"assistant_delta"}
    started, finished = rec.events[0], rec.events[1]
    assert started.action == "add" and started.arguments == {"a": 2, "b": 3}
    assert finished.ok and finished.result["total"] == 5
    assert '"total": 5' in answer.text and '"ok": true' in answer.text
    # The model saw its own call and the result, in litellm's message format.
    second = model.calls[1]["messages"]
    assert (
        second[-2]["role"] == "assistant"
        and second[-2]["tool_calls"][0]["function"]["name"] == "add"
    )
    assert (
        second[-1]["role"] == "tool"
        and second[-1]["tool_call_id"] == second[-2]["tool_calls"][0]["id"]
    )
    assert all(set(m) <= {"role", "content", "tool_calls", "tool_call_id"} for m in second)


async def test_every_appended_message_is_recorded_except_the_callers_user_message(model, deps):
    model.call("add", a=1, b=1).reply("Two.")
    conv = Conversation(id="c1")
    _, rec = await turn(deps, conv, "1+1?")
    assert [m["role"] for m in conv.history.messages] == ["user", "assistant", "tool", "assistant"]
    assert [m["role"] for m in rec.recorded] == ["assistant", "tool", "assistant"]
    assert History.of(rec.recorded).messages == conv.history.messages[1:]
    assert rec.recorded[-1]["content"] == "Two." and rec.recorded[-1]["citations"] == []


async def test_a_user_message_already_in_history_is_not_appended_twice(model, deps):
    model.reply("Hi!")
    conv = Conversation(
        id="c1", history=History.of([{"role": "user", "content": "hello", "id": 7}])
    )
    await turn(deps, conv, "hello")
    assert [m["role"] for m in conv.history.messages] == ["user", "assistant"]
    assert model.calls[0]["messages"][1] == {"role": "user", "content": "hello"}


async def test_invalid_arguments_become_an_error_result_the_model_sees(model, deps):
    model.call("add", a="two", b=3).then(echo_last_tool_result)
    answer, rec = await turn(deps, Conversation(id="c1"), "add two and three")
    assert "action_started" not in rec.types()
    result = model.tool_results()[0]
    assert result["ok"] is False and result["error"]["code"] == "invalid_arguments"
    assert "a" in result["error"]["message"]
    assert "invalid_arguments" in answer.text


async def test_arguments_that_are_not_json_become_an_error_result(model, deps):
    model.raw_call("add", "{a: 2,").reply("Sorry.")
    await turn(deps, Conversation(id="c1"), "add")
    assert model.tool_results()[0]["error"]["code"] == "invalid_arguments"


async def test_unknown_tool_becomes_an_error_result(model, deps):
    model.call("launch_rocket", target="moon").reply("I can't do that.")
    answer, rec = await turn(deps, Conversation(id="c1"), "launch")
    result = model.tool_results()[0]
    assert result["error"]["code"] == "unknown_action" and "add" in result["error"]["message"]
    assert answer.text == "I can't do that."


async def test_action_errors_and_bugs_are_results_not_crashes(model, deps):
    model.calls_many(("explode", {}), ("buggy", {})).reply("Hmm.")
    _, rec = await turn(deps, Conversation(id="c1"), "go")
    results = model.tool_results()
    assert results[0]["error"] == {"code": "out_of_stock", "message": "That item is out of stock."}
    assert results[1]["error"]["code"] == "action_failed"
    finished = [e for e in rec.events if e.type == "action_finished"]
    assert [e.ok for e in finished] == [False, False]


async def test_the_round_limit_ends_with_a_polite_message(model, deps):
    model.endless("add", a=1, b=2)
    stats = TurnStats()
    answer, rec = await turn(deps, Conversation(id="c1"), "loop forever", stats=stats)
    assert answer.text == ROUND_LIMIT_TEXT
    assert len(model.calls) == deps.settings.max_rounds == stats.rounds
    assert rec.types().count("action_finished") == deps.settings.max_rounds


async def test_confirmation_approved_runs_the_action(model, deps):
    model.call("place_hold", item="sage mug").then(echo_last_tool_result)
    conv = Conversation(id="c1")
    answer, rec = await turn(deps, conv, "hold the mug please")
    request = rec.confirmations[0]
    assert request.action == "place_hold" and request.arguments == {"item": "sage mug"}
    assert request.summary == "Put the sage mug on hold for you." and request.id
    assert HOLDS == [("sage mug", idempotency_key("c1", "place_hold", {"item": "sage mug"}))]
    assert rec.types()[:2] == ["action_started", "action_finished"]
    assert '"ok": true' in answer.text


async def test_confirmation_declined_runs_nothing_and_tells_the_model(model, deps):
    model.call("place_hold", item="sage mug").then(echo_last_tool_result)
    rec = Recorder(approve=False)
    answer, rec = await turn(deps, Conversation(id="c1"), "hold the mug", rec)
    assert HOLDS == []
    assert len(rec.confirmations) == 1
    assert "action_started" not in rec.types()
    assert model.tool_results()[0]["error"]["code"] == "declined"
    assert "declined" in answer.text


async def test_identity_actions_are_refused_before_asking_an_unverified_shopper(model, deps):
    model.call("cancel_order", order_id="WK-1001").then(echo_last_tool_result)
    answer, rec = await turn(deps, Conversation(id="c1"), "cancel WK-1001")
    assert rec.confirmations == [] and HOLDS == []
    assert model.tool_results()[0]["error"]["code"] == "identity_required"


async def test_identity_actions_run_for_a_verified_shopper_after_a_yes(model, deps):
    model.call("cancel_order", order_id="WK-1001").reply("Done.")
    conv = Conversation(id="c1", customer_email="maya.chen@example.com")
    await turn(deps, conv, "cancel WK-1001")
    assert HOLDS and HOLDS[0][0] == "cancelled WK-1001"


def test_idempotency_key_is_stable_and_argument_order_free():
    a = idempotency_key("c1", "place_hold", {"item": "mug", "n": 1})
    assert a == idempotency_key("c1", "place_hold", {"n": 1, "item": "mug"})
    assert a != idempotency_key("c2", "place_hold", {"item": "mug", "n": 1})
    assert a != idempotency_key("c1", "place_hold", {"item": "mug", "n": 2})


async def test_when_every_model_fails_the_shopper_gets_an_apology(model, deps):
    model.fail_next = 10
    answer, rec = await turn(deps, Conversation(id="c1"), "hello")
    assert answer.text == MODEL_DOWN_TEXT and rec.types() == ["assistant_message"]


async def test_tools_carry_the_actions_examples_as_data_not_in_their_descriptions(deps):
    tools = {t.name: t for t in tool_specs(deps.registry)}
    assert tools["add"].examples == ("add two and three",)
    assert "Examples" not in tools["add"].description
    assert tools["explode"].examples == ()
    assert tools["add"].parameters["required"] == ["a", "b"]


async def test_retrieval_runs_once_per_turn_on_the_shoppers_words(model, deps):
    model.call("add", a=1, b=1).reply("Two.")
    await turn(deps, Conversation(id="c1"), "one plus one")
    assert deps.kb.queries == ["one plus one"]


async def test_the_model_can_hand_over_to_a_person(model, deps):
    model.call("handoff_to_human", reason="wants a human").reply("Someone will join.")
    answer, rec = await turn(deps, Conversation(id="c1"), "a person please")
    handoff = [e for e in rec.events if e.type == "handoff"]
    assert len(handoff) == 1 and handoff[0].reason == "wants a human"
    assert model.tool_results()[0] == {"ok": True, "result": {"message": HANDOFF_MESSAGE}}
    assert "handoff_to_human" in [t["function"]["name"] for t in model.calls[0]["tools"]]


def test_history_for_the_model_answers_every_tool_call_once():
    call = {"id": "c1", "type": "function", "function": {"name": "add", "arguments": "{}"}}
    history = [
        {"role": "user", "content": "hi", "id": 1},
        {"role": "assistant", "content": None, "tool_calls": [call]},  # cut short: no result
        {"role": "user", "content": "hello?"},
        {"role": "tool", "tool_call_id": "zz", "content": "{}"},  # result of nothing
        {"role": "assistant", "content": "Hi!", "citations": []},
        {"role": "agent", "content": "Sam from the studio here."},
    ]
    cleaned = model_history(history)
    assert [m["role"] for m in cleaned] == [
        "user",
        "assistant",
        "tool",
        "user",
        "assistant",
        "assistant",
    ]
    assert cleaned[2]["tool_call_id"] == "c1" and "interrupted" in cleaned[2]["content"]
    assert cleaned[0] == {"role": "user", "content": "hi"}
    assert cleaned[4] == {"role": "assistant", "content": "Hi!"}
    assert cleaned[5] == {"role": "assistant", "content": "Sam from the studio here."}


async def test_a_side_effect_the_policy_refuses_is_not_offered_for_confirmation(model, deps):
    model.call("return_engraved").then(echo_last_tool_result)
    _, rec = await turn(deps, Conversation(id="c1"), "return my engraved mug")
    assert rec.confirmations == [] and HOLDS == []
    assert model.tool_results()[0]["error"] == {
        "code": "final_sale",
        "message": "Engraved items are final sale.",
    }


async def test_a_failing_knowledge_base_still_lets_the_turn_finish(model, deps):
    class BrokenKB:
        async def asearch(self, query: str, k: int = 5):
            raise RuntimeError("index missing")

    deps.kb = BrokenKB()
    model.call("add", a=1, b=2).reply("Three.")
    answer, _ = await turn(deps, Conversation(id="c1"), "1+2?")
    assert answer.text == "Three." and answer.citations == []
    assert "No passage" in model.calls[0]["messages"][0]["content"]


# With a FunctionModel (the Model protocol, no litellm) -------------------------------------------
def function_deps(deps, fn):
    from agent.models import FunctionModel

    deps.model = FunctionModel(fn)
    return deps


def relay_or(call):
    """Call `call` (name, arguments) on the shopper's message; relay a tool result's message."""

    def fn(request):
        from agent.models import ToolCall

        last_message = request.messages[-1]
        if last_message["role"] == "tool":
            result = json.loads(last_message["content"])
            inner = result.get("result") or result.get("error") or {}
            return ModelReply(text=f"Done: {inner.get('message', '')}")
        return ModelReply(tool_calls=[ToolCall(id="call_1", name=call[0], arguments=call[1])])

    return fn


async def test_the_facts_travel_structured_in_the_request(deps):
    seen = []

    def fn(request):
        seen.append(request)
        return ModelReply(text="Engraved items are final sale [2].")

    function_deps(deps, fn)
    conv = Conversation(id="c1", customer_email="maya.chen@example.com")
    answer, _ = await turn(deps, conv, "engraved mug?")
    request = seen[0]
    assert [p.source for p in request.passages] == ["returns.md", "personalised.md"]
    assert request.confidence == 0.8 and request.threshold == deps.settings.confidence_threshold
    assert request.customer_email == "maya.chen@example.com"
    assert request.store_name == deps.settings.store_name
    assert {"add", "handoff_to_human"} <= {t.name for t in request.tools}
    assert list(request.messages) == [{"role": "user", "content": "engraved mug?"}]
    assert [c.source for c in answer.citations] == ["personalised.md"]


async def test_a_late_yes_resumes_the_turn_and_the_model_words_it_as_live(deps):
    from agent.turn.loop import LateAnswer, resume_turn

    function_deps(deps, relay_or(("place_hold", {"item": "sage mug"})))
    live_rec = Recorder()
    live, _ = await turn(deps, Conversation(id="live"), "hold the mug", live_rec)

    # The same turn cut short while waiting for the yes: the call is open in the history.
    asked = Recorder()

    async def never(request):
        asked.confirmations.append(request)
        raise asyncio.CancelledError

    conv = Conversation(id="late")
    with pytest.raises(asyncio.CancelledError):
        await run_turn(
            conv, "hold the mug", deps, emit=asked.emit, confirm=never, record=asked.record
        )
    assert [c["function"]["name"] for c in conv.history.open_calls()] == ["place_hold"]
    request = asked.confirmations[0]
    late = Recorder()
    answer = await resume_turn(
        conv,
        LateAnswer(action=request.action, arguments=request.arguments, approved=True),
        deps,
        emit=late.emit,
        confirm=late.confirm,
        record=late.record,
    )
    assert answer.text == live.text == "Done: The sage mug is on hold."
    assert late.types()[:2] == ["action_started", "action_finished"]
    assert late.types()[-1] == "assistant_message"
    assert late.confirmations == []  # the late yes is the answer; nobody is asked again
    assert [m["role"] for m in late.recorded] == ["tool", "assistant"]
    assert HOLDS[-1] == ("sage mug", idempotency_key("late", "place_hold", {"item": "sage mug"}))


async def test_a_late_no_runs_nothing_and_the_model_words_it(deps):
    from agent.turn.loop import LateAnswer, resume_turn

    function_deps(deps, relay_or(("place_hold", {"item": "vase"})))
    conv = Conversation(id="late-no")
    conv.history.add({"role": "user", "content": "hold the vase"})
    call = {"id": "c9", "type": "function", "function": {"name": "place_hold", "arguments": "{}"}}
    conv.history.add({"role": "assistant", "content": None, "tool_calls": [call]})
    rec = Recorder()
    answer = await resume_turn(
        conv,
        LateAnswer(action="place_hold", arguments={"item": "vase"}, approved=False),
        deps,
        emit=rec.emit,
        confirm=rec.confirm,
        record=rec.record,
    )
    assert HOLDS == []
    assert answer.text == "Done: The shopper declined; nothing was done."
    assert rec.recorded[0]["tool_call_id"] == "c9"


def test_the_history_grows_one_message_at_a_time_as_the_whole_one_would_be_normalised():
    call = {"id": "c1", "type": "function", "function": {"name": "add", "arguments": "{}"}}
    stored = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "system-note", "content": "verified"},
        {"role": "user", "content": "again"},
        {"role": "agent", "content": "Sam here."},
    ]
    history = History()
    for message in stored:
        history.add(message)
    assert list(history.for_model()) == model_history(stored)
    assert [m["role"] for m in history.messages] == [
        "user",
        "assistant",
        "tool",
        "user",
        "assistant",
    ]
