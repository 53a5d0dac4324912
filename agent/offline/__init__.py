"""The offline default model `shopdesk/offline` (see model.py); registered by agent.llm."""

from __future__ import annotations

from agent.offline.model import OfflineModel, Planner, classify, read_tools

__all__ = ["OfflineModel", "Planner", "classify", "read_tools"]
