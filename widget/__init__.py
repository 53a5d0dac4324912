"""The shopper's chat widget: `static/widget.js` (a vanilla custom element in a Shadow DOM, no build
step), its stylesheet, and the pages that serve them.

Public surface: `routes(settings)` (mounted by `agent.app.server.build_app`: `/`, `/widget.js`,
`/widget.css`) and `load_assets()` (the script with its CSS inlined, for measuring or embedding).
Importing this package imports no web framework; `widget.pages` does.
"""

from __future__ import annotations

__all__ = ["load_assets", "routes"]


def __getattr__(name: str):  # lazy: keep `import widget` free of starlette and jinja2
    if name in __all__:
        from widget import pages

        return getattr(pages, name)
    raise AttributeError(name)
