"""Run independent engine steps at the same time, on threads.

Polars releases the GIL while it computes, so the parsers of different daemons (and,
after them, the mail and the access correlators, or the reads of several log streams)
overlap on a small thread pool (`run_all`): 1.4x on the parsers of a 1M-line mixed log
on 2 cores. `prefetch` runs a producer (read, split, parse the next batch) one step
ahead of its consumer (the correlators). Worker *processes* would sidestep the GIL
altogether, but shipping frames between processes costs about as much as the work
itself (pickling one 1M-line log's parsed events and back: ~0.9 s).

``TRACEMAIL_THREADS=1`` runs everything on the calling thread (profiling, debugging).
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

_WORKERS = 6  # two callers (parse ahead, correlate) with up to five jobs each
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_in_pool = threading.local()


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(_WORKERS, thread_name_prefix="tracemail-engine",
                                       initializer=_mark_pool_thread)
        return _pool


def _mark_pool_thread() -> None:
    _in_pool.active = True


def serial() -> bool:
    """True when jobs run one after the other (env switch, or already on a pool thread:
    a pool thread never waits on the pool, so nesting cannot deadlock)."""
    return os.environ.get("TRACEMAIL_THREADS") == "1" or getattr(_in_pool, "active", False)


def run_all(*jobs: Callable[[], Any]) -> list[Any]:
    """Call every job and return their results in order.

    The first job runs on the calling thread while the others run on the shared pool;
    the first exception (in job order) is raised after all jobs finished, so no job is
    left running on state the caller is about to touch.
    """
    if len(jobs) <= 1 or serial():
        return [job() for job in jobs]
    futures: list[Future[Any]] = [_executor().submit(job) for job in jobs[1:]]
    first: Any = None
    error: BaseException | None = None
    try:
        first = jobs[0]()
    except BaseException as exc:  # re-raised below, after the pool jobs are done
        error = exc
    results = [first]
    for fut in futures:
        try:
            results.append(fut.result())
        except BaseException as exc:
            error = error or exc
            results.append(None)
    if error is not None:
        raise error
    return results


class _Failed:
    """A producer's exception, carried through the queue to the consumer."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


_DONE = object()


def prefetch(items: Iterator[T], depth: int = 1) -> Iterator[T]:
    """Yield `items`, producing the next ones on a thread while the caller works.

    One-shot runs read and split the next batch of lines while the engine correlates
    the current one. `depth` bounds how many items wait (memory). An exception of the
    producer is raised in the consumer; closing the consumer stops the producer.
    """
    if serial():
        yield from items
        return
    q: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as exc:  # handed to the consumer
            put(_Failed(exc))
            return
        put(_DONE)

    worker = threading.Thread(target=produce, name="tracemail-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = q.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.exc
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()
