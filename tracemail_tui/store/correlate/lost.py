"""SMTP sessions that died in DATA: which message they were sending.

smtpd logs ``lost connection after DATA (112 bytes) from host[ip]`` (or ``timeout after
DATA``) without a queue id, and cleanup silently drops the unfinished queue file: the
message was never received, though its ``client=``, Subject and Message-ID lines are in the
log (lab-verified). The line belongs to the message whose ``client=`` the same smtpd
process (host, program, pid) logged last before it; it becomes that message's reject, in
the words Postfix logged.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import polars as pl

LINK_WITHIN: Final = dt.timedelta(hours=1)
"""How far back the ``client=`` line may be: an smtpd pid is reused across the day."""


def link_lost(lost: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    """`lost` events (kind ``lost``) with the queue id of their message, as reject actions.

    `events` are the Postfix events to link against (the open state and the chunk). A
    message qmgr has seen was received whole and is never a candidate: if the session's
    own ``client=`` is not in the logs (read from the middle), an earlier, finished message
    of the same process must not be marked refused. A line with no candidate is dropped.
    """
    kind = pl.col("kind")
    queued = events.filter(kind == "qmgr").select("host", "qid").unique()
    cand = (
        events.filter((kind == "client") & pl.col("qid").is_not_null())
        .join(queued, on=["host", "qid"], how="anti")
        .select("host", "program", "pid", "time", _qid="qid")
        .sort("time")
    )
    linked = lost.sort("time").join_asof(  # both sorted by time just above
        cand, on="time", by=["host", "program", "pid"], strategy="backward",
        tolerance=LINK_WITHIN, check_sortedness=False,
    )
    return linked.filter(pl.col("_qid").is_not_null()).with_columns(
        qid=pl.col("_qid"), kind=pl.lit("action"), status=pl.lit("reject"),
        stage=pl.lit("DATA"),
    ).drop("_qid")
