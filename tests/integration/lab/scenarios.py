#!/usr/bin/env python3
"""Drive the real mail-stack lab and write ground_truth.json.

Stdlib only (smtplib, imaplib, poplib, socket).  Every connection goes to
127.0.0.1 (Postfix / Dovecot); client source addresses are other loopback
addresses so that the logs show distinct client IPs:

  127.0.0.10  "mail.partner.test"   external MTA delivering inbound mail
  127.0.0.11  "smtp.remote.test"    external MTA sending spam / malware / relay attempts
  127.0.0.30  alice's laptop (Outlook)   127.0.0.31 an attacker / misconfigured client
  127.0.0.32  gina's phone (POP3)        127.0.0.33 bob's desktop (Thunderbird)
  127.0.0.44  henry's NAT gateway (only 1 session per user allowed from here)
  127.0.0.12  a deny-listed bot at postscreen  127.0.0.13  a bot that talks before the greeting
  127.0.0.1   the mail host itself (treated as "secured" by Dovecot)

Each scenario appends one record (kind = received | sent | access) describing
what a correct log-tracing tool must report.  After the run the queue is left
to settle and every record's "evidence" regexes are checked against the real
logs in --logdir (default /var/log/lab; field "evidence_ok"), so the ground truth is verified
against what the daemons really wrote -- not against what we hoped.
"""

import argparse
import base64
import datetime as dt
import email.utils
import gzip
import imaplib
import json
import os
import poplib
import re
import secrets
import smtplib
import socket
import ssl
import subprocess
import sys
import threading
import time
from email import policy
from email.message import EmailMessage

LOGDIR = "/var/log/lab"
HOST = "127.0.0.1"
MX_NAME = "mx01.example.com"
SINK_JOURNAL = "/var/lib/lab-sink/journal.jsonl"

PASSWORDS = {}  # filled from conf/users/users.tsv
RUN = secrets.token_hex(3)
RECORDS = []

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"

TLS_CTX = ssl.create_default_context()
TLS_CTX.check_hostname = False
TLS_CTX.verify_mode = ssl.CERT_NONE


# --------------------------------------------------------------- helpers ----
def now():
    return dt.datetime.now(dt.UTC)


def iso(t):
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def say(*a):
    print("[scenarios]", *a, flush=True)


def mid(tag, domain):
    return f"<{tag.lower()}.{RUN}.{secrets.token_hex(3)}@{domain}>"


def load_users(lab_dir):
    with open(os.path.join(lab_dir, "conf/users/users.tsv"), encoding="utf-8") as fh:
        for line in fh:
            if not line.strip() or line.startswith("#"):
                continue
            email_, pw = line.rstrip("\n").split("\t")[:2]
            PASSWORDS[email_] = pw


def build_msg(
    *,
    frm,
    to,
    subject,
    body="Hello from the lab.\n",
    message_id,
    cc=None,
    extra_headers=None,
    attachments=None,
):
    m = EmailMessage(policy=policy.SMTP)
    m["From"] = frm
    m["To"] = to
    if cc:
        m["Cc"] = cc
    m["Subject"] = subject
    m["Date"] = email.utils.formatdate(localtime=False)
    if message_id is not None:  # None: no Message-ID header (spam often has none)
        m["Message-ID"] = message_id
    for k, v in (extra_headers or {}).items():
        m[k] = v
    m.set_content(body)
    for fname, ctype, data in attachments or []:
        maintype, subtype = ctype.split("/", 1)
        m.add_attachment(data, maintype=maintype, subtype=subtype, filename=fname)
    return m.as_bytes()


def raw_subject(msg_bytes):
    """The Subject header exactly as it went over the wire (unfolded)."""
    head = msg_bytes.split(b"\r\n\r\n", 1)[0]
    mt = re.search(rb"^Subject:(.*?)(?=\r\n(?![ \t]))", head, re.S | re.M | re.I)
    return mt.group(1).replace(b"\r\n", b"").strip().decode("utf-8", "replace") if mt else None


class Rec(dict):
    """One ground-truth record; .done() stamps the end time and stores it."""

    def __init__(self, sid, name, kind, **kw):
        super().__init__(id=sid, name=name, kind=kind, time_start=iso(now()))
        self.update(kw)
        self["evidence"] = []

    def ev(self, log, pattern, why=""):
        self["evidence"].append({"log": log, "pattern": pattern, "why": why})
        return self

    def done(self):
        t_end = now()
        self["time_end"] = iso(t_end)
        # the same window in the logs' own formats (second resolution); +3 s slack
        # for asynchronous follow-ups (qmgr/lmtp/bounce run right after the SMTP session)
        t0 = dt.datetime.fromisoformat(self["time_start"].replace("Z", "+00:00")).replace(
            microsecond=0
        )
        t1 = t_end.replace(microsecond=0) + dt.timedelta(seconds=3)
        self["log_window"] = {
            "syslog": [t0.strftime("%b %d %H:%M:%S"), t1.strftime("%b %d %H:%M:%S")],
            "rspamd": [t0.strftime("%Y-%m-%d %H:%M:%S"), t1.strftime("%Y-%m-%d %H:%M:%S")],
        }
        RECORDS.append(self)
        say(
            f"{self['id']:<4} {self['name']}: {json.dumps(self.get('observed', {}), ensure_ascii=True)[:160]}"
        )
        time.sleep(1.1)  # keep scenarios apart in the (1 s resolution) logs
        return self


# ----------------------------------------------------------------- SMTP -----
def smtp_session(
    *, src, port=25, helo, mail_from, rcpts, data=None, starttls=False, auth=None, quit_=True
):
    """Run one SMTP transaction step by step, recording every server reply."""
    out = {"src": src, "port": port, "replies": {}}
    s = smtplib.SMTP(HOST, port, timeout=60, local_hostname=helo, source_address=(src, 0))
    try:
        out["src_port"] = s.sock.getsockname()[1]
        s.ehlo(helo)
        if starttls:
            s.starttls(context=TLS_CTX)
            s.ehlo(helo)
            out["tls"] = True
        if auth:
            try:
                code, resp = s.login(*auth)
                out["replies"]["auth"] = f"{code} {resp.decode()}"
            except smtplib.SMTPAuthenticationError as e:
                out["replies"]["auth"] = f"{e.smtp_code} {e.smtp_error.decode()}"
                out["auth_ok"] = False
                s.quit()
                return out
            out["auth_ok"] = True
        code, resp = s.mail(mail_from)
        out["replies"]["mail"] = f"{code} {resp.decode()}"
        accepted = []
        out["replies"]["rcpt"] = {}
        if code < 400:
            for r in rcpts:
                code, resp = s.rcpt(r)
                out["replies"]["rcpt"][r] = f"{code} {resp.decode()}"
                if code < 400:
                    accepted.append(r)
        if accepted and data is not None:
            try:
                code, resp = s.data(data)
            except smtplib.SMTPDataError as e:
                code, resp = e.smtp_code, e.smtp_error
            resp = resp.decode()
            out["replies"]["data"] = f"{code} {resp}"
            mt = re.search(r"queued as ([0-9A-Za-z]+)", resp)
            out["queue_id"] = mt.group(1) if mt and code < 400 else None
        else:
            s.rset()
        if quit_:
            s.quit()
    finally:
        try:
            s.close()
        except Exception:
            pass
    return out


def smtp_abort_in_data(*, src, helo, mail_from, rcpts, partial):
    """Start a transaction, send part of the message after DATA, then drop the connection
    (a sending server that crashes or times out mid-transfer)."""
    out = {"src": src, "port": 25, "replies": {"rcpt": {}}}
    s = smtplib.SMTP(HOST, 25, timeout=60, local_hostname=helo, source_address=(src, 0))
    s.ehlo(helo)
    code, resp = s.mail(mail_from)
    out["replies"]["mail"] = f"{code} {resp.decode()}"
    for r in rcpts:
        code, resp = s.rcpt(r)
        out["replies"]["rcpt"][r] = f"{code} {resp.decode()}"
    code, resp = s.docmd("DATA")
    out["replies"]["data"] = f"{code} {resp.decode()}"
    s.send(partial)
    time.sleep(0.5)
    s.close()  # no final "." and no QUIT
    out["aborted_in_data"] = True
    return out


def inbound(
    sid,
    name,
    *,
    account,
    rcpts,
    mail_from,
    helo="mail.partner.test",
    src="127.0.0.10",
    msg,
    expected,
    message_id,
    subject,
    starttls=False,
    extra=None,
):
    rec = Rec(
        sid,
        name,
        "received",
        account=account,
        domain=account.split("@")[1] if account else None,
        client_ip=src,
        helo=helo,
        envelope_from=mail_from,
        envelope_to=rcpts,
        message_id=message_id,
        subject=subject,
        subject_raw=raw_subject(msg) if msg else None,
        expected=expected,
        **(extra or {}),
    )
    obs = smtp_session(
        src=src, helo=helo, mail_from=mail_from, rcpts=rcpts, data=msg, starttls=starttls
    )
    rec["observed"] = obs
    rec["queue_id"] = obs.get("queue_id")
    return rec


def submit(
    sid,
    name,
    *,
    user,
    mail_from=None,
    rcpts,
    msg,
    expected,
    message_id,
    subject,
    src="127.0.0.30",
    helo="alice-laptop.lan",
    password=None,
    extra=None,
):
    mail_from = mail_from or user
    rec = Rec(
        sid,
        name,
        "sent",
        account=user,
        domain=user.split("@")[1],
        client_ip=src,
        helo=helo,
        sasl_username=user,
        envelope_from=mail_from,
        envelope_to=rcpts,
        message_id=message_id,
        subject=subject,
        subject_raw=raw_subject(msg) if msg else None,
        expected=expected,
        **(extra or {}),
    )
    obs = smtp_session(
        src=src,
        port=587,
        helo=helo,
        mail_from=mail_from,
        rcpts=rcpts,
        data=msg,
        starttls=True,
        auth=(user, password or PASSWORDS[user]),
    )
    rec["observed"] = obs
    rec["queue_id"] = obs.get("queue_id")
    return rec


# ----------------------------------------------------------- IMAP / POP -----
class IMAPFrom(imaplib.IMAP4):
    def __init__(self, src, host=HOST, port=143, timeout=30):
        self._src = src
        super().__init__(host, port, timeout)

    def _create_socket(self, timeout):
        return socket.create_connection(
            (self.host, self.port), timeout, source_address=(self._src, 0)
        )


class POP3From(poplib.POP3):
    def __init__(self, src, host=HOST, port=110, timeout=30):
        self._src = src
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout):
        return socket.create_connection(
            (self.host, self.port), timeout, source_address=(self._src, 0)
        )


def imap_id(c, fields):
    args = " ".join(f'"{k}" "{v}"' for k, v in fields.items())
    typ, _dat = c.xatom("ID", f"({args})")
    return typ, [
        d.decode() if isinstance(d, bytes) else d for d in c.untagged_responses.pop("ID", [])
    ]


def imap_try_login(src, user, password, *, starttls=True, client_id=None):
    """Returns (conn or None, observed dict)."""
    obs = {"src": src, "user": user, "starttls": starttls}
    c = IMAPFrom(src)
    obs["src_port"] = c.sock.getsockname()[1]
    if starttls:
        c.starttls(ssl_context=TLS_CTX)
    if client_id:
        obs["id_reply"] = imap_id(c, client_id)[1]
    try:
        typ, dat = c.login(user, password)
        obs["login"] = f"{typ} {dat[0].decode()}"
        return c, obs
    except imaplib.IMAP4.error as e:
        obs["login"] = f"NO {e}"
        try:
            c.logout()
        except Exception:
            pass
        return None, obs


def find_uid(c, message_id):
    _typ, dat = c.uid("SEARCH", None, "HEADER", "Message-ID", message_id.strip("<>"))
    uids = dat[0].split()
    return uids[0].decode() if uids else None


# ------------------------------------------------------------ messages -------
def all_scenarios(args):
    A, B, C, D = "alice@example.com", "bob@example.com", "carol@example.org", "dave@example.org"
    G, H = "gina@example.com", "henry@example.org"
    N = "nina@example.org"
    partner = "Petra Partner <petra@partner.test>"
    ids = {}

    # ======================= RECEIVED =========================================
    say("--- received")
    m = mid("R01", "partner.test")
    ids["R01"] = m
    subj = "Grüße aus Köln – Angebot für Q4 ✉ (Ünïcödé)"
    msg = build_msg(
        frm=partner,
        to="Alice Example <alice@example.com>",
        subject=subj,
        message_id=m,
        body="Hallo Alice,\nanbei unser Angebot.\nViele Grüße, Petra\n",
    )
    inbound(
        "R01",
        "inbound_delivered_inbox_utf8_subject",
        account=A,
        rcpts=[A],
        mail_from="petra@partner.test",
        msg=msg,
        message_id=m,
        subject=subj,
        starttls=True,
        expected={
            "outcome": "accepted",
            "delivery": "stored",
            "folder": "INBOX",
            "spam_action": "no action",
            "smtp_code": 250,
            "tls": True,
        },
    ).ev(
        "mail.log",
        r"{qid}: to=<alice@example\.com>, relay=mx01\.example\.com\[private/dovecot-lmtp\].*status=sent",
        "LMTP delivery",
    ).ev(
        "dovecot.log",
        r"lmtp\(alice@example\.com\).*msgid={mid}: stored mail into mailbox 'INBOX'",
        "implicit keep of alice's sieve script",
    ).ev(
        "rspamd.log",
        r"rspamd_task_write_log: id: {mid}, qid: <{qid}>.*\(no action\)",
        "rspamd verdict",
    ).done()

    m = mid("R02", "partner.test")
    ids["R02"] = m
    subj = "Weekly partner newsletter #42"
    msg = build_msg(
        frm="Partner News <news@partner.test>",
        to="alice+news@example.com",
        subject=subj,
        message_id=m,
    )
    inbound(
        "R02",
        "inbound_plus_tag_sieve_fileinto_News",
        account=A,
        rcpts=["alice+news@example.com"],
        mail_from="news@partner.test",
        msg=msg,
        message_id=m,
        subject=subj,
        expected={
            "outcome": "accepted",
            "delivery": "stored",
            "folder": "News",
            "recipient_as_sent": "alice+news@example.com",
            "smtp_code": 250,
        },
    ).ev(
        "mail.log", r"{qid}: to=<alice\+news@example\.com>.*status=sent", "plus-tag kept in to="
    ).ev(
        "dovecot.log",
        r"lmtp\(alice@example\.com\).*sieve: msgid={mid}: (fileinto action: )?stored mail into mailbox 'News'",
        "sieve fileinto",
    ).done()

    m = mid("R03", "partner.test")
    ids["R03"] = m
    subj = "[partner-announce] Maintenance window on Saturday"
    msg = build_msg(
        frm="Partner Announce <announce@partner.test>",
        to="announce@lists.partner.test",
        subject=subj,
        message_id=m,
        extra_headers={
            "List-Id": "Partner announcements <announce.partner.test>",
            "Precedence": "list",
        },
    )
    inbound(
        "R03",
        "inbound_sieve_fileinto_Lists",
        account=B,
        rcpts=[B],
        mail_from="announce-bounces@partner.test",
        msg=msg,
        message_id=m,
        subject=subj,
        expected={"outcome": "accepted", "delivery": "stored", "folder": "Lists", "smtp_code": 250},
    ).ev(
        "dovecot.log",
        r"lmtp\(bob@example\.com\).*sieve: msgid={mid}: (fileinto action: )?stored mail into mailbox 'Lists'",
        "sieve fileinto",
    ).done()

    m = mid("R04", "partner.test")
    ids["R04"] = m
    subj = "Re: dinner on Friday?"
    msg = build_msg(frm=partner, to="Carol <carol@example.org>", subject=subj, message_id=m)
    inbound(
        "R04",
        "inbound_sieve_redirect_external",
        account=C,
        rcpts=[C],
        mail_from="petra@partner.test",
        msg=msg,
        message_id=m,
        subject=subj,
        expected={
            "outcome": "accepted",
            "delivery": "forwarded",
            "folder": None,
            "forwarded_to": "carol.private@partner.test",
            "forward_status": "sent",
            "stored_locally": False,
            "smtp_code": 250,
        },
    ).ev(
        "dovecot.log",
        r"lmtp\(carol@example\.org\).*sieve: msgid={mid}: (redirect action: )?forwarded to <carol\.private@partner\.test>",
        "sieve redirect",
    ).ev(
        "mail.log",
        r"to=<carol\.private@partner\.test>, relay=127\.0\.0\.2\[127\.0\.0\.2\]:2525.*status=sent",
        "re-injected copy delivered to the sink",
    ).done()

    m = mid("R05", "partner.test")
    ids["R05"] = m
    subj = "Question about invoice 2024-117"
    msg = build_msg(frm=partner, to="Dave <dave@example.org>", subject=subj, message_id=m)
    inbound(
        "R05",
        "inbound_sieve_vacation_autoreply",
        account=D,
        rcpts=[D],
        mail_from="petra@partner.test",
        msg=msg,
        message_id=m,
        subject=subj,
        expected={
            "outcome": "accepted",
            "delivery": "stored",
            "folder": "INBOX",
            "auto_reply": {
                "to": "petra@partner.test",
                "subject": "Out of office: Dave is away",
                "envelope_from": "<>",
                "status": "sent",
            },
            "smtp_code": 250,
        },
    ).ev(
        "dovecot.log",
        r"lmtp\(dave@example\.org\).*sieve: msgid={mid}: (vacation action: )?sent vacation response to <petra@partner\.test>",
        "vacation",
    ).ev(
        "mail.log", r"from=<>, size=\d+, nrcpt=1 \(queue active\)", "vacation reply has null sender"
    ).done()

    subj = "Hello?"
    m = mid("R06", "remote.test")
    ids["R06"] = m
    msg = build_msg(frm="someone@remote.test", to="nobody@example.com", subject=subj, message_id=m)
    inbound(
        "R06",
        "inbound_rejected_unknown_user",
        account="nobody@example.com",
        rcpts=["nobody@example.com"],
        mail_from="someone@remote.test",
        helo="smtp.remote.test",
        src="127.0.0.11",
        msg=msg,
        message_id=m,
        subject=subj,
        expected={
            "outcome": "rejected",
            "stage": "RCPT",
            "smtp_code": 550,
            "dsn": "5.1.1",
            "reason": "User unknown in virtual mailbox table",
            "queue_id": None,
            "account_exists": False,
        },
    ).ev(
        "mail.log",
        r"NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.11\]: 550 5\.1\.1 <nobody@example\.com>: "
        r"Recipient address rejected: User unknown in virtual mailbox table",
        "",
    ).done()

    def gtube_reject(sid, name, rcpts, subj, greeting, rspamd_ev, *, sender="winner@remote.test",
                     with_mid=True, **more):
        """GTUBE from `sender` to `rcpts`: Rspamd's milter rejects it at end of data.
        Postfix logs one of the recipients only; `rspamd_ev` is the evidence pattern of
        Rspamd's line. `with_mid=False` sends it without a Message-ID header."""
        m = mid(sid, "remote.test") if with_mid else None
        ids[sid] = m
        msg = build_msg(
            frm=f"Lottery <{sender}>",
            to=", ".join(rcpts),
            subject=subj,
            message_id=m,
            body=f"{greeting}\n\n{GTUBE}\n",
        )
        inbound(
            sid,
            name,
            account=rcpts[-1],
            rcpts=rcpts,
            mail_from=sender,
            helo="smtp.remote.test",
            src="127.0.0.11",
            msg=msg,
            message_id=m,
            subject=subj,
            expected={
                "outcome": "rejected",
                "stage": "END-OF-MESSAGE",
                "by": "rspamd milter",
                "smtp_code": 554,
                "dsn": "5.7.1",
                "reason": "Gtube pattern",
                "spam_action": "reject",
                "queue_id_in_log_only": True,
                **more,
            },
        ).ev(
            "mail.log",
            r"(\w+): milter-reject: END-OF-MESSAGE from unknown\[127\.0\.0\.11\]: 5\.7\.1 Gtube pattern; "
            rf"from=<{re.escape(sender)}> to=<(?:{'|'.join(map(re.escape, rcpts))})>",
            "",
        ).ev("rspamd.log", rspamd_ev, "").done()

    gtube_reject("R07", "inbound_rejected_spam_gtube", [B], "You have WON!!!",
                 "Congratulations!", r"id: {mid},.*\(reject\).*GTUBE")
    # R16: the same for a message to two recipients. Postfix names one of them (to=<bob>);
    # Rspamd's task log lists the envelope (rcpts: <bob,carol>).
    gtube_reject("R16", "inbound_rejected_spam_two_rcpts", [B, C], "You have WON again!!!",
                 "Congratulations to you both!",
                 r"id: {mid},.*\(reject\).*rcpts: <bob@example\.com,carol@example\.org>",
                 sender="jackpot@remote.test", postfix_names_one_rcpt_only=True)
    # R17: the same without a Message-ID header (common in spam). Postfix logs
    # `message-id=<>` and (seen here) names dave, the second recipient; Rspamd logs
    # `id: <undef>`, so its envelope can only be matched by queue id and time.
    gtube_reject("R17", "inbound_rejected_spam_two_rcpts_no_message_id", [B, D],
                 "You have WON once more!!!", "Congratulations, no id this time!",
                 r"id: <undef>, qid: <(\w+)>,.*\(reject\).*"
                 r"rcpts: <bob@example\.com,dave@example\.org>",
                 sender="prize@remote.test", with_mid=False, postfix_names_one_rcpt_only=True)

    m = mid("R08", "remote.test")
    ids["R08"] = m
    subj = "Cheap meds - limited offer"
    msg = build_msg(
        frm="Pharma Deals <deals@remote.test>",
        to=B,
        subject=subj,
        message_id=m,
        body="Best prices, no prescription. Click now.\n",
    )
    inbound(
        "R08",
        "inbound_spam_add_header_to_Junk",
        account=B,
        rcpts=[B],
        mail_from="deals@remote.test",
        helo="smtp.remote.test",
        src="127.0.0.11",
        msg=msg,
        message_id=m,
        subject=subj,
        expected={
            "outcome": "accepted",
            "delivery": "stored",
            "folder": "Junk",
            "spam": True,
            "spam_action": "add header",
            "spam_header": "X-Spam: Yes",
            "rspamd_symbol": "LAB_JUNK_SUBJECT",
            "smtp_code": 250,
        },
    ).ev("rspamd.log", r"id: {mid}, qid: <{qid}>.*\(add header\).*LAB_JUNK_SUBJECT", "").ev(
        "dovecot.log",
        r"lmtp\(bob@example\.com\).*sieve: msgid={mid}: (fileinto action: )?stored mail into mailbox 'Junk'",
        "global sieve_before script",
    ).done()

    m = mid("R09", "remote.test")
    ids["R09"] = m
    subj = "Invoice 8812 overdue"
    msg = build_msg(
        frm="Accounts <billing@remote.test>",
        to=A,
        subject=subj,
        message_id=m,
        body="Please see the attached invoice.\n",
        attachments=[
            (
                "invoice_8812.pdf.exe",
                "application/octet-stream",
                b"MZ\x90\x00\x03" + b"\x00" * 59 + b"This program cannot be run in DOS mode.",
            )
        ],
    )
    inbound(
        "R09",
        "inbound_quarantined_rspamd_hold",
        account=A,
        rcpts=[A],
        mail_from="billing@remote.test",
        helo="smtp.remote.test",
        src="127.0.0.11",
        msg=msg,
        message_id=m,
        subject=subj,
        expected={
            "outcome": "quarantined",
            "by": "rspamd force_actions -> milter QUARANTINE",
            "postfix_queue": "hold",
            "spam_action": "quarantine",
            "rspamd_symbol": "MIME_DOUBLE_BAD_EXTENSION",
            "smtp_code": 250,
            "folder": None,
        },
    ).ev(
        "mail.log",
        r"{qid}: milter-hold: END-OF-MESSAGE from unknown\[127\.0\.0\.11\]: milter triggers HOLD action",
        "",
    ).ev("rspamd.log", r"id: {mid}, qid: <{qid}>.*\(quarantine\)", "").done()

    def held_inbound(sid, name, to, subj, expected):
        """From petra@partner.test to `to`, with the header that the lab's header_checks
        puts on hold (`X-Lab-Hold: yes`: Postfix HOLD, "lab policy hold")."""
        m = mid(sid, "partner.test")
        ids[sid] = m
        msg = build_msg(
            frm=partner, to=to, subject=subj, message_id=m, extra_headers={"X-Lab-Hold": "yes"}
        )
        return inbound(sid, name, account=to, rcpts=[to], mail_from="petra@partner.test",
                       msg=msg, message_id=m, subject=subj, expected=expected)

    held_inbound(
        "R10",
        "inbound_quarantined_header_checks_hold",
        C,
        "Contract draft v3 (legal review)",
        {
            "outcome": "quarantined",
            "by": "postfix header_checks HOLD",
            "postfix_queue": "hold",
            "smtp_code": 250,
            "folder": None,
        },
    ).ev(
        "mail.log",
        r"{qid}: hold: header X-Lab-Hold: yes from unknown\[127\.0\.0\.10\];.*: lab policy hold",
        "",
    ).done()

    if args.clamav:
        m = mid("R11", "remote.test")
        ids["R11"] = m
        subj = "Scanned document"
        msg = build_msg(
            frm="Scanner <scanner@remote.test>",
            to=G,
            subject=subj,
            message_id=m,
            body="Your scan is attached.\n",
            attachments=[("eicar.com", "application/octet-stream", EICAR)],
        )
        inbound(
            "R11",
            "inbound_rejected_virus_eicar",
            account=G,
            rcpts=[G],
            mail_from="scanner@remote.test",
            helo="smtp.remote.test",
            src="127.0.0.11",
            msg=msg,
            message_id=m,
            subject=subj,
            expected={
                "outcome": "rejected",
                "stage": "END-OF-MESSAGE",
                "by": "rspamd antivirus (clamav)",
                "virus": "Lab.Eicar-Test-Signature.UNOFFICIAL",
                "smtp_code": 554,
                "dsn": "5.7.1",
                "spam_action": "reject",
            },
        ).ev(
            "mail.log",
            r"milter-reject: END-OF-MESSAGE from unknown\[127\.0\.0\.11\]: 5\.7\.1 clamav: virus found: "
            r"\"Lab\.Eicar-Test-Signature[^\"]*\"; from=<scanner@remote\.test> to=<gina@example\.com>",
            "",
        ).ev("rspamd.log", r"id: {mid},.*\(reject\).*CLAM_VIRUS", "").done()

    # uppercase address + terminal-markup subject with a literal ESC byte (raw header, not RFC 2047)
    m = mid("R12", "partner.test")
    ids["R12"] = m
    subj = "[bold red]URGENT[/] \x1b[31mred alert\x1b[0m \x1b]0;pwned\x07 <script>x</script>"
    raw = (
        "From: Petra Partner <petra@partner.test>\r\nTo: ALICE@EXAMPLE.COM\r\n"
        f"Subject: {subj}\r\nDate: {email.utils.formatdate()}\r\nMessage-ID: {m}\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        "Markup in the subject must be shown literally by log viewers.\r\n"
    ).encode()
    inbound(
        "R12",
        "inbound_uppercase_rcpt_terminal_markup_subject",
        account=A,
        rcpts=["ALICE@EXAMPLE.COM"],
        mail_from="PETRA@PARTNER.TEST",
        msg=raw,
        message_id=m,
        subject=subj,
        expected={
            "outcome": "accepted",
            "delivery": "stored",
            "folder": "INBOX",
            "recipient_as_sent": "ALICE@EXAMPLE.COM",
            "account_normalized": A,
            "smtp_code": 250,
            "note": "subject contains ESC (0x1b) and BEL (0x07) bytes; Postfix logs them as '?'",
        },
    ).ev("mail.log", r"{qid}: to=<ALICE@EXAMPLE\.COM>.*status=sent", "case preserved in to=").ev(
        "mail.log",
        r"{qid}: info: header Subject: \[bold red\]URGENT\[/\] \?\[31mred alert",
        "ESC sanitised by postfix",
    ).done()

    # very long subject (folded) + RFC 2047-encoded ESC sequence
    m = mid("R13", "partner.test")
    ids["R13"] = m
    subj = (
        "Very long subject: "
        + " ".join(f"item-{i:03d}" for i in range(60))
        + " \x1b[1mbold-encoded\x1b[0m end"
    )
    msg = build_msg(frm=partner, to=G, subject=subj, message_id=m, body="Long subject test.\n")
    inbound(
        "R13",
        "inbound_very_long_subject",
        account=G,
        rcpts=[G],
        mail_from="petra@partner.test",
        msg=msg,
        message_id=m,
        subject=subj,
        expected={
            "outcome": "accepted",
            "delivery": "stored",
            "folder": "INBOX",
            "smtp_code": 250,
            "subject_length": len(subj),
        },
    ).ev("mail.log", r"{qid}: to=<gina@example\.com>.*status=sent", "").ev(
        "dovecot.log",
        r"lmtp\(gina@example\.com\).*msgid={mid}: stored mail into mailbox 'INBOX'",
        "implicit keep (global sieve_before script runs for everyone)",
    ).done()

    # one transaction, three recipients: accepted, rejected (after queue file exists), alias expansion
    m = mid("R14", "partner.test")
    ids["R14"] = m
    subj = "Price list 2026 (multi-recipient)"
    msg = build_msg(
        frm=partner,
        to="bob@example.com, ghost@example.org, sales@example.org",
        subject=subj,
        message_id=m,
    )
    inbound(
        "R14",
        "inbound_multi_rcpt_partial_reject_and_alias",
        account=B,
        rcpts=[B, "ghost@example.org", "sales@example.org"],
        mail_from="petra@partner.test",
        msg=msg,
        message_id=m,
        subject=subj,
        expected={
            "outcome": "accepted",
            "smtp_code": 250,
            "recipients": [
                {"address": B, "outcome": "accepted", "folder": "INBOX"},
                {
                    "address": "ghost@example.org",
                    "outcome": "rejected",
                    "smtp_code": 550,
                    "reason": "User unknown in virtual mailbox table",
                    "note": "logged as '<QID>: reject: RCPT ...' (queue file already existed)",
                },
                {
                    "address": "sales@example.org",
                    "outcome": "accepted",
                    "alias_for": ["henry@example.org", "gina@example.com"],
                    "folder": "INBOX",
                    "note": "postfix logs to=<henry@..>, orig_to=<sales@example.org>",
                },
            ],
        },
    ).ev(
        "mail.log",
        r"{qid}: reject: RCPT from unknown\[127\.0\.0\.10\]: 550 5\.1\.1 <ghost@example\.org>",
        "",
    ).ev(
        "mail.log", r"{qid}: to=<henry@example\.org>, orig_to=<sales@example\.org>.*status=sent", ""
    ).ev(
        "mail.log", r"{qid}: to=<gina@example\.com>, orig_to=<sales@example\.org>.*status=sent", ""
    ).done()

    m = mid("R15", "remote.test")
    ids["R15"] = m
    subj = "relay test"
    msg = build_msg(frm="spammer@remote.test", to="victim@example.net", subject=subj, message_id=m)
    inbound(
        "R15",
        "inbound_relay_denied",
        account=None,
        rcpts=["victim@example.net"],
        mail_from="spammer@remote.test",
        helo="smtp.remote.test",
        src="127.0.0.11",
        msg=msg,
        message_id=m,
        subject=subj,
        expected={
            "outcome": "rejected",
            "stage": "RCPT",
            "smtp_code": 554,
            "dsn": "5.7.1",
            "reason": "Relay access denied",
            "note": "no local account involved",
        },
    ).ev(
        "mail.log",
        r"NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.11\]: 554 5\.7\.1 <victim@example\.net>: "
        r"Relay access denied",
        "",
    ).done()

    # R18: jack's mailbox is over its quota (userdb quota_rule: 1 KB): Dovecot refuses the
    # save, LMTP answers 552 5.2.2 and Postfix bounces the message back to the sender.
    m = mid("R18", "partner.test")
    ids["R18"] = m
    subj = "Quarterly figures (large)"
    msg = build_msg(
        frm="Petra Partner <petra@partner.test>",
        to="jack@example.org",
        subject=subj,
        message_id=m,
        body="Dear Jack,\n\n" + "the figures are attached below.\n" * 150,
    )
    inbound(
        "R18",
        "inbound_mailbox_over_quota_bounced",
        account="jack@example.org",
        rcpts=["jack@example.org"],
        mail_from="petra@partner.test",
        msg=msg,
        message_id=m,
        subject=subj,
        expected={
            "outcome": "accepted",
            "delivery": "bounced",
            "dsn": "5.2.2",
            "reason": "Quota exceeded (mailbox for user is full)",
            "note": "accepted by the MX, refused by Dovecot at delivery; an NDR goes back",
        },
    ).ev(
        "mail.log",
        r"{qid}: to=<jack@example\.org>, relay=.*dsn=5\.2\.2, status=bounced .*Quota exceeded",
        "",
    ).ev(
        "dovecot.log",
        r"lmtp\(jack@example\.org\).*Quota exceeded",
        "",
    ).done()

    # R19: 5 MB, over message_size_limit (4 MB), and the client announces no SIZE (as many
    # bulk senders do): Postfix refuses it during DATA with 552 5.3.4; its log has only
    # "warning: QID: queue file size limit exceeded" (no reject line, no "removed").
    m = mid("R19", "partner.test")
    ids["R19"] = m
    subj = "Scans of the whole archive"
    msg = build_msg(
        frm="Petra Partner <petra@partner.test>",
        to="alice@example.com",
        subject=subj,
        message_id=m,
        body="Here they are.\n" + ("x" * 76 + "\n") * 68000,
    )
    inbound(
        "R19",
        "inbound_rejected_too_big_without_size",
        account="alice@example.com",
        rcpts=["alice@example.com"],
        mail_from="petra@partner.test",
        msg=msg,
        message_id=m,
        subject=subj,
        expected={
            "outcome": "rejected",
            "stage": "END-OF-MESSAGE",
            "smtp_code": 552,
            "dsn": "5.3.4",
            "reason": "message file too big",
            "queue_id_in_log_only": True,
        },
    ).ev(
        "mail.log",
        r"postfix/(?:smtpd|cleanup)\[\d+\]: warning: (\w+): queue file size limit exceeded",
        "",
    ).done()

    # R20: the sending server drops the connection in the middle of DATA. smtpd logs "lost
    # connection after DATA" without a queue id and the unfinished queue file is dropped:
    # the message was never received.
    m = mid("R20", "partner.test")
    ids["R20"] = m
    subj = "Contract, part 1 of 2"
    rec = Rec(
        "R20",
        "inbound_client_lost_connection_in_data",
        "received",
        account="alice@example.com",
        domain="example.com",
        client_ip="127.0.0.10",
        helo="mail.partner.test",
        envelope_from="petra@partner.test",
        envelope_to=["alice@example.com"],
        message_id=m,
        subject=subj,
        expected={
            "outcome": "rejected",
            "stage": "DATA",
            "reason": "lost connection after DATA",
            "note": "the client went away; nothing was received",
        },
    )
    rec["observed"] = smtp_abort_in_data(
        src="127.0.0.10", helo="mail.partner.test", mail_from="petra@partner.test",
        rcpts=["alice@example.com"],
        partial=(f"From: Petra <petra@partner.test>\r\nTo: alice@example.com\r\n"
                 f"Subject: {subj}\r\nMessage-ID: {m}\r\n\r\nDear Alice, the first").encode(),
    )
    rec["queue_id"] = None
    rec.ev(
        "mail.log",
        r"postfix/smtpd\[\d+\]: lost connection after DATA \(\d+ bytes\) from "
        r"unknown\[127\.0\.0\.10\]",
        "",
    ).done()

    # R21: another MTA verifies a sender address (MAIL FROM:<>, RCPT, QUIT), as MXs do all
    # day. Postfix opens a queue file (client=) and drops it: no message, so no row.
    obs = smtp_session(src="127.0.0.11", helo="smtp.remote.test", mail_from="",
                       rcpts=["alice@example.com"])
    Rec(
        "R21",
        "inbound_sender_verification_probe",
        "received",
        account="alice@example.com",
        domain="example.com",
        client_ip="127.0.0.11",
        helo="smtp.remote.test",
        envelope_from="",
        envelope_to=["alice@example.com"],
        message_id=None,
        observed=obs,
        queue_id=None,
        expected={"outcome": "no message", "note": "no received row for this session"},
    ).ev(
        "mail.log",
        r"postfix/smtpd\[\d+\]: disconnect from unknown\[127\.0\.0\.11\] ehlo=1 mail=1 rcpt=1 "
        r"rset=1 quit=1",
        "",
    ).done()

    # R22: a quarantined message (header_checks HOLD) that an administrator deletes from
    # the hold queue (`postsuper -d QID hold`): no longer held, never delivered.
    rec = held_inbound(
        "R22",
        "inbound_held_then_deleted_by_admin",
        A,
        "Invoice 2211 (overdue)",
        {
            "outcome": "quarantined, then deleted",
            "by": "postfix header_checks HOLD, then postsuper -d",
            "postfix_queue": None,
            "smtp_code": 250,
            "folder": None,
        },
    )
    queue_admin("postsuper", "-d", rec["queue_id"], "hold")
    rec.ev("mail.log", r"{qid}: hold: header X-Lab-Hold: yes", "").ev(
        "mail.log", r"postfix/postsuper\[\d+\]: {qid}: removed", "").done()

    # R25: a quarantined message (header_checks HOLD) that an administrator releases
    # (`postsuper -H`: into the deferred queue) and sends at once (`postqueue -i`): delivered.
    rec = held_inbound(
        "R25",
        "inbound_held_then_released_by_admin",
        B,
        "Purchase order 7731",
        {
            "outcome": "quarantined, then released and delivered",
            "by": "postfix header_checks HOLD, then postsuper -H and postqueue -i",
            "postfix_queue": None,
            "smtp_code": 250,
            "folder": "INBOX",
        },
    )
    queue_admin("postsuper", "-H", rec["queue_id"])
    queue_admin("postqueue", "-i", rec["queue_id"])
    settle("R25 released")
    rec.ev("mail.log", r"{qid}: hold: header X-Lab-Hold: yes", "").ev(
        "mail.log", r"postfix/postsuper\[\d+\]: {qid}: released from hold", "").ev(
        "mail.log", r"{qid}: to=<bob@example\.com>, relay=mx01\.example\.com.*status=sent", ""
    ).done()

    # R26: kim@ and leo@ are aliases of outside addresses (virtual_alias_maps): Postfix
    # forwards the message itself (smtp, `orig_to=` the address the sender wrote to). The
    # remote takes kim's copy and defers leo's.
    m = mid("R26", "partner.test")
    ids["R26"] = m
    subj = "Invoice 2026-118"
    kim, leo = "kim@example.org", "leo@example.org"
    msg = build_msg(frm=partner, to=f"{kim}, {leo}", subject=subj, message_id=m)
    inbound(
        "R26",
        "inbound_forwarded_by_postfix_alias",
        account=kim,
        rcpts=[kim, leo],
        mail_from="petra@partner.test",
        msg=msg,
        message_id=m,
        subject=subj,
        expected={
            "outcome": "accepted",
            "smtp_code": 250,
            "recipients": [
                {"address": kim, "outcome": "forwarded to kim.home@partner.test"},
                {"address": leo, "outcome": "forwarding to defer.leo@remote.test deferred "
                                            "(451 4.3.0)"},
            ],
        },
    ).ev(
        "mail.log", r"{qid}: to=<kim\.home@partner\.test>, orig_to=<kim@example\.org>, "
        r"relay=127\.0\.0\.2.*status=sent", "",
    ).ev(
        "mail.log", r"{qid}: to=<defer\.leo@remote\.test>, orig_to=<leo@example\.org>, "
        r"relay=127\.0\.0\.2.*status=deferred", "",
    ).done()

    # R27: mia's Sieve redirects everything to an address the remote refuses (550): the
    # copy Dovecot hands back to Postfix bounces, while mia's own row says "forwarded".
    m = mid("R27", "partner.test")
    ids["R27"] = m
    subj = "Contract draft v3"
    msg = build_msg(frm=partner, to="Mia <mia@example.org>", subject=subj, message_id=m)
    inbound(
        "R27",
        "inbound_sieve_redirect_refused_by_remote",
        account="mia@example.org",
        rcpts=["mia@example.org"],
        mail_from="petra@partner.test",
        msg=msg,
        message_id=m,
        subject=subj,
        expected={
            "outcome": "accepted",
            "delivery": "forwarded",
            "forwarded_to": "reject.mia@partner.test",
            "forward_status": "bounced (550 5.1.1 from the remote)",
            "smtp_code": 250,
        },
    ).ev(
        "dovecot.log",
        r"lmtp\(mia@example\.org\).*sieve: msgid={mid}: (redirect action: )?forwarded to "
        r"<reject\.mia@partner\.test>", "sieve redirect",
    ).ev(
        "mail.log", r"to=<reject\.mia@partner\.test>, relay=127\.0\.0\.2.*status=bounced",
        "the re-injected copy, refused by the remote",
    ).done()

    # R28 + R29: a temporary refusal, then the sending server's retry. Greylisting in
    # short: the first attempt gets "450 4.7.1 ... Greylisted" at RCPT (an access map
    # entry, present for that one transaction), the same message again is accepted.
    m = mid("R28", "partner.test")
    ids["R28"] = ids["R29"] = m
    subj = "Offer 2026-77 (second try)"
    msg = build_msg(frm=partner, to="Gina <gina@example.com>", subject=subj, message_id=m)
    tempfail(f"{G} 450 4.7.1 Greylisted, try again later\n")
    inbound(
        "R28",
        "inbound_temporary_refusal_greylisted",
        account=G,
        rcpts=[G],
        mail_from="petra@partner.test",
        msg=msg,
        message_id=m,
        subject=subj,
        expected={"outcome": "rejected", "stage": "RCPT", "smtp_code": 450, "dsn": "4.7.1",
                  "reason": "Greylisted, try again later", "queue_id": None},
    ).ev(
        "mail.log", r"NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.10\]: 450 4\.7\.1 "
        r"<gina@example\.com>: Recipient address rejected: Greylisted, try again later", "",
    ).done()
    tempfail("")
    time.sleep(5)  # outside R28's time window (the harness allows 5 s after a scenario)
    inbound(
        "R29",
        "inbound_retry_after_temporary_refusal",
        account=G,
        rcpts=[G],
        mail_from="petra@partner.test",
        msg=msg,
        message_id=m,
        subject=subj,
        expected={"outcome": "accepted", "folder": "INBOX", "smtp_code": 250,
                  "retry_of": "R28"},
    ).ev("mail.log", r"{qid}: to=<gina@example\.com>, relay=mx01\.example\.com.*status=sent",
         "").done()

    # R30: Dovecot's LMTP socket is gone, as when Dovecot is down or restarting: Postfix
    # cannot hand the message over, defers it ("connect to ...[private/dovecot-lmtp]: No
    # such file or directory") and keeps it; with the socket back, the next queue run
    # (`postqueue -i`, as an administrator does after an outage) delivers it. Renaming the
    # socket keeps Dovecot's listener (and every other scenario) untouched.
    m = mid("R30", "partner.test")
    ids["R30"] = m
    subj = "Quarterly figures"
    msg = build_msg(frm=partner, to=D, subject=subj, message_id=m)
    sock = "/var/spool/postfix/private/dovecot-lmtp"
    os.rename(sock, sock + ".down")
    try:
        rec = inbound(
            "R30",
            "inbound_lmtp_down_deferred_then_delivered",
            account=D,
            rcpts=[D],
            mail_from="petra@partner.test",
            msg=msg,
            message_id=m,
            subject=subj,
            expected={"outcome": "accepted, deferred while LMTP was down, then delivered",
                      "folder": "INBOX", "smtp_code": 250},
        )
        settle("R30 deferred")
    finally:
        os.rename(sock + ".down", sock)
    queue_admin("postqueue", "-i", rec["queue_id"])
    settle("R30 delivered")
    rec.ev("mail.log", r"{qid}: to=<dave@example\.org>, relay=none, .*status=deferred "
           r"\(connect to .*private/dovecot-lmtp\]: No such file or directory\)", "").ev(
        "mail.log", r"{qid}: to=<dave@example\.org>, relay=mx01\.example\.com.*status=sent",
        "").done()

    # R31: R04's message again (same Message-ID, a new transaction: a sender's retry, or
    # a copy through a list): carol's Sieve redirect has forwarded it already, and
    # Pigeonhole does not forward it twice ("discarded duplicate forward to <...>").
    msg = build_msg(frm=partner, to="Carol <carol@example.org>",
                    subject="Re: dinner on Friday?", message_id=ids["R04"])
    inbound(
        "R31",
        "inbound_sieve_redirect_duplicate_not_forwarded_again",
        account=C,
        rcpts=[C],
        mail_from="petra@partner.test",
        msg=msg,
        message_id=ids["R04"],
        subject="Re: dinner on Friday?",
        expected={"outcome": "accepted", "forward": "not sent again (duplicate)",
                  "smtp_code": 250},
    ).ev("dovecot.log", r"lmtp\(carol@example\.org\).*sieve: msgid={mid}: (redirect action: )?"
         r"discarded duplicate forward to <carol\.private@partner\.test>", "").done()

    # R32: bulk mail (Precedence: bulk) from a new sender to dave, who is on vacation:
    # Pigeonhole sends no out-of-office reply to bulk mail.
    m = mid("R32", "remote.test")
    ids["R32"] = m
    subj = "Newsletter November"
    msg = build_msg(frm="News <news@remote.test>", to="dave@example.org", subject=subj,
                    message_id=m, extra_headers={"Precedence": "bulk"})
    inbound(
        "R32",
        "inbound_vacation_not_sent_to_bulk_mail",
        account=D,
        rcpts=[D],
        mail_from="news@remote.test",
        helo="smtp.remote.test",
        msg=msg,
        message_id=m,
        subject=subj,
        expected={"outcome": "accepted", "folder": "INBOX", "auto_reply": False,
                  "smtp_code": 250},
    ).ev("dovecot.log", r"lmtp\(dave@example\.org\).*sieve: msgid={mid}: (vacation action: )?"
         r"discarding vacation response to precedence=bulk message from "
         r"<news@remote\.test>", "").done()

    # R33: an invoice to nina, whose Sieve rule files invoices into "Invoices", a folder she
    # has deleted. Mailboxes are not created on delivery for her (lda_mailbox_autocreate=no,
    # Dovecot's default), so the fileinto fails; Pigeonhole keeps the message in INBOX and
    # logs only "Execution of script ... failed, but implicit keep was successful": which
    # action failed is in nina's own Sieve log, not in the mail log.
    m = mid("R33", "partner.test")
    ids["R33"] = m
    subj = "Invoice 2026-118"
    msg = build_msg(frm=partner, to="Nina <nina@example.org>", subject=subj, message_id=m)
    inbound(
        "R33",
        "inbound_sieve_fileinto_missing_folder_kept_in_inbox",
        account=N,
        rcpts=[N],
        mail_from="petra@partner.test",
        msg=msg,
        message_id=m,
        subject=subj,
        expected={"outcome": "accepted", "folder": "INBOX", "smtp_code": 250,
                  "note": "fileinto \"Invoices\" failed (no such mailbox): implicit keep"},
    ).ev("dovecot.log", r"lmtp\(nina@example\.org\)<\d+><[^>]+>: Info: sieve: Execution of "
         r"script /var/vmail/example\.org/nina/\.dovecot\.sieve failed, but implicit keep "
         r"was successful", "").ev(
        "dovecot.log", r"lmtp\(nina@example\.org\).*sieve: msgid={mid}: stored mail into "
        r"mailbox 'INBOX'", "").done()

    # R36: mail to olga, whom Postfix's virtual_mailbox_maps lists but Dovecot's userdb does
    # not (an account removed from one list only): Postfix accepts it, Dovecot's LMTP says
    # "550 5.1.1 <olga@example.org> User doesn't exist", Postfix bounces it to petra.
    m = mid("R36", "partner.test")
    ids["R36"] = m
    subj = "Hello Olga"
    msg = build_msg(frm=partner, to="Olga <olga@example.org>", subject=subj, message_id=m)
    inbound(
        "R36",
        "inbound_accepted_then_unknown_at_the_mailbox_server",
        account="olga@example.org",
        rcpts=["olga@example.org"],
        mail_from="petra@partner.test",
        msg=msg,
        message_id=m,
        subject=subj,
        expected={"outcome": "accepted, then bounced by Dovecot's LMTP (unknown user)",
                  "smtp_code": 250, "dsn": "5.1.1"},
    ).ev("mail.log", r"{qid}: to=<olga@example\.org>, relay=mx01\.example\.com\[private/"
         r"dovecot-lmtp\].*dsn=5\.1\.1, status=bounced \(host .* said: 550 5\.1\.1 "
         r"<olga@example\.org> User doesn't exist", "").ev(
        "mail.log", r"postfix/bounce\[\d+\]: {qid}: sender non-delivery notification: ",
        "").done()

    # R23: mail for relay.test, a domain we relay for and whose recipients Postfix verifies
    # with the next hop first (reject_unverified_recipient). verify(8) sends one probe per
    # address (from double-bounce@, status=deliverable / undeliverable): not mail, no rows.
    m = mid("R23", "partner.test")
    ids["R23"] = m
    subj = "Shipping schedule"
    ok_rcpt, bad_rcpt = "ok.verify@relay.test", "reject.verify@relay.test"
    msg = build_msg(frm=partner, to=ok_rcpt, subject=subj, message_id=m)
    inbound(
        "R23",
        "inbound_relay_domain_recipient_verification",
        account=ok_rcpt,
        rcpts=[ok_rcpt, bad_rcpt],
        mail_from="petra@partner.test",
        msg=msg,
        message_id=m,
        subject=subj,
        expected={
            "outcome": "relayed",
            "smtp_code": 250,
            "recipients": [
                {"address": ok_rcpt, "outcome": "accepted, relayed to the sink"},
                {"address": bad_rcpt, "outcome": "rejected at RCPT: 450 4.1.1 unverified"},
            ],
            "note": "two address verification probes from double-bounce@example.com",
        },
    ).ev("mail.log", r"to=<ok\.verify@relay\.test>,.* status=deliverable \(", "").ev(
        "mail.log", r"to=<reject\.verify@relay\.test>,.* status=undeliverable \(", ""
    ).ev(
        "mail.log", r"{qid}: reject: RCPT from unknown\[127\.0\.0\.10\]: 450 4\.1\.1 "
        r"<reject\.verify@relay\.test>: Recipient address rejected: unverified address", ""
    ).ev("mail.log", r"{qid}: to=<ok\.verify@relay\.test>, relay=127\.0\.0\.2.*status=sent", "").done()

    # R24: a client the MX refuses at CONNECT (port 25 has smtpd_delay_reject=no and a
    # client access map): no sender, recipient or HELO is ever logged.
    try:
        smtplib.SMTP(HOST, 25, timeout=60, local_hostname="mail.blocked.test",
                     source_address=("127.0.0.66", 0)).quit()
        reply = "connected"
    except smtplib.SMTPConnectError as e:
        reply = f"{e.smtp_code} {e.smtp_error.decode()}"
    Rec(
        "R24",
        "inbound_client_rejected_at_connect",
        "received",
        account=None,
        domain=None,
        client_ip="127.0.0.66",
        helo=None,
        envelope_from=None,
        envelope_to=[],
        message_id=None,
        observed={"connect": reply},
        queue_id=None,
        expected={"outcome": "rejected", "stage": "CONNECT", "smtp_code": 554},
    ).ev(
        "mail.log",
        r"NOQUEUE: reject: CONNECT from unknown\[127\.0\.0\.66\]: 554 5\.7\.1 "
        r"<unknown\[127\.0\.0\.66\]>: Client host rejected: lab blocklist; proto=SMTP$",
        "",
    ).done()

    # R34 + R35: two bots at postscreen (port 2526) at the same moment, both for alice:
    # R34 talks before the greeting (PREGREET), R35's address is on the postscreen access
    # list's deny list. postscreen rejects every RCPT as a dummy server; one postscreen
    # process logs both, usually within the same second ("NOQUEUE: reject: RCPT from
    # [ip]:port: 550 5.5.1 Protocol error" / "550 5.3.2 Service currently unavailable").
    bots = {"R34": ("127.0.0.13", True), "R35": ("127.0.0.12", False)}
    gate = threading.Barrier(len(bots))
    replies = {}

    def bot(sid, src, pregreet):
        replies[sid] = postscreen_bot(src, pregreet, "spam@remote.test", A, gate)

    threads = [threading.Thread(target=bot, args=(sid, *b)) for sid, b in bots.items()]
    t0 = now()
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    for sid, (src, pregreet) in bots.items():
        rec = Rec(
            sid,
            "inbound_postscreen_" + ("pregreet" if pregreet else "denylisted"),
            "received",
            account=A,
            domain="example.com",
            client_ip=src,
            helo="bot.remote.test",
            envelope_from="spam@remote.test",
            envelope_to=[A],
            message_id=None,
            observed={"replies": replies.get(sid)},
            queue_id=None,
            expected={"outcome": "rejected", "stage": "RCPT", "by": "postscreen",
                      "smtp_code": 550},
        )
        rec["time_start"] = iso(t0)
        ip = re.escape(src)
        verdict = r"PREGREET \d+ after \S+ from" if pregreet else r"DENYLISTED"
        reply = r"550 5\.5\.1 Protocol error" if pregreet else \
            r"550 5\.3\.2 Service currently unavailable"
        rec.ev("mail.log", rf"postfix/postscreen\[\d+\]: {verdict} \[{ip}\]:\d+", "").ev(
            "mail.log", rf"postfix/postscreen\[\d+\]: NOQUEUE: reject: RCPT from \[{ip}\]:\d+: "
            rf"{reply}; from=<spam@remote\.test>, to=<alice@example\.com>, proto=ESMTP, "
            r"helo=<bot\.remote\.test>", "").done()

    settle("after inbound scenarios")
    pause("before-rotations")
    # Postfix's own log rotation (a daily cron job on a server that logs through postlogd):
    # mail.log -> mail.log.YYYYMMDD-HHMMSS.gz. The rest of the run goes to a fresh mail.log;
    # messages still queued (R10's deferral) have lines in both files.
    rotate_postfix_log()

    # ========================= SENT ===========================================
    say("--- sent")
    m = mid("S01", "example.com")
    ids["S01"] = m
    subj = "Angebot angenommen ✔"
    s01_msg = build_msg(
        frm="Alice Example <alice@example.com>",
        to="Petra <friend@partner.test>",
        subject=subj,
        message_id=m,
        body="Hi Petra, we accept. -- Alice\n",
    )
    submit(
        "S01",
        "submission_delivered_remote",
        user=A,
        rcpts=["friend@partner.test"],
        msg=s01_msg,
        message_id=m,
        subject=subj,
        helo="alice-laptop.lan",
        expected={
            "outcome": "delivered",
            "status": "sent",
            "relay": "127.0.0.2[127.0.0.2]:2525",
            "dsn": "2.0.0",
            "smtp_code": 250,
            "authenticated": True,
        },
    ).ev(
        "mail.log",
        r"postfix/submission/smtpd\[\d+\]: {qid}: client=unknown\[127\.0\.0\.30\], sasl_method=PLAIN, "
        r"sasl_username=alice@example\.com",
        "",
    ).ev(
        "mail.log",
        r"{qid}: to=<friend@partner\.test>, relay=127\.0\.0\.2\[127\.0\.0\.2\]:2525.*dsn=2\.0\.0, status=sent",
        "",
    ).done()

    m = mid("S02", "example.com")
    ids["S02"] = m
    subj = "Meeting notes"
    msg = build_msg(
        frm="Alice Example <alice@example.com>",
        to="reject.me@example.net",
        subject=subj,
        message_id=m,
    )
    submit(
        "S02",
        "submission_bounced_remote_550",
        user=A,
        rcpts=["reject.me@example.net"],
        msg=msg,
        message_id=m,
        subject=subj,
        expected={
            "outcome": "bounced",
            "status": "bounced",
            "dsn": "5.1.1",
            "remote_code": 550,
            "ndr_to": A,
            "ndr_folder": "INBOX",
            "smtp_code": 250,
            "note": "accepted by our MTA, rejected by the remote; NDR delivered back to alice",
        },
    ).ev(
        "mail.log",
        r"{qid}: to=<reject\.me@example\.net>, relay=127\.0\.0\.2\[127\.0\.0\.2\]:2525.*dsn=5\.1\.1, "
        r"status=bounced \(host 127\.0\.0\.2\[127\.0\.0\.2\] said: 550",
        "",
    ).ev("mail.log", r"{qid}: sender non-delivery notification: \w+", "").done()

    m = mid("S03", "example.com")
    ids["S03"] = m
    subj = "Can we move the call?"
    msg = build_msg(
        frm="Bob <bob@example.com>", to="defer.later@remote.test", subject=subj, message_id=m
    )
    submit(
        "S03",
        "submission_deferred_remote_451",
        user=B,
        rcpts=["defer.later@remote.test"],
        msg=msg,
        message_id=m,
        subject=subj,
        src="127.0.0.33",
        helo="bob-desktop.lan",
        expected={
            "outcome": "queued",
            "status": "deferred",
            "dsn": "4.3.0",
            "remote_code": 451,
            "postfix_queue": "deferred",
            "smtp_code": 250,
        },
    ).ev(
        "mail.log",
        r"{qid}: to=<defer\.later@remote\.test>, relay=127\.0\.0\.2\[127\.0\.0\.2\]:2525.*dsn=4\.3\.0, "
        r"status=deferred \(host 127\.0\.0\.2\[127\.0\.0\.2\] said: 451",
        "",
    ).done()

    m = mid("S04", "example.org")
    ids["S04"] = m
    subj = "Fw: amazing opportunity"
    msg = build_msg(
        frm="Henry <henry@example.org>",
        to="list@example.net",
        subject=subj,
        message_id=m,
        body=f"Check this out\n{GTUBE}\n",
    )
    submit(
        "S04",
        "submission_rejected_outbound_spam",
        user=H,
        rcpts=["list@example.net"],
        msg=msg,
        message_id=m,
        subject=subj,
        src="127.0.0.44",
        helo="henry-pc.lan",
        expected={
            "outcome": "rejected",
            "stage": "END-OF-MESSAGE",
            "by": "rspamd milter",
            "smtp_code": 554,
            "dsn": "5.7.1",
            "reason": "Gtube pattern",
            "spam_action": "reject",
        },
    ).ev(
        "mail.log",
        r"milter-reject: END-OF-MESSAGE from unknown\[127\.0\.0\.44\]: 5\.7\.1 Gtube pattern; "
        r"from=<henry@example\.org> to=<list@example\.net>",
        "",
    ).ev("rspamd.log", r"id: {mid},.*user: henry@example\.org.*\(reject\)", "").done()

    m = mid("S05", "example.com")
    ids["S05"] = m
    subj = "Team lunch"
    msg = build_msg(
        frm="Gina <gina@example.com>",
        to="accept.one@partner.test, defer.two@remote.test, bob@example.com",
        subject=subj,
        message_id=m,
    )
    submit(
        "S05",
        "submission_mixed_sent_deferred_local",
        user=G,
        rcpts=["accept.one@partner.test", "defer.two@remote.test", B],
        msg=msg,
        message_id=m,
        subject=subj,
        src="127.0.0.32",
        helo="gina-phone",
        expected={
            "outcome": "partially_delivered",
            "smtp_code": 250,
            "recipients": [
                {"address": "accept.one@partner.test", "outcome": "delivered", "status": "sent"},
                {"address": "defer.two@remote.test", "outcome": "queued", "status": "deferred"},
                {
                    "address": B,
                    "outcome": "delivered",
                    "status": "sent",
                    "via": "lmtp",
                    "folder": "INBOX",
                },
            ],
        },
    ).ev("mail.log", r"{qid}: to=<accept\.one@partner\.test>.*status=sent", "").ev(
        "mail.log", r"{qid}: to=<defer\.two@remote\.test>.*status=deferred", ""
    ).ev(
        "mail.log",
        r"{qid}: to=<bob@example\.com>, relay=mx01\.example\.com\[private/dovecot-lmtp\].*status=sent",
        "",
    ).done()

    m = mid("S06", "example.com")
    ids["S06"] = m
    subj = "spoofed"
    msg = build_msg(frm="alice@example.com", to="friend@partner.test", subject=subj, message_id=m)
    submit(
        "S06",
        "submission_rejected_sender_login_mismatch",
        user=B,
        mail_from=A,
        rcpts=["friend@partner.test"],
        msg=msg,
        message_id=m,
        subject=subj,
        src="127.0.0.33",
        helo="bob-desktop.lan",
        expected={
            "outcome": "rejected",
            "stage": "RCPT",
            "smtp_code": 553,
            "dsn": "5.7.1",
            "reason": "Sender address rejected: not owned by user bob@example.com",
        },
    ).ev(
        "mail.log",
        r"NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.33\]: 553 5\.7\.1 <alice@example\.com>: "
        r"Sender address rejected: not owned by user bob@example\.com",
        "",
    ).done()

    # SASL failure on submission (wrong password) -- an access event on the SMTP side
    rec = Rec(
        "S07",
        "submission_sasl_auth_failed",
        "access",
        account=A,
        domain="example.com",
        protocol="smtp-submission",
        client_ip="127.0.0.31",
        expected={
            "outcome": "failure",
            "failure_reason": "auth_failed",
            "detail": "Password mismatch",
            "smtp_code": 535,
            "attempts": 2,
            "note": "smtplib retries with the next mechanism: one PLAIN and one LOGIN failure",
        },
    )
    rec["observed"] = smtp_session(
        src="127.0.0.31",
        port=587,
        helo="unknown-client",
        mail_from=A,
        rcpts=["x@partner.test"],
        data=None,
        starttls=True,
        auth=(A, "wrong-password"),
    )
    rec.ev(
        "mail.log",
        r"postfix/submission/smtpd\[\d+\]: warning: unknown\[127\.0\.0\.31\]: SASL PLAIN authentication "
        r"failed: \(reason unavailable\), sasl_username=alice@example\.com",
        "",
    ).ev(
        "dovecot.log",
        r"auth: Info: passwd-file\(alice@example\.com,127\.0\.0\.31\): Password mismatch",
        "",
    ).done()

    # internal mail via submission: alice -> bob (also a "received" for bob)
    m = mid("S08", "example.com")
    ids["S08"] = m
    subj = "Lunch? 🍕"
    msg = build_msg(
        frm="Alice Example <alice@example.com>",
        to="Bob <bob@example.com>",
        subject=subj,
        message_id=m,
    )
    submit(
        "S08",
        "submission_internal_delivered",
        user=A,
        rcpts=[B],
        msg=msg,
        message_id=m,
        subject=subj,
        expected={
            "outcome": "delivered",
            "status": "sent",
            "via": "lmtp",
            "recipient_account": B,
            "folder": "INBOX",
            "smtp_code": 250,
            "note": "also a 'received' event for bob@example.com",
        },
    ).ev(
        "mail.log",
        r"{qid}: to=<bob@example\.com>, relay=mx01\.example\.com\[private/dovecot-lmtp\].*status=sent",
        "",
    ).done()

    # S09: one recipient delivered, one deferred; an administrator then deletes the message
    # from the deferred queue (`postsuper -d QID deferred`): that recipient is not queued
    # any more and was never delivered.
    m = mid("S09", "example.com")
    ids["S09"] = m
    subj = "Quarterly figures"
    msg = build_msg(frm="Bob <bob@example.com>", to="accept.two@partner.test, "
                    "defer.gone@remote.test", subject=subj, message_id=m)
    rec = submit(
        "S09",
        "submission_deferred_then_deleted_by_admin",
        user=B,
        rcpts=["accept.two@partner.test", "defer.gone@remote.test"],
        msg=msg,
        message_id=m,
        subject=subj,
        helo="bob-laptop.lan",
        expected={
            "outcome": "partially_delivered, then deleted",
            "smtp_code": 250,
            "postfix_queue": None,
            "recipients": [
                {"address": "accept.two@partner.test", "outcome": "delivered", "status": "sent"},
                {"address": "defer.gone@remote.test", "outcome": "deleted by postsuper -d",
                 "status": "deferred"},
            ],
        },
    )
    settle("S09 first attempt")
    queue_admin("postsuper", "-d", rec["queue_id"], "deferred")
    rec.ev("mail.log", r"{qid}: to=<defer\.gone@remote\.test>.*status=deferred", "").ev(
        "mail.log", r"postfix/postsuper\[\d+\]: {qid}: removed", "").done()

    # S10: alice sends through Dovecot's submission service (port 1587), which relays to
    # Postfix's port 25 from 127.0.0.1: Postfix sees an unauthenticated client and logs no
    # SASL user. Dovecot's "Successfully relayed message: ... queued as QID" says whose
    # mail it is (without it, the mail looked received from 127.0.0.1, and was not Sent).
    m = mid("S10", "example.com")
    ids["S10"] = m
    subj = "Sent through Dovecot"
    rcpts = ["friend@partner.test", B]
    msg = build_msg(frm="Alice Example <alice@example.com>", to=", ".join(rcpts),
                    subject=subj, message_id=m)
    rec = Rec(
        "S10",
        "submission_via_dovecot_relayed_to_postfix",
        "sent",
        account=A,
        domain="example.com",
        client_ip="127.0.0.33",
        helo="alice-laptop.lan",
        sasl_username=A,
        envelope_from=A,
        envelope_to=rcpts,
        message_id=m,
        subject=subj,
        subject_raw=raw_subject(msg),
        expected={"outcome": "delivered to both", "by": "Dovecot submission, relayed to Postfix",
                  "smtp_code": 250},
    )
    rec["observed"] = smtp_session(src="127.0.0.33", port=1587, helo="alice-laptop.lan",
                                   mail_from=A, rcpts=rcpts, data=msg, starttls=True,
                                   auth=(A, PASSWORDS[A]))
    settle("S10 relayed")
    rec["queue_id"] = dovecot_relayed_qid(A)
    rec.ev("dovecot.log", r"submission\(alice@example\.com\)<\d+><[^>]+>: Info: Successfully "
           r"relayed message: from=<alice@example\.com>, .*queued as {qid}'", "").ev(
        "mail.log", r"{qid}: client=unknown\[127\.0\.0\.1\]$", "no SASL user on Postfix's side").ev(
        "mail.log", r"{qid}: to=<friend@partner\.test>, relay=127\.0\.0\.2.*status=sent", "").done()

    # S11: henry's mail to a remote that keeps answering 451 stays queued until
    # maximal_queue_lifetime runs out; then qmgr logs "status=expired, returned to sender"
    # (no recipient on that line) and bounce(8) sends henry a non-delivery notice. The
    # lifetime is 5 days by default: the lab sets it to 0 ("try once") for this one
    # message's queue run only (queue_run_delay is an hour, so nothing else is scanned).
    m = mid("S11", "example.org")
    ids["S11"] = m
    subj = "Offer for 2027"
    msg = build_msg(frm="Henry <henry@example.org>", to="defer.expire@remote.test",
                    subject=subj, message_id=m)
    rec = submit(
        "S11",
        "submission_deferred_until_the_queue_lifetime_expired",
        user=H,
        rcpts=["defer.expire@remote.test"],
        msg=msg,
        message_id=m,
        subject=subj,
        src="127.0.0.44",
        helo="henry-pc.lan",
        expected={"outcome": "deferred, then expired and returned to the sender",
                  "smtp_code": 250, "postfix_queue": None},
    )
    settle("S11 first attempt")
    queue_lifetime("0")
    try:
        queue_admin("postqueue", "-i", rec["queue_id"])
        settle("S11 expired")
    finally:
        queue_lifetime(None)
    rec.ev("mail.log", r"{qid}: to=<defer\.expire@remote\.test>.*status=deferred", "").ev(
        "mail.log", r"postfix/qmgr\[\d+\]: {qid}: from=<henry@example\.org>, status=expired, "
        r"returned to sender", "").ev(
        "mail.log", r"postfix/bounce\[\d+\]: {qid}: sender non-delivery notification: ",
        "").done()

    # S12: gina's infected attachment, sent through submission: Rspamd's antivirus (ClamAV)
    # refuses it at the end of DATA, so it never leaves (a compromised PC, a forwarded file).
    if args.clamav:
        m = mid("S12", "example.com")
        ids["S12"] = m
        subj = "The file you asked for"
        msg = build_msg(frm="Gina <gina@example.com>", to="friend@partner.test", subject=subj,
                        message_id=m, body="Here it is.\n",
                        attachments=[("eicar.com", "application/octet-stream", EICAR)])
        submit(
            "S12",
            "submission_rejected_outbound_virus",
            user=G,
            rcpts=["friend@partner.test"],
            msg=msg,
            message_id=m,
            subject=subj,
            src="127.0.0.32",
            helo="gina-phone.lan",
            expected={"outcome": "rejected", "stage": "END-OF-MESSAGE",
                      "by": "rspamd antivirus (clamav)",
                      "virus": "Lab.Eicar-Test-Signature.UNOFFICIAL", "smtp_code": 554},
        ).ev("mail.log", r"milter-reject: END-OF-MESSAGE from unknown\[127\.0\.0\.32\]: "
             r"5\.7\.1 clamav: virus found: \"Lab\.Eicar-Test-Signature[^\"]*\"; "
             r"from=<gina@example\.com> to=<friend@partner\.test>", "").done()

    settle("after sent scenarios")

    # logrotate's way for Dovecot's log_path (rename, then `doveadm log reopen`): the access
    # scenarios log to a fresh dovecot.log, the earlier deliveries are in dovecot.log.1.
    rotate_dovecot_log()
    pause("after-rotations")

    # ======================== ACCESS ==========================================
    say("--- access")
    outlook = {
        "name": "Microsoft Outlook",
        "version": "16.0.17928.20114",
        "os": "Windows",
        "os-version": "10.0",
    }
    rec = Rec(
        "A01",
        "imap_login_outlook_move_to_trash_expunge_append_sent",
        "access",
        account=A,
        domain="example.com",
        protocol="imap",
        client_ip="127.0.0.30",
        client_name="Microsoft Outlook",
        client_version="16.0.17928.20114",
        expected={
            "outcome": "success",
            "tls": True,
            "actions": [
                {"op": "move", "from": "INBOX", "to": "Trash", "message_id": ids["R12"]},
                {
                    "op": "delete+expunge",
                    "box": "INBOX",
                    "message_id": "<NDR for S02>",
                    "note": "the bounce (non-delivery notification) of S02",
                },
                {"op": "append", "box": "Sent", "message_id": ids["S01"]},
            ],
            "logout_counts": {"deleted": 1, "expunged": 1, "trashed": 1},
        },
    )
    c, obs = imap_try_login("127.0.0.30", A, PASSWORDS[A], client_id=outlook)
    c.select("INBOX")
    u12 = find_uid(c, ids["R12"])
    obs["moved_uid"] = u12
    obs["move"] = c.uid("MOVE", u12, "Trash")[0]
    _typ, dat = c.uid("SEARCH", None, "FROM", "MAILER-DAEMON")
    ndr = dat[0].split()[0].decode() if dat[0] else None
    obs["ndr_uid"] = ndr
    if ndr:
        _typ, dat = c.uid("FETCH", ndr, "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
        obs["ndr_message_id"] = re.search(rb"<[^>]+>", dat[0][1]).group(0).decode()
        rec["expected"]["actions"][1]["message_id"] = obs["ndr_message_id"]
        c.uid("STORE", ndr, "+FLAGS", r"(\Deleted)")
        obs["expunge"] = c.expunge()[0]
    c.append("Sent", r"(\Seen)", None, s01_msg)
    c.logout()
    rec["observed"] = obs
    rec.ev(
        "dovecot.log",
        r"imap-login: Info: ID sent: name=Microsoft Outlook, version=16\.0\.17928\.20114.*rip=127\.0\.0\.30",
        "",
    ).ev(
        "dovecot.log",
        r"imap-login: Info: Login: user=<alice@example\.com>, method=PLAIN, rip=127\.0\.0\.30, lip=127\.0\.0\.1, "
        r"mpid=\d+, TLS, session=<",
        "",
    ).ev(
        "dovecot.log",
        r"imap\(alice@example\.com\)<\d+><[^>]+>: Info: copy from INBOX: box=Trash, uid=\d+, msgid={r12}",
        "",
    ).ev(
        "dovecot.log",
        r"imap\(alice@example\.com\)<\d+><[^>]+>: Info: save: box=Sent, uid=\d+, msgid={s01}",
        "",
    ).ev(
        "dovecot.log",
        r"imap\(alice@example\.com\)<\d+><[^>]+>: Info: Disconnected: Logged out in=\d+ out=\d+ deleted=1 expunged=1 trashed=1",
        "",
    )
    rec["_fmt"] = {"r12": ids["R12"], "s01": ids["S01"]}
    rec.done()

    rec = Rec(
        "A02",
        "pop3_login_retrieve_and_delete",
        "access",
        account=G,
        domain="example.com",
        protocol="pop3",
        client_ip="127.0.0.32",
        expected={
            "outcome": "success",
            "tls": True,
            "actions": [
                {"op": "retr", "message_id": ids["R13"]},
                {"op": "dele", "message_id": ids["R13"]},
            ],
            "logout_counts": {"top": 2, "retr": 1, "del": 1},
            "note": "the client TOPs every message to find the one it wants",
        },
    )
    p = POP3From("127.0.0.32")
    obs = {"src": "127.0.0.32", "src_port": p.sock.getsockname()[1]}
    p.stls(context=TLS_CTX)
    p.user(G)
    obs["login"] = p.pass_(PASSWORDS[G]).decode()
    count, size = p.stat()
    obs["stat"] = [count, size]
    target = None
    for i in range(1, count + 1):
        hdr = b"\n".join(p.top(i, 0)[1])
        if ids["R13"].encode() in hdr:
            target = i
    obs["retr_msgno"] = target
    if target:
        lines = p.retr(target)[1]
        obs["retr_bytes"] = sum(len(x) + 2 for x in lines)
        obs["dele"] = p.dele(target).decode()
    obs["quit"] = p.quit().decode()
    rec["observed"] = obs
    rec.ev(
        "dovecot.log",
        r"pop3-login: Info: Login: user=<gina@example\.com>, method=PLAIN, rip=127\.0\.0\.32, lip=127\.0\.0\.1, "
        r"mpid=\d+, TLS, session=<",
        "",
    ).ev(
        "dovecot.log",
        r"pop3\(gina@example\.com\)<\d+><[^>]+>: Info: expunge: box=INBOX, uid=\d+, msgid={r13}",
        "",
    ).ev(
        "dovecot.log",
        r"pop3\(gina@example\.com\)<\d+><[^>]+>: Info: Disconnected: Logged out top=\d+/\d+, retr=1/\d+, del=1/\d+, size=\d+",
        "",
    )
    rec["_fmt"] = {"r13": ids["R13"]}
    rec.done()

    # bob: Thunderbird, plaintext LOGIN from the host itself (127.0.0.1 == lip -> "secured"), folder ops
    rec = Rec(
        "A03",
        "imap_login_thunderbird_folder_ops",
        "access",
        account=B,
        domain="example.com",
        protocol="imap",
        client_ip="127.0.0.1",
        client_name="Thunderbird",
        client_version="128.5.0",
        expected={
            "outcome": "success",
            "tls": False,
            "secured": True,
            "actions": [
                {"op": "create", "box": "Projects"},
                {"op": "rename", "from": "Projects", "to": "Archive/2026"},
                {"op": "flag", "box": "INBOX", "flag": "\\Seen", "message_id": ids["R14"]},
                {"op": "delete_mailbox", "box": "Archive/2026"},
            ],
        },
    )
    c, obs = imap_try_login(
        "127.0.0.1",
        B,
        PASSWORDS[B],
        starttls=False,
        client_id={"name": "Thunderbird", "version": "128.5.0"},
    )
    c.create("Projects")
    c.rename("Projects", "Archive/2026")
    c.select("INBOX")
    u = find_uid(c, ids["R14"])
    if u:
        c.uid("STORE", u, "+FLAGS", r"(\Seen)")
    c.delete("Archive/2026")
    c.logout()
    rec["observed"] = obs
    rec.ev(
        "dovecot.log",
        r"imap-login: Info: Login: user=<bob@example\.com>, method=PLAIN, rip=127\.0\.0\.1, lip=127\.0\.0\.1, "
        r"mpid=\d+, secured, session=<",
        "",
    ).ev(
        "dovecot.log",
        r"imap\(bob@example\.com\)<\d+><[^>]+>: Info: Mailbox renamed: Projects -> Archive/2026",
        "",
    ).ev(
        "dovecot.log",
        r"imap\(bob@example\.com\)<\d+><[^>]+>: Info: Mailbox deleted: Archive/2026",
        "",
    ).ev(
        "dovecot.log", r"imap\(bob@example\.com\).*flag_change: box=INBOX, uid=\d+, msgid={r14}", ""
    )
    rec["_fmt"] = {"r14": ids["R14"]}
    rec.done()

    failures = [
        (
            "A04",
            "imap_login_failed_wrong_password",
            A,
            "not-the-password",
            "127.0.0.31",
            True,
            {"failure_reason": "auth_failed", "detail": "Password mismatch"},
            [
                (
                    "dovecot.log",
                    r"auth: Info: passwd-file\(alice@example\.com,127\.0\.0\.31,<[^>]+>\): Password mismatch",
                ),
                (
                    "dovecot.log",
                    r"imap-login: Info: Disconnected: [^(]*\(auth failed, 1 attempts in \d+ secs\): "
                    r"user=<alice@example\.com>, method=PLAIN, rip=127\.0\.0\.31",
                ),
            ],
        ),
        (
            "A05",
            "imap_login_failed_unknown_user",
            "nobody@example.com",
            "whatever",
            "127.0.0.31",
            True,
            {"failure_reason": "unknown_user", "detail": "unknown user"},
            [
                (
                    "dovecot.log",
                    r"auth: Info: passwd-file\(nobody@example\.com,127\.0\.0\.31,<[^>]+>\): unknown user",
                ),
                (
                    "dovecot.log",
                    r"imap-login: Info: Disconnected: [^(]*\(auth failed, 1 attempts in \d+ secs\): user=<nobody@example\.com>",
                ),
            ],
        ),
        (
            "A06",
            "imap_login_failed_user_disabled_nologin",
            "frank@example.org",
            PASSWORDS["frank@example.org"],
            "127.0.0.30",
            True,
            {
                "failure_reason": "user_disabled",
                "detail": "nologin reason=Account-disabled-by-administrator",
            },
            [
                (
                    "dovecot.log",
                    r"imap-login: Info: Disconnected: [^(]*\(internal failure, 1 successful auths\): user=<frank@example\.org>, "
                    r"method=PLAIN, rip=127\.0\.0\.30",
                )
            ],
        ),
        (
            "A07",
            "imap_login_failed_user_denied_deny_passdb",
            "ivan@example.org",
            PASSWORDS["ivan@example.org"],
            "127.0.0.30",
            True,
            {"failure_reason": "user_disabled", "detail": "listed in deny passdb"},
            [
                (
                    "dovecot.log",
                    r"auth: Info: (passwd-file\(ivan@example\.org,127\.0\.0\.30,<[^>]+>\): )?User found from deny passdb",
                ),
                (
                    "dovecot.log",
                    r"imap-login: Info: Disconnected: [^(]*\(user disabled\): user=<ivan@example\.org>",
                ),
            ],
        ),
        (
            "A08",
            "imap_login_failed_ip_not_allowed",
            "erin@example.com",
            PASSWORDS["erin@example.com"],
            "127.0.0.30",
            True,
            {"failure_reason": "ip_not_allowed", "detail": "allow_nets=127.0.0.99/32"},
            [
                (
                    "dovecot.log",
                    r"auth: Info: passwd-file\(erin@example\.com,127\.0\.0\.30,<[^>]+>\): allow_nets check failed: "
                    r"IP 127\.0\.0\.30 not in allowed networks",
                ),
                (
                    "dovecot.log",
                    r"imap-login: Info: Disconnected: [^(]*\(auth failed, 1 attempts in \d+ secs\): user=<erin@example\.com>",
                ),
            ],
        ),
        (
            "A09",
            "imap_login_failed_plaintext_disallowed",
            "carol@example.org",
            PASSWORDS["carol@example.org"],
            "127.0.0.31",
            False,
            {
                "failure_reason": "plaintext_auth_disallowed",
                "detail": "LOGIN without TLS from a non-local IP",
            },
            [
                (
                    "dovecot.log",
                    r"imap-login: Info: Login failed: Plaintext authentication disabled: user=<>, rip=127\.0\.0\.31",
                ),
                (
                    "dovecot.log",
                    r"imap-login: Info: Disconnected: [^(]*\(auth failed, 1 attempts in \d+ secs\): user=<carol@example\.org>, "
                    r"rip=127\.0\.0\.31",
                ),
            ],
        ),
    ]
    for sid, name, user, pw, src, tls, exp, evs in failures:
        rec = Rec(
            sid,
            name,
            "access",
            account=user,
            domain=user.split("@")[1],
            protocol="imap",
            client_ip=src,
            expected={"outcome": "failure", **exp},
        )
        c, obs = imap_try_login(src, user, pw, starttls=tls)
        if c is not None:  # must not happen; record it
            obs["unexpected_success"] = True
            c.logout()
        rec["observed"] = obs
        for lg, pat in evs:
            rec.ev(lg, pat, "")
        rec.done()

    # too many connections: henry from 127.0.0.44 where mail_max_userip_connections = 1
    rec = Rec(
        "A10",
        "imap_login_failed_too_many_connections",
        "access",
        account=H,
        domain="example.org",
        protocol="imap",
        client_ip="127.0.0.44",
        expected={
            "outcome": "failure",
            "failure_reason": "too_many_connections",
            "detail": "mail_max_userip_connections=1",
            "note": "first session succeeds (login success + logout), second parallel one fails",
        },
    )
    c1, obs1 = imap_try_login(
        "127.0.0.44", H, PASSWORDS[H], client_id={"name": "iPhone Mail", "version": "21E236"}
    )
    c1.select("INBOX")
    c2, obs2 = imap_try_login(
        "127.0.0.44", H, PASSWORDS[H], client_id={"name": "iPhone Mail", "version": "21E236"}
    )
    if c2 is not None:
        obs2["unexpected_success"] = True
        c2.logout()
    c1.logout()
    rec["observed"] = {"first": obs1, "second": obs2}
    rec.ev(
        "dovecot.log",
        r"imap-login: Info: Disconnected: Maximum number of connections from user\+IP exceeded "
        r"\(mail_max_userip_connections=1\): user=<henry@example\.org>",
        "",
    ).done()

    # managesieve: dave lists his scripts
    rec = Rec(
        "A11",
        "managesieve_login_listscripts",
        "access",
        account=D,
        domain="example.org",
        protocol="managesieve",
        client_ip="127.0.0.1",
        expected={"outcome": "success"},
    )
    rec["observed"] = managesieve_session("127.0.0.1", D, PASSWORDS[D])
    rec.ev(
        "dovecot.log",
        r"managesieve-login: Info: Login: user=<dave@example\.org>, method=PLAIN, rip=127\.0\.0\.1",
        "",
    ).done()

    # POP3 wrong password
    rec = Rec(
        "A12",
        "pop3_login_failed_wrong_password",
        "access",
        account=G,
        domain="example.com",
        protocol="pop3",
        client_ip="127.0.0.32",
        expected={
            "outcome": "failure",
            "failure_reason": "auth_failed",
            "detail": "Password mismatch",
        },
    )
    p = POP3From("127.0.0.32")
    p.stls(context=TLS_CTX)
    p.user(G)
    try:
        p.pass_("Gina-wrong")
        res = "unexpected success"
    except poplib.error_proto as e:
        res = str(e)
    try:
        p.quit()
    except Exception:
        pass
    rec["observed"] = {"login": res}
    rec.ev(
        "dovecot.log",
        r"auth: Info: passwd-file\(gina@example\.com,127\.0\.0\.32,<[^>]+>\): Password mismatch",
        "",
    ).ev(
        "dovecot.log",
        r"pop3-login: Info: Disconnected: [^(]*\(auth failed, 1 attempts in \d+ secs\): user=<gina@example\.com>",
        "",
    ).done()


def managesieve_session(src, user, pw):
    s = socket.create_connection((HOST, 4190), 30, source_address=(src, 0))
    f = s.makefile("rb")
    out = {"src": src}

    def read_until_ok():
        lines = []
        while True:
            ln = f.readline()
            if not ln:
                break
            lines.append(ln.decode(errors="replace").rstrip())
            if ln.startswith((b"OK", b"NO", b"BYE")):
                break
        return lines

    read_until_ok()
    tok = base64.b64encode(f"\0{user}\0{pw}".encode()).decode()
    s.sendall(f'AUTHENTICATE "PLAIN" "{tok}"\r\n'.encode())
    out["auth"] = read_until_ok()[-1]
    s.sendall(b"LISTSCRIPTS\r\n")
    out["listscripts"] = read_until_ok()
    s.sendall(b"LOGOUT\r\n")
    read_until_ok()
    s.close()
    return out


# ------------------------------------------------------- queue / settle -----
def queue_state():
    out = subprocess.run(["postqueue", "-j"], capture_output=True, text=True).stdout
    q = [json.loads(x) for x in out.splitlines() if x.strip()]
    return q


def dovecot_relayed_qid(user):
    """The Postfix queue id of the last message Dovecot's submission service relayed for
    `user` (from its "Successfully relayed message" line; Dovecot's own reply to the
    client names its own id, not Postfix's)."""
    path = os.path.join(LOGDIR, "dovecot.log")
    with open(path, encoding="utf-8", errors="replace") as fh:
        lines = fh.read().splitlines()
    for line in reversed(lines):
        if f"submission({user})" in line and "Successfully relayed message" in line:
            found = re.search(r" queued as ([0-9A-Za-z]+)'$", line)
            return found.group(1) if found else None
    return None


def postscreen_bot(src, pregreet, mail_from, rcpt, gate):
    """A spam bot at postscreen (127.0.0.1:2526): EHLO (before the greeting if
    `pregreet`), MAIL, then RCPT once every bot is ready (`gate`), so postscreen rejects
    them at the same moment. Returns the replies."""
    out = []
    with socket.create_connection((HOST, 2526), timeout=30, source_address=(src, 0)) as c:
        f = c.makefile("rb")

        def reply():
            lines = []
            while True:
                line = f.readline().decode("ascii", "replace").rstrip("\r\n")
                lines.append(line)
                if len(line) < 4 or line[3] != "-":
                    return lines[-1]

        def cmd(text):
            c.sendall(text.encode() + b"\r\n")
            out.append(reply())

        if pregreet:
            c.sendall(b"EHLO bot.remote.test\r\n")  # talks before the 220 greeting
            # postscreen's greeting is a "220-" teaser, so the EHLO answer may follow it
            # as one multi-line reply
            out.append(reply())
            if out[-1].startswith("220"):
                out.append(reply())
        else:
            out.append(reply())
            cmd("EHLO bot.remote.test")
        cmd(f"MAIL FROM:<{mail_from}>")
        gate.wait(30)
        cmd(f"RCPT TO:<{rcpt}>")
        cmd("QUIT")
    return out


def queue_admin(*argv):
    """What an administrator does to one message: `postsuper -d QID hold`, `postsuper -H
    QID`, `postqueue -i QID`."""
    subprocess.run(list(argv), check=True, capture_output=True, timeout=60)
    say(" ".join(argv))


def tempfail(entries):
    """Set the recipients the MX refuses for now (lab/tempfail, see main.cf) and reload
    Postfix, so the next SMTP transaction sees exactly these entries."""
    path = "/etc/postfix/lab/tempfail"
    with open(path, "w") as fh:
        fh.write("# set by scenarios.py\n" + entries)
    subprocess.run(["postmap", f"hash:{path}"], check=True, capture_output=True, timeout=60)
    subprocess.run(["postfix", "reload"], check=True, capture_output=True, timeout=60)
    say(f"tempfail: {entries.strip() or '(none)'}")
    time.sleep(2)  # the old smtpd processes finish; new ones open the new table


def queue_lifetime(value):
    """Set Postfix's maximal_queue_lifetime (None: back to the default, 5 days) and reload,
    as an administrator does; "0" means one delivery attempt, then expiry (S11)."""
    if value is None:
        subprocess.run(["postconf", "-X", "maximal_queue_lifetime"], check=True,
                       capture_output=True, timeout=60)
    else:
        subprocess.run(["postconf", "-e", f"maximal_queue_lifetime = {value}"], check=True,
                       capture_output=True, timeout=60)
    subprocess.run(["postfix", "reload"], check=True, capture_output=True, timeout=60)
    say(f"maximal_queue_lifetime: {value or '(default)'}")
    time.sleep(2)  # the new qmgr reads it


def settle(label, timeout=90):
    """Wait until nothing is in maildrop/incoming/active (deferred + hold may stay)."""
    t0 = time.time()
    stable = 0
    while time.time() - t0 < timeout:
        busy = [
            x for x in queue_state() if x.get("queue_name") in ("maildrop", "incoming", "active")
        ]
        stable = stable + 1 if not busy else 0
        if stable >= 3:
            break
        time.sleep(1)
    q = queue_state()
    say(
        f"settled ({label}) after {time.time() - t0:.1f}s; queue: "
        + ", ".join(f"{x['queue_id']}:{x['queue_name']}" for x in q)
    )
    return q


# ------------------------------------------------------------ evidence ------
def pause(name):
    """A point where the test harness acts (LAB_PAUSE_DIR, e.g. stops or restarts its live
    follower): say we are here, then wait for its go (at most 60 s)."""
    where = os.environ.get("LAB_PAUSE_DIR")
    if not where:
        return
    open(os.path.join(where, name + ".reached"), "w").close()
    t0 = time.time()
    while not os.path.exists(os.path.join(where, name + ".go")) and time.time() - t0 < 60:
        time.sleep(0.1)
    say(f"pause {name}: {time.time() - t0:.1f} s")


def rotate_postfix_log():
    """`postfix logrotate`: rename maillog_file with maillog_file_rotate_suffix, gzip it."""
    subprocess.run(["postfix", "logrotate"], check=True, capture_output=True, timeout=60)
    rotated = sorted(f for f in os.listdir(LOGDIR) if f.startswith("mail.log."))
    say(f"postfix logrotate: {', '.join(rotated)}")


def rotate_dovecot_log():
    """Rename Dovecot's log_path to dovecot.log.1 and make Dovecot reopen it."""
    os.rename(os.path.join(LOGDIR, "dovecot.log"), os.path.join(LOGDIR, "dovecot.log.1"))
    subprocess.run(["doveadm", "log", "reopen"], check=True, capture_output=True, timeout=60)
    say("dovecot.log -> dovecot.log.1, doveadm log reopen")


def read_logs():
    """Each log's text, its one rotated copy first (mail.log.DATE.gz, dovecot.log.1)."""
    logs = {}
    for name in ("mail.log", "dovecot.log", "rspamd.log"):
        parts = []
        for f in sorted(f for f in os.listdir(LOGDIR) if f.startswith(name + ".")):
            path = os.path.join(LOGDIR, f)
            opener = gzip.open if f.endswith(".gz") else open
            with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
                parts.append(fh.read())
        try:
            with open(os.path.join(LOGDIR, name), encoding="utf-8", errors="replace") as fh:
                parts.append(fh.read())
        except FileNotFoundError:
            pass
        logs[name] = "".join(parts)
    return logs


def verify(records):
    logs = read_logs()
    bad = 0
    for r in records:
        fmt = {
            "qid": re.escape(r.get("queue_id") or "NOQID"),
            "mid": re.escape(r.get("message_id") or "NOMID"),
        }
        fmt.update({k: re.escape(v) for k, v in r.pop("_fmt", {}).items()})
        ok_all = True
        for e in r["evidence"]:
            pat = e["pattern"]
            for k, v in fmt.items():
                pat = pat.replace("{" + k + "}", v)
            e["pattern"] = pat
            mt = re.search(pat, logs.get(e["log"], ""), re.M)
            e["found"] = bool(mt)
            if mt:
                e["line"] = logs[e["log"]][
                    logs[e["log"]].rfind("\n", 0, mt.start()) + 1 : logs[e["log"]].find(
                        "\n", mt.end()
                    )
                ][:600]
            ok_all &= e["found"]
        r["evidence_ok"] = ok_all
        if not ok_all:
            bad += 1
            say(
                f"EVIDENCE MISSING for {r['id']}: "
                + "; ".join(e["pattern"][:90] for e in r["evidence"] if not e["found"])
            )
    return bad


def sink_journal(since):
    out = []
    try:
        with open(SINK_JOURNAL, encoding="utf-8") as fh:
            for line in fh:
                j = json.loads(line)
                if j["ts"] >= since:
                    out.append(j)
    except FileNotFoundError:
        pass
    return out


# --------------------------------------------------------------- main -------
def main():
    global LOGDIR
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--out",
        default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "ground_truth.json"),
    )
    ap.add_argument("--no-clamav", dest="clamav", action="store_false")
    ap.add_argument("--logdir", default=LOGDIR, help="where the daemons write their logs")
    args = ap.parse_args()
    LOGDIR = args.logdir
    if args.clamav and not os.path.exists("/etc/lab/clamav-enabled"):
        args.clamav = False
    lab = os.path.dirname(os.path.abspath(__file__))
    load_users(lab)
    t0 = now()
    epoch0 = time.time()
    all_scenarios(args)
    q = settle("final")
    t_end = now()
    bad = verify(RECORDS)
    qsum = [
        {
            "queue_id": x["queue_id"],
            "queue_name": x["queue_name"],
            "sender": x.get("sender"),
            "recipients": [r.get("address") for r in x.get("recipients", [])],
            "delay_reason": [
                r.get("delay_reason") for r in x.get("recipients", []) if r.get("delay_reason")
            ],
        }
        for x in q
    ]
    gt = {
        "lab": {
            "run_id": RUN,
            "time_start": iso(t0),
            "time_end": iso(t_end),
            "timezone": "UTC",
            "mail_host": MX_NAME,
            "syslog_host_tag": "mx01",
            "logs": {
                "mail.log": "Postfix via postlogd (maillog_file), syslog-style prefix; rotated "
                "once by `postfix logrotate` after the inbound scenarios "
                "(mail.log.YYYYMMDD-HHMMSS.gz)",
                "dovecot.log": "Dovecot log_path/info_log_path: 'MMM dd HH:MM:SS <process>: Info: ...' (no host, no pid field); "
                "renamed to dovecot.log.1 + `doveadm log reopen` before the access scenarios",
                "rspamd.log": "Rspamd file logger: 'YYYY-MM-DD HH:MM:SS #pid(process) <tag>; module; func: ...'",
            },
            "clamav": args.clamav,
            "client_ips": {
                "127.0.0.10": "external MTA mail.partner.test",
                "127.0.0.11": "external MTA smtp.remote.test",
                "127.0.0.30": "alice laptop (Outlook)",
                "127.0.0.31": "unknown/attacker client",
                "127.0.0.32": "gina phone",
                "127.0.0.33": "bob desktop",
                "127.0.0.44": "henry NAT (max 1 session)",
                "127.0.0.1": "the mail host itself",
            },
            "sink": "127.0.0.2:2525 (accept / reject* -> 550 / defer* -> 451)",
            "evidence_failures": bad,
        },
        "final_queue": qsum,
        "sink_accepted": [j for j in sink_journal(epoch0) if j.get("event") == "accepted"],
        "scenarios": RECORDS,
    }
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(gt, fh, indent=2, ensure_ascii=False)
    say(f"wrote {args.out}: {len(RECORDS)} scenarios, evidence failures: {bad}")
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
