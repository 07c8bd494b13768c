"""What the recipient's Sieve rules did not do, in plain words (detail screen, PDF).

A vacation reply or a forward that Pigeonhole decided not to send, and a script that
failed while it ran: the row's `filter_rule` carries the short form (see
``parse/dovecot_mail.py``), these sentences say why it matters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from tracemail_tui.store.schema import SIEVE_FAILED

VACATION_SKIP_TEXT: Final[dict[str, str]] = {
    "duplicate": "Dovecot had already answered this sender recently (the rule's :days "
                 "period), so it does not answer again",
    "own address": "the sender is the recipient's own address",
    "null sender": "the message has no return address (a bounce or an automatic message)",
    "mailing list": "the message came from a mailing list",
    "auto-submitted": "the message was itself sent automatically (Auto-Submitted header)",
    "precedence": "the message is bulk or list mail (Precedence header)",
    "auto-response-suppress": "the sender asked for no automatic replies "
                              "(X-Auto-Response-Suppress header)",
    "system address": "the sender is a system address (MAILER-DAEMON, noreply, ...)",
    "not addressed to the recipient": "the recipient's address is not in the message's "
                                      "To or Cc headers (Bcc, a list or an alias)",
    "skipped": "replies were switched off for this delivery",
}
"""Why Dovecot's vacation rule sent no reply, per reason of `parse.dovecot_mail`."""


REDIRECT_SKIP_TEXT: Final[dict[str, str]] = {
    "duplicate": "Dovecot had already forwarded this message (same Message-ID) to that "
                 "address, so it did not send it again",
    "mail loop": "the message had already passed through this forward (a mail loop)",
}
"""Why a Sieve redirect sent nothing (Pigeonhole's duplicate and loop checks)."""


def sieve_not_sent(row: Mapping[str, Any]) -> str | None:
    """"Why did the sender get no out-of-office reply?" when the rule ran and sent none;
    likewise for a forward (redirect) that was not sent again."""
    rule = str(row.get("filter_rule") or "")
    out = []
    for found in re.finditer(r"vacation \(not sent: ([^)]*)\)", rule):
        why = VACATION_SKIP_TEXT.get(found.group(1), found.group(1))
        out.append(f"The automatic reply (vacation rule) was not sent: {why}.")
    for found in re.finditer(r'redirect "([^"]*)" \(not sent: ([^)]*)\)', rule):
        why = REDIRECT_SKIP_TEXT.get(found.group(2), found.group(2))
        out.append(f"The forward to {found.group(1)} was not sent: {why}.")
    return " ".join(out) or None


SIEVE_FAILED_TEXT: Final = (
    "The recipient's filter rules (Sieve script) failed while they ran, for example a rule "
    "that files mail into a folder that no longer exists; Dovecot kept the message{in_folder} "
    "instead. Which action failed is written only to the user's own Sieve log (named in the "
    "log line; by default next to the script, e.g. ~/.dovecot.sieve.log), not to the mail log."
)


def sieve_failed(row: Mapping[str, Any]) -> bool:
    """Whether the recipient's Sieve script failed and the message was kept instead."""
    return SIEVE_FAILED in str(row.get("filter_rule") or "")
