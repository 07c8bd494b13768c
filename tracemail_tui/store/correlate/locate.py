"""Where is a received message now, for one account? (DESIGN.md ``locate``)

Replays the account's mailbox events (``schema.MAILBOX``) for one Message-ID, oldest
first:

* ``deliver`` (Sieve ``stored mail into mailbox`` / LMTP ``saved mail to``) and ``save``
  (mail_log; IMAP APPEND, or the LMTP save that duplicates a ``deliver``) put it in a folder;
* ``copy`` puts a copy in another folder; ``copy`` + ``expunge`` of the source in the same
  session within two seconds is an IMAP MOVE, reported as one ``move``;
* ``delete`` is the ``\\Deleted`` flag: the message is deleted as far as the user is
  concerned, but still sits in the folder until ``expunge``; ``undelete`` clears it;
* ``expunge`` removes it from a folder; a POP3 ``expunge`` (DELE, then QUIT) means the client
  downloaded and removed it: ``downloaded-pop``;
* ``mailbox_rename`` / ``mailbox_delete`` (no Message-ID) move or drop whole folders;
* ``redirect`` / ``vacation`` / ``discard`` / ``reject`` are kept in the history only.

A POP3 RETR without DELE leaves no per-message trace in Dovecot's log (only the session's
``retr=`` counter), so such a message stays ``in-folder`` ``INBOX``. State: ``in-folder``
while some folder still holds it (``folder`` = the one it entered last); ``deleted`` when
it was expunged, its folder deleted, or every copy carries ``\\Deleted``; ``downloaded-pop``
when the last removal was a POP3 expunge; ``unknown`` when no event put it anywhere.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final, Protocol

import polars as pl

_DELIVERY_PROTOCOLS: Final = ("lmtp", "lda", "dovecot-lda", "deliver")


class _Scannable(Protocol):
    def scan(self, view: str) -> pl.LazyFrame: ...


MailboxSource = pl.DataFrame | pl.LazyFrame | _Scannable
MOVE_WINDOW: Final = dt.timedelta(seconds=2)


def normalize_account(account: str) -> str:
    """Lower-case, trimmed, ``+tag`` dropped: ``Alice+News@Example.com`` → ``alice@example.com``."""
    a = account.strip().lower()
    local, at, domain = a.partition("@")
    return local.split("+", 1)[0] + at + domain


def normalize_message_id(message_id: str) -> str:
    """Message-ID with its angle brackets, as Dovecot and Postfix log it."""
    m = message_id.strip()
    if not m.startswith("<"):
        m = "<" + m
    if not m.endswith(">"):
        m = m + ">"
    return m


def _account_match(account: str) -> pl.Expr:
    """The account's events: same address (plus tag ignored), or a bare local-part user."""
    user = pl.col("user").str.to_lowercase().str.replace(r"\+[^@]*(@|$)", "${1}")
    local = account.partition("@")[0]
    return (user == account) | (~user.str.contains("@", literal=True) & (user == local))


def _events(mailbox: MailboxSource, message_id: str, account: str) -> list[dict[str, Any]]:
    """The account's events for this message plus its folder renames/deletions, oldest
    first; the filter runs inside the scan, so a large store yields only these rows."""
    lf = mailbox.scan("mailbox") if hasattr(mailbox, "scan") else mailbox.lazy()
    folders = pl.col("event").is_in(("mailbox_rename", "mailbox_delete"))
    # Cheap exact match first; lower-casing every Message-ID only when that finds nothing.
    rows = lf.filter((pl.col("message_id") == message_id) | folders).collect()
    if not rows.filter(pl.col("message_id").is_not_null()).height:
        mid = pl.col("message_id").str.to_lowercase() == message_id.lower()
        rows = lf.filter(mid | folders).collect()
    rows = rows.filter(_account_match(account)).with_row_index("_i")
    return rows.sort("time", "_i").drop("_i").to_dicts()


def _access_id(e: dict[str, Any]) -> str | None:
    if e.get("session") and e.get("protocol") not in _DELIVERY_PROTOCOLS:
        return f"a-{e['server']}-{e['session']}"
    return None


def _iso(t: dt.datetime | None) -> str | None:
    return t.isoformat() if t is not None else None


def locate(mailbox: MailboxSource, message_id: str, account: str) -> dict[str, Any]:
    """Replay the mailbox events of `message_id` for `account` (see the module doc).

    `mailbox` is the ``mailbox`` view as a DataFrame or LazyFrame, or a store with
    ``scan("mailbox")`` (``store.query.Source``).
    """
    mid, acct = normalize_message_id(message_id), normalize_account(account)
    folders: dict[str, bool] = {}  # folder -> carries \\Deleted
    order: list[str] = []  # folders in the order the message entered them
    history: list[dict[str, Any]] = []
    arrivals: set[tuple[str | None, str | None]] = set()
    removal: str | None = None

    def enter(folder: str) -> None:
        folders[folder] = False
        if folder in order:
            order.remove(folder)
        order.append(folder)

    def leave(folder: str) -> None:
        folders.pop(folder, None)
        if folder in order:
            order.remove(folder)

    def note(e: dict[str, Any], event: str, folder: str | None, **extra: Any) -> None:
        history.append({"time": _iso(e["time"]), "event": event, "folder": folder,
                        "protocol": e.get("protocol"), "access_id": _access_id(e), **extra})

    for e in _events(mailbox, mid, acct):
        ev, folder, src = e["event"], e.get("folder"), e.get("from_folder")
        if ev in ("save", "deliver"):
            # LMTP logs one delivery twice (mail_log save + Sieve/LMTP line): one arrival.
            if e.get("protocol") in _DELIVERY_PROTOCOLS:
                key = (e.get("session"), folder)
                if key in arrivals:
                    continue
                arrivals.add(key)
                ev = "deliver"
            if folder:
                enter(folder)
            note(e, ev, folder)
        elif ev == "copy":
            if folder:
                enter(folder)
            note(e, "copy", folder, from_folder=src)
        elif ev == "expunge":
            last = history[-1] if history else None
            is_move = (
                last is not None and last["event"] == "copy" and last.get("from_folder") == folder
                and last["access_id"] == _access_id(e) and e["time"] is not None
                and dt.datetime.fromisoformat(last["time"]) >= e["time"] - MOVE_WINDOW
            )
            if folder:
                leave(folder)
            if is_move and last is not None:
                last["event"] = "move"
                continue
            removal = "pop3" if e.get("protocol") == "pop3" else "expunge"
            note(e, "pop3-delete" if removal == "pop3" else "expunge", folder)
        elif ev in ("delete", "undelete"):
            if folder in folders:
                folders[folder] = ev == "delete"
            note(e, ev, folder)
        elif ev == "mailbox_rename":
            hit = [f for f in list(folders) if src and (f == src or f.startswith(src + "/"))]
            for f in hit:
                flagged = folders[f]
                leave(f)
                enter(folder + f[len(src):] if folder and src else f)
                folders[order[-1]] = flagged
            if hit:
                note(e, "mailbox_rename", folder, from_folder=src)
        elif ev == "mailbox_delete":
            hit = [f for f in list(folders)
                   if folder and (f == folder or f.startswith(folder + "/"))]
            for f in hit:
                leave(f)
            if hit:
                removal = "expunge"
                note(e, "mailbox_delete", folder)
        else:  # redirect, vacation, discard, reject, flag_change ...
            note(e, ev, folder)

    present = [f for f in order if f in folders]
    live = [f for f in present if not folders[f]]
    if live:
        state, where = "in-folder", live[-1]
    elif present:  # only \\Deleted copies left: deleted for the user, not yet expunged
        state, where = "deleted", present[-1]
    elif removal == "pop3":
        state, where = "downloaded-pop", None
    elif removal is not None:
        state, where = "deleted", None
    else:
        state, where = "unknown", None
    return {"message_id": mid, "account": acct, "state": state, "folder": where,
            "folders": present, "history": history}
