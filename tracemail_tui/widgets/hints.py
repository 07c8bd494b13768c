"""Fallback plain-language hints, used until `export/explain.py` lands in main.

Small on purpose: the common DSN classes, the antispam actions and our login errors.
"""

from __future__ import annotations

from typing import Any

DSN_CLASS = {
    "2": "success: the receiving server took the message",
    "4": "temporary failure: the sender's server keeps retrying for a while",
    "5": "permanent failure: the message was refused and will not be retried",
}

DSN_DETAIL = {
    "0.0": "no further detail",
    "1.1": "the recipient address does not exist",
    "1.2": "the recipient's domain does not exist or has no mail server",
    "2.2": "the recipient's mailbox is full",
    "4.1": "no answer from the recipient's server",
    "4.4": "routing problem, the next server could not be reached",
    "7.1": "refused by policy (spam, blocklist or not allowed to send/relay)",
    "7.0": "refused by a security policy",
    "3.4": "message too big",
}

SPAM_ACTIONS = {
    "no action": "the antispam saw nothing wrong",
    "greylist": "delayed once on purpose: a real server retries after a few minutes",
    "add header": "marked as probable spam; normally filed in the Junk/Spam folder",
    "rewrite subject": "probable spam; the subject was tagged",
    "soft reject": "temporarily refused as suspicious; the sender may retry",
    "reject": "refused as spam",
}

LOGIN_ERRORS = {
    "auth-failed": "wrong password (or wrong user name for that password)",
    "unknown-user": "no such account: typo, old address, or someone guessing names",
    "user-disabled": "the account is blocked from logging in (deny list / nologin)",
    "ip-notallowed": "the account may not log in from this IP address",
    "many-connections": "too many simultaneous connections from this user and IP",
    "plaintext-disallowed": "the client tried a password without encryption (no TLS)",
}


def fallback_hints(view: str, row: dict[str, Any]) -> list[str]:
    """Hints for the fields of `row` we know how to explain."""
    out: list[str] = []
    dsn = row.get("dsn")
    if isinstance(dsn, str) and len(dsn.split(".")) == 3:
        klass, rest = dsn.split(".", 1)
        text = DSN_CLASS.get(klass, "unusual status class")
        detail = DSN_DETAIL.get(rest)
        out.append(f"DSN {dsn}: {text}" + (f"; {detail}" if detail else ""))
    action = row.get("spam_action")
    if isinstance(action, str) and action in SPAM_ACTIONS:
        score = row.get("spam_score")
        suffix = f" (score {score})" if score is not None else ""
        out.append(f"Antispam '{action}'{suffix}: {SPAM_ACTIONS[action]}")
    error = row.get("error")
    if view == "accesses" and isinstance(error, str):
        out.append(f"Login error '{error}': {LOGIN_ERRORS.get(error, 'see the log lines below')}")
    if row.get("virus"):
        out.append(f"Virus found: {row['virus']}; the message was not delivered")
    return out
