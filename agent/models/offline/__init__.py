"""The offline default model `shopdesk/offline`: implements `Model`, reads the request's facts.

- routing.py: what the shopper's latest words ask for; the tools on offer.
- slots.py: order numbers, emails, items, reasons, yes/no in plain text.
- state.py / memory.py: what the conversation so far establishes.
- planner.py: the decision — an action call, a question back, or an answer quoting a passage.
- model.py: `OfflineModel`, the `Model` the turn calls.
"""

from __future__ import annotations

from agent.models.offline.model import OfflineModel
from agent.models.offline.planner import Planner
from agent.models.offline.routing import classify, read_tools

__all__ = ["OfflineModel", "Planner", "classify", "read_tools"]
