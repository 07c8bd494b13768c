"""The synthetic provider: hosts, hosted domains, accounts, external senders, subjects."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from email.header import Header

from tracemail_tui.gen import vocab

PROVIDER = "example.net"
#: host name -> internal IP (the syslog host tag is the name).
HOSTS = {
    "mx1": "10.0.0.11",
    "mx2": "10.0.0.12",
    "smtp1": "10.0.0.15",
    "imap1": "10.0.0.21",
    "webmail1": "10.0.0.31",
}
MX_HOSTS = ("mx1", "mx2")


@dataclass(slots=True)
class Account:
    """A mailbox we host, with the few traits that decide what its mail does."""

    addr: str
    domain: str
    uid: int
    name: str
    state: str = "ok"  # ok | nologin | deny | allow_nets
    proto: str = "imap"  # imap | pop3
    client: str | None = None  # IMAP ID string
    ips: tuple[str, ...] = ()
    vacation: bool = False
    redirect: str | None = None
    rule_folder: str | None = None  # sieve fileinto target for list mail
    discard_from: str | None = None  # sieve discard rule on this sender domain
    over_quota: bool = False
    # mailbox state: [msgid, folder, uid, size, from, dovecot subject]
    msgs: list[list] = field(default_factory=list)
    uids: dict[str, int] = field(default_factory=dict)

    def next_uid(self, folder: str) -> int:
        """Next IMAP UID in `folder` (UIDs only grow)."""
        n = self.uids.get(folder, 0) + 1
        self.uids[folder] = n
        return n


@dataclass(slots=True)
class External:
    """A sender or recipient outside the provider, with its MTA."""

    addr: str
    name: str
    domain: str
    mta_host: str  # "mail.partner.test" or "unknown"
    mta_ip: str
    helo: str


@dataclass(slots=True)
class Subject:
    """One subject in its three forms: Postfix header_checks, Dovecot mail_log, decoded."""

    postfix: str  # "Subject: ..." as logged (raw, ? for newline/control, cut at 200)
    dovecot: str  # decoded, control bytes as ?, cut at 80 with "..."
    text: str  # what a human reads (ground truth)


def _ctrl_q(s: str) -> str:
    return "".join("?" if (ord(c) < 32 or ord(c) == 127) else c for c in s)


def make_subject(text: str, encode: bool) -> Subject:
    """Render a subject as Postfix and Dovecot log it."""
    raw = Header(text, "utf-8").encode() if encode else text
    pf = _ctrl_q("Subject: " + raw)[:200]
    dv = _ctrl_q(text)
    if len(dv) > 80:
        dv = dv[:77] + "..."
    return Subject(pf, dv, text)


def _ip(rng: random.Random) -> str:
    k = rng.random()
    if k < 0.12:
        return f"2001:db8:{rng.randrange(1, 0xFFFF):x}::{rng.randrange(1, 0xFFFF):x}"
    net = rng.choice(("192.0.2", "198.51.100", "203.0.113"))
    return f"{net}.{rng.randrange(1, 255)}"


class World:
    """Everything episodes draw from; built once from the seeded RNG."""

    def __init__(self, rng: random.Random, n_domains: int = 300, n_accounts: int = 4000) -> None:
        self.rng = rng
        self.domains = self._domains(rng, n_domains)
        self.accounts = self._accounts(rng, n_accounts)
        self.by_addr = {a.addr: a for a in self.accounts}
        self.aliases = self._aliases(rng)
        self.externals = self._externals(rng, 1500)
        self.subjects = self._subjects(rng)
        self.list_subjects = [
            make_subject(f"[{n}] " + s.text, False)
            for n in vocab.LIST_NAMES
            for s in self.subjects[:12]
        ]
        self.spam_subjects = [make_subject(s, False) for s in vocab.SPAM_SUBJECTS]
        self.hostile_subjects = [make_subject(s, False) for s in vocab.HOSTILE_SUBJECTS]
        long_text = "Very long subject: " + " ".join(f"item-{i:03d}" for i in range(60))
        self.long_subject = make_subject(long_text, False)
        self.long_subject.postfix = _ctrl_q(
            "Subject: " + long_text.replace(" item-005", "\n item-005")
        )[:200]
        self.forwards = self._forwards(rng)
        self.forward_aliases = sorted(self.forwards)

    @staticmethod
    def _domains(rng: random.Random, n: int) -> list[str]:
        out = ["example.com", "example.org"]
        seen = set(out)
        while len(out) < n:
            name = f"{rng.choice(vocab.WORDS)}{rng.choice(('', '-'))}{rng.choice(vocab.WORDS)}"
            d = f"{name}.{rng.choice(vocab.TLDS)}"
            if d not in seen:
                seen.add(d)
                out.append(d)
        return out

    def _accounts(self, rng: random.Random, n: int) -> list[Account]:
        out: list[Account] = []
        seen: set[str] = set()
        clients = vocab.IMAP_CLIENTS
        uid = 0
        while len(out) < n:
            # Zipf-ish: the first domains are the big customers.
            d = self.domains[min(int(rng.paretovariate(0.9)) - 1, len(self.domains) - 1)]
            if rng.random() < 0.5:
                d = rng.choice(self.domains)
            first = rng.choice(vocab.FIRST)
            k = rng.random()
            local = (
                first
                if k < 0.3
                else (f"{first}.{rng.choice(vocab.LAST)}" if k < 0.9 else rng.choice(vocab.ROLES))
            )
            addr = f"{local}@{d}"
            if addr in seen:
                continue
            seen.add(addr)
            uid += 1
            a = Account(
                addr=addr, domain=d, uid=uid, name=f"{first.title()} {local.split('.')[-1].title()}"
            )
            r = rng.random()
            a.state = (
                "nologin"
                if r < 0.01
                else "deny"
                if r < 0.02
                else "allow_nets"
                if r < 0.03
                else "ok"
            )
            a.proto = "pop3" if rng.random() < 0.15 else "imap"
            a.client = rng.choice(clients) if rng.random() < 0.8 else None
            a.ips = tuple(_ip(rng) for _ in range(rng.randint(1, 3)))
            a.vacation = rng.random() < 0.03
            a.redirect = (
                f"{first}.{rng.choice(vocab.LAST)}@{rng.choice(vocab.WORDS)}mail.test"
                if rng.random() < 0.03
                else None
            )
            a.rule_folder = rng.choice(vocab.FOLDERS) if rng.random() < 0.3 else None
            a.discard_from = "promo-blast.test" if rng.random() < 0.05 else None
            a.over_quota = rng.random() < 0.01
            out.append(a)
        return out

    def _aliases(self, rng: random.Random) -> dict[str, list[Account]]:
        """role@domain aliases expanding to 2-3 accounts of the same domain."""
        by_dom: dict[str, list[Account]] = {}
        for a in self.accounts:
            if a.state == "ok":
                by_dom.setdefault(a.domain, []).append(a)
        out = {}
        for d, accs in by_dom.items():
            if len(accs) >= 3:
                role = rng.choice(("sales", "team", "staff", "all"))
                addr = f"{role}@{d}"
                if addr not in self.by_addr:
                    out[addr] = rng.sample(accs, rng.randint(2, 3))
        return out

    def _forwards(self, rng: random.Random) -> dict[str, str]:
        """Aliases of ours that name an outside address (Postfix forwards their mail):
        a role address of one in ten domains, e.g. a shop's orders@ to its owner's mailbox
        elsewhere."""
        out: dict[str, str] = {}
        for d in self.domains[::10]:
            addr = f"{rng.choice(('orders', 'booking', 'press', 'jobs'))}@{d}"
            if addr in self.by_addr or addr in self.aliases:
                continue
            ext = self.externals[rng.randrange(len(self.externals))]
            first, last = rng.choice(vocab.FIRST), rng.choice(vocab.LAST)
            out[addr] = f"{first}.{last}@{ext.domain}".lower()
        return out

    @staticmethod
    def _externals(rng: random.Random, n: int) -> list[External]:
        doms = []
        for _ in range(250):
            d = f"{rng.choice(vocab.WORDS)}{rng.choice(vocab.WORDS)}.{rng.choice(vocab.EXT_TLDS)}"
            named = rng.random() < 0.7
            host = f"{rng.choice(vocab.HELO_SUFFIX)}.{d}"
            doms.append((d, host if named else "unknown", _ip(rng), host))
        out = []
        for _ in range(n):
            d, mta, ip, helo = rng.choice(doms)
            first = rng.choice(vocab.FIRST)
            local = rng.choice((first, f"{first}.{rng.choice(vocab.LAST)}", "noreply", "news"))
            out.append(
                External(
                    f"{local}@{d}",
                    f"{first.title()} {rng.choice(vocab.LAST).title()}",
                    d,
                    mta,
                    ip,
                    helo,
                )
            )
        return out

    @staticmethod
    def _subjects(rng: random.Random) -> list[Subject]:
        out = []
        for i in range(600):
            utf = i % 6 == 0
            tpl = rng.choice(vocab.UTF8_SUBJECTS if utf else vocab.PLAIN_SUBJECTS)
            text = tpl.format(
                n=rng.randrange(1000, 99999),
                day=rng.choice(vocab.DAYS),
                d=rng.randrange(10),
                q=rng.randrange(1, 5),
                y=rng.randrange(2024, 2027),
            )
            out.append(make_subject(text, encode=utf))
        return out
