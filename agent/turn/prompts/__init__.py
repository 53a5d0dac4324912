"""The system prompt a language model reads, rendered from system.jinja2 (render only).

Written for a model, not a parser: facts that a program needs travel structured in the
`ModelRequest`, so nothing here is ever parsed back. Everything interpolated is escaped (jinja2
autoescape): passage text is data, and a passage containing `</passage>` must not change the
prompt's structure.
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from agent.models.base import ModelRequest

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=False,
    undefined=jinja2.StrictUndefined,
    auto_reload=False,  # the template ships with the package; no stat() per render
)


def render_system_prompt(request: ModelRequest) -> str:
    template = _env.get_template("system.jinja2")
    return template.render(
        store_name=request.store_name,
        tone=request.tone,
        passages=request.passages,
        answerable=request.answerable,
        questions=request.questions,
        threshold=request.threshold,
        customer_email=request.customer_email,
        order_id_pattern=request.order_id_pattern,
        today=request.now.date().isoformat(),
    )


__all__ = ["render_system_prompt"]
