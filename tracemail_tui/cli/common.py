"""Shared pieces of the command line: the typer app and error helpers."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, NoReturn

import typer

from tracemail_tui import config

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


@contextmanager
def exit_on_signals() -> Iterator[None]:
    """Within it, a closed terminal (SIGHUP) or a kill (SIGTERM) exits with 128 + the
    signal *through* the caller's `finally` blocks: ingest threads stop and commit,
    scratch stores are removed. The previous handlers come back afterwards."""
    def leave(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    before = {sig: signal.signal(sig, leave) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def parse_scope(value: str) -> tuple[str, ...]:
    """`example.org, @Example.COM` -> ("example.org", "example.com"); empty is an error."""
    domains = tuple(d.strip().lstrip("@").lower() for d in value.split(","))
    if not value.strip() or not all(domains) or any(c in d for d in domains for c in " @/"):
        fail(f"--scope: not a list of domains: {value!r}")
    return domains


def load_config() -> config.Config:
    """The configuration with the global command-line options (`--scope`) on top.

    The root callback registers `--scope` with `config.override`, so this (and any
    `config.load()`, e.g. in the TUI) confines like a scope from the config file or
    `TRACEMAIL_SCOPE`. A broken config file ends the command with exit 2.
    """
    try:
        cfg = config.load()
    except ValueError as exc:
        fail(str(exc))
    return cfg


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    scope: Annotated[
        str | None,
        typer.Option(
            "--scope", metavar="DOMAIN[,DOMAIN]", show_default=False,
            help="Only rows of these domains (as account or counterpart); "
            "overrides config `scope` / TRACEMAIL_SCOPE.",
        ),
    ] = None,
) -> None:
    """Without a command, `tracemail` opens the app on the configured logs."""
    # In config (not here) so every `config.load()` — TUI, exports — sees it too.
    config.override(scope=parse_scope(scope) if scope is not None else None)
    ctx.call_on_close(config.override)  # for this invocation only (tests run many)
    if ctx.invoked_subcommand is None:
        # The TUI registers `tui`; fall back to help until it exists.
        tui = ctx.command.commands.get("tui") if hasattr(ctx.command, "commands") else None
        if tui is None:
            typer.echo(ctx.get_help())
            raise typer.Exit(0)
        ctx.invoke(tui.callback)
