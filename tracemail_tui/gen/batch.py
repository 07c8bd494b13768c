"""Batch generation: a fixed time window of traffic written to `<outdir>/<host>/...`."""

from __future__ import annotations

import calendar
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracemail_tui.gen.ctx import Ctx
from tracemail_tui.gen.mix import LINES_PER_EPISODE, Mix, diurnal
from tracemail_tui.gen.options import GenOptions
from tracemail_tui.gen.sink import Sink

#: In-flight lines (queue removals, logouts) are kept this long after the window.
GRACE = 120.0


@dataclass(slots=True)
class GenStats:
    """What a run produced."""

    lines: int = 0
    episodes: dict[str, int] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def lines_per_second(self) -> float:
        """Generation speed."""
        return self.lines / self.seconds if self.seconds else 0.0


def epoch(dt: Any) -> float:
    """Naive local datetime -> the generator's clock (seconds, formatted as-is)."""
    return calendar.timegm(dt.timetuple()) + dt.microsecond / 1e6


def startup_lines(ctx: Ctx, t: float) -> None:
    """The daemons' start-up lines at the beginning of a log set."""
    for host in ("mx1", "mx2", "smtp1", "imap1"):
        ctx.pf(
            t,
            host,
            "master",
            ctx.new_pid(),
            "daemon started -- version 3.7.11, configuration /etc/postfix",
        )
    ctx.dv(
        t,
        "master",
        "Dovecot v2.3.19.1 (9b53102964) starting up for imap, pop3, lmtp, sieve "
        "(core dumps disabled)",
    )
    for host in ("mx1", "mx2"):
        ctx.clam(
            t, host, "+++ Started at " + time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(int(t)))
        )
        ctx.clam(t, host, "clamd daemon 1.4.6 (OS: Linux, ARCH: x86_64, CPU: x86_64)")


def generate(outdir: Path | str, opts: GenOptions | None = None, **kw: Any) -> GenStats:
    """Write a deterministic log set into `outdir` (same options -> same bytes).

    Keyword arguments are `GenOptions` fields (`seed`, `lines`, `days`, `start`, ...).
    """
    opts = opts or GenOptions(**kw)
    opts.check()
    outdir = Path(outdir)
    start, end = opts.window()
    t0, t1 = epoch(start), epoch(end)
    began = time.perf_counter()
    sink = Sink(outdir, opts.truth)
    ctx = Ctx(opts, sink)
    ctx.t_end = t1 + GRACE
    mix = Mix(ctx)
    startup_lines(ctx, t0)
    rng = ctx.rng
    target = max(opts.lines, 1)
    per_ep = LINES_PER_EPISODE
    rate = target / per_ep / (t1 - t0)  # episodes per second at diurnal factor 1
    t = t0
    n = 0
    expo = rng.expovariate
    while True:
        t += expo(rate * diurnal(t))
        if t >= t1 or sink.emitted >= target:
            break
        sink.release(t)
        mix.run(t)
        n += 1
        if n & 255 == 0:  # correct the pace from what was actually emitted
            per_ep = sink.emitted / n
            left_lines = target - sink.emitted
            rate = max(left_lines, 1) / per_ep / max(t1 - t, 1.0)
    sink.drop_after(ctx.t_end)
    sink.release(ctx.t_end)
    sink.close()
    return GenStats(
        lines=sink.lines,
        episodes=dict(mix.counts),
        files=[p for p in sink.paths if p.exists()],
        seconds=time.perf_counter() - began,
    )
