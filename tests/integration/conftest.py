"""Session fixture: run the real mail lab (Postfix, Dovecot, Rspamd, ClamAV) once.

`lab/run.sh` installs the Debian packages if missing, configures the daemons on
loopback, drives the scenarios (`lab/scenarios.py`: smtplib/imaplib/poplib) and stops
the daemons again. The logs land in a fresh directory that is handed to tracemail;
a copy of the run (logs, ground_truth.json, output) is kept in `tests/integration/out/`
(git-ignored) for inspection.

Where the lab cannot run (not root, no apt, a host with its own Postfix/Dovecot
configuration, lab ports busy) the integration tests are skipped with the reason,
except under CI (`CI=true`), where that is a failure.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.labrun import TIMINGS, LabRun
from tests.integration.live import LiveFollower

HERE = Path(__file__).resolve().parent
LAB = HERE / "lab"
OUT = HERE / "out" / "last-run"
# run.sh takes this lock too: one lab per machine (fixed ports, system-wide config)
LOCKED = ["flock", "-w", "900", "/run/lab/run.lock"]
LAB_PORTS = (25, 587, 143, 110, 4190, 11332, 11333, 11334, 2525)
# scenarios.py's syslog_host_tag: the live follower starts before ground_truth.json exists
LAB_HOST = "mx01"

# setup.sh exit codes that mean "this machine cannot host the lab"
_CANNOT = {3: "cannot install the Debian packages", 4: "host has its own mail configuration"}


def _unavailable(reason: str) -> None:
    """Skip, or fail under CI, where the integration test must really run."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"integration lab cannot run under CI: {reason}", pytrace=False)
    pytest.skip(f"integration lab not run: {reason}")


def _listening_ports() -> set[int]:
    """Loopback/any TCP ports in LISTEN state (from /proc, no probe connections)."""
    ports: set[int] = set()
    try:
        rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return ports
    for row in rows:
        cols = row.split()
        if len(cols) > 3 and cols[3] == "0A":
            ports.add(int(cols[1].split(":")[1], 16))
    return ports


def _lab_running() -> bool:
    """True if daemons of a previous lab run are still up (their PID files say so)."""
    status = subprocess.run(
        ["bash", str(LAB / "labctl.sh"), "status"], capture_output=True, text=True, check=False
    )
    return "running" in status.stdout


def _run(cmd: list[str], env: dict[str, str], log: Path, timeout: float) -> int:
    with log.open("a", encoding="utf-8") as fh:
        fh.write(f"$ {' '.join(cmd)}\n")
        fh.flush()
        proc = subprocess.run(
            cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, timeout=timeout, check=False
        )
    return proc.returncode


def _tail(path: Path, n: int = 40) -> str:
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-n:])


def _load(base: Path) -> LabRun:
    gt = json.loads((base / "ground_truth.json").read_text(encoding="utf-8"))
    live = base / "follow"
    return LabRun(
        logdir=base / "logs",
        ground_truth=gt,
        scenarios={s["id"]: s for s in gt["scenarios"]},
        live=live if (live / "rc").exists() else None,
    )


@pytest.fixture(scope="session")
def lab() -> Iterator[LabRun]:
    """Run the lab once per session; the daemons are stopped before the tests look.

    `TRACEMAIL_LAB_REUSE=DIR` skips the daemons and reuses a kept run (a directory with
    `logs/` and `ground_truth.json`, e.g. tests/integration/out/last-run): handy while
    working on the engine. Under pytest-xdist the first worker runs the lab and the
    others wait for it and share its logs.
    """
    reuse = os.environ.get("TRACEMAIL_LAB_REUSE")
    if reuse:
        yield _load(Path(reuse).resolve())
        return
    xdist_run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if xdist_run:
        shared = Path(tempfile.gettempdir(), f"tracemail-lab-xdist-{xdist_run}")
        shared.mkdir(mode=0o755, exist_ok=True)
        with (shared / ".lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released before the tests run
            if not (shared / "ground_truth.json").exists():
                _run_lab(shared)
        yield _load(shared)  # left in place: other workers may still read it
        return
    base = Path(tempfile.mkdtemp(prefix="tracemail-lab-"))
    _run_lab(base)
    yield _load(base)
    shutil.rmtree(base, ignore_errors=True)


def _run_lab(base: Path) -> None:
    """Install/configure, run the scenarios with logs in base/logs, stop the daemons."""
    if not Path("/proc/net/tcp").exists() or not (shutil.which("bash") and shutil.which("flock")):
        _unavailable("needs Linux with bash and flock")
    if os.geteuid() != 0:
        _unavailable("needs root (it installs and configures Postfix, Dovecot and Rspamd)")
    if not _lab_running():
        busy = sorted(set(LAB_PORTS) & _listening_ports())
        if busy:
            _unavailable(f"ports {busy} already in use (another mail server or lab running?)")

    Path("/run/lab").mkdir(parents=True, exist_ok=True)
    base.chmod(0o755)  # rspamd and clamd write their logs as unprivileged users
    logdir = base / "logs"
    out_log = base / "run.out"
    env = {**os.environ, "LAB_LOGDIR": str(logdir), "DEBIAN_FRONTEND": "noninteractive"}
    rc = -1
    follower: LiveFollower | None = None
    try:
        # 1. packages + configuration (apt-get only when something is missing): timed
        #    apart so that the install cost is visible.
        t0 = time.monotonic()
        rc = _run(
            [*LOCKED, "bash", str(LAB / "setup.sh")], {**env, "LAB_NO_START": "1"}, out_log, 1800
        )
        TIMINGS["install+configure"] = time.monotonic() - t0
        if rc in _CANNOT:
            _unavailable(f"{_CANNOT[rc]}:\n{_tail(out_log, 15)}")
        if rc != 0:
            pytest.fail(f"lab setup.sh failed (rc {rc}):\n{_tail(out_log)}", pytrace=False)
        # 2. a live follower on the (still empty) log directory, as a server runs it:
        #    the files are created, truncated and written while it watches; restarted
        #    once across the log rotations (live.py)
        logdir.mkdir(mode=0o755, exist_ok=True)
        follower = LiveFollower(logdir, LAB_HOST, base / "follow", base / "pause")
        # 3. reset, start, scenarios, stop
        t1 = time.monotonic()
        rc = _run(["bash", str(LAB / "run.sh"), str(logdir), str(base)],
                  {**env, "LAB_PAUSE_DIR": str(base / "pause")}, out_log, 900)
        TIMINGS["lab run (daemons + scenarios)"] = time.monotonic() - t1
    finally:
        # under the run lock, so that a parallel session's run is never cut short
        subprocess.run(
            [*LOCKED, "bash", str(LAB / "labctl.sh"), "stop"],
            capture_output=True,
            timeout=1000,
            check=False,
        )
        if follower is not None:
            follower.stop()
        _keep_copy(base)
    if rc != 0 or not (base / "ground_truth.json").exists():
        pytest.fail(f"lab run.sh failed (rc {rc}):\n{_tail(out_log)}", pytrace=False)


def _keep_copy(base: Path) -> None:
    """Copy the run to tests/integration/out/last-run (git-ignored) for inspection."""
    try:
        shutil.rmtree(OUT, ignore_errors=True)
        shutil.copytree(base, OUT)
    except OSError:
        pass


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TIMINGS:
        terminalreporter.section("real-daemon lab timings")
        for name, secs in TIMINGS.items():
            terminalreporter.write_line(f"{name:<34} {secs:6.1f} s")
