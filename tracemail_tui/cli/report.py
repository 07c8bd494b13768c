"""`tracemail report VIEW ID [PATH...] -o FILE.pdf`: the PDF report of one result.

Everything the command needs from the engine goes through `load_result`, the one place
that knows the engine's API; the rest only sees a `ResultBundle`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer

from tracemail_tui.cli.common import app, fail, load_config
from tracemail_tui.export.pdf_doc import PAPERS
from tracemail_tui.export.pdf_report import write_result_pdf
from tracemail_tui.export.privacy import Privacy
from tracemail_tui.store import schema


class EngineUnavailable(RuntimeError):
    """The log engine (store/engine.py) is not part of this build yet."""


@dataclass
class ResultBundle:
    """One result with what its report shows: the row, its log lines, where it is now."""

    row: dict[str, Any]
    lines: pl.DataFrame = field(default_factory=lambda: schema.empty("lines"))
    locate: dict[str, Any] | None = None


def load_result(view: str, result_id: str, paths: list[Path]) -> ResultBundle | None:
    """Run the engine over `paths` and return result `result_id` of `view` (None if absent).

    The single adapter to the engine: `engine.run(paths)` gives the views; the evidence
    comes from `engine.evidence(result, view, ...)` when the engine offers it; locate
    from `store/correlate/locate.py` for received mail.
    """
    try:
        engine = importlib.import_module("tracemail_tui.store.engine")
    except ImportError as exc:
        raise EngineUnavailable(f"the log engine is not available in this build ({exc})") from exc
    run = getattr(engine, "run", None)
    if run is None:
        raise EngineUnavailable("the log engine has no run(paths) entry point")
    views = run(paths)
    frame = _frame(views, view)
    if frame is None:
        return None
    found = frame.filter(pl.col("id") == result_id)
    if found.height == 0:
        return None
    row = found.row(0, named=True)
    bundle = ResultBundle(row=row)
    evidence = getattr(engine, "evidence", None)
    if evidence is not None:
        bundle.lines = schema.conform("lines", evidence(views, view, row))
    if view == "received":
        bundle.locate = _locate(views, row)
    return bundle


def _frame(views: Any, view: str) -> pl.DataFrame | None:
    """The frame of `view` from whatever the engine returned (mapping or attributes)."""
    try:
        frame = views[view]
    except (KeyError, TypeError):
        frame = getattr(views, view, None)
    if isinstance(frame, pl.LazyFrame):
        frame = frame.collect()
    return frame


def _locate(views: Any, row: dict[str, Any]) -> dict[str, Any] | None:
    if not row.get("message_id") or not row.get("recipient"):
        return None
    try:
        module = importlib.import_module("tracemail_tui.store.correlate.locate")
    except ImportError:
        return None
    locate = getattr(module, "locate", None)
    mailbox = _frame(views, "mailbox")
    if locate is None or mailbox is None:
        return None
    result = locate(mailbox, row["message_id"], row["recipient"])
    return dict(result) if result is not None else None


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
) -> None:
    """The PDF report of one result: fields, timeline, log lines and an explanation."""
    if view not in schema.VIEWS:
        fail(f"unknown view {view!r} (expected {', '.join(schema.VIEWS)})")
    if paper.lower() not in PAPERS:
        fail(f"unknown paper size {paper!r} (expected a4 or letter)")
    cfg = load_config()
    privacy = Privacy.from_config(cfg)
    sources = list(paths or cfg.logs)
    if not sources:
        fail("no log files given and none configured")
    for path in sources:
        if not path.exists():
            fail(f"cannot read {path}: no such file or directory")
    try:
        bundle = load_result(view, result_id, sources)
    except EngineUnavailable as exc:
        fail(f"engine not available: {exc}")
    if bundle is None or not privacy.in_scope(view, bundle.row):
        fail(f"no {view} result with id {result_id!r} in the given logs")
    row = privacy.row(bundle.row, view)
    lines = privacy.evidence(bundle.lines, row, view)
    # The recipient's mailbox history is theirs: only when the recipient is in scope.
    located = bundle.locate if privacy.account_in_scope(row.get("recipient")) else None
    query = {"id": result_id, "paths": ", ".join(str(p) for p in sources)}
    if cfg.scope:
        query["scope"] = ", ".join(cfg.scope)
    write_result_pdf(
        row, output, view=view, lines=lines, locate=located,
        query=query, paper=paper, redact=redact,
    )
    typer.echo(f"wrote {output}")
