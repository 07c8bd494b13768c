"""A live `tracemail ingest --follow` beside the lab, restarted once across log rotations.

It starts on the empty log directory before `run.sh` creates the files, as a server's
service would. At the scenarios' `before-rotations` pause it is stopped (SIGTERM), at
`after-rotations` started again: the second run must resume from the store's checkpoints
across a `postfix logrotate` (rename + gzip) and a Dovecot rename it never saw, with a
whole section of traffic written meanwhile. Its output and exit codes go to `follow/`.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.integration.harness import REPO, cli_env

PAUSES = ("before-rotations", "after-rotations")
"""The points where scenarios.py waits for the harness (LAB_PAUSE_DIR)."""


class LiveFollower:
    """The follower's runs; `stop()` ends the last one and records every exit code."""

    def __init__(self, logdir: Path, host: str, live: Path, pause: Path) -> None:
        self.logdir, self.host, self.live, self.pause = logdir, host, live, pause
        live.mkdir(exist_ok=True)
        pause.mkdir(exist_ok=True)
        self.rcs: list[int] = []
        self._proc: subprocess.Popen[bytes] | None = self._start()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._restart_across_rotations, daemon=True)
        self._thread.start()

    def _start(self) -> subprocess.Popen[bytes]:
        with (self.live / f"out.{len(self.rcs) + 1}").open("wb") as fh:  # the child has a copy
            return subprocess.Popen(
                [sys.executable, "-m", "tracemail_tui", "ingest", str(self.logdir), "--follow",
                 "--flush", "1", "--store", str(self.live / "store")],
                cwd=REPO, env=cli_env(str(self.logdir), self.host),
                stdout=fh, stderr=subprocess.STDOUT,
            )

    def _stop_run(self) -> None:
        """SIGTERM, as a service manager stops it: it commits and exits 0."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            self.rcs.append(proc.wait(timeout=60))
        except subprocess.TimeoutExpired:
            proc.kill()
            self.rcs.append(proc.wait())

    def _reached(self, name: str) -> bool:
        while not self._done.is_set():
            if (self.pause / f"{name}.reached").exists():
                return True
            time.sleep(0.1)
        return False

    def _restart_across_rotations(self) -> None:
        before, after = PAUSES
        if not self._reached(before):
            return
        self._stop_run()
        (self.pause / f"{before}.go").touch()
        if not self._reached(after):
            return
        self._proc = self._start()
        (self.pause / f"{after}.go").touch()

    def stop(self) -> None:
        """After the lab: a moment for the last lines, then stop; write `rc` (one line per run)."""
        self._done.set()
        self._thread.join(timeout=90)
        if self._proc is not None:
            time.sleep(3)
            self._stop_run()
        (self.live / "rc").write_text("".join(f"{rc}\n" for rc in self.rcs), encoding="utf-8")
