"""ClamAV findings: clamd ``FOUND`` lines and clamav-milter ``infected by`` lines.

clamd knows nothing of queue ids (``instream(local): NAME(hash:size) FOUND``), so its
findings only serve as evidence and counts; clamav-milter in syslog names the queue id,
sender and recipient, and joins like a milter verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import polars as pl

from tracemail_tui.store.schema import TS

FINDINGS: Final[dict[str, pl.DataType]] = {
    "time": TS,
    "host": pl.String(),
    "program": pl.String(),
    "qid": pl.String(),
    "virus": pl.String(),
    "sender": pl.String(),
    "recipient": pl.String(),
}


@dataclass
class ClamavEvents:
    findings: pl.DataFrame
    ignored: dict[str, int]


def parse(lines: pl.DataFrame) -> ClamavEvents:
    """Parse ``clamd`` and ``clamav-milter`` lines of a lines frame."""
    cl = lines.filter(pl.col("program").is_in(["clamd", "clamav-milter"]))
    m = pl.col("msg")
    clamd_hit = (pl.col("program") == "clamd") & m.str.ends_with(" FOUND")
    milter_hit = (pl.col("program") == "clamav-milter") & m.str.contains(r"^Message \S+ from <")
    found = cl.filter(clamd_hit | milter_hit).select(
        "time",
        "host",
        "program",
        qid=m.str.extract(r"^Message (\S+) from <", 1),
        virus=pl.coalesce(
            m.str.extract(r": (\S+?)(?:\([0-9a-f]{32}:\d+\))? FOUND$", 1),
            m.str.extract(r" infected by (\S+)", 1),
        ),
        sender=m.str.extract(r"^Message \S+ from <([^>]*)>", 1),
        recipient=m.str.extract(r"^Message \S+ from <[^>]*> to <([^>]*)>", 1),
    )
    rest = cl.filter(~(clamd_hit | milter_hit)).group_by("program").len("n")
    return ClamavEvents(
        findings=found.select([pl.col(c).cast(t) for c, t in FINDINGS.items()]),
        ignored=dict(rest.iter_rows()),
    )
