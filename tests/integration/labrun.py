"""What a lab run hands to the tests, and the timings shown at the end of the session."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TIMINGS: dict[str, float] = {}
"""Seconds per phase (install, lab run, tracemail calls), printed in the terminal summary."""


def record_timing(name: str, seconds: float) -> None:
    TIMINGS[name] = TIMINGS.get(name, 0.0) + seconds


@dataclass
class LabRun:
    """One lab run: where its logs are and what the scenarios did."""

    logdir: Path
    ground_truth: dict[str, Any]
    scenarios: dict[str, dict[str, Any]] = field(default_factory=dict)
    live: Path | None = None
    """The run's directory of the live follower (`follow/`: its store, output and exit
    code), if one tailed the logs while the daemons wrote them."""

    @property
    def host(self) -> str:
        """The syslog host tag of the lab's mail server (`mx01`)."""
        return str(self.ground_truth["lab"]["syslog_host_tag"])

    @property
    def clamav(self) -> bool:
        return bool(self.ground_truth["lab"].get("clamav"))
