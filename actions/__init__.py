"""Actions: typed functions the agent calls, the return-policy engine, and (in `store`, `workflow`,
`carrier`, …) the order records they act on.

Public surface (importing this package does not import SQLAlchemy or the built-ins):
- `action`, `ActionContext`, `ActionResult`, `ActionError`, `ActionSpec`, `ActionRegistry`,
  `ActionDefinitionError`, `load_registry`
- the policy engine: `Policy`, `load_policy`, `evaluate_line`, `LineResult`, `ReturnReason`
"""

from __future__ import annotations

from actions.context import ActionContext, ActionError, ActionResult
from actions.policy import LineResult, Policy, PolicyError, ReturnReason, evaluate_line, load_policy
from actions.registry import ActionRegistry, action, load_registry
from actions.spec import ActionDefinitionError, ActionSpec

__all__ = [
    "ActionContext",
    "ActionDefinitionError",
    "ActionError",
    "ActionRegistry",
    "ActionResult",
    "ActionSpec",
    "LineResult",
    "Policy",
    "PolicyError",
    "ReturnReason",
    "action",
    "evaluate_line",
    "load_policy",
    "load_registry",
]
