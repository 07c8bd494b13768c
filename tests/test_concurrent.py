"""The engine's thread helpers: results in order, errors surface, nothing left running."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from tracemail_tui.store import concurrent


def test_run_all_returns_results_in_job_order_and_uses_other_threads() -> None:
    names: list[str] = []

    def job(i: int) -> int:
        names.append(threading.current_thread().name)
        time.sleep(0.01 * (5 - i))  # later jobs finish first
        return i * i

    assert concurrent.run_all(*(lambda i=i: job(i) for i in range(5))) == [0, 1, 4, 9, 16]
    assert threading.current_thread().name in names  # the first job runs on the caller
    assert any(n.startswith("tracemail-engine") for n in names)


def test_run_all_raises_the_first_error_after_every_job_finished() -> None:
    finished: list[int] = []

    def slow() -> int:
        time.sleep(0.05)
        finished.append(1)
        return 1

    def boom() -> int:
        raise ValueError("bad chunk")

    with pytest.raises(ValueError, match="bad chunk"):
        concurrent.run_all(boom, slow)
    assert finished == [1]


def test_nested_run_all_runs_serially_on_pool_threads() -> None:
    def inner() -> list[str]:
        return concurrent.run_all(lambda: threading.current_thread().name,
                                  lambda: threading.current_thread().name)

    _, nested = concurrent.run_all(lambda: None, inner)
    assert nested[0] == nested[1]  # no pool thread waits on the pool


def test_serial_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACEMAIL_THREADS", "1")
    me = threading.current_thread().name
    assert concurrent.run_all(lambda: threading.current_thread().name,
                              lambda: threading.current_thread().name) == [me, me]


def test_prefetch_yields_everything_and_reraises_producer_errors() -> None:
    assert list(concurrent.prefetch(iter(range(100)), depth=2)) == list(range(100))

    def broken() -> Iterator[int]:
        yield 1
        raise OSError("cannot read mail.log")

    got: list[int] = []
    with pytest.raises(OSError, match="cannot read"):
        for x in concurrent.prefetch(broken()):
            got.append(x)
    assert got == [1]


def test_prefetch_stops_its_producer_when_the_consumer_stops() -> None:
    produced: list[int] = []

    def endless() -> Iterator[int]:
        i = 0
        while True:
            produced.append(i)
            yield i
            i += 1

    gen = concurrent.prefetch(endless(), depth=1)
    assert next(gen) == 0
    gen.close()  # joins the producer thread
    n = len(produced)
    time.sleep(0.2)
    assert len(produced) == n <= 3
    assert not any(t.name == "tracemail-prefetch" for t in threading.enumerate())
