"""What tracemail must report for each lab scenario, in DESIGN.md's words.

Taken from "How the scenarios map to tracemail's statuses" in
`tests/fixtures/real/README.md` (the lab's own `expected` blocks use the lab's words).
Queue ids and Message-IDs change on every run: `Q` and `M` stand for the values the
scenario recorded in ground_truth.json (`fill()` puts them in). A key ending in `~`
means "contains, case-insensitively" (the servers' own texts are long); other keys must be
equal.
"""

from __future__ import annotations

from typing import Any

Q = "<queue_id>"  # placeholder: the queue id the client saw (ground truth)
M = "<message_id>"  # placeholder: the scenario's Message-ID
ACCEPTED_INBOX = {"status": "accepted", "delivery": "delivered", "folder": "INBOX"}
# A GTUBE message refused by Rspamd's milter at end of data (R07, R16, R17).
GTUBE_REJECTED = {
    "status": "rejected",
    "reason~": "Gtube pattern",
    "dsn": "5.7.1",
    "spam_action": "reject",
    "delivery": None,
    "message_id": M,
}

# scenario -> [(recipient(s) as tracemail should show them, expected fields)]
RECEIVED: dict[str, list[tuple[str | tuple[str, ...], dict[str, Any]]]] = {
    "R01": [
        (
            "alice@example.com",
            {
                **ACCEPTED_INBOX,
                "spam_action": "no action",
                "dsn": "2.0.0",
                "queue_id": Q,
                "message_id": M,
                "client_ip": "127.0.0.10",
            },
        )
    ],
    # the plus tag is part of the envelope recipient; the account is alice either way
    "R02": [
        (
            ("alice+news@example.com", "alice@example.com"),
            {"status": "accepted", "delivery": "delivered", "folder": "News", "queue_id": Q},
        )
    ],
    "R03": [
        (
            "bob@example.com",
            {
                "status": "accepted",
                "delivery": "delivered",
                "folder": "Lists",
                "queue_id": Q,
                "message_id": M,
            },
        )
    ],
    "R04": [
        (
            "carol@example.org",
            {
                "status": "accepted",
                "delivery": "forwarded",
                "folder": None,
                "forwarded_to~": "carol.private@partner.test",
                "queue_id": Q,
            },
        )
    ],
    "R05": [("dave@example.org", {**ACCEPTED_INBOX, "auto_reply": True, "queue_id": Q})],
    "R06": [
        (
            "nobody@example.com",
            {
                "status": "rejected",
                "reason~": "User unknown",
                "dsn": "5.1.1",
                "queue_id": None,
                "delivery": None,
                "client_ip": "127.0.0.11",
            },
        )
    ],
    "R07": [("bob@example.com", GTUBE_REJECTED)],
    # Postfix logs one recipient only; carol comes from Rspamd's envelope list.
    "R16": [(rcpt, GTUBE_REJECTED) for rcpt in ("bob@example.com", "carol@example.org")],
    # The same without a Message-ID: Rspamd's envelope is matched by queue id and time.
    "R17": [(rcpt, GTUBE_REJECTED) for rcpt in ("bob@example.com", "dave@example.org")],
    # Over message_size_limit, no SIZE announced: refused during DATA (552 5.3.4).
    "R19": [
        (
            "alice@example.com",
            {
                "status": "rejected",
                "reason~": "message file too big",
                "dsn": "5.3.4",
                "delivery": None,
                "message_id": M,
            },
        )
    ],
    # The sending server dropped the connection in DATA: never received.
    "R20": [
        (
            "alice@example.com",
            {
                "status": "rejected",
                "reason~": "lost connection after DATA",
                "delivery": None,
                "message_id": M,
            },
        )
    ],
    # Accepted by the MX, refused by Dovecot at delivery (mailbox over quota), bounced.
    "R18": [
        (
            "jack@example.org",
            {
                "status": "accepted",
                "delivery": "bounced",
                "dsn": "5.2.2",
                "reason~": "Quota exceeded",
                "folder": None,
                "queue_id": Q,
                "message_id": M,
            },
        )
    ],
    "R08": [
        (
            "bob@example.com",
            {
                "status": "quarantined",
                "delivery": "delivered",
                "folder": "Junk",
                "spam_action": "add header",
                "queue_id": Q,
                "message_id": M,
            },
        )
    ],
    "R09": [
        (
            "alice@example.com",
            {
                "status": "quarantined",
                "delivery": "held",
                "folder": None,
                "spam_action": "quarantine",
                "queue_id": Q,
            },
        )
    ],
    "R10": [
        (
            "carol@example.org",
            {
                "status": "quarantined",
                "delivery": "held",
                "folder": None,
                "reason~": "lab policy hold",
                "queue_id": Q,
            },
        )
    ],
    # held, then deleted from the hold queue by an administrator (postsuper -d)
    "R22": [
        (
            "alice@example.com",
            {
                "status": "quarantined",
                "delivery": "deleted",
                "folder": None,
                "reason~": "lab policy hold",
                "queue_id": Q,
                "message_id": M,
            },
        )
    ],
    # held, then released by an administrator (postsuper -H) and delivered
    "R25": [("bob@example.com", {**ACCEPTED_INBOX, "queue_id": Q, "message_id": M})],
    # aliases of outside addresses: Postfix forwards (orig_to=); the rows are our users'
    "R26": [
        ("kim@example.org", {"status": "accepted", "delivery": "forwarded", "folder": None,
                             "forwarded_to": "kim.home@partner.test", "domain": "example.org",
                             "dsn": "2.0.0", "queue_id": Q, "message_id": M}),
        ("leo@example.org", {"status": "accepted", "delivery": "deferred", "folder": None,
                             "forwarded_to": "defer.leo@remote.test", "dsn": "4.3.0",
                             "reason~": "451 4.3.0", "queue_id": Q, "message_id": M}),
    ],
    # Sieve redirect to an address the remote refuses: the row still says "forwarded"
    # (the copy is another message, in Sent; test_a_refused_sieve_forward_is_found)
    "R27": [("mia@example.org", {"status": "accepted", "delivery": "forwarded", "folder": None,
                                 "forwarded_to": "reject.mia@partner.test", "queue_id": Q,
                                 "message_id": M})],
    # greylisted (450 at RCPT), then the sending server's retry is accepted
    "R28": [("gina@example.com", {"status": "rejected", "dsn": "4.7.1", "delivery": None,
                                  "reason~": "Greylisted, try again later", "queue_id": None})],
    "R29": [("gina@example.com", {**ACCEPTED_INBOX, "queue_id": Q, "message_id": M})],
    # R04's message again: carol's redirect does not forward it twice, and Pigeonhole
    # 0.5.19 then keeps it (implicit keep): it lands in carol's INBOX
    "R31": [("carol@example.org", {**ACCEPTED_INBOX, "forwarded_to": None,
                                   "filter_rule": 'redirect "carol.private@partner.test" '
                                                  "(not sent: duplicate)",
                                   "queue_id": Q})],
    # bulk mail to dave, on vacation: no out-of-office reply to bulk mail
    "R32": [("dave@example.org", {**ACCEPTED_INBOX, "auto_reply": False, "queue_id": Q,
                                  "filter_rule": "vacation (not sent: precedence)"})],
    # nina's fileinto "Invoices" failed (folder gone, no autocreate): kept in INBOX, and
    # the row says the script failed (the failed action is only in her own Sieve log)
    # in Postfix's virtual_mailbox_maps, unknown to Dovecot: accepted, then bounced by LMTP
    "R36": [("olga@example.org", {"status": "accepted", "delivery": "bounced", "dsn": "5.1.1",
                                  "folder": None, "queue_id": Q, "message_id": M,
                                  "reason~": "User doesn't exist"})],
    "R33": [("nina@example.org", {**ACCEPTED_INBOX, "queue_id": Q, "message_id": M,
                                  "filter_rule": "script failed (implicit keep)"})],
    # LMTP socket gone (Dovecot down): deferred, then delivered by the next queue run;
    # dave's vacation rule had answered petra in R05: no second reply
    "R30": [("dave@example.org", {**ACCEPTED_INBOX, "queue_id": Q, "message_id": M,
                                  "dsn": "2.0.0", "reason": None, "auto_reply": False,
                                  "filter_rule": "vacation (not sent: duplicate)"})],
    # relay.test: recipients verified with the next hop before they are accepted
    "R23": [
        ("ok.verify@relay.test", {"status": "accepted", "queue_id": Q, "message_id": M,
                                  "folder": None, "dsn": "2.0.0"}),
        ("reject.verify@relay.test", {"status": "rejected", "delivery": None, "dsn": "4.1.1",
                                      "reason~": "unverified address", "queue_id": Q}),
    ],
    "R11": [
        (
            "gina@example.com",
            {
                "status": "rejected",
                "delivery": None,
                "virus": "Lab.Eicar-Test-Signature.UNOFFICIAL",
            },
        )
    ],
    # addresses are shown lower-cased (the log keeps ALICE@EXAMPLE.COM)
    "R12": [
        (
            "alice@example.com",
            {**ACCEPTED_INBOX, "recipient": "alice@example.com", "queue_id": Q, "message_id": M},
        )
    ],
    "R13": [("gina@example.com", {**ACCEPTED_INBOX, "queue_id": Q, "message_id": M})],
    # one transaction: bob stored, ghost rejected after the queue file existed (QID: reject),
    # sales@ expanded to henry and gina
    "R14": [
        ("bob@example.com", {**ACCEPTED_INBOX, "queue_id": Q}),
        (
            "ghost@example.org",
            {
                "status": "rejected",
                "reason~": "User unknown",
                "dsn": "5.1.1",
                "delivery": None,
                "queue_id": Q,
            },
        ),
        ("henry@example.org", {**ACCEPTED_INBOX, "queue_id": Q}),
        ("gina@example.com", {**ACCEPTED_INBOX, "queue_id": Q}),
    ],
    "R15": [
        (
            "victim@example.net",
            {
                "status": "rejected",
                "reason~": "Relay access denied",
                "dsn": "5.7.1",
                "domain": "example.net",
                "delivery": None,
            },
        )
    ],
    # S08 (alice -> bob via submission) is also a receipt for bob
    "S08": [("bob@example.com", {**ACCEPTED_INBOX, "queue_id": Q, "message_id": M})],
    "S10": [("bob@example.com", {**ACCEPTED_INBOX, "queue_id": Q, "message_id": M})],
}


def fill(expect: dict[str, Any], sc: dict[str, Any]) -> dict[str, Any]:
    """The expected fields with the Q/M placeholders replaced by the scenario's values."""
    return {
        k: (sc.get("queue_id") if v == Q else sc["message_id"] if v == M else v)
        for k, v in expect.items()
    }


SINK = {"relay_ip": "127.0.0.2", "relay_port": 2525}
SENT: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "S01": [
        (
            "friend@partner.test",
            {
                "status": "delivered",
                "dsn": "2.0.0",
                **SINK,
                "account": "alice@example.com",
                "queue_id": Q,
                "message_id": M,
            },
        )
    ],
    # bounced by the remote: rejected, with the remote's 550
    "S02": [
        (
            "reject.me@example.net",
            {"status": "rejected", "dsn": "5.1.1", **SINK, "reason~": "550", "queue_id": Q},
        )
    ],
    "S03": [
        (
            "defer.later@remote.test",
            {"status": "queued", "dsn": "4.3.0", **SINK, "reason~": "451", "queue_id": Q},
        )
    ],
    # outbound spam, refused by our Rspamd
    "S04": [
        (
            "list@example.net",
            {
                "status": "rejected",
                "reason~": "Gtube pattern",
                "spam_action": "reject",
                "blocked": True,
                "account": "henry@example.org",
            },
        )
    ],
    "S05": [
        (
            "accept.one@partner.test",
            {
                "status": "delivered",
                "dsn": "2.0.0",
                **SINK,
                "queue_id": Q,
                "account": "gina@example.com",
            },
        ),
        ("defer.two@remote.test", {"status": "queued", "dsn": "4.3.0", **SINK, "queue_id": Q}),
        ("bob@example.com", {"status": "delivered", "dsn": "2.0.0", "queue_id": Q}),
    ],
    # one recipient delivered; the deferred one deleted from the queue (postsuper -d)
    "S09": [
        ("accept.two@partner.test", {"status": "delivered", "dsn": "2.0.0", **SINK,
                                     "queue_id": Q, "account": "bob@example.com"}),
        ("defer.gone@remote.test", {"status": "rejected", **SINK, "queue_id": Q,
                                    "reason~": "deleted from the queue by an administrator"}),
    ],
    "S06": [
        (
            "friend@partner.test",
            {
                "status": "rejected",
                "dsn": "5.7.1",
                "domain": "example.com",
                "reason~": "not owned by user bob@example.com",
            },
        )
    ],
    "S08": [
        (
            "bob@example.com",
            {
                "status": "delivered",
                "dsn": "2.0.0",
                "account": "alice@example.com",
                "queue_id": Q,
                "message_id": M,
            },
        )
    ],
    # through Dovecot's submission service: Postfix logs no SASL user; Dovecot's relay
    # line names the queue id, so both copies are alice's sent mail
    "S10": [
        ("friend@partner.test", {"status": "delivered", "dsn": "2.0.0", **SINK,
                                 "account": "alice@example.com", "queue_id": Q,
                                 "message_id": M}),
        ("bob@example.com", {"status": "delivered", "dsn": "2.0.0",
                             "account": "alice@example.com", "queue_id": Q, "message_id": M}),
    ],
    # an infected attachment from our user: refused by our antivirus, never sent
    "S12": [
        ("friend@partner.test", {"status": "rejected", "blocked": True,
                                 "virus": "Lab.Eicar-Test-Signature.UNOFFICIAL",
                                 "account": "gina@example.com", "message_id": M,
                                 "reason~": "virus found"}),
    ],
    # deferred until the queue lifetime ran out (qmgr: status=expired, no recipient named):
    # not queued any more, returned to henry with the last attempt's error
    "S11": [
        ("defer.expire@remote.test", {
            "status": "rejected", "dsn": "4.3.0", **SINK, "queue_id": Q, "message_id": M,
            "account": "henry@example.org",
            "reason~": "returned to the sender: not delivered within the queue lifetime"}),
    ],
}


# scenario -> (user, protocol, remote ip, expected fields of the single row)
ACCESSES: dict[str, tuple[str, str, str, dict[str, Any]]] = {
    # Dovecot's submission service: an SMTP access, with its traffic at logout
    "S10": ("alice@example.com", "smtp", "127.0.0.33", {"status": "success", "error": None}),
    "A01": (
        "alice@example.com",
        "imap",
        "127.0.0.30",
        {
            "status": "success",
            "error": None,
            "client~": "Microsoft Outlook",
            "deleted": 1,
            "expunged": 1,
            "trashed": 1,
        },
    ),
    "A02": ("gina@example.com", "pop3", "127.0.0.32", {"status": "success", "error": None}),
    "A03": (
        "bob@example.com",
        "imap",
        "127.0.0.1",
        {"status": "success", "error": None, "client~": "Thunderbird"},
    ),
    "A04": (
        "alice@example.com",
        "imap",
        "127.0.0.31",
        {"status": "failed", "error": "auth-failed"},
    ),
    "A05": (
        "nobody@example.com",
        "imap",
        "127.0.0.31",
        {"status": "failed", "error": "unknown-user"},
    ),
    "A06": (
        "frank@example.org",
        "imap",
        "127.0.0.30",
        {"status": "failed", "error": "user-disabled"},
    ),
    "A07": (
        "ivan@example.org",
        "imap",
        "127.0.0.30",
        {"status": "failed", "error": "user-disabled"},
    ),
    "A08": (
        "erin@example.com",
        "imap",
        "127.0.0.30",
        {"status": "failed", "error": "ip-notallowed"},
    ),
    "A09": (
        "carol@example.org",
        "imap",
        "127.0.0.31",
        {"status": "failed", "error": "plaintext-disallowed"},
    ),
    "A11": ("dave@example.org", "managesieve", "127.0.0.1", {"status": "success", "error": None}),
    "A12": ("gina@example.com", "pop3", "127.0.0.32", {"status": "failed", "error": "auth-failed"}),
}


# (scenario whose message is looked for, account, state, folder)
LOCATE: dict[str, tuple[str, str, str | None]] = {
    "R01": ("alice@example.com", "in-folder", "INBOX"),
    "R02": ("alice@example.com", "in-folder", "News"),
    "R03": ("bob@example.com", "in-folder", "Lists"),
    "R08": ("bob@example.com", "in-folder", "Junk"),
    "R12": ("alice@example.com", "in-folder", "Trash"),  # moved by A01
    "R13": ("gina@example.com", "downloaded-pop", None),  # RETR + DELE in A02
    "S02-NDR": ("alice@example.com", "deleted", None),  # the bounce notice, deleted in A01
}


# the words each view may use (DESIGN.md)
VOCABULARY = {
    "received": {
        "status": {"accepted", "quarantined", "rejected"},
        "delivery": {None, "delivered", "forwarded", "discarded", "deferred", "bounced", "held",
                     "deleted"},
    },
    "sent": {"status": {"delivered", "rejected", "queued"}},
    "accesses": {
        "status": {"success", "failed"},
        "protocol": {"imap", "pop3", "webmail", "managesieve", "smtp"},
    },
}
