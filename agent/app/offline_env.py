"""The environment that keeps the ML and LLM libraries offline and quiet: no model downloads, no
telemetry, no remote cost map, no progress bars. Applied before those libraries are imported (by
`shopdesk serve`, the benchmarks and the tests); values already set in the environment win.

Import-light on purpose: it must be importable before torch, transformers, chromadb or litellm.
"""

from __future__ import annotations

import os

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
}


def use_offline_env() -> None:
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)


__all__ = ["OFFLINE_ENV", "use_offline_env"]
