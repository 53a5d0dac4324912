"""The `@action` decorator and the registry the agent calls actions through.

An action is `async def name(ctx: ActionContext, a: int, b: str | None = None) -> SomeResult`;
its spec (JSON schema from the signature, description from the docstring) is built by
`actions.spec.build_spec` when the decorator runs.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
import sys
from collections.abc import Awaitable, Callable, Iterable
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar, overload

from pydantic import BaseModel, ValidationError

from actions.context import ActionContext, ActionError, ActionResult
from actions.spec import (
    ActionDefinitionError,
    ActionSpec,
    Summary,
    build_spec,
)

ENTRY_POINT_GROUP = "shopdesk.actions"
BUILTIN_MODULES = (
    "actions.builtin.orders",
    "actions.builtin.my_orders",
    "actions.builtin.returns",
    "actions.builtin.labels",
    "actions.builtin.status",
    "actions.builtin.tracking",
    "actions.builtin.leads",
)
SPEC_ATTR = "__shopdesk_action__"

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


__all__ = ["ActionRegistry", "action", "invalid_arguments", "load_registry", "spec_of"]
