"""`tracemail search`, `locate` and `stats`: the engine, headless, on log files."""

from __future__ import annotations

from tracemail_tui.cli.common import app


@app.command()
def stats() -> None:
    """Lines read, per program, unparsed per program, time span and hosts (not yet built)."""
    print("not yet implemented")
