"""`tracemail search` and `tracemail stats`: the engine, headless, on log files."""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Annotated

import typer

from tracemail_tui import config as config_mod
from tracemail_tui.cli import common, output
from tracemail_tui.cli.common import app, fail
from tracemail_tui.cli.store_cmds import ReadStoreOpt, store_instead_of_logs
from tracemail_tui.export import csv_export
from tracemail_tui.export.privacy import Privacy
from tracemail_tui.fileperm import secure_open
from tracemail_tui.store import breakdown, engine, query, schema

FORMATS = ("table", "csv", "json", "jsonl")

PathsArg = Annotated[
    list[Path] | None,
    typer.Argument(help="Log files or directories (default: TRACEMAIL_LOGS / config logs).",
                   show_default=False),
]
HostOpt = Annotated[
    str | None, typer.Option("--host", help="Host name for lines that carry none.")
]
YearOpt = Annotated[
    int | None, typer.Option("--year", help="Year of year-less syslog stamps.")
]


def resolve_paths(paths: list[Path] | None, cfg: config_mod.Config) -> list[Path]:
    """PATH arguments, else the configured logs, else a one-line error (exit 2)."""
    if paths:
        return list(paths)
    if cfg.logs:
        return list(cfg.logs)
    fail("no log paths: pass PATH..., or set TRACEMAIL_LOGS (colon-separated) "
         "or `logs = [...]` in the config file")


def load_config() -> config_mod.Config:
    """The configuration with the global `--scope` on top (see `common.load_config`)."""
    return common.load_config()


def run_engine(
    paths: list[Path] | None, host: str | None, year: int | None, cfg: config_mod.Config,
    views: set[str] | None = None,
) -> engine.Result:
    """Run the engine on the paths (only the work `views` need, default all);
    unreadable input ends with exit 2."""
    if year is not None and not 1970 <= year <= 9999:
        fail(f"--year out of range: {year}")
    resolved = resolve_paths(paths, cfg)
    try:
        # The progress line is cleared on the way out, so an error gets a line of its own.
        with _progress_line() as progress:
            return engine.run(resolved, host=host, hosts=cfg.hosts, year=year, views=views,
                              progress=progress)
    except OSError as exc:
        fail(str(exc).splitlines()[0] if str(exc) else repr(exc))


PROGRESS_EVERY_S = 0.25


@contextmanager
def _progress_line() -> Iterator[Callable[[int, int], None] | None]:
    """"reading logs… 45%" on stderr while a long run reads, when stderr is a terminal
    (never in pipes, files or tests: stdout and stderr stay as DESIGN.md says)."""
    if not sys.stderr.isatty():
        yield None
        return
    last = [0.0]
    shown = [False]

    def show(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] < PROGRESS_EVERY_S:
            return
        last[0] = now
        shown[0] = True
        sys.stderr.write(f"\rreading logs… {100 * done // max(total, 1)}%")
        sys.stderr.flush()

    try:
        yield show
    finally:
        if shown[0]:
            sys.stderr.write("\r\x1b[K")  # leave the terminal as it was
            sys.stderr.flush()


def _parse_time(value: str | None, option: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return dt.datetime.fromisoformat(value.strip())
    except ValueError:
        fail(f"{option}: not a date/time (YYYY-MM-DD[THH:MM[:SS]]): {value!r}")


@contextmanager
def _open_out(path: Path | None) -> Iterator[IO[str]]:
    if path is None:
        yield sys.stdout
        return
    try:
        fh = secure_open(path, "w", encoding="utf-8", newline="")
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror or exc}")
    with fh:
        yield fh


@app.command()
def search(
    view: Annotated[str, typer.Argument(help="accesses, received or sent")],
    paths: PathsArg = None,
    domain: Annotated[str | None, typer.Option(help="Only this domain.")] = None,
    account: Annotated[str | None, typer.Option(
        help="Only this account (address; received: also the alias mail was sent to).",
    )] = None,
    date: Annotated[str | None, typer.Option(help="Only this day, YYYY-MM-DD.")] = None,
    since: Annotated[str | None, typer.Option(help="From this time (ISO).")] = None,
    until: Annotated[str | None, typer.Option(help="Before this time (ISO).")] = None,
    status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
    text: Annotated[str | None, typer.Option(
        "--text", "-t",
        help="Only rows containing TEXT (any case) where the app's / filter looks: "
             "addresses, subject, message-id, queue id, client IP, relay host; "
             "accesses: user, remote IP, session, client, error.",
    )] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv, json or jsonl")] = "table",
    out: Annotated[Path | None, typer.Option("--output", "-o", help="Write to FILE.")] = None,
    host: HostOpt = None,
    year: YearOpt = None,
    redact: Annotated[
        bool, typer.Option(help="Pseudonymise addresses, mask IPs, drop subjects.")
    ] = False,
    store_dir: ReadStoreOpt = None,
    top: Annotated[str | None, typer.Option(
        "--top", metavar="KEY",
        help="Instead of the rows: how many rows per value of KEY, most first "
             "(received: reason, sender_domain, sender, client_ip, recipient, domain, "
             "delivery, folder, spam_action, virus, server; sent: reason, "
             "recipient_domain, relay_host, sender, account, recipient, dsn, server; "
             "accesses: error, remote_ip, user, protocol, client, server; every view: "
             "day, hour, minute). reason groups texts by pattern: addresses, hosts and "
             "IPs read '…'. The time keys list their buckets oldest first, empty ones as "
             "0 (--limit N: the latest N).",
    )] = None,
    limit: Annotated[int | None, typer.Option(
        "--limit", min=1, help="--top: only the first N values.")] = None,
    where: Annotated[str | None, typer.Option(
        "--where", metavar="KEY=VALUE",
        help="Only rows whose KEY (a --top key) is VALUE, as --top prints it "
             "('(none)': rows without one).",
    )] = None,
    follow: Annotated[bool, typer.Option(
        "--follow", help="Print the matching rows, then each row that appears or changes "
                         "as the logs grow (Ctrl-C ends; table, csv or jsonl). A directory "
                         "is tailed as `tracemail tui` does: its mail logs by name.",
    )] = False,
    seconds: Annotated[float | None, typer.Option(
        "--for", metavar="SECONDS", min=0, help="--follow: stop after SECONDS.")] = None,
) -> None:
    """Search one view (accesses, received, sent) of the logs (or of the store)."""
    if view not in schema.VIEWS:
        fail(f"unknown view {view!r}: choose one of {', '.join(schema.VIEWS)}")
    if fmt not in FORMATS:
        fail(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if status is not None and status not in schema.STATUSES[view]:
        fail(f"unknown status {status!r} for {view}: {', '.join(schema.STATUSES[view])}")
    day = None
    if date is not None:
        try:
            day = dt.date.fromisoformat(date)
        except ValueError:
            fail(f"--date: not YYYY-MM-DD: {date!r}")
    if top is not None:
        _check_key(view, top, "--top")
    if limit is not None and top is None:
        fail("--limit goes with --top")
    if follow and (top is not None or fmt == "json"):
        fail("--follow prints rows as they come: not with --top or --format json "
             "(use jsonl)")
    if seconds is not None and not follow:
        fail("--for goes with --follow")
    if follow and (host is not None or year is not None):
        fail("--host and --year do not go with --follow: it tails as `tracemail tui` does "
             "(hosts from the config's [hosts] table, years from the files' times)")
    filters = query.Filters(
        domain=domain, account=account, date=day, since=_parse_time(since, "--since"),
        until=_parse_time(until, "--until"), status=status, text=text or None,
        group=_parse_where(view, where),
    )
    cfg = load_config()
    if cfg.scope:
        filters = filters.with_(scope=cfg.scope)
    if follow:
        from tracemail_tui import launch
        from tracemail_tui.cli import follow as follow_mod

        if store_dir is None:
            paths = resolve_paths(paths, cfg)
            try:
                launch.check_paths(paths)
            except OSError as exc:
                fail(str(exc))
        with _open_out(out) as fh:
            follow_mod.run(paths, store_dir, cfg.hosts, view, filters,
                           Privacy.from_config(cfg, redact=redact), fh, fmt, seconds)
        return
    source: query.Source
    if store_dir is not None:
        source = store_instead_of_logs(paths, store_dir)
    else:
        source = query.MemoryStore(run_engine(paths, host, year, cfg, {view}).views)
    df = query.query(source, view, filters).collect()
    # Scope (again, whatever the source), subjects and redaction: one gate for every format.
    df = Privacy.from_config(cfg, redact=redact).frame(df, view)
    if top is not None:
        # After the privacy gate: redacted rows give redacted values.
        _write_breakdown(breakdown.breakdown(df, view, top, limit), fmt, out)
        return
    with _open_out(out) as fh:
        if fmt == "table":
            output.write_table(df, fh, view)
        elif fmt == "json":
            output.write_json(df, fh)
        elif fmt == "jsonl":
            output.write_jsonl(df, fh)
        else:
            output.write_csv(df, fh, view)


def _check_key(view: str, name: str, option: str) -> None:
    try:
        breakdown.key(view, name)
    except ValueError as exc:
        fail(f"{option}: {exc}")


def _parse_where(view: str, where: str | None) -> tuple[str, str | None] | None:
    """`KEY=VALUE` → `Filters.group`; `(none)` stands for "no value"."""
    if where is None:
        return None
    name, sep, value = where.partition("=")
    if not sep:
        fail(f"--where: not KEY=VALUE: {where!r}")
    _check_key(view, name.strip(), "--where")
    group = name.strip(), None if value == breakdown.NONE_LABEL else value
    try:  # a time bucket must read as --top prints it
        breakdown.group_expr(view, *group)
    except ValueError as exc:
        fail(f"--where: {exc}")
    return group


def _write_breakdown(bd: breakdown.Breakdown, fmt: str, out: Path | None) -> None:
    """The breakdown in `fmt`: value, rows, share (a percentage in the table)."""
    df = bd.exported()
    with _open_out(out) as fh:
        if fmt == "table":
            output.write_breakdown(bd.frame, fh, bd.key.name)
            fh.write(bd.totals() + "\n")
        elif fmt == "json":
            output.write_json(df, fh)
        elif fmt == "jsonl":
            output.write_jsonl(df, fh)
        else:
            csv_export.write_frame_csv(df, fh)


@app.command()
def stats(
    paths: PathsArg = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text or json")] = "text",
    host: HostOpt = None,
    year: YearOpt = None,
    samples: Annotated[bool, typer.Option(
        "--samples", help="Also print up to 3 unparsed lines per program (log content: "
                          "to report a line form tracemail does not know yet).")] = False,
) -> None:
    """Lines read, lines per program, ignored and unparsed per program, time span, hosts."""
    if fmt not in ("text", "json"):
        fail(f"unknown format {fmt!r}: choose text or json")
    cfg = load_config()
    result = run_engine(paths, host, year, cfg)
    data = result.stats.to_dict(samples=samples)
    # Line counters describe the log files (no personal data); row counts are in-scope only.
    privacy = Privacy.from_config(cfg)
    data["rows"] = {v: result.views[v].filter(privacy.scope_filter(v)).height
                    for v in schema.VIEWS}
    data["scope"] = list(cfg.scope)
    if fmt == "json":
        json.dump(data, sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
        return
    w = sys.stdout.write
    w(f"lines read: {data['lines']}\n")
    w(f"time span:  {data['first_time'] or '-'} .. {data['last_time'] or '-'}\n")
    w(f"hosts:      {', '.join(output.escape(h) for h in data['hosts']) or '-'}\n")
    w(f"files:      {len(data['files'])}\n")
    if cfg.scope:
        w(f"scope:      {', '.join(cfg.scope)} (rows counted in scope only)\n")
    w("rows:       " + ", ".join(f"{v} {n}" for v, n in data["rows"].items()) + "\n")
    progs = data["programs"]
    width = max([7, *(len(output.escape(p)) for p in progs)])
    w(f"{'program'.ljust(width)}  {'lines':>9}  {'ignored':>9}  {'unparsed':>9}\n")
    for prog, n in progs.items():
        ign = data["ignored"].get(prog, 0)
        unp = data["unparsed"].get(prog, 0)
        w(f"{output.escape(prog).ljust(width)}  {n:>9}  {ign:>9}  {unp:>9}\n")
    for prog, lines in data.get("unparsed_samples", {}).items():
        w(f"unparsed {output.escape(prog)}:\n")
        for line in lines:  # log content: escaped, never interpreted by the terminal
            w(f"  {output.escape(line)}\n")
