"""`tracemail tui` / `demo` argument errors: one line on stderr, exit 2, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRACEMAIL_LOGS": "", "TRACEMAIL_CONFIG": "/nonexistent/config.toml"}
    return subprocess.run(
        [sys.executable, "-m", "tracemail_tui", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("tui",), "no log paths"),
        ((), "no log paths"),
        (("tui", "/no/such/log"), "no such file"),
        (("demo", "--view", "bogus"), "--view must be one of"),
        (("tui", "tests/fixtures/real", "--date", "27/11/2026"), "--date must be YYYY-MM-DD"),
    ],
)
def test_bad_usage_exits_2_with_one_line(args: tuple[str, ...], needle: str) -> None:
    proc = run(*args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in proc.stderr
