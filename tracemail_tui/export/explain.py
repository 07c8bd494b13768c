"""Plain-language explanations of outcomes, shared by the PDF report and the TUI detail modal.

Use `explain(view, row, locate)` for the paragraphs and `outcome(view, row)` for the
icon + word; the tables below hold the raw texts (some have ``{folder}``/``{in_folder}``
placeholders that `explain` fills in).

Texts are written for the person on the phone with a user, not for the postmaster: what
happened, why it usually happens, and what to do next. Everything here is plain `str`
(no markup), so any front end can show it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

from tracemail_tui.export.postscreen_text import postscreen_advice, postscreen_text
from tracemail_tui.export.related_text import related_sentences
from tracemail_tui.export.sieve_text import SIEVE_FAILED_TEXT, sieve_failed, sieve_not_sent
from tracemail_tui.export.waiting import QUEUE_EXPIRED_TEXT, queue_expired, waiting_text
from tracemail_tui.store.related import Related, temporary_refusal
from tracemail_tui.store.schema import QUEUE_DELETED

OUTCOME_ICONS: Final[dict[str, str]] = {
    "success": "✔",
    "failed": "✖",
    "accepted": "✔",
    "quarantined": "⚠",
    "rejected": "✖",
    "delivered": "✔",
    "queued": "◷",
}
"""Icon per status: the outcome is always shown as icon + word, never by colour alone."""

OUTCOME_TONES: Final[dict[str, str]] = {
    "success": "good", "accepted": "good", "delivered": "good",
    "quarantined": "warning", "queued": "warning",
    "failed": "bad", "rejected": "bad",
}
"""Tone per status, for front ends that add colour on top of icon + word."""

VIEW_TITLES: Final = {"accesses": "access", "received": "received message", "sent": "sent message"}

STATUS_TEXT: Final[dict[str, dict[str, str]]] = {
    "accesses": {
        "success": "The login succeeded: the account was opened from this address.",
        "failed": "The login was refused; nothing in the mailbox was touched.",
    },
    "received": {
        "accepted": "Our server accepted the message for this recipient.",
        "quarantined": (
            "The message was accepted but not put in the inbox: it is held on the server "
            "(hold queue) or it was filed into the spam folder because the antispam "
            "check flagged it."
        ),
        "rejected": (
            "Our server refused the message during the SMTP conversation, so it was never "
            "stored. The sending server was told why and normally informs the sender."
        ),
    },
    "sent": {
        "delivered": "The message left our server and the next server confirmed it took it.",
        "rejected": (
            "The message was not delivered: it was refused by our server or bounced by the "
            "receiving server. The sender gets (or got) a non-delivery notice."
        ),
        "queued": (
            "The message is still in our queue: the receiving server asked us to try again "
            "later, or delivery is not finished yet. The server keeps retrying for several "
            "days before giving up."
        ),
    },
}

ACCESS_ERRORS: Final[dict[str, str]] = {
    "auth-failed": (
        "Wrong password. Check that the user types the current password (caps lock, "
        "keyboard layout) and that no old device keeps trying a changed one. Many failures "
        "from one address in a short time suggest password guessing."
    ),
    "unknown-user": (
        "No such account. Usually a typo in the user name or an account that was removed; "
        "many different unknown names from one address point to a brute-force attempt."
    ),
    "user-disabled": (
        "The account exists but is disabled (blocked, deny list or no-login). The password "
        "was not the problem; re-enable the account if the block is no longer wanted."
    ),
    "ip-notallowed": (
        "The account may only be used from certain networks, and this address is not one "
        "of them. Connect from an allowed network (e.g. VPN) or extend the allowed list."
    ),
    "many-connections": (
        "Too many simultaneous connections from the same user and address. Close other mail "
        "programs or devices on that network, or reduce the client's parallel connections."
    ),
    "invalid-user-name": (
        "The user name contains a character the server does not accept (a space, a pasted "
        "text, a control character), so no password was checked. Check what the user types "
        "as the user name."
    ),
    "plaintext-disallowed": (
        "The client tried to log in without encryption, which the server forbids. Set the "
        "mail program to use SSL/TLS or STARTTLS."
    ),
}

DELIVERY_TEXT: Final[dict[str, str]] = {
    "delivered": "It was stored in the recipient's mailbox{in_folder}.",
    "forwarded": "It was not stored: a forwarding rule sent it on to another address.",
    "discarded": "A filter rule of the recipient discarded it on purpose.",
    "deferred": "Delivery to the mailbox is delayed (e.g. mailbox full); the server retries.",
    "bounced": "Delivery to the mailbox failed (e.g. mailbox full); it went back to the sender.",
    "held": "It is held on the server and waits for an administrator to release or delete it.",
    "deleted": (
        "An administrator deleted it from the mail queue before it was delivered: it will not "
        "be delivered, and no notice goes back to the sender."
    ),
}

# A forward that has not gone through (an alias of ours naming an outside address, lab R26):
# the mailbox texts above would send the reader looking for a full mailbox.
FORWARD_TEXT: Final[dict[str, str]] = {
    "deferred": "It is being forwarded to {to}, whose server has not accepted it yet; our "
                "server keeps retrying.",
    "bounced": "Forwarding it to {to} failed: that server refused it, and it went back to "
               "the sender.",
}

TEMPORARY_REFUSAL_TEXT: Final = (
    "Our server refused the message for now (a temporary refusal, e.g. greylisting or a check "
    "that could not finish). The sending server keeps it and normally tries again; the sender "
    "hears of it only if the retries fail for days."
)

# Accepted by the MTA, then refused by the mailbox server as unknown (lab R36: Dovecot's LMTP
# "550 5.1.1 <x> User doesn't exist"): the "mailbox full" text would send the reader astray.
NO_SUCH_MAILBOX_TEXT: Final = (
    "Delivery to the mailbox failed because the mailbox server (e.g. Dovecot) does not know "
    "this account, although our mail server accepted the address: the two lists of accounts "
    "disagree (an account removed or renamed in one of them, or not yet created). It went "
    "back to the sender."
)

QUEUE_DELETED_TEXT: Final = (
    "The message was not delivered: an administrator deleted it from our mail queue. It will "
    "not be retried, and no non-delivery notice goes back to the sender."
)

SPAM_ACTIONS: Final[dict[str, str]] = {
    "no action": "The antispam check found nothing suspicious.",
    "greylist": "The antispam check asked the sender to retry later (greylisting).",
    "add header": "The antispam check marked it as probable spam; it normally lands in Junk.",
    "rewrite subject": "The antispam check marked it as spam by changing the subject.",
    "soft reject": "The antispam check refused it temporarily; the sender will retry.",
    "quarantine": "The antispam check asked for it to be held in quarantine.",
    "reject": "The antispam check refused it as spam.",
    "discard": "The antispam check dropped it silently.",
}

LOCATE_TEXT: Final[dict[str, str]] = {
    "in-folder": "The message is in the mailbox now, in the folder “{folder}”.",
    "deleted": "The message was deleted from the mailbox.",
    "downloaded-pop": "A POP3 program downloaded the message and removed it from the server.",
    "unknown": "The logs do not show where the message is now.",
    "forwarded-only": "No copy was kept in this mailbox: the message was only forwarded.",
}

DSN_CODES: Final[dict[str, str]] = {
    "2.0.0": "success",
    "4.2.2": "the mailbox is full (temporary)",
    "4.3.0": "a temporary problem on the receiving system",
    "4.4.1": "no answer from the receiving server",
    "4.4.2": "the connection was lost",
    "4.7.1": "temporarily refused by policy (often greylisting or rate limits)",
    "5.1.0": "the address was refused",
    "5.1.1": "the recipient address does not exist (typo or removed account)",
    "5.1.2": "the recipient's domain does not exist",
    "5.2.1": "the recipient's mailbox is disabled",
    "5.2.2": "the recipient's mailbox is full",
    "5.3.4": "the message is too big for the receiving system",
    "5.4.1": "the receiving server does not accept mail for this address",
    "5.7.1": (
        "refused by policy: spam or virus found, relaying not allowed, or the sender is not "
        "allowed to use this address"
    ),
}
_DSN_SUBJECTS: Final = {
    "1": "the address",
    "2": "the mailbox",
    "3": "the receiving mail system",
    "4": "the network or routing",
    "5": "the mail protocol",
    "6": "the message content",
    "7": "security or policy",
}


def outcome(view: str, row: Mapping[str, Any]) -> str:
    """The outcome as icon + word, e.g. ``✖ rejected`` or ``✖ failed (auth-failed)``."""
    status = row.get("status") or "unknown"
    text = f"{OUTCOME_ICONS.get(status, '?')} {status}"
    if view == "accesses" and row.get("error"):
        text += f" ({row['error']})"
    return text


def explain_dsn(dsn: str | None) -> str | None:
    """What a delivery status code (``5.1.1``) means, in one sentence."""
    if not dsn:
        return None
    parts = dsn.strip().split(".")
    if len(parts) != 3 or parts[0] not in {"2", "4", "5"}:
        return f"Status code {dsn} is not a standard delivery status code."
    kind = {
        "2": "Success",
        "4": "Temporary failure: the server will retry by itself",
        "5": "Permanent failure: retrying will not help until the cause is fixed",
    }[parts[0]]
    detail = DSN_CODES.get(dsn) or (
        f"a problem with {_DSN_SUBJECTS[parts[1]]}" if parts[1] in _DSN_SUBJECTS else None
    )
    return f"Status code {dsn}: {kind}" + (f" — {detail}." if detail and parts[0] != "2" else ".")


def _spam(row: Mapping[str, Any]) -> str | None:
    action = row.get("spam_action")
    if not action:
        return None
    text = SPAM_ACTIONS.get(action, f"The antispam verdict was “{action}”.")
    score = row.get("spam_score")
    if isinstance(score, float) and not math.isnan(score):
        text += f" Score {score:g} (higher is more spam-like; negative looks legitimate)."
    return text


def deleted_from_queue(view: str, row: Mapping[str, Any]) -> bool:
    """Whether an administrator deleted the message from the queue (`postsuper -d`)."""
    if view == "received":
        return row.get("delivery") == "deleted"
    return view == "sent" and str(row.get("reason") or "").startswith(QUEUE_DELETED)


def _no_such_mailbox(row: Mapping[str, Any]) -> bool:
    """A received message our MTA accepted whose local delivery bounced as an unknown user
    (5.1.x): the MTA's and the mailbox server's account lists disagree."""
    return (row.get("delivery") == "bounced" and not row.get("forwarded_to")
            and str(row.get("dsn") or "").startswith("5.1."))


def _temporary_refusal(view: str, row: Mapping[str, Any]) -> bool:
    """A received message refused with a 4.x.x code (greylisting, a check that could not
    finish): the sending server keeps it and normally tries again."""
    return view == "received" and temporary_refusal(row)


def _advice(view: str, row: Mapping[str, Any]) -> str | None:
    status, dsn = row.get("status"), row.get("dsn") or ""
    if deleted_from_queue(view, row):
        return (
            "What to do: ask the mail administrators why it was deleted; if it should still "
            "go out, it has to be sent again."
        )
    if _temporary_refusal(view, row):
        return (
            "What to do: wait; the sending server normally tries again within minutes to "
            "hours. A retry that gets through is a row of its own (same sender and "
            "recipient, later time)."
        )
    if view == "received" and status == "rejected":
        if row.get("virus"):
            return "What to do: nothing on our side; ask the sender to send a clean file."
        screened = postscreen_advice(view, row)
        if screened:
            return screened
        if dsn == "5.1.1":
            return "What to do: check the recipient address with the sender (spelling, domain)."
        return "What to do: the sender should read the bounce text; contact us if it looks wrong."
    if view == "received" and _no_such_mailbox(row):
        return ("What to do: compare the account on the mailbox server (Dovecot's userdb) "
                "with the mail server's list (Postfix's virtual_mailbox_maps) and fix the one "
                "that is wrong; until then every message to it bounces.")
    if view == "received" and sieve_failed(row):
        return ("What to do: have the user check the filter rules (recreate the folder a rule "
                "files into, or change the rule); the user's Sieve log says which action "
                "failed.")
    if view == "received" and status == "quarantined":
        return (
            "What to do: look in the Junk/Spam folder; for mail held on the server, ask an "
            "administrator to release it if it is legitimate."
        )
    if view == "sent" and status == "rejected" and queue_expired(row):
        return ("What to do: the receiving server refused it temporarily for days (the last "
                "error is in the reason); send it again once that server accepts mail, or ask "
                "its administrators.")
    if view == "sent" and status == "rejected":
        if row.get("blocked"):
            return "What to do: the message looked like spam or malware; check the content."
        return "What to do: read the reason, fix the address or content, and send again."
    if view == "sent" and status == "queued":
        return "What to do: wait; if it is still queued after a day, check the reason shown."
    return None


def explain(
    view: str, row: Mapping[str, Any], locate: Mapping[str, Any] | None = None,
    related: Related | None = None, *, lifetime_days: float | None = None,
) -> list[str]:
    """Short plain-language paragraphs explaining the outcome of one result.

    `related`: rows of other keys that finish its story (`store.related.find`): the
    copies a Sieve redirect sent on, the sending server's later attempts, what happened
    around a failed login. None means not looked up: nothing is said of them then (an
    empty `Related()` means looked up, none found). `lifetime_days`: the server's
    maximal_queue_lifetime from tracemail's config (None: Postfix's default).
    """
    looked = related is not None
    related = related or Related()
    status = row.get("status")
    deleted = deleted_from_queue(view, row)
    expired = queue_expired(row)
    if deleted and view == "sent":
        out = [QUEUE_DELETED_TEXT]
    elif expired and view == "sent":
        out = [QUEUE_EXPIRED_TEXT["sent"]]
    elif _temporary_refusal(view, row):
        out = [TEMPORARY_REFUSAL_TEXT]
    else:
        out = [STATUS_TEXT.get(view, {}).get(status or "", f"Status: {status or 'unknown'}.")]
    if view == "accesses" and row.get("error"):
        error = row["error"]
        out.append(ACCESS_ERRORS.get(error, f"The server gave the reason “{error}”."))
    screened = postscreen_text(view, row)
    if screened:
        out.append(screened)
    if view == "received" and row.get("delivery"):
        delivery, to = row["delivery"], row.get("forwarded_to")
        if expired and delivery == "bounced":
            out.append(QUEUE_EXPIRED_TEXT["forward" if to else "received"].format(to=to))
        elif to and delivery in FORWARD_TEXT:
            out.append(FORWARD_TEXT[delivery].format(to=to))
        elif _no_such_mailbox(row):
            out.append(NO_SUCH_MAILBOX_TEXT)
        else:
            text = DELIVERY_TEXT.get(delivery, f"Delivery: {delivery}.")
            folder = row.get("folder")
            out.append(text.format(in_folder=f", in the folder “{folder}”" if folder else ""))
    skipped = sieve_not_sent(row) if view == "received" else None
    if skipped:
        out.append(skipped)
    if view == "received" and sieve_failed(row):
        folder = row.get("folder")
        out.append(SIEVE_FAILED_TEXT.format(in_folder=f" in “{folder}”" if folder else ""))
    waiting = None if deleted else waiting_text(view, row, lifetime_days)
    if waiting:
        out.append(waiting)
    if looked:
        out += related_sentences(view, row, related, temporary=_temporary_refusal(view, row))
    if row.get("virus"):
        out.append(f"A virus was found ({row['virus']}); the message was not delivered.")
    dsn_text = explain_dsn(row.get("dsn"))
    if (deleted or expired) and row.get("dsn"):
        # The code is the last attempt's, and nothing retries any more.
        dsn = str(row["dsn"])
        detail = DSN_CODES.get(dsn)
        out.append(("Before the deletion, the" if deleted else "The") + " last delivery "
                   f"attempt ended with status code {dsn}" + (f" ({detail})." if detail else "."))
    elif dsn_text and not str(row.get("dsn")).startswith("2"):  # success needs no gloss
        out.append(dsn_text)
    spam = _spam(row)
    if spam:
        out.append(spam)
    if locate and locate.get("state"):
        state = locate["state"]
        if state == "unknown" and row.get("delivery") == "forwarded" and not row.get("folder"):
            state = "forwarded-only"  # nothing to find: no copy was kept (lab R04)
        text = LOCATE_TEXT.get(state, f"Now: {state}.")
        out.append(text.format(folder=locate.get("folder") or "?"))
    # "wait" is moot once a retry got through
    advice = None if related.got_through() else _advice(view, row)
    if advice:
        out.append(advice)
    return out
