"""What rows of other keys add to an explanation (store/related.py): how a Sieve forward's
copy fared, whether a sending server's retry got through, whose forward a copy is, whether
the sender of a bounced message was told (and, for a notice, what bounced), and what
happened around a failed login. Plain sentences for the detail screen and the PDF.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from tracemail_tui.export.text import show
from tracemail_tui.store.related import MAX_BURST, Related

# The copy a Sieve redirect sent on (store/related.py), by its sent status.
FORWARD_COPY_TEXT: Final[dict[str, str]] = {
    "delivered": "The forwarded copy to {to} was delivered: the next server{relay} took it.",
    "queued": "The forwarded copy to {to} is not delivered yet; our server keeps retrying"
              "{said}.",
    "rejected": "The forwarded copy to {to} was refused{said}. It did not reach {to}.",
}

# What the sending server did after a temporary refusal (store/related.py).
RETRY_TEXT: Final[dict[str, str]] = {
    "through": "The sending server tried again and the message got through: {status} at "
               "{time} (result {id}).",
    "refused": "The sending server tried again {times} and was refused {each} ({when}).",
    "none": "The logs show no later attempt from this sender to this recipient (yet).",
}

# The bounce notice sent for a bounced row (store/related.py): "was the sender told?"
NOTICE_TEXT: Final = ("Our server sent {to} a bounce notice about it at {time} (queue id {qid}): "
                      "{fate} (result {id}).")
NOTICE_FATE: Final[dict[str, str]] = {
    "delivered": "delivered{to_folder}",
    "accepted": "accepted{in_folder}",
    "quarantined": "quarantined{in_folder}",
    "sent.delivered": "the sender's server took it{relay}",
    "queued": "not delivered yet; our server keeps retrying{said}",
    "rejected": "refused{said}, so the sender was not told",
}
NOTICE_UNSHOWN: Final = ("Our server sent the sender a bounce notice (queue id {qid}); its "
                         "delivery is not shown here.")
COPY_NOTICE: Final = " Our server sent the original sender a bounce notice (queue id {qid})."
# A bounce notice's own row, seen from its view.
BOUNCED_TEXT: Final = ("This is a bounce notice from our mail server: it tells {to} that "
                       "the message to {rcpt} (queue id {qid}, {time}, result {id}) could "
                       "not be delivered{said}.")

# A sent row that is a forwarded copy, seen from Sent (store/related.py).
ORIGINAL_TEXT: Final = (
    "This is the copy that the forwarding rule of {recipient} sent on: the original arrived "
    "at {time} (result {id})."
)

# Around a failed login (store/related.py).
LOGIN_TEXT: Final[dict[str, str]] = {
    "later": "{user} logged in successfully afterwards: {protocol} at {time} from {ip} "
             "(result {id}).",
    "none": "No successful login of {user} follows in the logs (within a day).",
}
GUESSING_ACCOUNTS: Final = 3
BURST_TEXT: Final[dict[str, str]] = {
    "guessing": "From {ip}, {n} failed logins for {k} accounts within an hour of this one: "
                "this looks like password guessing from that address, not one user's mistake.",
    "few": "From {ip}, {n} failed logins for {k} accounts within an hour of this one.",
    "one": "From {ip}, {n} failed logins for this account within an hour of this one.",
}


def related_sentences(view: str, row: Mapping[str, Any], related: Related, *,
                      temporary: bool) -> list[str]:
    """The sentences `related` adds to `row`'s explanation (`temporary`: the row is a
    temporary refusal, whose retries are told even when none was found)."""
    out = [_forward_copy(copy) for copy in related.forwards
           if copy.get("status") in FORWARD_COPY_TEXT]
    if temporary:
        out.append(_retries(related))
    if view == "accesses" and row.get("status") == "failed":
        out += _around_failure(row, related)
    out += [ORIGINAL_TEXT.format(recipient=show(o.get("recipient")), time=show(o.get("time")),
                                 id=show(o.get("id"))) for o in related.originals]
    out += _bounce_notice(row, related)
    out += [BOUNCED_TEXT.format(to=show(row.get("recipient")), rcpt=show(b.get("recipient")),
                                qid=show(b.get("queue_id")), time=show(b.get("time")),
                                id=show(b.get("id")), said=_said(b, ": ", ""))
            for b in (*related.bounced, *related.bounced_received)]
    return out


def _said(row: Mapping[str, Any], lead: str = " (last answer: ", close: str = ")") -> str:
    """The server's last word on `row` between `lead` and `close`, or nothing."""
    reason = row.get("reason")
    return f"{lead}{show(reason)}{close}" if reason else ""


def _bounce_notice(row: Mapping[str, Any], related: Related) -> list[str]:
    """Was the sender of a bounced row told: the notice's fate, from its own row."""
    if not row.get("bounce_notice"):
        return []
    out = []
    for view, notice in ([("received", n) for n in related.notices]
                         + [("sent", n) for n in related.notices_sent]):
        status = str(notice.get("status"))
        key = "sent.delivered" if (view, status) == ("sent", "delivered") else status
        if view == "received" and status == "accepted":
            key = "delivered" if notice.get("delivery") == "delivered" else "accepted"
        folder = notice.get("folder")
        fate = NOTICE_FATE.get(key, status).format(
            to_folder=f" to {show(folder)}" if folder else "",
            in_folder=f" (folder {show(folder)})" if folder else "",
            relay=f" ({show(notice.get('relay_host'))})" if notice.get("relay_host") else "",
            said=_said(notice))
        out.append(NOTICE_TEXT.format(to=show(notice.get("recipient")),
                                      time=show(notice.get("time")),
                                      qid=show(notice.get("queue_id")), fate=fate,
                                      id=show(notice.get("id"))))
    return out or [NOTICE_UNSHOWN.format(qid=show(row.get("bounce_notice")))]


def _forward_copy(copy: Mapping[str, Any]) -> str:
    """One sentence on the outcome of a forwarded copy, with the server's last word (and,
    when it bounced, the notice that went back to the original sender)."""
    relay = copy.get("relay_host")
    text = FORWARD_COPY_TEXT[copy["status"]].format(
        to=copy.get("recipient") or "?",
        relay=f" ({relay})" if relay else "",
        said=_said(copy),
    )
    if copy.get("status") == "rejected" and copy.get("bounce_notice"):
        text += COPY_NOTICE.format(qid=show(copy.get("bounce_notice")))
    return text


def _retries(related: Related) -> str:
    """What the sending server did after a temporary refusal, from its later rows."""
    retries, through = related.retries, related.got_through()
    if through is not None:
        return RETRY_TEXT["through"].format(status=through.get("status"),
                                            time=show(through.get("time")),
                                            id=show(through.get("id")))
    if retries:
        n = len(retries)
        last = show(retries[-1].get("time"))
        return RETRY_TEXT["refused"].format(times="once" if n == 1 else f"{n} times",
                                            each="again" if n == 1 else "each time",
                                            when=f"at {last}" if n == 1 else f"the last at {last}")
    return RETRY_TEXT["none"]


def _around_failure(row: Mapping[str, Any], related: Related) -> list[str]:
    """Did the user get in afterwards, and does the address fail for many accounts."""
    user, ip = show(row.get("user")), show(row.get("remote_ip"))
    out = []
    if related.logins:
        ok = related.logins[0]
        out.append(LOGIN_TEXT["later"].format(
            user=user, protocol=show(ok.get("protocol")), time=show(ok.get("time")),
            ip=show(ok.get("remote_ip")), id=show(ok.get("id"))))
    else:
        out.append(LOGIN_TEXT["none"].format(user=user))
    if related.burst and row.get("remote_ip"):
        n = f"over {MAX_BURST}" if len(related.burst) >= MAX_BURST else len(related.burst) + 1
        users = {str(r.get("user") or "").lower() for r in related.burst}
        users.add(str(row.get("user") or "").lower())
        kind = "guessing" if len(users) >= GUESSING_ACCOUNTS else (
            "one" if len(users) == 1 else "few")
        out.append(BURST_TEXT[kind].format(ip=ip, n=n, k=len(users)))
    return out
