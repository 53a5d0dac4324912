"""The shopper-conversation corpus: YAML files of conversations and the outcomes a shopper notices.

A file holds one category: `category: <name>` and `conversations: [...]`. A conversation has an `id`,
optional `signed_in` (the host page's signed identity), optional `setup` (state made through the
REST API before the chat starts), `turns` (what the shopper types, or `confirm: yes/no` for the card
on screen) and `expect`. See examples/demo-store/conversations/README.md for the format.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

Text = Annotated[str, Field(min_length=1, max_length=2000)]
Reason = str | list[str]


class CorpusError(Exception):
    """A corpus file that cannot be used; the message names the file and the problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Confirm(_Strict):
    """Press Confirm (yes) or Cancel (no) on the confirmation card that is open."""

    confirm: bool


Turn = Text | Confirm


class ActionExpectation(_Strict):
    """An action that must run and succeed; every given field must match its arguments."""

    name: Annotated[str, Field(min_length=1, max_length=100)]
    order: str | None = None
    items: list[str] | None = None  # the SKUs, exactly this set
    quantity: int | None = Field(None, ge=1)  # units across the items
    reason: Reason | None = None  # one value, or a list of acceptable ones
    resolution: str | None = None

    @field_validator("order")
    @classmethod
    def _order(cls, value: str | None) -> str | None:
        return value.strip().upper() if value else value


class Expectation(_Strict):
    action: list[ActionExpectation] = Field(default_factory=list)
    cites: list[str] = Field(default_factory=list)  # "file.md > Heading"
    person: bool = False
    creates_nothing: bool = False
    says: list[str] = Field(default_factory=list)  # each in the final answer; "a | b": either
    card: str | None = None  # a confirmation card for this action was shown
    not_run: list[str] = Field(default_factory=list)  # actions that must not succeed

    @field_validator("action", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        """One expectation or a list; a bare name is `{name: ...}`."""
        listed = [value] if isinstance(value, dict | str) else value
        if isinstance(listed, list):
            return [{"name": v} if isinstance(v, str) else v for v in listed]
        return listed

    @field_validator("cites")
    @classmethod
    def _cite_shape(cls, value: list[str]) -> list[str]:
        for cite in value:
            source, sep, heading = cite.partition(">")
            if not sep or not source.strip() or not heading.strip():
                raise ValueError(f"a citation is 'file.md > Heading', not {cite!r}")
        return value

    @model_validator(mode="after")
    def _something(self) -> Expectation:
        if not (self.action or self.cites or self.person or self.creates_nothing or self.says):
            if self.card or self.not_run:
                return self
            raise ValueError("expect needs one of action, cites, person, creates_nothing, says")
        return self


class ReturnSetup(_Strict):
    """A return created through POST /v1/returns before the conversation."""

    order: str
    email: str
    items: list[str] = Field(min_length=1)
    quantity: int = Field(1, ge=1)
    reason: str


class DecisionSetup(_Strict):
    """A staff decision on the return made just before (PATCH /v1/returns/{id})."""

    status: str
    note: str | None = None


class SetupStep(_Strict):
    return_: ReturnSetup | None = Field(None, alias="return")
    decide: DecisionSetup | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SetupStep:
        if (self.return_ is None) == (self.decide is None):
            raise ValueError("a setup step is either `return:` or `decide:`")
        return self


class Conversation(_Strict):
    id: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
    category: str = ""
    signed_in: str | None = None
    setup: list[SetupStep] = Field(default_factory=list)
    turns: list[Turn] = Field(min_length=1)
    expect: Expectation

    @field_validator("turns", mode="before")
    @classmethod
    def _quoted_scalars(cls, value: object) -> object:
        # YAML reads a bare yes/no as a boolean and 1012 as a number: not what the shopper typed.
        if isinstance(value, list) and any(isinstance(t, bool | int | float) for t in value):
            raise ValueError("a turn that YAML reads as yes/no or a number must be quoted")
        return value


class CorpusFile(_Strict):
    category: Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[a-z0-9][a-z0-9-]*$")]
    description: str = ""
    conversations: list[Conversation] = Field(min_length=1)


def load_file(path: Path) -> list[Conversation]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise CorpusError(f"{path}: cannot read it as YAML: {exc}") from None
    try:
        parsed = CorpusFile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{_where(data, err['loc'])}: {err['msg']}" for err in exc.errors(include_url=False)
        )
        raise CorpusError(f"{path}: {problems}") from None
    return [c.model_copy(update={"category": parsed.category}) for c in parsed.conversations]


def _where(data: object, loc: tuple[int | str, ...]) -> str:
    """A validation error's place, with the conversation's id rather than its index."""
    parts = [str(p) for p in loc]
    if len(loc) >= 2 and loc[0] == "conversations" and isinstance(loc[1], int):
        try:
            parts[1] = str(data["conversations"][loc[1]]["id"])  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            pass
    return ".".join(parts) or "file"


def load_corpus(directory: Path) -> list[Conversation]:
    """Every conversation of every *.yaml / *.yml file, in file order; ids must be unique."""
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    if not files:
        raise CorpusError(f"{directory}: no *.yaml conversation files")
    conversations: list[Conversation] = []
    seen: dict[str, Path] = {}
    for path in files:
        for conv in load_file(path):
            if conv.id in seen:
                raise CorpusError(f"{path}: conversation id {conv.id!r} is also in {seen[conv.id]}")
            seen[conv.id] = path
            conversations.append(conv)
    return conversations


__all__ = [
    "ActionExpectation",
    "Confirm",
    "Conversation",
    "CorpusError",
    "Expectation",
    "load_corpus",
    "load_file",
]
