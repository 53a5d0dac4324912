"""The @action decorator and the registry: schemas from signatures, loud failures, identity gates."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, Field

from actions import (
    ActionContext,
    ActionDefinitionError,
    ActionError,
    ActionRegistry,
    ActionResult,
    action,
    load_registry,
)
from actions.spec import parse_docstring


class Echo(ActionResult):
    text: str


class Pickup(BaseModel):
    day: str
    slot: Literal["morning", "afternoon"] = "morning"


@action(examples=("say it back",))
async def echo(
    ctx: ActionContext,
    text: str,
    times: Annotated[int, Field(ge=1, le=5)] = 1,
    shout: bool = False,
    note: str | None = None,
) -> Echo:
    """Repeat the shopper's words.

    The model never sees this second paragraph.

    Args:
        text: What to repeat.
        times: How many times,
            at most five.
        shout: Upper-case it.
    """
    out = " ".join([text.upper() if shout else text] * times)
    return Echo(text=out, message=f"You said {out}.")


@action(confirm=True, identity=True, name="book_pickup")
async def pickup(ctx: ActionContext, pickup: Pickup) -> Echo:
    """Book a collection from the shopper's address."""
    return Echo(text=pickup.slot, message=f"Booked for {ctx.customer_email} on {pickup.day}.")


@pytest.fixture
def registry() -> ActionRegistry:
    return ActionRegistry([echo, pickup])  # type: ignore[list-item]


def ctx(email: str | None = None) -> ActionContext:
    return ActionContext(
        services=None, customer_email=email, now=datetime(2026, 11, 21, tzinfo=UTC)
    )


# Schema from the signature --------------------------------------------------------------------
def test_schema_is_derived_from_the_signature_and_docstring(registry: ActionRegistry) -> None:
    spec = registry.get("echo")
    assert spec is not None
    assert spec.description == "Repeat the shopper's words."
    assert spec.examples == ("say it back",)
    assert (spec.confirm, spec.identity) == (False, False)
    schema = spec.json_schema()
    assert schema["required"] == ["text"]
    assert schema["additionalProperties"] is False
    props = schema["properties"]
    assert props["text"] == {"description": "What to repeat.", "type": "string"}
    assert props["times"]["minimum"] == 1 and props["times"]["maximum"] == 5
    assert props["times"]["default"] == 1
    assert props["times"]["description"] == "How many times, at most five."
    assert props["shout"]["type"] == "boolean"
    assert {"type": "null"} in props["note"]["anyOf"]
    assert "description" not in props["note"]  # undocumented parameters get none
    assert "title" not in schema and "title" not in props["text"]


def test_tools_are_in_openai_format(registry: ActionRegistry) -> None:
    tools = registry.tools()
    assert [t["function"]["name"] for t in tools] == ["echo", "book_pickup"]
    tool = tools[1]
    assert tool["type"] == "function"
    params = tool["function"]["parameters"]
    assert params["properties"]["pickup"]["$ref"] == "#/$defs/Pickup"
    assert params["$defs"]["Pickup"]["properties"]["slot"]["enum"] == ["morning", "afternoon"]


def test_decorated_function_is_still_callable_directly() -> None:
    import asyncio

    result = asyncio.run(echo(ctx(), "hi", times=2))
    assert result.text == "hi hi"


def test_docstring_parser_reads_google_style_args() -> None:
    summary, params = parse_docstring(
        """Do a thing
        over two lines.

        Args:
            a (int): First.
            b: Second,
                continued.

        Returns:
            Nothing useful.
        """
    )
    assert summary == "Do a thing over two lines."
    assert params == {"a": "First.", "b": "Second, continued."}


# Wrong signatures fail at decoration, naming the function ---------------------------------------
def _define(source: str) -> None:
    namespace: dict[str, object] = {}
    exec(
        textwrap.dedent(
            """
            from __future__ import annotations
            from actions import action, ActionContext, ActionResult
            class R(ActionResult):
                pass
            """
        )
        + textwrap.dedent(source),
        namespace,
    )


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("@action\ndef sync_one(ctx: ActionContext) -> R:\n    'Doc.'\n", "async def"),
        ("@action\nasync def no_ctx(order_id: str) -> R:\n    'Doc.'\n", "ActionContext"),
        ("@action\nasync def bare() -> R:\n    'Doc.'\n", "first parameter"),
        (
            "@action\nasync def untyped(ctx: ActionContext, x) -> R:\n    'Doc.'\n",
            "`x` needs a type",
        ),
        ("@action\nasync def star(ctx: ActionContext, *a: int) -> R:\n    'Doc.'\n", "*a"),
        ("@action\nasync def kw(ctx: ActionContext, **k: int) -> R:\n    'Doc.'\n", "**k"),
        ("@action\nasync def plain(ctx: ActionContext) -> dict:\n    'Doc.'\n", "ActionResult"),
        ("@action\nasync def noret(ctx: ActionContext):\n    'Doc.'\n", "ActionResult"),
        ("@action\nasync def nodoc(ctx: ActionContext) -> R:\n    pass\n", "docstring"),
        ("@action\nasync def ghost(ctx: ActionContext, x: Nope) -> R:\n    'Doc.'\n", "Nope"),
    ],
)
def test_wrong_signature_fails_at_decoration_naming_the_function(source: str, problem: str) -> None:
    name = source.split("def ")[1].split("(")[0]
    with pytest.raises(ActionDefinitionError) as err:
        _define(source)
    assert f".{name}:" in str(err.value)
    assert problem in str(err.value)


def test_two_actions_with_one_name_are_refused() -> None:
    @action(name="echo")
    async def other(ctx: ActionContext, text: str) -> Echo:
        """Another echo."""
        return Echo(text=text, message=text)

    with pytest.raises(ActionDefinitionError, match="defined twice"):
        ActionRegistry([echo, other])  # type: ignore[list-item]


# validate / run ---------------------------------------------------------------------------------
def test_unknown_action_is_an_error(registry: ActionRegistry) -> None:
    with pytest.raises(ActionError) as err:
        registry.validate("teleport", {})
    assert err.value.code == "unknown_action"


async def test_invalid_arguments_name_the_field(registry: ActionRegistry) -> None:
    with pytest.raises(ActionError) as err:
        await registry.run("echo", ctx(), {"text": "hi", "times": 9})
    assert err.value.code == "invalid_arguments"
    assert "times" in err.value.message
    assert err.value.details[0]["field"] == "times"
    with pytest.raises(ActionError) as err:
        registry.validate("echo", {"text": "hi", "colour": "red"})
    assert "colour" in err.value.message
    with pytest.raises(ActionError) as err:
        registry.validate("echo", ["hi"])
    assert err.value.code == "invalid_arguments"


async def test_identity_action_is_refused_without_a_verified_shopper(
    registry: ActionRegistry,
) -> None:
    args = {"pickup": {"day": "Friday"}}
    with pytest.raises(ActionError) as err:
        await registry.run("book_pickup", ctx(), args)
    assert err.value.code == "identity_required"
    result = await registry.run("book_pickup", ctx("Ada@Example.com"), args)
    assert result.message == "Booked for ada@example.com on Friday."


async def test_run_accepts_a_validated_model(registry: ActionRegistry) -> None:
    model = registry.validate("echo", {"text": "ok", "shout": True})
    result = await registry.run("echo", ctx(), model)
    assert result.message == "You said OK."


async def test_summary_falls_back_to_the_description(registry: ActionRegistry) -> None:
    text = (await registry.preview("book_pickup", ctx("a@b.co"), {"pickup": {"day": "Mon"}}))[0]
    assert text.startswith("Book a collection from the shopper's address.")
    assert "Mon" in text


async def test_summary_function_gives_the_confirmation_text() -> None:
    def summary(c: ActionContext, args: BaseModel) -> str:
        return f"Send {args.text!r} to the shop."  # type: ignore[attr-defined]

    @action(confirm=True, summary=summary)
    async def send(ctx: ActionContext, text: str) -> Echo:
        """Send a note."""
        return Echo(text=text, message="Sent.")

    registry = ActionRegistry([send])  # type: ignore[list-item]
    assert (await registry.preview("send", ctx(), {"text": "hi"}))[0] == "Send 'hi' to the shop."


# Discovery ---------------------------------------------------------------------------------------
def test_builtins_are_registered_with_their_flags() -> None:
    registry = load_registry()
    flags = {s.name: (s.confirm, s.identity) for s in registry.specs()}
    assert flags == {
        "lookup_order": (False, False),
        "list_my_orders": (False, True),
        "check_eligibility": (False, True),
        "create_return_authorization": (True, True),
        "generate_label": (True, True),
        "get_return_status": (False, True),
        "fetch_tracking": (False, True),
        "capture_lead": (True, False),
    }
    assert all(spec.examples for spec in registry.specs())


def test_extra_modules_load_by_path_and_by_dotted_name(tmp_path: Path, monkeypatch) -> None:
    code = textwrap.dedent(
        '''
        from __future__ import annotations
        from actions import action, ActionContext, ActionResult

        class Ping(ActionResult):
            pass

        @action
        async def ping(ctx: ActionContext) -> Ping:
            """Answer pong."""
            return Ping(message="pong")
        '''
    )
    (tmp_path / "store_actions.py").write_text(code)
    by_path = load_registry([str(tmp_path / "store_actions.py")])
    assert by_path.get("ping") is not None
    monkeypatch.syspath_prepend(str(tmp_path))
    by_name = load_registry(["store_actions"])
    assert by_name.get("ping") is not None


def test_extra_module_without_actions_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty.py").write_text("X = 1\n")
    with pytest.raises(ActionDefinitionError, match="no @action"):
        load_registry([str(tmp_path / "empty.py")])


def test_entry_point_group_is_discovered(monkeypatch) -> None:
    import actions.registry as registry_module

    class FakeEntryPoint:
        def load(self):
            return pickup

    monkeypatch.setattr(
        registry_module,
        "entry_points",
        lambda group: [FakeEntryPoint()] if group == "shopdesk.actions" else [],
    )
    assert load_registry().get("book_pickup") is not None


async def test_pydantic_field_defaults_in_the_signature_are_honoured() -> None:
    @action
    async def repeat(ctx: ActionContext, times: int = Field(2, ge=1, le=3)) -> Echo:
        """Repeat something.

        Args:
            times: How many times.
        """
        return Echo(text="x" * times, message="ok")

    registry = ActionRegistry([repeat])  # type: ignore[list-item]
    props = registry.get("repeat").json_schema()["properties"]  # type: ignore[union-attr]
    assert props["times"]["default"] == 2 and props["times"]["maximum"] == 3
    assert props["times"]["description"] == "How many times."
    assert (await registry.run("repeat", ctx(), {})).text == "xx"
    with pytest.raises(ActionError):
        registry.validate("repeat", {"times": 4})
