"""The `tracemail` command line (typer).

Each command group lives in its own module and registers itself on `app`;
this module only builds the app and maps expected errors to exit code 2.
"""

from __future__ import annotations

import sys

# Command modules register themselves on import (order = order in --help).
from tracemail_tui.cli import generate as _generate  # noqa: F401
from tracemail_tui.cli import locate as _locate  # noqa: F401
from tracemail_tui.cli import report as _report  # noqa: F401
from tracemail_tui.cli import search as _search  # noqa: F401
from tracemail_tui.cli import store_cmds as _store_cmds  # noqa: F401
from tracemail_tui.cli import trace as _trace  # noqa: F401
from tracemail_tui.cli import tui as _tui  # noqa: F401
from tracemail_tui.cli.common import app


def main() -> None:
    """Entry point: run the app; bad input ends with one line on stderr and exit 2."""
    try:
        app()
    except (OSError, ValueError) as exc:  # unreadable input or bad values
        print(f"tracemail: error: {exc}", file=sys.stderr)
        sys.exit(2)
