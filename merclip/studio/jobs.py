"""Bounds on the long jobs one served Studio runs for all its visitors at once (timelines, comparisons, projections).

A public app cannot let long jobs pile up: each waits for a turn at its kind's `JobGate`, and a visitor past the
bound is told at once that the app is busy (a `BusyError`, shown in the page) instead of waiting behind an unbounded
queue on a page that seems to hang. Gates are per kind, so a 10-minute timeline never holds up a comparison, and
neither ever holds up a plain analysis, which does not pass a gate at all.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from .requests import StudioError


class BusyError(StudioError):
    """No turn for a long job now: too many of its kind running and waiting, or no turn came within the wait."""


class JobGate:
    """At most `running` jobs at a time and at most `waiting` more waiting, first come first served; a job past both
    bounds is refused at once, and a waiting one is refused after `max_wait_s`."""

    def __init__(self, what: str, running: int, waiting: int, max_wait_s: float):
        if running < 1 or waiting < 0 or max_wait_s <= 0:
            raise ValueError(f"a gate needs running >= 1, waiting >= 0 and max_wait_s > 0, got {running}, {waiting}, "
                             f"{max_wait_s}")
        self.what, self.max_running, self.max_waiting, self.max_wait_s = what, running, waiting, max_wait_s
        self._turns = threading.Condition()
        self._running = 0
        self._queue: deque[object] = deque()  # one ticket per waiting job, oldest first

    @property
    def counts(self) -> tuple[int, int]:
        """(running, waiting) now."""
        with self._turns:
            return self._running, len(self._queue)

    @contextmanager
    def turn(self, on_wait: Callable[[int], object] | None = None) -> Iterator[None]:
        """Run the body in a turn of this gate. `on_wait(n)` is told, once, how many jobs are ahead when there is a
        wait."""
        ticket = object()
        with self._turns:
            if self._running >= self.max_running or self._queue:
                if len(self._queue) >= self.max_waiting:
                    raise BusyError(f"the app is busy with other visitors' {self.what} ({self.max_running} running, "
                                    f"{self.max_waiting} waiting): try again in a minute")
                self._queue.append(ticket)
                ahead = self._running + len(self._queue) - 1
            else:
                self._running += 1
                ahead = 0
        if ahead:
            try:
                if on_wait is not None:
                    on_wait(ahead)
                self._wait_for_turn(ticket)
            except BaseException:
                self._leave(ticket)
                raise
        try:
            yield
        finally:
            with self._turns:
                self._running -= 1
                self._turns.notify_all()

    def _wait_for_turn(self, ticket: object) -> None:
        """Block until `ticket` is first in line and a job slot is free (then take it), or give up after the wait."""
        deadline = time.monotonic() + self.max_wait_s
        with self._turns:
            while not (self._queue[0] is ticket and self._running < self.max_running):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BusyError(f"the app is busy with other visitors' {self.what}: no turn came free within "
                                    f"{self.max_wait_s / 60:g} min; try again in a minute")
                self._turns.wait(left)
            self._queue.popleft()
            self._running += 1
            self._turns.notify_all()  # a second free slot may serve the next in line too

    def _leave(self, ticket: object) -> None:
        """Take a job that gave up (or failed) while waiting out of the line, so the next in line can go."""
        with self._turns:
            if ticket in self._queue:
                self._queue.remove(ticket)
                self._turns.notify_all()


@dataclass
class LongJobs:
    """The served app's gates, one per kind of long job (the sizes are this project's choice for a small public
    Space: one timeline of up to 10 minutes at a time, a few seconds per comparison or projection)."""

    timeline: JobGate = field(default_factory=lambda: JobGate("timelines", running=1, waiting=2, max_wait_s=900))
    comparison: JobGate = field(default_factory=lambda: JobGate("comparisons and projections", running=2,
                                                                 waiting=8, max_wait_s=120))
