"""Live mode: keep appending plausible traffic to the log files, stamped with the clock.

`run_live(outdir, rate, stop_event)` is what `tracemail demo` and the live benchmark call.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from pathlib import Path

from tracemail_tui.gen.batch import epoch
from tracemail_tui.gen.ctx import Ctx
from tracemail_tui.gen.mix import LINES_PER_EPISODE, Mix
from tracemail_tui.gen.options import GenOptions
from tracemail_tui.gen.sink import Sink

TICK = 0.1  # seconds between writes (each write is whole lines only)


def local_now() -> float:
    """Now on the generator's clock (naive local time)."""
    return epoch(datetime.now())


def run_live(
    outdir: Path | str,
    rate: float = 5.0,
    stop_event: threading.Event | None = None,
    *,
    seed: int | None = None,
    duration: float | None = None,
    opts: GenOptions | None = None,
    start: datetime | None = None,
) -> int:
    """Append about `rate` lines/s to `outdir/<host>/...` until `stop_event` is set.

    Timestamps are the local wall clock, or, with `start`, a clock that starts there and
    runs at real speed (the demo continues its fixed-date logs seamlessly that way, on
    whatever day it is run). `duration` (seconds) stops on its own.
    Returns the number of lines written. Files are opened in append mode and only
    complete lines are written, flushed every `TICK`.
    """
    if rate <= 0:
        raise ValueError("rate must be > 0")
    opts = opts or GenOptions(seed=seed if seed is not None else int(time.time()))
    opts.truth = None
    sink = Sink(Path(outdir), append=True)
    ctx = Ctx(opts, sink)
    mix = Mix(ctx)
    rng = ctx.rng
    stop = stop_event or threading.Event()
    began = time.monotonic()
    origin = epoch(start) if start is not None else None

    def clock() -> float:
        if origin is None:
            return local_now()
        return origin + (time.monotonic() - began)

    per_ep = LINES_PER_EPISODE
    nxt = clock() + rng.expovariate(rate / per_ep)
    n = 0
    try:
        while not stop.is_set():
            if duration is not None and time.monotonic() - began >= duration:
                break
            now = clock()
            # `nxt` survives across ticks: redrawing it each tick would inflate the rate.
            while nxt <= now:
                t = nxt
                sink.release(t)
                mix.run(t)
                n += 1
                nxt = t + rng.expovariate(rate / per_ep)
            sink.release(now)
            sink.flush()
            if n >= 64:
                per_ep = max(sink.emitted / n, 1.0)
            spent = clock() - now
            if spent < TICK:
                stop.wait(TICK - spent)
    finally:
        sink.release(clock())
        sink.close()
    return sink.lines
