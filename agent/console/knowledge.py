"""`/console/knowledge`: the knowledge files, an editor with a live preview, and "try a question".

The list reads the live index (`kb.files()`, `kb.warnings`), so files the watcher picked up from
disk appear on the next load. Saving goes through `knowledge.editing.save` (validate, atomic write,
backup outside the knowledge folder, re-index). Every API answers JSON for knowledge.js; the save
also works as a plain form POST so the editor is usable without JavaScript.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from knowledge.editing import MAX_BYTES, EditError, SaveResult, check, check_source, read, save
from knowledge.loader import default_title

MAX_QUESTION = 500
SEARCH_K = 5  # what the assistant itself retrieves per turn (agent/turn/loop.py)
NEW_FILE = """---
title: {title}
tags: []
---

# {title}

## A first section

Write the answer the way you would tell a shopper.
"""

# Raw HTML off: a knowledge file is shown to staff, and its text must never run as markup.
_md = MarkdownIt("commonmark", {"html": False})


def render_markdown(text: str) -> str:
    return _md.render(text)


def _error(exc: EditError) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error": exc.code, "message": exc.message}
    if exc.code == "invalid_markdown":
        body["line"] = exc.line
        body["message"] = f"Not saved: {exc.message}"
    return JSONResponse(body, exc.status)


def _saved_message(result: SaveResult, backup: str | None) -> str:
    r = result.report
    text = (
        f"Saved. Re-indexed: {r.added} added, {r.updated} updated, {r.removed} removed "
        f"({r.seconds:.2f} s)."
    )
    if backup:
        text += f" Previous version kept as {backup}."
    elif result.created:
        text += " New file created."
    for warning in result.warnings:
        text += f" Warning: {warning}"
    return text


class KnowledgePages:
    def __init__(self, console: Any) -> None:
        self.c = console

    @property
    def kb(self) -> Any:
        return self.c.state.kb

    @property
    def settings(self) -> Any:
        return self.c.state.settings

    @property
    def backup_dir(self) -> Path:
        return Path(self.settings.data) / "backups" / "knowledge"

    def _shown_backup(self, path: Path | None) -> str | None:
        if path is None:
            return None
        try:
            return path.relative_to(Path(self.settings.data).resolve()).as_posix()
        except ValueError:
            return str(path)

    # Pages -----------------------------------------------------------------------------------
    async def list_page(self, request: Request, staff: Any) -> Response:
        files = await asyncio.to_thread(self.kb.files)
        warnings = self.kb.warnings
        by_source: dict[str, list[Any]] = {}
        for w in warnings:
            by_source.setdefault(w.source, []).append(w)
        known = {f.source for f in files}
        unindexed, general = [], []
        for source, items in by_source.items():
            if source in known:
                continue
            try:
                check_source(source)
                unindexed.append({"source": source, "warnings": items})
            except EditError:
                general.extend(items)
        return self.c.render(
            "console_knowledge.jinja2", staff=staff, section="knowledge", files=files,
            by_source=by_source, unindexed=unindexed, general=general,
            question=request.query_params.get("q", "")[:MAX_QUESTION],
        )  # fmt: skip

    async def edit_page(self, request: Request, staff: Any) -> Response:
        params = request.query_params
        source = params.get("source", "")
        question = params.get("q", "")[:MAX_QUESTION]
        try:
            found = await asyncio.to_thread(read, self.kb.kb_dir, source)
            if found is None and params.get("new") == "1":
                check_source(source, new=True)
                found = (NEW_FILE.format(title=default_title(source)), "")
        except EditError as exc:
            return self._missing(staff, exc.message, 400)
        if found is None:
            return self._missing(staff, f"There is no knowledge file called “{source}”.", 404)
        text, sha1 = found
        return self._editor(staff, check_source(source), text, sha1, question)

    def _missing(self, staff: Any, message: str, code: int) -> Response:
        return self.c.render(
            "console_knowledge_missing.jinja2", code=code, staff=staff, section="knowledge",
            message=message,
        )  # fmt: skip

    def _editor(
        self, staff: Any, source: str, text: str, sha1: str, question: str = "",
        result: dict[str, Any] | None = None, code: int = 200,
    ) -> Response:  # fmt: skip
        checked = check(source, text)
        warnings = [w for w in self.kb.warnings if w.source == source]
        return self.c.render(
            "console_knowledge_edit.jinja2", code=code, staff=staff, section="knowledge",
            source=source, text=text, sha1=sha1, is_new=not sha1, question=question,
            preview=render_markdown(checked.body), checked=checked, warnings=warnings,
            result=result, max_bytes=MAX_BYTES,
        )  # fmt: skip

    # API -------------------------------------------------------------------------------------
    async def preview(self, request: Request, staff: Any, form: dict[str, Any]) -> Response:
        text = str(form.get("text", ""))
        if len(text) > MAX_BYTES:
            return _error(EditError("too_large", "The text is too large to preview.", 413))
        source = str(form.get("source", "")) or "untitled.md"
        checked = await asyncio.to_thread(check, source, text)
        problem = checked.problem
        return JSONResponse(
            {
                "ok": problem is None,
                "html": render_markdown(checked.body),
                "title": checked.title,
                "sections": [{"heading": h} for h in checked.headings],
                "problem": None if problem is None else {"line": problem.line,
                                                         "message": problem.message},
            }
        )  # fmt: skip

    async def save(self, request: Request, staff: Any, form: dict[str, Any]) -> Response:
        as_json = request.headers.get("content-type", "").startswith("application/json") or (
            "application/json" in request.headers.get("accept", "")
        )
        source = str(form.get("source", ""))
        text = str(form.get("text", ""))
        base = str(form.get("base_sha1", "") or "")
        try:
            if len(text) > MAX_BYTES:
                raise EditError("too_large", f"Files are limited to {MAX_BYTES // 1024} KB.", 413)
            result = await asyncio.to_thread(
                save,
                self.kb,
                source,
                text,
                base or None,
                self.backup_dir,
                now=self.settings.clock(),
            )
        except EditError as exc:
            if as_json:
                return _error(exc)
            try:
                source = check_source(source)
            except EditError as bad:
                return self._missing(staff, bad.message, bad.status)
            message = f"Not saved: {exc.message}" if exc.code == "invalid_markdown" else exc.message
            outcome = {"ok": False, "message": message, "line": exc.line}
            return self._editor(staff, source, text, base, result=outcome, code=exc.status)
        backup = self._shown_backup(result.backup)
        message = _saved_message(result, backup)
        if not as_json:
            saved = await asyncio.to_thread(read, self.kb.kb_dir, source)
            new_text = saved[0] if saved else text
            outcome = {"ok": True, "message": message}
            return self._editor(staff, check_source(source), new_text, result.sha1, result=outcome)
        r = result.report
        return JSONResponse(
            {
                "ok": True,
                "message": message,
                "report": {"added": r.added, "updated": r.updated, "removed": r.removed,
                           "unchanged": r.unchanged, "seconds": r.seconds},
                "backup": backup,
                "sha1": result.sha1,
                "created": result.created,
                "sections": [{"heading": h} for h in result.headings],
                "warnings": result.warnings,
            }
        )  # fmt: skip

    async def search(self, request: Request) -> Response:
        if self.c.staff(request) is None:
            return JSONResponse({"error": "unauthorized", "message": "Sign in first."}, 401)
        q = request.query_params.get("q", "").strip()
        if not q:
            return JSONResponse({"error": "empty_question", "message": "Type a question."}, 400)
        q = q[:MAX_QUESTION]
        found = await self.kb.asearch(q, k=SEARCH_K)
        threshold = float(self.settings.confidence_threshold)
        confidence = float(found.confidence)
        return JSONResponse(
            {
                "question": q,
                "confidence": round(confidence, 4),
                "threshold": threshold,
                "answered": confidence >= threshold,
                "passages": [
                    {"source": p.source, "heading": p.heading, "score": p.score, "text": p.text}
                    for p in found.passages
                ],
            }
        )


def routes(console: Any) -> list[BaseRoute]:
    k = KnowledgePages(console)
    return [
        Route("/console/knowledge", console.page(k.list_page), methods=["GET"]),
        Route("/console/knowledge/edit", console.page(k.edit_page), methods=["GET"]),
        Route("/console/api/knowledge/preview", console.action(k.preview), methods=["POST"]),
        Route("/console/api/knowledge/save", console.action(k.save), methods=["POST"]),
        Route("/console/api/knowledge/search", k.search, methods=["GET"]),
    ]


__all__ = ["KnowledgePages", "render_markdown", "routes"]
