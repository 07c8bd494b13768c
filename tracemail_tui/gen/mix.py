"""The traffic mix: which episodes happen, how often, and the daily rhythm."""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Callable

from tracemail_tui.gen import (
    access,
    forward,
    inbound,
    outbound,
    refused_in,
    refused_out,
    verify,
    webmail,
)
from tracemail_tui.gen.ctx import Ctx

Episode = Callable[[Ctx, float], None]

#: (name, relative weight, episode). Weights are per episode, not per line.
EPISODES: tuple[tuple[str, float, Episode], ...] = (
    ("in.inbox", 30, inbound.inbox),
    ("in.list", 6, inbound.listmail),
    ("in.junk", 5, inbound.junk),
    ("in.multi", 1.5, inbound.multi),
    ("in.promo", 1, inbound.promo),
    ("in.unknown_user", 6, refused_in.unknown_user),
    ("in.relay_denied", 2, refused_in.relay_denied),
    ("in.postscreen", 5, refused_in.postscreen_bot),
    ("in.spam_reject", 3, refused_in.spam_reject),
    ("in.virus", 0.8, refused_in.virus),
    ("in.milter_hold", 0.5, refused_in.milter_hold),
    ("in.header_hold", 0.3, refused_in.header_hold),
    ("in.sender_probe", 2, verify.sender_probe),
    ("in.alias_forward", 1, forward.alias_forward),
    ("out.sent", 12, outbound.sent),
    ("out.internal", 3, outbound.internal),
    ("out.bounced", 1.5, outbound.bounced),
    ("out.deferred", 1.0, outbound.deferred),
    ("out.partial", 0.5, outbound.partial),
    ("out.spam", 0.5, refused_out.spam_out),
    ("out.mismatch", 0.5, refused_out.mismatch),
    ("smtp.auth_fail", 2, refused_out.auth_fail),
    ("imap", 20, access.imap),
    ("pop3", 5, access.pop3_session),
    ("managesieve", 0.8, access.managesieve),
    ("login_fail", 6, access.login_fail),
    ("brute_force", 0.08, access.brute_force),
    ("webmail", 5, webmail.webmail_login),
    ("webmail_fail", 1, webmail.webmail_fail),
)

#: First guess of lines per episode; the scheduler corrects it as it goes.
LINES_PER_EPISODE = 13.0


def _shape(h: float) -> float:
    return 0.25 + 1.5 * max(0.0, math.sin(math.pi * (h - 6.0) / 16.0))


_NORM = sum(_shape(i / 10) for i in range(240)) / 240


def diurnal(t: float) -> float:
    """Traffic factor by hour of day (quiet nights, busy office hours), mean 1."""
    return _shape((t % 86400) / 3600.0) / _NORM


class Mix:
    """Picks and runs episodes with the configured weights; counts them."""

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.names = [e[0] for e in EPISODES]
        self.funcs = [e[2] for e in EPISODES]
        total = 0.0
        self.cum: list[float] = []
        for e in EPISODES:
            total += e[1]
            self.cum.append(total)
        self.total = total
        self.counts: Counter[str] = Counter()

    def run(self, t: float) -> None:
        """Run one randomly chosen episode starting at `t`."""
        i = bisect.bisect_right(self.cum, self.ctx.rng.random() * self.total)
        i = min(i, len(self.funcs) - 1)
        self.funcs[i](self.ctx, t)
        self.counts[self.names[i]] += 1

    def run_named(self, name: str, t: float) -> None:
        """Run the episode called `name` (tests, scripted demos)."""
        i = self.names.index(name)
        self.funcs[i](self.ctx, t)
        self.counts[name] += 1
