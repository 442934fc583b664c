"""The threads the front end may use: FFmpeg's decoder threads and one pool for the per-frame work that runs
without the GIL (PIL's resize, torch's normalisation and log-mel images), beside the thread that decodes."""
from __future__ import annotations

import concurrent.futures as cf
import functools
import os
import threading

import torch


@functools.cache
def threadpool_controller():
    """threadpoolctl's view of the native thread pools (numpy's OpenBLAS, torch's OpenMP): `single_threaded_blas`
    and the frame pool's threads limit them through it."""
    from threadpoolctl import ThreadpoolController  # a requirement

    return ThreadpoolController()  # inspects the loaded libraries once (milliseconds)


def single_threaded_blas():
    """A context in which numpy's BLAS (OpenBLAS) runs on one thread.

    Why: after a multi-threaded BLAS call, OpenBLAS's worker threads spin, waiting for more work, and on a small
    machine they take the cores from the next video decode (docs/benchmarks.md); the log-mel product is too small to
    gain from a second thread. Float sums in OpenBLAS depend on its thread count: the values agree with the
    multi-threaded product to ~4e-8 relative (tests/test_media.py), not bit for bit.
    """
    return threadpool_controller().limit(limits=1, user_api="blas")


def _one_openmp_thread() -> None:
    """A pool thread runs its torch work on itself alone.

    Why: torch gives every thread that runs a parallel op its own OpenMP team, whose threads spin a while after each
    op; a pool thread's team took the cores from the next clip's video decode (docs/benchmarks.md). OpenMP's thread
    count is per thread, so the caller's (and the model's) stay as they were."""
    torch.get_num_threads()  # torch sets this thread's OpenMP count on its first op: let it, then override it
    threadpool_controller().select(user_api="openmp").limit(limits=1)


@functools.cache
def _openmp_pools():
    return threadpool_controller().select(user_api="openmp")


def pool_thread_settings():
    """A context in which this thread runs torch's work on itself alone, as a pool thread does: for the pool's work
    that the caller takes on. Why: the caller's own OpenMP team (a thread per core) spins after each op and, on a
    small or busy machine, took the cores from the decoder and from the pool (docs/benchmarks.md)."""
    return _openmp_pools().limit(limits=1)


class FramePool:
    """The process's front-end threads: `threads` (0: FFmpeg picks its decoder threads and a small pool resizes
    frames beside the caller; n >= 1: n decoder threads, and the caller plus n - 1 pool threads for the frames) and
    the pool itself, started on first use.

    A forked child (a DataLoader worker) inherits the pool object but none of its threads: work submitted there would
    wait forever, so the pool is forgotten in the child, which starts its own."""

    def __init__(self, threads: int = 0):
        self.threads = max(0, int(threads))
        self._pool: cf.ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._pool, self._lock = None, threading.Lock()

    @property
    def started(self) -> bool:
        return self._pool is not None

    def set_threads(self, n: int) -> None:
        """Change the thread count; the running pool (if any) is shut down, the next use starts one of the new size."""
        with self._lock:
            self.threads = max(0, int(n))
            if self._pool is not None:
                self._pool.shutdown(wait=False)
            self._pool = None

    def workers(self) -> int:
        """Threads the pool runs beside the caller: one fewer than the cores (at most 3), since the caller works too.
        On 2 cores a second pool thread only took turns with the decoder (docs/benchmarks.md)."""
        return (self.threads or min(4, os.cpu_count() or 1)) - 1

    def executor(self) -> cf.ThreadPoolExecutor | None:
        """The shared pool, or None where the front end runs on one thread."""
        workers = self.workers()
        if workers < 1:
            return None
        with self._lock:
            if self._pool is None:
                self._pool = cf.ThreadPoolExecutor(workers, thread_name_prefix="merclip-frames",
                                                   initializer=_one_openmp_thread)
            return self._pool

    def map_sharing(self, fn, items: list) -> list:
        """[fn(item) for item in items], spread over the pool's threads and this one (which would otherwise only
        wait): item i runs here when i is a multiple of (pool threads + 1)."""
        pool = self.executor()
        if pool is None or len(items) < 2:
            return [fn(item) for item in items]
        share = self.workers() + 1
        jobs = {i: pool.submit(fn, item) for i, item in enumerate(items) if i % share}
        with pool_thread_settings():
            here = {i: fn(item) for i, item in enumerate(items) if not i % share}
        return [here[i] if i in here else jobs[i].result() for i in range(len(items))]


FRAME_POOL = FramePool()  # the one this process's front end uses


def set_threads(n: int) -> None:
    """Threads this process's front end may use (see `FramePool`). Why: a pool of decoding processes, one per core
    (merclip.data.features.build_cache), where each process also starts a thread per core, runs cores^2 threads; its
    workers set 1."""
    FRAME_POOL.set_threads(n)


class Offloaded:
    """fn(*args) handed to a pool, which the caller takes back where no pool thread has started it by the time the
    caller is free (`take_back`), since the caller would otherwise only wait; it runs there with a pool thread's
    settings (`pool_thread_settings`). It takes the newest work first while the pool takes the oldest. With no pool,
    fn runs when its result is asked for."""

    _UNSET = object()

    def __init__(self, pool: cf.ThreadPoolExecutor | None, fn, *args):
        self.fn, self.args, self.value = fn, args, self._UNSET
        self.future = pool.submit(fn, *args) if pool is not None else None

    def take_back(self) -> None:
        if self.value is self._UNSET and (self.future is None or self.future.cancel()):
            with pool_thread_settings():
                self.value = self.fn(*self.args)

    def result(self):
        if self.value is self._UNSET and self.future is not None and not self.future.cancelled():
            return self.future.result()
        self.take_back()
        return self.value
