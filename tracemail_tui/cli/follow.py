"""`tracemail search --follow`: a search's rows as they happen, `tail -f` for mail.

"Send the test message again, I'm watching": the rows that match are printed first, then
every row that appears or changes while the logs grow (a queued message that gets
delivered is printed again, with the same `id`: a reader keeps the last line per id).
Log PATHs are tailed into a scratch store that is removed at exit (a search keeps
nothing); `--store DIR` follows the commits of a running `tracemail ingest --follow`.
Each poll re-runs the query when the source has new data, so `--date`/`--since` keep the
work small on a 30-day store.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Final

import polars as pl

from tracemail_tui.cli import output
from tracemail_tui.cli.common import exit_on_signals, fail
from tracemail_tui.export import csv_export
from tracemail_tui.export.privacy import Privacy
from tracemail_tui.store import query

POLL_S: Final = 0.5
STREAM_WIDTHS: Final[dict[str, int]] = {
    "time": 19, "logout_time": 19, "status": 11, "dsn": 5, "protocol": 11, "error": 16,
    "remote_ip": 15, "delivery": 9, "folder": 12, "queue_id": 12, "server": 10,
}
"""Table columns are fixed-width when streaming (rows arrive one batch at a time)."""
DEFAULT_WIDTH: Final = 24


def changes(seen: pl.DataFrame, rows: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The rows of `rows` not printed yet in this form, and the new `seen` (id, hash).

    A row is printed again when any field changed (queued → delivered, a logout arriving
    for an open session); rows that left the result (a changed status filter) are not.
    """
    hashed = rows.select("id", _h=rows.hash_rows())
    fresh = hashed.join(seen, on=["id", "_h"], how="anti").get_column("id")
    return rows.filter(pl.col("id").is_in(fresh.implode())), hashed


class Printer:
    """Writes batches of rows in one format, the header (csv, table) once."""

    def __init__(self, out: IO[str], view: str, fmt: str) -> None:
        self.out, self.view, self.fmt = out, view, fmt
        self.started = False

    def __call__(self, rows: pl.DataFrame) -> None:
        if self.fmt == "jsonl":
            output.write_jsonl(rows, self.out)
        elif self.fmt == "csv":
            csv_export.write_csv(rows, self.out, view=self.view, header=not self.started)
        else:
            output.write_table(rows, self.out, self.view, widths=self._widths(rows),
                               header=not self.started)
        self.started = True
        self.out.flush()

    def _widths(self, rows: pl.DataFrame) -> dict[str, int]:
        return {c: STREAM_WIDTHS.get(c, DEFAULT_WIDTH) for c in rows.columns}


def follow(source: query.Source, view: str, filters: query.Filters, privacy: Privacy,
           emit: Callable[[pl.DataFrame], None], stop: Callable[[], bool],
           poll: float = POLL_S) -> None:
    """Print the matching rows, then the new and changed ones, until `stop()`."""
    seen = pl.DataFrame(schema={"id": pl.String, "_h": pl.UInt64})
    generation: int | None = None
    while not stop():
        now = source.generation
        if now != generation:
            generation = now
            rows = privacy.frame(query.query(source, view, filters).collect(), view)
            fresh, seen = changes(seen, rows)
            if fresh.height:
                emit(fresh)
        time.sleep(poll)


def run(paths: list[Path] | None, store_dir: Path | None, hosts: dict[str, str],
        view: str, filters: query.Filters, privacy: Privacy, out: IO[str], fmt: str,
        seconds: float | None) -> None:
    """Follow from log `paths` (a scratch store) or the store at `store_dir`. Ctrl-C or
    `seconds` end it with exit 0, SIGTERM or SIGHUP with 128 + the signal (as the app
    does); the scratch store is removed either way."""
    from tracemail_tui import launch
    from tracemail_tui.store.partitions import ParquetStore

    scratch: Path | None = None
    if store_dir is not None:
        from tracemail_tui.cli.store_cmds import store_instead_of_logs

        store = store_instead_of_logs(paths, store_dir)
        session = launch.Session(store)
        session.on_close(store.close)
    else:
        scratch = Path(tempfile.mkdtemp(prefix="tracemail-follow-"))
        # A search keeps every row of the logs it is given: no retention in the scratch.
        store = ParquetStore(scratch / "store", retention_days=launch.DEMO_RETENTION_DAYS)
        session = launch.live_session(store, paths or [], hosts)
    end = None if seconds is None else time.monotonic() + seconds
    with exit_on_signals():
        try:
            follow(session.source, view, filters, privacy, Printer(out, view, fmt),
                   lambda: session.error is not None
                   or (end is not None and time.monotonic() >= end))
        except KeyboardInterrupt:
            pass
        finally:
            session.close()
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)
    if session.error is not None:  # the tail died (the store could not be written...)
        fail(f"ingest stopped: {session.error}")
