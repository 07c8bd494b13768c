"""`tracemail locate MESSAGE_ID --account A [PATH...]`: where a received message is now."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from tracemail_tui.cli.common import app, fail
from tracemail_tui.cli.output import escape
from tracemail_tui.cli.search import HostOpt, PathsArg, YearOpt, load_config, run_engine
from tracemail_tui.cli.store_cmds import ReadStoreOpt, store_instead_of_logs
from tracemail_tui.export.privacy import Privacy
from tracemail_tui.store import schema
from tracemail_tui.store.correlate.locate import MailboxSource
from tracemail_tui.store.correlate.locate import locate as locate_message


def _text(result: dict[str, Any]) -> str:
    """Human form; every logged value is escaped (folder names come from users)."""
    state = result["state"]
    where = f" {escape(result['folder'])}" if result.get("folder") else ""
    lines = [
        f"message  {escape(result['message_id'])}",
        f"account  {escape(result['account'])}",
        f"state    {state}{where}",
    ]
    if len(result.get("folders") or []) > 1:
        lines.append("copies   " + ", ".join(escape(f) for f in result["folders"]))
    if not result["history"]:
        lines.append("history  (no mailbox event for this message and account)")
    for h in result["history"]:
        folder = escape(h["folder"]) if h.get("folder") else ""
        src = f" (from {escape(h['from_folder'])})" if h.get("from_folder") else ""
        by = f"  [{h['protocol']}" + (f" {escape(h['access_id'])}" if h.get("access_id") else "")
        lines.append(f"  {h['time']}  {h['event']:<14} {folder}{src}{by}]")
    return "\n".join(lines) + "\n"


@app.command()
def locate(
    message_id: Annotated[str, typer.Argument(help="Message-ID, with or without <>.")],
    paths: PathsArg = None,
    account: Annotated[
        str | None, typer.Option("--account", "-a", help="The mailbox owner (plus tag ignored).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text or json")] = "text",
    host: HostOpt = None,
    year: YearOpt = None,
    store_dir: ReadStoreOpt = None,
) -> None:
    """Where a received message is now for one account (folder, deleted, POP3, unknown).

    With the history of mailbox events that led there.
    """
    if fmt not in ("text", "json"):
        fail(f"unknown format {fmt!r}: choose text or json")
    if not account or not account.strip():
        fail("--account is required (the mailbox owner, e.g. alice@example.com)")
    if not message_id.strip("<> \t"):
        fail("MESSAGE_ID is empty")
    cfg = load_config()
    mailbox: MailboxSource
    if store_dir is not None:
        mailbox = store_instead_of_logs(paths, store_dir)  # locate filters inside the scan
    else:
        # Deliveries + mail_log events only: no mail correlation, no accesses.
        mailbox = run_engine(list(paths) if paths else None, host, year, cfg,
                             {"mailbox"})["mailbox"]
    if not Privacy.from_config(cfg).account_in_scope(account):
        mailbox = schema.empty("mailbox")  # out of scope: the same answer as an unknown message
    found = locate_message(mailbox, message_id, account)
    if fmt == "json":
        json.dump(found, sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(_text(found))

