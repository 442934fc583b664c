"""What a long-running app removes on its own, so that nothing it keeps grows with use.

Gradio's own `delete_cache` removes the uploads and the files the app returned once they are an hour old, but not
the folder (named by the file's content hash) that each one was written into: `remove_empty_folders` takes those.
The Studio's scored timelines go after an hour unused (`Studio.sweep`). `every` runs such tasks on a timer for as
long as the server is up.
"""
from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Sequence
from contextlib import asynccontextmanager, suppress
from pathlib import Path

log = logging.getLogger("merclip.studio")

MAX_AGE_S = 3600  # what no visitor has touched for an hour goes (gradio's delete_cache age, the timelines' age)
SWEEP_EVERY_S = 900  # how often the app looks (a file lives at most MAX_AGE_S + SWEEP_EVERY_S)


def remove_empty_folders(root: str | Path, older_than_s: float, now: float | None = None) -> int:
    """Remove the empty folders directly under `root` unchanged for `older_than_s` (a folder's time changes when a
    file is written into it or removed from it, so a folder still in use is never old); returns how many went."""
    now = time.time() if now is None else now
    removed = 0
    try:
        entries = list(os.scandir(root))
    except FileNotFoundError:
        return 0
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False) and now - entry.stat(follow_symlinks=False).st_mtime > older_than_s:
                os.rmdir(entry.path)  # refuses a folder that is not empty
                removed += 1
        except OSError:
            continue
    return removed


def every(seconds: float, tasks: Sequence[Callable[[], object]]):
    """A server lifespan (an app -> async context manager factory, as Starlette and gradio's `launch(app_kwargs=
    {"lifespan": ...})` take) that runs `tasks` in a worker thread every `seconds` while the server is up. A failing
    task is logged; the others and later rounds still run."""

    async def run_forever() -> None:
        while True:
            await asyncio.sleep(seconds)
            for task in tasks:
                try:
                    await asyncio.to_thread(task)
                except Exception:  # housekeeping must never stop the server
                    log.exception("housekeeping task %r failed", task)

    @asynccontextmanager
    async def lifespan(app):
        runner = asyncio.create_task(run_forever())
        try:
            yield
        finally:
            runner.cancel()
            with suppress(asyncio.CancelledError):
                await runner

    return lifespan
