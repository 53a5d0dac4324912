"""The models behind a turn.

Public surface: the `Model` protocol and its data (`ModelRequest`, `ModelTurn`, `ToolCall`,
`ToolSpec`, `PassageFact`, `Message`, `ModelReply`, `ModelError`), `model_for(settings)` which
picks the model a setting names, and `FunctionModel` (a model that is a function, for tests).

`shopdesk/offline` is the embedded offline model (agent.models.offline), used directly; any other
model string goes through litellm (agent.models.litellm, the only module that imports it, loaded
only when such a model is configured).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.models.base import (
    Message,
    Model,
    ModelError,
    ModelReply,
    ModelRequest,
    ModelTurn,
    PassageFact,
    ToolCall,
    ToolSpec,
)
from agent.models.function import FunctionModel

if TYPE_CHECKING:
    from agent.app.settings import Settings
    from agent.models.offline.intent_vectors import TextEncoder

OFFLINE_MODEL = "shopdesk/offline"


def model_for(settings: Settings, encoder: TextEncoder | None = None) -> Model:
    """The model `settings.model` names: the offline model for `shopdesk/offline` (routing by
    meaning with `encoder`, a sentence encoder, when given), litellm (with the configured
    fallbacks, timeout and retries) for every other provider string."""
    if settings.model == OFFLINE_MODEL:
        from agent.models.offline import OfflineModel

        return OfflineModel(encoder=encoder)
    from agent.models.litellm import LiteLLMModel

    return LiteLLMModel(
        settings.model,
        fallbacks=tuple(settings.model_fallbacks),
        timeout=settings.model_timeout,
        retries=settings.model_retries,
    )


__all__ = [
    "OFFLINE_MODEL",
    "FunctionModel",
    "Message",
    "Model",
    "ModelError",
    "ModelReply",
    "ModelRequest",
    "ModelTurn",
    "PassageFact",
    "ToolCall",
    "ToolSpec",
    "model_for",
]
