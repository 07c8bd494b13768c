"""What postscreen's refusals mean (detail screen, PDF).

postscreen, the bot filter in front of Postfix's smtpd on many MXes, refuses clients with a
few fixed replies of its own (postscreen_smtpd.c; lab R34, R35): ``550 5.5.1 Protocol
error`` after a failed protocol test (talking before the greeting, pipelining, a non-SMTP
command, a bare newline), ``550 5.3.2 Service currently unavailable`` for an address on the
deny list of ``postscreen_access_list``, and ``550 5.7.1 Service unavailable; client [ip]
blocked using LIST`` for a DNS blocklist score. The texts say nothing to a support
engineer; the log lines of the connection (``PREGREET``, ``DENYLISTED``, ``DNSBL rank``)
say which test it was, and the detail shows them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

POSTSCREEN_TEXT: Final[dict[str, str]] = {
    "protocol": (
        "Postfix's postscreen (the bot filter in front of the mail server) refused the "
        "client: it broke the SMTP protocol the way spam bots do (for example it talked "
        "before the server's greeting, PREGREET, or sent commands ahead of the answers). "
        "The connection's log lines name the test."
    ),
    "denylist": (
        "Postfix's postscreen refused the client because its address is on the deny list "
        "of postscreen_access_list (a known bad sender)."
    ),
    "dnsbl": (
        "Postfix's postscreen refused the client because its address is listed on the DNS "
        "blocklist {lists} (a spam source)."
    ),
}
POSTSCREEN_ADVICE: Final[dict[str, str]] = {
    "protocol": "What to do: nothing if it is a bot. A legitimate server refused this way has "
                "a broken SMTP client; its address can be exempted in postscreen_access_list.",
    "denylist": "What to do: if this is a legitimate server, remove its address from the "
                "postscreen_access_list deny list.",
    "dnsbl": "What to do: a legitimate sender must get its address delisted from that "
             "blocklist (or be exempted in postscreen_access_list).",
}
_DNSBL: Final = re.compile(r"^Service unavailable; client \[[^\]]*\] blocked using (\S+)$")


def _kind(row: Mapping[str, Any]) -> tuple[str, str] | None:
    """(kind, blocklist) of a received row refused by postscreen, else None."""
    reason, dsn = str(row.get("reason") or ""), str(row.get("dsn") or "")
    if row.get("status") != "rejected" or row.get("queue_id"):
        return None
    if reason == "Protocol error" and dsn == "5.5.1":
        return "protocol", ""
    if reason == "Service currently unavailable" and dsn.endswith(".3.2"):
        return "denylist", ""
    found = _DNSBL.match(reason)
    return ("dnsbl", found.group(1)) if found else None


def postscreen_text(view: str, row: Mapping[str, Any]) -> str | None:
    """What postscreen's refusal of this received row means, else None."""
    kind = _kind(row) if view == "received" else None
    return POSTSCREEN_TEXT[kind[0]].format(lists=kind[1]) if kind else None


def postscreen_advice(view: str, row: Mapping[str, Any]) -> str | None:
    kind = _kind(row) if view == "received" else None
    return POSTSCREEN_ADVICE[kind[0]] if kind else None
