"""How long a message still in the queue has waited, and when Postfix will give up.

"Is it still queued?" is followed by "since when?" and "when does the sender hear?". A
sent row that is `queued` carries its last attempt's `delay` (Postfix's `delay=`: seconds
from arrival to the end of that attempt), so the last attempt was at `time + delay`; with
no attempt logged yet, it was only just submitted. Postfix returns undeliverable mail
after `maximal_queue_lifetime`, 5 days unless configured otherwise; the logs do not say
the setting: the text names Postfix's default as such, or the lifetime tracemail's config
sets (``queue_lifetime_days``, for a server that changed ``maximal_queue_lifetime``).

Once the lifetime ran out, Postfix gave up (`QUEUE_EXPIRED_TEXT`): the row is no longer
waiting, and the text says so.

Plain `str` only (shared by the detail screen and the PDF report).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any, Final

from tracemail_tui.export.text import human_bytes
from tracemail_tui.store.schema import QUEUE_EXPIRED

QUEUE_LIFETIME: Final = dt.timedelta(days=5)
"""Postfix's default `maximal_queue_lifetime`."""

# When Postfix gave up on a recipient it kept deferring (qmgr's "status=expired", lab S11):
# explain's "mailbox full" and "refused" texts would mislead.
QUEUE_EXPIRED_TEXT: Final[dict[str, str]] = {
    "sent": "The message was not delivered: the receiving server kept refusing it "
            "temporarily, and our server gave up when the message's queue lifetime ran out "
            "(Postfix's maximal_queue_lifetime, 5 days by default). It went back to the sender "
            "with a non-delivery notice.",
    "received": "Delivery kept failing temporarily until the message's queue lifetime ran out "
                "(Postfix's maximal_queue_lifetime, 5 days by default); our server gave up and "
                "it went back to the sender.",
    "forward": "Forwarding it to {to} kept failing temporarily until the message's queue "
               "lifetime ran out; our server gave up and it went back to the sender.",
}


def queue_expired(row: Mapping[str, Any]) -> bool:
    """Whether Postfix gave up on the recipient when the queue lifetime ran out."""
    return str(row.get("reason") or "").startswith(QUEUE_EXPIRED)


def human_duration(seconds: float) -> str:
    """`45 s`, `12 min`, `2 h 21 min`, `3 d 4 h`: two units at most, rounded down."""
    s = max(0, int(seconds))
    days, s = divmod(s, 86_400)
    hours, s = divmod(s, 3_600)
    minutes, s = divmod(s, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "min"), (s, "s")]
    first = next((i for i, (n, _) in enumerate(parts) if n), len(parts) - 1)
    shown = [f"{n} {unit}" for n, unit in parts[first:first + 2] if n]
    return " ".join(shown) or "0 s"


def _lifetime_words(days: float) -> str:
    """`5 days`, `1 day`, `12 h` (a lifetime of less than a day)."""
    if days < 1:
        return human_duration(days * 86_400)
    return f"{days:g} day" + ("" if days == 1 else "s")


def _at(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M")


def waiting_text(view: str, row: Mapping[str, Any],
                 lifetime_days: float | None = None) -> str | None:
    """A sentence on a waiting row's timing (sent `queued`, received `deferred`), else None.

    A row deleted from the queue or refused is not waiting: the caller only asks for rows
    whose story is still open. `lifetime_days`: the server's maximal_queue_lifetime as
    configured for tracemail (None: Postfix's default, 5 days).
    """
    time = row.get("time")
    if not isinstance(time, dt.datetime):
        return None
    if lifetime_days is None:
        which, lifetime = "Postfix's default queue lifetime (maximal_queue_lifetime, 5 days)", \
            QUEUE_LIFETIME
    else:
        which = (f"the queue lifetime of {_lifetime_words(lifetime_days)} "
                 f"(maximal_queue_lifetime, as set in tracemail's config)")
        lifetime = dt.timedelta(days=lifetime_days)
    gives_up = (f"With {which} it is returned to the sender at about {_at(time + lifetime)} "
                f"unless an attempt succeeds before.")
    if view == "received":
        return gives_up if row.get("delivery") == "deferred" else None
    if view != "sent" or row.get("status") != "queued":
        return None
    delay = row.get("delay")
    if not isinstance(delay, int | float) or math.isnan(delay):
        return (f"No delivery attempt is logged yet: it was submitted at {_at(time)} and "
                f"waits for its first try. " + gives_up)
    last = time + dt.timedelta(seconds=float(delay))
    after = "moments" if delay < 1 else human_duration(delay)
    return (f"Its last delivery attempt was at about {_at(last)}, {after} after it was "
            f"submitted. " + gives_up)


def gloss(key: str, value: object) -> str | None:
    """A reading aid next to a raw number of the contract: `8503.0` delay → `2 h 21 min`,
    `21946` size → `21.4 KB`. None when the raw value says it all."""
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return None
    if key == "delay" and value >= 60:
        return human_duration(value)
    if key in ("size", "bytes_in", "bytes_out") and value >= 1024:
        return human_bytes(value)
    return None
