"""Rspamd task-log lines (``rspamd_task_write_log``) -> one verdict row per scan.

The summary line carries everything a trace needs: the Message-ID (``id:``), the Postfix
queue id (``qid:``, from the milter macro), client IP, authenticated user, the action
with score/threshold, the symbols, and for forced actions the text the client saw.
Virus names come from ``*_VIRUS(score){name;}`` symbols (``CLAM_VIRUS`` and friends).
Other Rspamd lines are housekeeping: counted as ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import polars as pl

from tracemail_tui.store.schema import TS

VERDICTS: Final[dict[str, pl.DataType]] = {
    "time": TS,
    "host": pl.String(),
    "message_id": pl.String(),
    "qid": pl.String(),
    "ip": pl.String(),
    "user": pl.String(),
    "sender": pl.String(),
    "spam": pl.String(),  # F (ham) / T (spam) / S (skipped or forced)
    "action": pl.String(),
    "score": pl.Float64(),
    "threshold": pl.Float64(),
    "symbols": pl.String(),
    "virus": pl.String(),
    "forced_text": pl.String(),
    "rcpts": pl.String(),
}

_TASK: Final = "rspamd_task_write_log: "


@dataclass
class RspamdEvents:
    """Verdict rows plus counts of lines not turned into verdicts."""

    verdicts: pl.DataFrame
    ignored: int
    unparsed: int
    sample: str | None = None  # one unparsed task line


def parse(lines: pl.DataFrame) -> RspamdEvents:
    """Parse the ``program == "rspamd"`` lines of a lines frame."""
    rs = lines.filter(pl.col("program") == "rspamd")
    is_task = pl.col("msg").str.contains(_TASK, literal=True)
    task = rs.filter(is_task)
    ignored = rs.height - task.height
    t = pl.col("msg")
    body = t.str.slice(t.str.find(_TASK, literal=True) + len(_TASK))
    task = task.select("time", "host", body=body)
    b = pl.col("body")
    # One pass for the verdict block (a regex run per field costs ~5x as much).
    verdict = (
        r"\((?:[^()]*): (?<spam>[FTS]) \((?<action>[^)]*)\): "
        r"\[(?<score>[-\d.]+|nan|inf|-inf)/(?<threshold>[-\d.]+|nan|inf)\] "
        r"\[(?<symbols>[^\]]*)\]\)"
    )
    task = task.with_columns(_v=b.str.extract_groups(verdict)).unnest("_v")
    odd = task.filter(pl.col("action").is_null())
    out = task.select(
        "time",
        "host",
        "spam",
        "action",
        "symbols",
        message_id=b.str.extract(r"^id: (<[^>]*>|[^,]*),", 1),
        qid=b.str.extract(r", qid: <([^>]*)>", 1),
        ip=b.str.extract(r", ip: ([^,]+),", 1),
        user=b.str.extract(r", user: ([^,]+),", 1),
        sender=b.str.extract(r", from: <([^>]*)>", 1),
        score=pl.col("score").cast(pl.Float64, strict=False),
        threshold=pl.col("threshold").cast(pl.Float64, strict=False),
        virus=b.str.extract(r"\b[A-Z0-9]+_VIRUS\([^)]*\)\{([^;}]+)", 1),
        forced_text=b.str.extract(r", forced: \S+ \"(.*)\"; score=", 1),
        rcpts=b.str.extract(r", rcpts: <([^>]*)>", 1),
    ).with_columns(
        # "nan" means a forced action without a score: unknown, not zero.
        score=pl.when(pl.col("score").is_nan()).then(None).otherwise(pl.col("score")),
        message_id=pl.when(pl.col("message_id").is_in(["undef", "<undef>", ""]))
        .then(None)
        .otherwise(pl.col("message_id")),
        qid=pl.when(pl.col("qid").is_in(["undef", ""])).then(None).otherwise(pl.col("qid")),
    )
    out = out.filter(pl.col("action").is_not_null())
    first = odd.get_column("body").first() if odd.height else None
    return RspamdEvents(
        verdicts=out.select([pl.col(c).cast(t) for c, t in VERDICTS.items()]),
        ignored=ignored,
        unparsed=odd.height,
        sample=_TASK + str(first) if first is not None else None,
    )
