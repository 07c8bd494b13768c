"""`tracemail ingest` and `tracemail store info|prune|forget`: the persistent store."""

from __future__ import annotations

import datetime as dt
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from tracemail_tui import config
from tracemail_tui.cli.common import app, fail
from tracemail_tui.export.text import human_bytes
from tracemail_tui.store.ingest import Ingestor
from tracemail_tui.store.partitions import TABLES, ParquetStore, StoreBusy

store_app = typer.Typer(help="Inspect and maintain the persistent store.", no_args_is_help=True)
app.add_typer(store_app, name="store")

StoreOpt = Annotated[
    Path | None,
    typer.Option(
        "--store", metavar="DIR", help="Store directory (default: configured / user data dir)."
    ),
]


def _store_dir(store: Path | None) -> Path:
    return store or config.load().store


ReadStoreOpt = Annotated[
    Path | None,
    typer.Option("--store", metavar="DIR",
                 help="Read the persistent store (30 days of history), not raw logs."),
]
"""`--store` of the commands that otherwise read log PATHs (search, locate, report)."""


def store_instead_of_logs(paths: list[Path] | None, store_dir: Path) -> ParquetStore:
    """The store `--store` names, for a command given no log PATHs (else: one-line error)."""
    if paths:
        fail("give either log PATHs or --store, not both")
    try:
        return open_store(store_dir)
    except ValueError as exc:
        fail(str(exc))


def open_store(path: str | Path | None = None) -> ParquetStore:
    """The store at `path` (default: configured), read-only, for `search --store` and the TUI.

    Raises ValueError (one-line message) when there is no store there.
    """
    return ParquetStore(_store_dir(Path(path) if path else None), readonly=True)


def _writable(store: Path | None, **kw: Any) -> ParquetStore:
    cfg = config.load()
    try:
        return ParquetStore(_store_dir(store), retention_days=cfg.retention_days, **kw)
    except StoreBusy as exc:
        fail(f"{exc} (stop `tracemail ingest --follow` first)")


@app.command()
def ingest(
    paths: Annotated[list[Path] | None, typer.Argument(help="Log files or directories.")] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep tailing after the backfill.")
    ] = False,
    store: StoreOpt = None,
    include: Annotated[
        list[str] | None,
        typer.Option("--include", metavar="GLOB", help="File names to read in directories."),
    ] = None,
    flush: Annotated[float, typer.Option(help="Seconds between commits to disk.")] = 30.0,
) -> None:
    """Read logs into the store (rotated files oldest first), then optionally follow them."""
    cfg = config.load()
    roots = [str(p) for p in (paths or cfg.logs)]
    if not roots:
        fail("no log paths given and none configured")
    for p in roots:
        if not Path(p).exists() and not follow:
            fail(f"no such file or directory: {p}")
    s = _writable(store, flush_interval=flush)
    kw: dict[str, Any] = {"include": tuple(include)} if include else {}
    ing = Ingestor(
        s,
        roots,
        hosts=cfg.hosts,
        on_warning=lambda m: print(f"tracemail: warning: {m}", file=sys.stderr),
        **kw,
    )
    try:
        if sys.stderr.isatty():
            total = ing.pending_bytes()
            with typer.progressbar(length=max(total, 1), label="backfill", file=sys.stderr) as bar:
                ing.backfill(on_batch=lambda b: bar.update(len(b.data)))
        else:
            ing.backfill()
        _summary(ing, s)
        if follow:
            stop = threading.Event()
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
            print(f"following {', '.join(roots)} (Ctrl-C to stop)", file=sys.stderr)
            try:
                ing.follow(stop)
            except KeyboardInterrupt:
                pass  # Ingestor.run committed what was handled
            _summary(ing, s)
    except KeyboardInterrupt:  # during the backfill: what was handled is committed
        _summary(ing, s)
        print("tracemail: interrupted; run again to resume", file=sys.stderr)
        raise typer.Exit(130) from None
    finally:
        s.close()


def _summary(ing: Ingestor, s: ParquetStore) -> None:
    st = ing.stats
    rows = s.info()["rows"]
    views = ", ".join(f"{t} {rows[t]}" for t in ("accesses", "received", "sent"))
    print(
        f"ingested {st.lines} lines ({st.unparsed} unparsed) from {ing.tailer.stats.files} files;"
        f" store {s.root}: {views}",
        file=sys.stderr,
    )
    if s.too_old:
        n = sum(s.too_old.values())
        print(
            f"tracemail: warning: {n} rows older than the {s.retention_days}-day retention "
            "window were not stored",
            file=sys.stderr,
        )


@store_app.command("info")
def info(
    store: StoreOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Size, days, rows per view and the last line time of each source file."""
    try:
        s = ParquetStore(_store_dir(store), readonly=True)
    except ValueError as exc:
        fail(str(exc))
    data = s.info()
    if fmt == "json":
        print(json.dumps(data, indent=2, default=str))
        return
    if fmt != "text":
        fail(f"unknown format {fmt!r} (text or json)")
    days = data["days"]
    span = f"{days[0]} .. {days[-1]}" if days else "no data"
    print(f"store      {data['root']}")
    print(
        f"size       {human_bytes(data['bytes'])} in {len(days)} days ({span}), "
        f"retention {data['retention_days']} days, {data['commits']} commits"
    )
    print("rows       " + "  ".join(f"{t} {data['rows'][t]}" for t in TABLES))
    if data["sources"]:
        width = max(len(p) for p in data["sources"])
        print(f"{'file':<{width}}  {'lines':>10}  last line")
        for path, src in sorted(data["sources"].items()):
            print(f"{path:<{width}}  {src.get('lines', 0):>10}  {src.get('last_time') or '-'}")


@store_app.command("prune")
def prune(
    before: Annotated[
        str | None, typer.Option(metavar="YYYY-MM-DD", help="Remove days before this date.")
    ] = None,
    store: StoreOpt = None,
) -> None:
    """Remove old day partitions (default: those past the retention window)."""
    try:
        day = dt.date.fromisoformat(before) if before else None
    except ValueError:
        fail(f"bad date {before!r} (want YYYY-MM-DD)")
    root = _store_dir(store)
    if not (root / "manifest.json").is_file():
        fail(f"no tracemail store at {root}")
    had = set(ParquetStore(root, readonly=True).manifest.days())
    s = _writable(store)
    try:
        if day is not None:
            s.prune(day)
        gone = sorted(had - set(s.manifest.days()))
    finally:
        s.close()
    print(f"removed {len(gone)} days" + (f": {', '.join(gone)}" if gone else ""))


@store_app.command("forget")
def forget(
    account: Annotated[str, typer.Argument(help="The address to erase (plus tags included).")],
    store: StoreOpt = None,
) -> None:
    """Erase one account's rows from every table (views, mailbox events, raw lines)."""
    root = _store_dir(store)
    if not (root / "manifest.json").is_file():
        fail(f"no tracemail store at {root}")
    s = _writable(store)
    try:
        removed = s.forget(account)
    finally:
        s.close()
    print(f"forgot {account}: " + ", ".join(f"{t} {n}" for t, n in removed.items()))
