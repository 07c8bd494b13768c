"""`tracemail generate`: write a realistic synthetic log set (or keep appending live)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from tracemail_tui.cli.common import app, fail


@app.command()
def generate(
    outdir: Annotated[Path, typer.Argument(help="Directory to write <host>/mail.log etc. into.")],
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same bytes).")] = 1,
    lines: Annotated[int, typer.Option(help="Approximate number of lines.")] = 100_000,
    days: Annotated[float, typer.Option(help="Length of the time window in days.")] = 1.0,
    start: Annotated[
        str | None, typer.Option(help="Start (YYYY-MM-DD[THH:MM:SS]); default: ends 2026-11-27.")
    ] = None,
    stamp: Annotated[
        str,
        typer.Option(
            help="Postfix/syslog timestamps: postlogd ('Nov 07'), syslog ('Nov  7'), rfc3339."
        ),
    ] = "postlogd",
    dovecot: Annotated[
        str, typer.Option(help="Dovecot lines: 'file' (own dovecot.log) or 'syslog' (in mail.log).")
    ] = "file",
    long_queue_ids: Annotated[bool, typer.Option(help="Postfix enable_long_queue_ids.")] = False,
    domains: Annotated[int, typer.Option(help="Number of hosted domains.")] = 300,
    accounts: Annotated[int, typer.Option(help="Number of hosted accounts.")] = 4000,
    truth: Annotated[
        Path | None, typer.Option(help="Also write ground-truth records (JSONL) to this file.")
    ] = None,
    rotate: Annotated[
        bool, typer.Option(help="Rotate by day like logrotate: mail.log, .1, .2.gz, ...")
    ] = False,
    live: Annotated[
        bool, typer.Option(help="Keep appending traffic stamped with the clock.")
    ] = False,
    rate: Annotated[float, typer.Option(help="Live mode: lines per second.")] = 10.0,
    duration: Annotated[
        float | None, typer.Option(help="Live mode: stop after this many seconds.")
    ] = None,
) -> None:
    """Generate mail logs of a small provider (mx1, mx2, smtp1, imap1, webmail1)."""
    from tracemail_tui.gen import GenOptions, run_live
    from tracemail_tui.gen import generate as run

    try:
        begin = datetime.fromisoformat(start) if start else None
    except ValueError:
        fail(f"--start: not a date or datetime: {start!r}")
    if truth is not None and truth.resolve().is_relative_to(outdir.resolve()):
        fail("--truth must be outside OUTDIR (the engine would read it as a log)")
    opts = GenOptions(
        seed=seed,
        lines=lines,
        days=days,
        start=begin,
        postfix_style=stamp,
        dovecot_form=dovecot,
        long_queue_ids=long_queue_ids,
        n_domains=domains,
        n_accounts=accounts,
        truth=truth,
    )
    try:
        opts.check()
        opts.window()
    except ValueError as exc:
        fail(str(exc))
    if live:
        try:
            n = run_live(outdir, rate=rate, duration=duration, opts=opts)
        except KeyboardInterrupt:
            return
        typer.echo(f"appended {n} lines to {outdir}")
        return
    stats = run(outdir, opts)
    if rotate:
        from tracemail_tui.gen.rotate import rotate_daily

        rotate_daily(outdir)
    typer.echo(
        f"wrote {stats.lines} lines to {outdir} in {stats.seconds:.1f}s "
        f"({stats.lines_per_second:,.0f} lines/s)"
    )
