"""`tracemail tui [PATH...]` and `tracemail demo`: the Textual app."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from tracemail_tui.cli.common import app, exit_on_signals, fail
from tracemail_tui.cli.search import load_config, resolve_paths
from tracemail_tui.export.privacy import Privacy
from tracemail_tui.store import schema
from tracemail_tui.store.query import Filters


def _filters(domain: str | None, account: str | None, date: str | None) -> Filters:
    try:
        day = dt.date.fromisoformat(date) if date else None
    except ValueError:
        fail(f"--date must be YYYY-MM-DD, got {date!r}")
    scope = load_config().scope  # an operator confined to some domains stays confined
    return Filters(domain=domain, account=account, date=day, scope=scope)


def _run(session_factory, view: str, filters: Filters) -> None:  # type: ignore[no-untyped-def]
    if view not in schema.VIEWS:
        fail(f"--view must be one of {', '.join(schema.VIEWS)}, got {view!r}")
    try:
        session = session_factory()
    except (OSError, ValueError) as exc:
        fail(str(exc))
    # Imported here so headless commands never pay for Textual.
    from tracemail_tui.app import TracemailApp

    # A closed terminal or a kill still stops the ingest thread, commits, and removes
    # the demo's scratch files: exit through the `finally`.
    with exit_on_signals():
        try:
            source = Privacy.from_config(load_config()).source(session.source)  # scope
            TracemailApp(source, view=view, filters=filters, status=session.status).run()
        finally:
            session.close()


ViewOpt = Annotated[str, typer.Option("--view", help="accesses, received or sent")]
DomainOpt = Annotated[str | None, typer.Option("--domain", help="only this domain")]
AccountOpt = Annotated[str | None, typer.Option("--account", help="only this account")]
DateOpt = Annotated[str | None, typer.Option("--date", help="day to show (YYYY-MM-DD)")]


@app.command()
def tui(
    paths: Annotated[list[Path] | None, typer.Argument(help="log files or directories")] = None,
    view: ViewOpt = "received",
    domain: DomainOpt = None,
    account: AccountOpt = None,
    date: DateOpt = None,
) -> None:
    """The app on log files or directories (default: TRACEMAIL_LOGS / config logs)."""
    from tracemail_tui import launch

    filters = _filters(domain, account, date)
    logs = resolve_paths(paths, load_config())
    _run(lambda: launch.open_paths(logs), view, filters)


@app.command()
def demo(
    view: ViewOpt = "received",
    domain: DomainOpt = None,
    account: AccountOpt = None,
    date: DateOpt = None,
) -> None:
    """The app on bundled demo data, with new lines arriving live."""
    from tracemail_tui import launch

    _run(launch.open_demo, view, _filters(domain, account, date))
