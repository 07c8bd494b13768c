"""Shared pieces of the command line: the typer app and error helpers."""

from __future__ import annotations

import sys
from typing import NoReturn

import typer

app = typer.Typer(
    name="tracemail",
    help="Trace what happened to a message or a login in Postfix/Dovecot/Rspamd logs.",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def fail(message: str) -> NoReturn:
    """Print a one-line error and exit with status 2 (bad usage or unreadable input)."""
    print(f"tracemail: error: {message}", file=sys.stderr)
    raise typer.Exit(2)


@app.callback(invoke_without_command=True)
def _root(ctx: typer.Context) -> None:
    """Without a command, `tracemail` opens the app on the configured logs."""
    if ctx.invoked_subcommand is None:
        # The TUI registers `tui`; fall back to help until it exists.
        tui = ctx.command.commands.get("tui") if hasattr(ctx.command, "commands") else None
        if tui is None:
            typer.echo(ctx.get_help())
            raise typer.Exit(0)
        ctx.invoke(tui.callback)
