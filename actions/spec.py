"""An action's spec: its name, flags and the pydantic model of its arguments, built from the
function's signature and docstring (never hand-written).

The description is the docstring's first paragraph and each parameter's description comes from
the docstring's Google-style `Args:` section. A wrong signature fails here, when the module is
imported, with a message naming the function — the developer sees it before any shopper does.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.fields import FieldInfo

from actions.context import ActionContext, ActionResult

NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]{0,63}$")

Summary = Callable[[ActionContext, BaseModel], "str | Awaitable[str]"]


class ActionDefinitionError(TypeError):
    """An `@action` function has a signature the registry cannot turn into a tool."""


@dataclass(frozen=True)
class ActionSpec:
    name: str
    description: str
    confirm: bool
    identity: bool
    examples: tuple[str, ...]
    params_model: type[BaseModel]
    result_model: type[ActionResult]
    func: Callable[..., Awaitable[ActionResult]] = field(repr=False)
    summary: Summary | None = field(default=None, repr=False)
    module: str = ""

    def json_schema(self) -> dict[str, Any]:
        return _tidy_schema(self.params_model.model_json_schema())

    def tool(self) -> dict[str, Any]:
        """OpenAI tool format, which litellm passes to every provider."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.json_schema(),
            },
        }

    def describe(self) -> dict[str, Any]:
        """What `actions list --json` and `GET /v1/actions` show."""
        return {
            "name": self.name,
            "description": self.description,
            "confirm": self.confirm,
            "identity": self.identity,
            "examples": list(self.examples),
            "parameters": self.json_schema(),
            "result": _tidy_schema(self.result_model.model_json_schema()),
        }


def _tidy_schema(schema: dict[str, Any]) -> dict[str, Any]:
    # pydantic adds a "title" to every node; models read field names fine without them and the
    # prompt is shorter. Property *names* called "title" are kept (only dict values are touched).
    def walk(node: Any, in_properties: bool = False) -> Any:
        if isinstance(node, dict):
            return {
                k: walk(v, k in ("properties", "$defs"))
                for k, v in node.items()
                if in_properties or k != "title" or not isinstance(v, str)
            }
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    tidy = walk(schema)
    assert isinstance(tidy, dict)
    return tidy


# Docstrings -------------------------------------------------------------------------------------
_SECTION_RE = re.compile(
    r"^(Args|Arguments|Parameters|Returns|Raises|Examples?|Notes?|Yields):\s*$"
)
_PARAM_RE = re.compile(r"^(\*{0,2}\w+)\s*(?:\(([^)]*)\))?\s*:\s*(.*)$")


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """(first paragraph as one line, {param: description}) from a Google-style docstring."""
    if not doc:
        return "", {}
    lines = inspect.cleandoc(doc).splitlines()
    summary: list[str] = []
    for line in lines:
        if not line.strip() or _SECTION_RE.match(line.strip()):
            break
        summary.append(line.strip())
    params: dict[str, str] = {}
    in_args = False
    current: str | None = None
    base_indent = 0
    for line in lines:
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        header = _SECTION_RE.match(stripped)
        if header and indent == 0:
            in_args = header.group(1) in ("Args", "Arguments", "Parameters")
            current, base_indent = None, -1
            continue
        if not in_args or not stripped:
            continue
        if indent == 0:  # dedented text ends the section
            in_args = False
            continue
        if base_indent < 0:
            base_indent = indent
        match = _PARAM_RE.match(stripped)
        if indent == base_indent and match:
            current = match.group(1).lstrip("*")
            params[current] = match.group(3).strip()
        elif current is not None:
            params[current] = f"{params[current]} {stripped}".strip()
    return " ".join(summary), params


# The decorator ----------------------------------------------------------------------------------
def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_") if part) or "Action"


def _fail(func: Callable[..., Any], problem: str) -> ActionDefinitionError:
    where = f"{func.__module__}.{getattr(func, '__qualname__', func)}"
    return ActionDefinitionError(f"@action {where}: {problem}")


def build_spec(
    func: Callable[..., Any],
    *,
    confirm: bool = False,
    identity: bool = False,
    examples: Iterable[str] = (),
    summary: Summary | None = None,
    name: str | None = None,
    localns: dict[str, Any] | None = None,
) -> ActionSpec:
    if not inspect.iscoroutinefunction(func):
        raise _fail(func, "must be an `async def` function")
    action_name = name or func.__name__
    if not NAME_RE.match(action_name):
        raise _fail(func, f"name {action_name!r} must be letters, digits and underscores (≤ 64)")
    try:
        hints = get_type_hints(func, localns=localns, include_extras=True)
    except Exception as exc:  # NameError for an annotation that names nothing importable
        raise _fail(func, f"cannot resolve its type annotations ({exc})") from None
    params = list(inspect.signature(func).parameters.values())
    result_type = _result_type(func, params, hints)
    description, param_docs = parse_docstring(func.__doc__)
    if not description:
        raise _fail(func, "needs a docstring: its first paragraph is what the model reads")
    fields = _fields(func, params[1:], hints, param_docs)
    try:
        params_model = create_model(
            f"{_camel(action_name)}Args",
            __config__=ConfigDict(extra="forbid"),
            __module__=func.__module__,
            **fields,
        )
        params_model.model_json_schema()  # fail now, not when the model first asks for tools
    except Exception as exc:
        raise _fail(func, f"its parameters do not make a JSON schema ({exc})") from None
    return ActionSpec(
        name=action_name,
        description=description,
        confirm=confirm,
        identity=identity,
        examples=tuple(examples),
        params_model=params_model,
        result_model=result_type,
        func=func,
        summary=summary,
        module=func.__module__,
    )


def _result_type(
    func: Callable[..., Any], params: list[inspect.Parameter], hints: dict[str, Any]
) -> type[ActionResult]:
    """Check the context parameter and the return annotation; the result class."""
    if not params or params[0].kind not in (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    ):
        raise _fail(func, "the first parameter must be the context, e.g. `ctx: ActionContext`")
    ctx_type = hints.get(params[0].name)
    if not (isinstance(ctx_type, type) and issubclass(ctx_type, ActionContext)):
        raise _fail(
            func, f"the first parameter `{params[0].name}` must be annotated `ActionContext`"
        )
    result_type = hints.get("return")
    if not (isinstance(result_type, type) and issubclass(result_type, ActionResult)):
        raise _fail(func, "the return annotation must be a subclass of ActionResult")
    return result_type


def _fields(
    func: Callable[..., Any],
    params: list[inspect.Parameter],
    hints: dict[str, Any],
    param_docs: dict[str, str],
) -> dict[str, Any]:
    """The pydantic field of each parameter after the context: (annotation, FieldInfo)."""
    fields: dict[str, Any] = {}
    for param in params:
        if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            raise _fail(func, f"`{param}` is not allowed: every parameter needs a name and a type")
        if param.kind is inspect.Parameter.POSITIONAL_ONLY:
            raise _fail(func, f"parameter `{param.name}` cannot be positional-only")
        if param.name not in hints:
            raise _fail(func, f"parameter `{param.name}` needs a type annotation")
        doc = param_docs.get(param.name) or None
        if isinstance(param.default, FieldInfo):  # `x: int = Field(1, ge=1)` works too
            info = param.default
            if doc and not info.description:
                info = FieldInfo.merge_field_infos(info, description=doc)
            fields[param.name] = (hints[param.name], info)
            continue
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[param.name] = (hints[param.name], Field(default, description=doc))
    return fields


__all__ = ["ActionDefinitionError", "ActionSpec", "Summary", "build_spec", "parse_docstring"]
