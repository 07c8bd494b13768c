"""Options of a generated log set (batch and live)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

#: The demo data and default runs end on this day (fixed, so runs are reproducible).
DEFAULT_END = datetime(2026, 11, 28)


@dataclass(slots=True)
class GenOptions:
    """What to generate and in which line forms."""

    seed: int = 1
    lines: int = 100_000  # approximate number of lines over all files
    days: float = 1.0
    start: datetime | None = None  # naive local time; default: DEFAULT_END - days
    postfix_style: str = "postlogd"  # postlogd ("Nov 07") | syslog ("Nov  7") | rfc3339
    dovecot_form: str = "file"  # file (own log_path, "Info:") | syslog (in mail.log)
    long_queue_ids: bool = False
    n_domains: int = 300
    n_accounts: int = 4000
    truth: Path | None = None  # ground-truth JSONL path (outside the log dir)

    def window(self) -> tuple[datetime, datetime]:
        """(start, end) of the generated traffic."""
        if self.days <= 0:
            raise ValueError("days must be > 0")
        span = timedelta(days=self.days)
        start = self.start if self.start is not None else DEFAULT_END - span
        return start, start + span

    def check(self) -> None:
        """Raise ValueError on an unknown option value."""
        if self.postfix_style not in ("postlogd", "syslog", "rfc3339"):
            raise ValueError(f"unknown postfix_style {self.postfix_style!r}")
        if self.dovecot_form not in ("file", "syslog"):
            raise ValueError(f"unknown dovecot_form {self.dovecot_form!r}")
        if self.lines < 0:
            raise ValueError("lines must be >= 0")
        if self.n_domains < 2 or self.n_accounts < 20:
            raise ValueError("need at least 2 domains and 20 accounts")
