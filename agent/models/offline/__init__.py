"""The offline default model `shopdesk/offline` (registered by agent.models.litellm on first use).

- routing.py: what the shopper's latest words ask for; the tools on offer.
- slots.py: order numbers, emails, items, reasons, yes/no in plain text.
- state.py / memory.py: what the conversation so far establishes.
- model.py: the decision — an action call, a question back, or an answer quoting a passage.
"""

from __future__ import annotations

from agent.models.offline.model import OfflineModel, Planner
from agent.models.offline.routing import classify, read_tools

__all__ = ["OfflineModel", "Planner", "classify", "read_tools"]
