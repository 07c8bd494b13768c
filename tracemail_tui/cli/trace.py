"""`tracemail trace MESSAGE_ID [PATH...]`: one message's whole story across the views.

Its received rows (one per recipient) with where each copy is now, its sent rows (mail
between our users, forwarded copies), and the bounce notices it caused, with where a
notice to one of our users is now. Scope applies to every row (and locate is told only
for in-scope accounts), as for `search` and `locate`.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Annotated, Any

import polars as pl
import typer

from tracemail_tui.cli.common import app, fail
from tracemail_tui.cli.output import escape
from tracemail_tui.cli.search import HostOpt, PathsArg, YearOpt, load_config, run_engine
from tracemail_tui.cli.store_cmds import ReadStoreOpt, store_instead_of_logs
from tracemail_tui.export.privacy import Privacy
from tracemail_tui.store import query
from tracemail_tui.store.correlate.locate import MailboxSource
from tracemail_tui.store.correlate.locate import locate as locate_message
from tracemail_tui.store.trace import Trace, trace, where

Row = dict[str, Any]
SECTIONS = (("received", "received"), ("sent", "sent"),
            ("notices_received", "bounce notice to our user"),
            ("notices_sent", "bounce notice to a remote sender"))


def _located(rows: pl.DataFrame, mailbox: MailboxSource, privacy: Privacy) -> list[Row]:
    """Received rows as dicts, each with `locate` (where that copy is now) when its
    recipient is in scope and the row was delivered into a mailbox."""
    out = []
    for row in rows.to_dicts():
        if (row.get("delivery") == "delivered" and row.get("message_id")
                and privacy.account_in_scope(row.get("recipient"))):
            row["locate"] = dict(locate_message(mailbox, row["message_id"], row["recipient"]))
        out.append(row)
    return out


def _line(view: str, row: Row) -> str:
    """One row in a line: when, outcome, who → whom, where, its id (values escaped)."""
    def v(key: str) -> str:
        value = row.get(key)
        return "-" if value is None else escape(str(value))

    time = row["time"].isoformat() if row.get("time") is not None else "-"
    if view.endswith("sent") or not row.get("delivery"):
        outcome = v("status")
    else:
        outcome = f"{v('status')} {v('delivery')}"
    place = where(view, row)
    where_text = "-" if place is None else escape(place)
    sender = "<>" if row.get("sender") is None and row.get("bounce_of") else v("sender")
    text = f"  {time}  {outcome:<20} {sender} → {v('recipient')}  {where_text}  [{v('id')}]"
    loc = row.get("locate")
    if loc:
        now = loc["state"] + (f" {escape(loc['folder'])}" if loc.get("folder") else "")
        text += f"\n      now: {now}"
    return text


def _text(found: Trace, sections: dict[str, list[Row]]) -> str:
    lines = [f"message  {escape(found.message_id)}"]
    if not any(sections.values()):
        lines.append("no row of this message in these logs (or outside your scope)")
    for name, title in SECTIONS:
        for i, row in enumerate(sections[name]):
            if i == 0:
                lines.append(title)
            lines.append(_line(name, row))
    return "\n".join(lines) + "\n"


def _plain(value: Any) -> Any:
    """A value as `search -f json` writes it: ISO times, NaN (a score Rspamd did not
    compute) as null, nested locate results alike."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


@app.command("trace")
def trace_cmd(
    message_id: Annotated[str, typer.Argument(help="Message-ID, with or without <>.")],
    paths: PathsArg = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text or json")] = "text",
    host: HostOpt = None,
    year: YearOpt = None,
    store_dir: ReadStoreOpt = None,
) -> None:
    """Every row of one message in received and sent, its bounce notices, where each copy is.

    Per recipient, forwarded copies and mail between our users; for each copy delivered
    into an in-scope mailbox, where it is now.
    """
    if fmt not in ("text", "json"):
        fail(f"unknown format {fmt!r}: choose text or json")
    if not message_id.strip("<> \t"):
        fail("MESSAGE_ID is empty")
    cfg = load_config()
    privacy = Privacy.from_config(cfg)
    source: query.Source
    mailbox: MailboxSource
    if store_dir is not None:
        store = store_instead_of_logs(paths, store_dir)
        source, mailbox = store, store  # locate filters the store's mailbox scan itself
    else:
        result = run_engine(list(paths) if paths else None, host, year, cfg,
                            {"received", "sent", "mailbox"})
        source = query.MemoryStore(result.views)
        mailbox = result["mailbox"]
    found = trace(source.scan, message_id)
    views = {"received": "received", "sent": "sent", "notices_received": "received",
             "notices_sent": "sent"}
    sections: dict[str, list[Row]] = {}
    for name, view in views.items():
        rows = privacy.frame(getattr(found, name), view)  # scope, hidden subjects
        sections[name] = (_located(rows, mailbox, privacy) if view == "received"
                          else rows.to_dicts())
    if fmt == "json":
        data = {"message_id": found.message_id, **{k: _plain(v) for k, v in sections.items()}}
        json.dump(data, sys.stdout, indent=1, ensure_ascii=False, allow_nan=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(_text(found, sections))
