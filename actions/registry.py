"""The `@action` decorator and the registry the agent calls actions through.

An action is `async def name(ctx: ActionContext, a: int, b: str | None = None) -> SomeResult`.
Its JSON schema comes from a pydantic model built from the signature (never hand-written), its
description from the docstring's first paragraph, and each parameter's description from the
docstring's Google-style `Args:` section. A wrong signature fails when the module is imported,
with a message naming the function — the developer sees it before any shopper does.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
import sys
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar, get_type_hints, overload

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic.fields import FieldInfo

from actions.context import ActionContext, ActionError, ActionResult

ENTRY_POINT_GROUP = "shopdesk.actions"
BUILTIN_MODULES = (
    "actions.builtin.orders",
    "actions.builtin.returns",
    "actions.builtin.labels",
    "actions.builtin.tracking",
    "actions.builtin.leads",
)
SPEC_ATTR = "__shopdesk_action__"
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
    description, param_docs = parse_docstring(func.__doc__)
    if not description:
        raise _fail(func, "needs a docstring: its first paragraph is what the model reads")

    fields: dict[str, Any] = {}
    for param in params[1:]:
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


ActionFunc = TypeVar("ActionFunc", bound=Callable[..., Awaitable[ActionResult]])


@overload
def action(func: ActionFunc, /) -> ActionFunc: ...


@overload
def action(
    *,
    confirm: bool = False,
    identity: bool = False,
    examples: Iterable[str] = (),
    summary: Summary | None = None,
    name: str | None = None,
) -> Callable[[ActionFunc], ActionFunc]: ...


def action(
    func: ActionFunc | None = None,
    *,
    confirm: bool = False,
    identity: bool = False,
    examples: Iterable[str] = (),
    summary: Summary | None = None,
    name: str | None = None,
) -> ActionFunc | Callable[[ActionFunc], ActionFunc]:
    """Register an async function as an action (`@action` or `@action(confirm=True, …)`).

    The function is returned unchanged (still callable directly in tests), with its spec attached.
    """

    # Annotations are strings under `from __future__ import annotations`; a result class defined
    # inside a function (tests, factories) is only found in the decorating frame's locals.
    caller = sys._getframe(1)
    localns = dict(caller.f_locals) if caller.f_code.co_name != "<module>" else None

    def decorate(fn: ActionFunc) -> ActionFunc:
        spec = build_spec(
            fn,
            confirm=confirm,
            identity=identity,
            examples=examples,
            summary=summary,
            name=name,
            localns=localns,
        )
        setattr(fn, SPEC_ATTR, spec)
        return fn

    return decorate(func) if func is not None else decorate


# The registry -----------------------------------------------------------------------------------
class ActionRegistry:
    def __init__(self, specs: Iterable[ActionSpec] = ()) -> None:
        self._specs: dict[str, ActionSpec] = {}
        for spec in specs:
            self.add(spec)

    def add(self, spec_or_func: ActionSpec | Callable[..., Any]) -> ActionSpec:
        spec = spec_or_func if isinstance(spec_or_func, ActionSpec) else spec_of(spec_or_func)
        existing = self._specs.get(spec.name)
        if existing is not None and existing.func is not spec.func:
            raise ActionDefinitionError(
                f"action {spec.name!r} is defined twice: in {existing.module} and in {spec.module}"
            )
        self._specs[spec.name] = spec
        return spec

    def add_module(self, module: ModuleType) -> list[ActionSpec]:
        found = [
            self.add(spec)
            for value in list(vars(module).values())
            if isinstance(spec := getattr(value, SPEC_ATTR, None), ActionSpec)
        ]
        return found

    def specs(self) -> list[ActionSpec]:
        return list(self._specs.values())

    def names(self) -> list[str]:
        return list(self._specs)

    def get(self, name: str) -> ActionSpec | None:
        return self._specs.get(name)

    def tools(self) -> list[dict[str, Any]]:
        return [spec.tool() for spec in self._specs.values()]

    def _spec(self, name: str) -> ActionSpec:
        spec = self._specs.get(name)
        if spec is None:
            known = ", ".join(sorted(self._specs)) or "none"
            raise ActionError(
                "unknown_action", f"There is no action called {name!r} (known: {known})."
            )
        return spec

    def validate(self, name: str, raw_args: Any) -> BaseModel:
        spec = self._spec(name)
        if raw_args is None:
            raw_args = {}
        if isinstance(raw_args, spec.params_model):
            return raw_args
        if isinstance(raw_args, BaseModel):
            raw_args = raw_args.model_dump()
        if not isinstance(raw_args, dict):
            raise ActionError(
                "invalid_arguments", f"The arguments for {name} must be a JSON object."
            )
        try:
            return spec.params_model.model_validate(raw_args)
        except ValidationError as exc:
            raise invalid_arguments(name, exc) from None

    async def preview(
        self, spec: ActionSpec | str, ctx: ActionContext, args: Any
    ) -> tuple[str, ActionError | None]:
        """(confirmation text, the refusal the run would give or None): the human text of a
        confirmation ("Return 1 × Engraved Oak Mug from WK-1001 …"), which falls back to the
        description and arguments when the action has no summary function. A caller can skip asking
        the shopper to confirm something the policy will refuse anyway (the summary function
        raises ActionError when it already knows)."""
        spec = self._spec(spec) if isinstance(spec, str) else spec
        model = self.validate(spec.name, args)
        problem: ActionError | None = None
        if spec.summary is not None:
            try:
                text = spec.summary(ctx, model)
                if inspect.isawaitable(text):
                    text = await text
                if text:
                    return str(text), None
            except ActionError as exc:
                problem = exc
        shown = ", ".join(f"{k}={v!r}" for k, v in model.model_dump(mode="json").items())
        return f"{spec.description} ({spec.name}: {shown})", problem

    async def run(self, name: str, ctx: ActionContext, args: Any = None) -> ActionResult:
        """Validate and run one action. Never asks for confirmation: callers do that first."""
        spec = self._spec(name)
        model = self.validate(name, args)
        if spec.identity and not ctx.customer_email:
            raise ActionError(
                "identity_required",
                "I need to verify who you are first: please give me your order number and the "
                "email address you used for it.",
            )
        kwargs = {key: getattr(model, key) for key in type(model).model_fields}
        result = await spec.func(ctx, **kwargs)
        if not isinstance(result, ActionResult):
            raise TypeError(f"action {name} returned {type(result).__name__}, not an ActionResult")
        return result


def invalid_arguments(name: str, exc: ValidationError) -> ActionError:
    details = []
    parts = []
    for error in exc.errors(include_url=False, include_context=False):
        where = ".".join(str(p) for p in error["loc"]) or "arguments"
        details.append({"field": where, "message": error["msg"]})
        parts.append(f"{where}: {error['msg']}")
    return ActionError(
        "invalid_arguments", f"Invalid arguments for {name}: {'; '.join(parts)}.", details
    )


def spec_of(func: Callable[..., Any]) -> ActionSpec:
    spec = getattr(func, SPEC_ATTR, None)
    if not isinstance(spec, ActionSpec):
        raise ActionDefinitionError(f"{func!r} is not decorated with @action")
    return spec


# Discovery --------------------------------------------------------------------------------------
def _import(target: str) -> ModuleType:
    """A dotted module name, or a path to a .py file (imported under a stable synthetic name)."""
    if target.endswith(".py") or "/" in target or "\\" in target:
        path = Path(target).expanduser().resolve()
        if not path.is_file():
            raise ActionDefinitionError(f"action module file not found: {target}")
        mod_name = f"shopdesk_actions_{re.sub(r'[^0-9a-zA-Z_]', '_', path.stem)}"
        existing = sys.modules.get(mod_name)
        if existing is not None and getattr(existing, "__file__", None) == str(path):
            return existing
        spec = importlib.util.spec_from_file_location(mod_name, path)
        if spec is None or spec.loader is None:
            raise ActionDefinitionError(f"cannot import action module {target}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(mod_name, None)
            raise
        return module
    return importlib.import_module(target)


def load_registry(
    extra: Iterable[str] = (), *, entry_points_group: str | None = ENTRY_POINT_GROUP
) -> ActionRegistry:
    """Built-ins, then the developer's modules (`--actions`), then installed entry points."""
    registry = ActionRegistry()
    for module_name in BUILTIN_MODULES:
        registry.add_module(importlib.import_module(module_name))
    for target in extra:
        target = target.strip()
        if target:
            module = _import(target)
            if not registry.add_module(module):
                raise ActionDefinitionError(f"{target} defines no @action functions")
    if entry_points_group:
        for ep in entry_points(group=entry_points_group):
            loaded = ep.load()
            if isinstance(loaded, ModuleType):
                registry.add_module(loaded)
            elif isinstance(loaded, (list, tuple)):
                for item in loaded:
                    registry.add(item)
            else:
                registry.add(loaded)
    return registry
