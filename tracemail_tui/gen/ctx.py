"""The generation context: RNG, world, ids and helpers that emit lines per daemon."""

from __future__ import annotations

import heapq
import random
from pathlib import Path
from typing import Any

from tracemail_tui.gen.ids import FastRandom, Ids
from tracemail_tui.gen.options import GenOptions
from tracemail_tui.gen.sink import Sink
from tracemail_tui.gen.stamps import iso
from tracemail_tui.gen.world import HOSTS, PROVIDER, World

DOVECOT_HOST = "imap1"


class Ctx:
    """Shared state of one run. Episode functions take it as their only argument."""

    def __init__(self, opts: GenOptions, sink: Sink) -> None:
        opts.check()
        self.opts = opts
        self.rng: random.Random = FastRandom(opts.seed)
        # Administrators' queue deletions draw from a stream of their own: the main stream's
        # sequence of draws does not depend on how often they happen.
        self.admin: random.Random = FastRandom(opts.seed + 7919)
        self.ids = Ids(self.rng, opts.long_queue_ids)
        self.world = World(self.rng, opts.n_domains, opts.n_accounts)
        self.sink = sink
        self._heap = sink.heap
        self._seq = sink.seq
        self.truth_on = sink.truth is not None
        self.mail: dict[str, int] = {}
        for host in ("mx1", "mx2", "smtp1", "imap1"):
            self.mail[host] = sink.add_file(f"{host}/mail.log", opts.postfix_style)
        self.rspamd = {
            h: sink.add_file(f"{h}/rspamd.log", "rspamd") for h in ("mx1", "mx2", "smtp1")
        }
        self.clamav = {h: sink.add_file(f"{h}/clamav.log", "clamav") for h in ("mx1", "mx2")}
        self.dv_syslog = opts.dovecot_form == "syslog"
        self.dovecot = (
            self.mail[DOVECOT_HOST]
            if self.dv_syslog
            else sink.add_file(f"{DOVECOT_HOST}/dovecot.log", "dovecot")
        )
        self.userlogins = sink.add_file("webmail1/userlogins", "roundcube")
        rng = self.rng
        # Long-lived daemon pids, per host.
        self.pid_qmgr = {h: rng.randrange(900, 3000) for h in HOSTS}
        self.pid_pickup = {h: rng.randrange(900, 3000) for h in HOSTS}
        self.pid_rspamd = {h: rng.randrange(1000, 3000) for h in HOSTS}
        self._pools: dict[tuple[str, str], list[int]] = {}
        self._next_pid = 4000
        self.lmtp_pid = 0
        # (vacation account, sender) → when the last auto-reply went out: Pigeonhole
        # answers a sender once per `:days` period and logs the others as duplicates.
        self.vacation_replied: dict[tuple[str, str], float] = {}
        self.t_end = float("inf")  # retries after this are not generated

    # -- pids ---------------------------------------------------------------
    def pid(self, host: str, service: str) -> int:
        """A pid of a short-lived Postfix process (a small pool that slowly turns over)."""
        key = (host, service)
        pool = self._pools.get(key)
        rng = self.rng
        if pool is None:
            pool = self._pools[key] = [self.new_pid() for _ in range(4)]
        if rng.random() < 0.01:
            pool[rng.randrange(4)] = self.new_pid()
        return pool[rng.randrange(4)]

    def daemon_pid(self, host: str, service: str) -> int:
        """The pid of a long-lived process of which a host runs one (postscreen)."""
        key = (host, "daemon:" + service)
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = [self.new_pid()]
        return pool[0]

    def new_pid(self) -> int:
        """A fresh pid (pids grow and wrap like Linux's)."""
        self._next_pid += self.rng.randrange(1, 40)
        if self._next_pid > 4_000_000:
            self._next_pid = 4000
        return self._next_pid

    # -- emitters -------------------------------------------------------------
    def pf(self, t: float, host: str, service: str, pid: int, msg: str) -> None:
        """A Postfix line: `host postfix/service[pid]: msg`."""
        heapq.heappush(
            self._heap,
            (t, next(self._seq), self.mail[host], f"{host} postfix/{service}[{pid}]: {msg}"),
        )

    def postsuper_delete(self, t: float, host: str, qid: str) -> None:
        """An administrator deletes a queued message: `postsuper -d QID` (lab-verified)."""
        pid = self.admin.randrange(4000, 4_000_000)
        self.pf(t, host, "postsuper", pid, f"{qid}: removed")
        self.pf(t, host, "postsuper", pid, "Deleted: 1 message")

    def dv(self, t: float, proc: str, msg: str, sev: str = "Info") -> None:
        """A Dovecot line, in its own file form or in syslog form."""
        if self.dv_syslog:
            body = (
                f"{DOVECOT_HOST} dovecot: {proc}: {msg}"
                if sev == "Info"
                else f"{DOVECOT_HOST} dovecot: {proc}: {sev}: {msg}"
            )
        else:
            body = f"{proc}: {sev}: {msg}"
        heapq.heappush(self._heap, (t, next(self._seq), self.dovecot, body))

    def rs(self, t: float, host: str, tag: str, module: str, msg: str) -> None:
        """An Rspamd proxy-worker line: `#pid(rspamd_proxy) <tag>; module; msg`."""
        self.sink.emit(
            t, self.rspamd[host], f"#{self.pid_rspamd[host]}(rspamd_proxy) <{tag}>; {module}; {msg}"
        )

    def clam(self, t: float, host: str, msg: str) -> None:
        """A clamd line."""
        self.sink.emit(t, self.clamav[host], msg)

    def rc(self, t: float, sess: str, msg: str) -> None:
        """A Roundcube `userlogins` line with its session tag."""
        self.sink.emit(t, self.userlogins, f"<{sess[:8]}> {msg}")

    def truth(self, view: str, t: float, **fields: Any) -> None:
        """A ground-truth record (contract field names) when truth output is on."""
        if self.truth_on:
            # Contract conventions: message ids as logged (<...>), unknown or empty -> null.
            mid = fields.get("message_id")
            if mid and not mid.startswith("<"):
                fields["message_id"] = f"<{mid}>"
            rec: dict[str, Any] = {"view": view, "time": iso(t)}
            rec.update((k, None if v == "" else v) for k, v in fields.items())
            self.sink.record(rec)


def host_fqdn(host: str) -> str:
    """`mx1` -> `mx1.example.net`."""
    return f"{host}.{PROVIDER}"


def outdir_hosts(outdir: Path) -> list[Path]:
    """The per-host directories a run writes."""
    return [outdir / h for h in HOSTS]
