"""`tracemail report VIEW ID [PATH...] -o FILE.pdf`: the PDF report of one result.

It runs the engine exactly as `search` does (same host mapping, so the same ids), then
writes the row, its evidence lines and, for received mail, its locate result. With
`--store` the same comes from the persistent store (its rows, its raw lines, its mailbox
events), as the TUI's detail screen takes it: a report from 30 days of history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer

from tracemail_tui.cli.common import app, fail, load_config
from tracemail_tui.cli.search import resolve_paths, run_engine
from tracemail_tui.cli.store_cmds import ReadStoreOpt, store_instead_of_logs
from tracemail_tui.export.privacy import Privacy
from tracemail_tui.store import engine, evidence, query, related, schema
from tracemail_tui.store.correlate.locate import MailboxSource, locate
from tracemail_tui.store.related import Related


@dataclass
class ResultBundle:
    """One result with what its report shows: the row, its log lines, where it is now,
    and the rows of other keys that finish its story (store/related.py)."""

    row: dict[str, Any]
    lines: pl.DataFrame = field(default_factory=lambda: schema.empty("lines"))
    locate: dict[str, Any] | None = None
    related: Related = field(default_factory=Related)


def _bundle(view: str, row: dict[str, Any], lines: pl.DataFrame,
            mailbox: MailboxSource, scan: Callable[[str], pl.LazyFrame]) -> ResultBundle:
    """The row, its lines and, for received mail, where the message is now."""
    bundle = ResultBundle(row=row, lines=schema.conform("lines", lines),
                          related=related.find(scan, view, row))
    if view == "received" and row.get("message_id") and row.get("recipient"):
        bundle.locate = dict(locate(mailbox, row["message_id"], row["recipient"]))
    return bundle


def load_result(result: engine.Result, view: str, result_id: str) -> ResultBundle | None:
    """Result `result_id` of `view` from an engine run, with its log lines and, for
    received mail, where the message is now (None if there is no such id)."""
    found = result[view].filter(pl.col("id") == result_id)
    if found.height == 0:
        return None
    row = found.row(0, named=True)
    return _bundle(view, row, engine.evidence(result, view, row), result["mailbox"],
                   lambda name: result[name].lazy())


def load_stored_result(source: query.Source, view: str, result_id: str) -> ResultBundle | None:
    """The same bundle from a store: the row as `search --store` shows it, the stored raw
    lines of its time window, where the message is now from the stored mailbox events."""
    found = query.query(source, view, query.Filters()).filter(pl.col("id") == result_id)
    rows = found.collect()
    if rows.height == 0:
        return None
    row = rows.row(0, named=True)
    return _bundle(view, row, evidence.from_store(source, view, row), source, source.scan)


@app.command()
def report(
    view: Annotated[str, typer.Argument(help="accesses, received or sent")],
    result_id: Annotated[str, typer.Argument(metavar="ID", help="the result's id")],
    output: Annotated[Path, typer.Option("-o", "--output", help="the PDF file to write")],
    paths: Annotated[
        list[Path] | None, typer.Argument(help="log files or directories (default: configured)")
    ] = None,
    paper: Annotated[str, typer.Option(help="a4 or letter")] = "a4",
    redact: Annotated[
        bool, typer.Option(help="pseudonymise addresses, mask IPs, drop subjects")
    ] = False,
    store_dir: ReadStoreOpt = None,
) -> None:
    """The PDF report of one result: fields, timeline, log lines and an explanation."""
    # fpdf2 and fontTools take ~0.2 s to import: only the command that writes a PDF pays.
    from tracemail_tui.export.pdf_doc import PAPERS
    from tracemail_tui.export.pdf_report import write_result_pdf

    if view not in schema.VIEWS:
        fail(f"unknown view {view!r} (expected {', '.join(schema.VIEWS)})")
    if paper.lower() not in PAPERS:
        fail(f"unknown paper size {paper!r} (expected a4 or letter)")
    cfg = load_config()
    privacy = Privacy.from_config(cfg)
    if store_dir is not None:
        source = store_instead_of_logs(paths, store_dir)
        try:
            bundle = load_stored_result(source, view, result_id)
        except ValueError as exc:
            fail(str(exc))
        query_shown = {"id": result_id, "store": str(store_dir)}
        where = "store"
    else:
        sources = resolve_paths(list(paths) if paths else None, cfg)
        # The same engine call as `search`, so the ids it printed are found here.
        bundle = load_result(run_engine(sources, None, None, cfg), view, result_id)
        query_shown = {"id": result_id, "paths": ", ".join(str(p) for p in sources)}
        where = "given logs"
    if bundle is None or not privacy.in_scope(view, bundle.row):
        fail(f"no {view} result with id {result_id!r} in the {where}")
    row = privacy.row(bundle.row, view)
    lines = privacy.evidence(bundle.lines, row, view)
    # The recipient's mailbox history is theirs: only when the recipient is in scope.
    located = bundle.locate if privacy.account_in_scope(row.get("recipient")) else None
    more = privacy.related(bundle.related)
    if cfg.scope:
        query_shown["scope"] = ", ".join(cfg.scope)
    write_result_pdf(
        row, output, view=view, lines=lines, locate=located,
        query=query_shown, paper=paper, redact=redact, related=more,
        lifetime_days=cfg.queue_lifetime_days,
    )
    typer.echo(f"wrote {output}")
