"""Run grading tasks: in this process, on a local Dask cluster, or on a Dask scheduler elsewhere.

One worker and no scheduler: a plain loop. Otherwise every task goes to Dask distributed:
an embedded ``LocalCluster`` with one worker thread per slot in this process (a task mostly
waits on its kernel, a process of its own; the slots share one warm fork server), or the cluster
behind ``scheduler`` ("tcp://host:8786"), whose workers must run the same environment and see
the course repository and the submissions at the same paths (see README, "Grading on a
cluster"). Results come back as they finish; the caller orders them.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import os
import threading
from typing import Callable, Iterable, Iterator

from tqdm.auto import tqdm


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run_tasks(fn: Callable, items: list, workers: int | None = None,
              scheduler: str | None = None, progress: bool = True) -> Iterator[tuple[int, object]]:
    """Yield ``(index, fn(item))`` for every item, in the order they finish."""
    workers = workers or default_workers()
    bar = tqdm(total=len(items), unit="submission", desc="grading", disable=not progress,
               smoothing=0.1)
    try:
        if scheduler is None and workers == 1:
            for i, item in enumerate(items):
                yield i, fn(item)
                bar.update()
            return
        yield from _dask(fn, items, workers, scheduler, bar)
    finally:
        bar.close()


def _dask(fn, items, workers, scheduler, bar) -> Iterable[tuple[int, object]]:
    from dask.distributed import Client, LocalCluster, as_completed

    if not items:
        return
    if scheduler is None:
        cluster = LocalCluster(n_workers=min(workers, len(items)), threads_per_worker=1,
                               processes=False, dashboard_address=None, memory_limit=0,
                               silence_logs=logging.ERROR)
        client = Client(cluster)
    else:
        cluster, client = None, Client(scheduler)
    try:
        futures = client.map(functools.partial(_in_thread_context, fn), items, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        finished = as_completed(futures)
        del futures  # each result is let go of once taken, on the workers too
        for future in finished:
            result = future.result()
            future.release()
            yield index[future.key], result
            bar.update()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


_thread = threading.local()


def _in_thread_context(fn: Callable, item):
    """``fn(item)`` in a context of this worker thread's own, not the one Dask copied from the
    caller: jupyter_core keeps each thread's event loop in a context variable, and two worker
    threads must not share the caller's loop."""
    if not hasattr(_thread, "context"):
        _thread.context = contextvars.Context()
    return _thread.context.run(fn, item)
