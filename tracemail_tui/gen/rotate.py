"""Daily rotation of a generated log set, the way logrotate leaves it.

`mail.log` keeps the newest day, `mail.log.1` the day before (`delaycompress`), and older
days are `mail.log.2.gz`, `mail.log.3.gz`, ... So tools can be tested on rotated and
compressed files exactly as they find them in /var/log.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path


def _day_key(name: str, sample: bytes) -> Callable[[bytes], bytes]:
    """How to read the day out of a line of this file."""
    if name.startswith("rspamd.log"):
        return lambda ln: ln[:10]  # 2026-11-27
    if name.startswith("clamav.log"):
        return lambda ln: ln[4:10] + ln[19:24]  # "Nov 27" + " 2026"
    if name.startswith("userlogins"):
        return lambda ln: ln[1:12]  # 27-Nov-2026
    if sample[4:5] == b"-" and sample[10:11] == b"T":
        return lambda ln: ln[:10]  # RFC 3339
    return lambda ln: ln[:6]  # "Nov 27" / "Nov  7"


def rotate_file(path: Path) -> list[Path]:
    """Split one file by day; returns the files written, newest first."""
    data = path.read_bytes()
    if not data:
        return [path]
    lines = data.splitlines(keepends=True)
    key = _day_key(path.name, lines[0])
    days: list[list[bytes]] = []
    last = None
    for ln in lines:
        k = key(ln)
        if k != last:
            days.append([])
            last = k
        days[-1].append(ln)
    out = []
    for age, chunk in enumerate(reversed(days)):
        body = b"".join(chunk)
        if age == 0:
            target = path
            target.write_bytes(body)
        elif age == 1:
            target = path.with_name(f"{path.name}.1")
            target.write_bytes(body)
        else:
            target = path.with_name(f"{path.name}.{age}.gz")
            # mtime=0: same bytes on every run
            target.write_bytes(gzip.compress(body, mtime=0))
        out.append(target)
    return out


def rotate_daily(outdir: Path) -> list[Path]:
    """Rotate every log file under `outdir` by day; returns all files written."""
    written: list[Path] = []
    for path in sorted(p for p in Path(outdir).rglob("*") if p.is_file()):
        if path.suffix == ".gz" or path.name.rsplit(".", 1)[-1].isdigit() or path.suffix == ".md":
            continue
        written += rotate_file(path)
    return written
