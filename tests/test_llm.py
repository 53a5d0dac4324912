"""agent.models.litellm: in-process providers through litellm's real streaming path, retries and fallbacks."""

from __future__ import annotations

import pytest

from agent.models import litellm as llm
from agent.models.base import ModelError, ModelReply, ModelTurn, ToolCall, split_text
from agent.models.litellm import complete, stream_model
from tests.scripted_model import ScriptedModel

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "lookup_order",
            "description": "Look up an order.",
            "parameters": {
                "type": "object",
                "properties": {"order_id": {"type": "string"}, "email": {"type": "string"}},
                "required": ["order_id", "email"],
            },
        },
    }
]


@pytest.fixture
def model():
    scripted = ScriptedModel()
    yield scripted
    scripted.close()


async def collect(model_name, messages=None, tools=(), **kwargs):
    items = []
    async for item in stream_model(
        model_name, messages or [{"role": "user", "content": "hi"}], list(tools), **kwargs
    ):
        items.append(item)
    return items


async def test_text_streams_as_several_deltas_then_one_turn(model):
    text = "Our studio ships every weekday, and most parcels arrive within five business days."
    model.reply(text)
    items = await collect(model.name)
    deltas, turn = items[:-1], items[-1]
    assert isinstance(turn, ModelTurn)
    assert len(deltas) > 2 and all(isinstance(d, str) for d in deltas)
    assert "".join(deltas) == text == turn.text
    assert turn.tool_calls == [] and turn.model_seconds >= 0


async def test_tool_calls_are_assembled_by_litellm_and_tools_reach_the_provider(model):
    model.calls_many(
        ("lookup_order", {"order_id": "WK-1001", "email": "maya.chen@example.com"}),
        ("lookup_order", {"order_id": "WK-1002", "email": "d.okafor@example.com"}),
    )
    items = await collect(model.name, tools=TOOLS)
    turn = items[-1]
    assert [c.name for c in turn.tool_calls] == ["lookup_order", "lookup_order"]
    assert turn.tool_calls[0].arguments == {"order_id": "WK-1001", "email": "maya.chen@example.com"}
    assert turn.tool_calls[1].arguments["order_id"] == "WK-1002"
    assert all(c.id for c in turn.tool_calls)
    assert model.calls[0]["tools"][0]["function"]["name"] == "lookup_order"


async def test_arguments_that_are_not_json_come_back_as_raw_text(model):
    model.raw_call("lookup_order", "{order_id: WK-1001")
    turn = (await collect(model.name, tools=TOOLS))[-1]
    assert turn.tool_calls[0].arguments == "{order_id: WK-1001"


async def test_a_failing_model_is_retried(model):
    model.fail_next = 1
    model.reply("second time lucky")
    turn = await complete(model.name, [{"role": "user", "content": "hi"}], [], retries=1)
    assert turn.text == "second time lucky"
    assert len(model.calls) == 2


async def test_fallback_model_answers_when_the_first_fails(model):
    backup = ScriptedModel().reply("from the backup")
    try:
        model.fail_next = 5
        turn = await complete(
            model.name, [{"role": "user", "content": "hi"}], [], retries=0, fallbacks=[backup.name]
        )
        assert turn.text == "from the backup" and turn.model == backup.name
    finally:
        backup.close()


async def test_every_model_failing_raises_model_error(model):
    model.fail_next = 10
    with pytest.raises(ModelError):
        await complete(model.name, [{"role": "user", "content": "hi"}], [], retries=1)


async def test_a_slow_model_times_out():
    slow = ScriptedModel(delay=3600.0).reply("too late")  # only the timeout can end this call
    try:
        with pytest.raises(ModelError, match="timed out|Timeout"):
            await complete(
                slow.name, [{"role": "user", "content": "hi"}], [], timeout=0.2, retries=0
            )
    finally:
        slow.close()


def test_the_offline_model_is_used_directly_and_needs_no_litellm():
    import subprocess
    import sys

    code = (
        "import sys; from agent.app.settings import Settings; from agent.models import model_for;"
        "from agent.app.server import build_app;"
        "m = model_for(Settings()); print(type(m).__name__, 'litellm' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["OfflineModel", "False"]


def test_completion_and_streaming_also_work_synchronously(model):
    # litellm's sync paths go through the same handler (scripts and notebooks use them).
    import litellm

    model.reply("plain answer")
    response = litellm.completion(model=model.name, messages=[{"role": "user", "content": "x"}])
    assert response.choices[0].message.content == "plain answer"
    model.queue.append(
        ModelReply(text="", tool_calls=[ToolCall(id="c1", name="lookup_order", arguments={})])
    )
    chunks = list(
        litellm.completion(
            model=model.name, messages=[{"role": "user", "content": "x"}], tools=TOOLS, stream=True
        )
    )
    built = litellm.stream_chunk_builder(chunks)
    assert built.choices[0].message.tool_calls[0].function.name == "lookup_order"


def test_text_is_split_on_word_boundaries():
    pieces = split_text("one two three four five six seven eight nine ten eleven twelve")
    assert "".join(pieces) == "one two three four five six seven eight nine ten eleven twelve"
    assert len(pieces) > 1


def test_tool_call_fragments_from_a_hosted_provider_are_joined_by_index():
    from types import SimpleNamespace as NS

    def frag(index, id=None, name=None, arguments=""):
        return NS(index=index, id=id, function=NS(name=name, arguments=arguments))

    calls = llm._assemble_tool_calls(
        [
            frag(0, "call_a", "lookup_order", ""),
            frag(1, "call_b", "fetch_tracking", '{"order_id"'),
            frag(0, None, None, '{"order_id": "WK-1001", '),
            frag(0, None, None, '"email": "maya.chen@example.com"}'),
            frag(1, None, None, ': "WK-1009"}'),
        ]
    )
    parsed = llm._parse_tool_calls(calls)
    assert [(c.id, c.name) for c in parsed] == [
        ("call_a", "lookup_order"),
        ("call_b", "fetch_tracking"),
    ]
    assert parsed[0].arguments == {"order_id": "WK-1001", "email": "maya.chen@example.com"}
    assert parsed[1].arguments == {"order_id": "WK-1009"}
