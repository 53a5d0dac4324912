"""Watching the knowledge folder: every change triggers an incremental index run.

watchfiles (inotify on Linux) wakes us within ~50 ms of a write; changes are grouped for at most
`DEBOUNCE_MS`, then one `index()` runs, which itself only touches what changed. A periodic re-scan
(a stat of every file, milliseconds even for thousands of files) is the safety net for events that
never arrive: network mounts, some containers, or an edit made while the watch was being armed.
It keeps the 2-second promise even then.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from knowledge.loader import MARKDOWN_SUFFIXES
from knowledge.models import IndexReport

log = logging.getLogger(__name__)
DEBOUNCE_MS = 300
STEP_MS = 50
RESCAN_MS = 1_500


def _markdown_filter(change: object, path: str) -> bool:
    lowered = path.lower()
    # Directory events matter too (a folder removed or moved takes its files with it).
    return lowered.endswith(tuple(MARKDOWN_SUFFIXES)) or "." not in lowered.rsplit("/", 1)[-1]


class Indexable(Protocol):
    """What the watcher needs of a knowledge base (so this module never imports knowledge.base)."""

    @property
    def kb_dir(self) -> Path: ...

    def index(self) -> IndexReport: ...


class Watcher:
    def __init__(
        self,
        kb: Indexable,
        on_report: Callable[[IndexReport], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.kb = kb
        self.on_report = on_report
        self.on_error = on_error
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="shopdesk-kb-watch", daemon=True)
        self.ready = threading.Event()  # set once the watch is armed
        self._last_warnings: list[str] = []

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def __enter__(self) -> Watcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _reindex(self) -> None:
        try:
            report = self.kb.index()
        except Exception as exc:  # keep watching: the next change may fix it
            log.exception("knowledge re-index failed")
            if self.on_error:
                self.on_error(exc)
            return
        # Report changes, and warnings only when they differ from last time (a file that stays
        # broken is re-read on every change elsewhere; saying so once is enough).
        warnings = [str(w) for w in report.warnings]
        if self.on_report and (report.changed or warnings != self._last_warnings):
            self.on_report(report)
        self._last_warnings = warnings

    def _run(self) -> None:
        import watchfiles

        self._reindex()  # catch up with anything changed while nobody watched
        while not self._stop.is_set():
            if not self.kb.kb_dir.is_dir():
                self.ready.set()
                self._stop.wait(0.5)  # the folder may appear later
                continue
            try:
                self.ready.set()
                for changes in watchfiles.watch(
                    self.kb.kb_dir,
                    watch_filter=_markdown_filter,
                    debounce=DEBOUNCE_MS,
                    step=STEP_MS,
                    stop_event=self._stop,
                    rust_timeout=RESCAN_MS,
                    yield_on_timeout=True,
                    raise_interrupt=False,
                ):
                    del changes  # empty on the periodic timeout: re-scan anyway, it is cheap
                    self._reindex()
                    if not self.kb.kb_dir.is_dir():
                        break
            except (FileNotFoundError, OSError) as exc:
                log.warning("watching %s failed: %s; retrying", self.kb.kb_dir, exc)
                self._stop.wait(1.0)
            time.sleep(0)
