"""Deterministic generator of realistic mail logs (demo data, benchmarks, tests).

It models a small provider: `mx1`/`mx2` (inbound Postfix + Rspamd + ClamAV), `smtp1`
(submission), `imap1` (Dovecot IMAP/POP3/LMTP/ManageSieve, plus a local Postfix for
Sieve re-injection) and `webmail1` (Roundcube), with hundreds of hosted domains and
thousands of accounts, writing `<outdir>/<host>/mail.log`, `dovecot.log`, `rspamd.log`,
`clamav.log` and `userlogins` in the exact line forms of the real daemons.

    from tracemail_tui.gen import generate, run_live
    generate("out", seed=7, lines=200_000, days=2)
    run_live("out", rate=20, stop_event=ev)
    make_demo(tmpdir)          # the demo set (demo_data/), then run_live(tmpdir, ...)
"""

from tracemail_tui.gen.batch import GenStats, generate
from tracemail_tui.gen.demo import make_demo
from tracemail_tui.gen.live import run_live
from tracemail_tui.gen.options import GenOptions

__all__ = ["GenOptions", "GenStats", "generate", "make_demo", "run_live"]
