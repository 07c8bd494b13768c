"""Shared by the bench scripts: replace one `## Title` section of BENCHMARKS.md in place.

Each script owns one section; the others are kept byte for byte, so scripts can run in any
order and on different days.
"""

from __future__ import annotations

import re
from pathlib import Path


def write_section(path: Path, title: str, text: str) -> None:
    """Replace the section that starts with the line `title` (up to the next `## ` heading,
    the next `<!-- ` marker of a marker-delimited section, or the end), or append `text`
    when the file has no such section yet."""
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    m = re.search(rf"^{re.escape(title)}\n.*?(?=^## |^<!-- |\Z)", old, flags=re.M | re.S)
    if m is None:
        new = old.rstrip("\n") + "\n\n" + text
    else:
        rest = old[m.end() :]
        new = old[: m.start()] + text + ("\n" + rest if rest else "")
    path.write_text(new, encoding="utf-8")


def write_marked(path: Path, start: str, end: str, section: str) -> None:
    """Replace the block from marker `start` to marker `end` (both inside `section`), or
    append `section` when the file has no such block yet."""
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if start in old:
        new = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _m: section, old, flags=re.S)
    else:
        new = old.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(new, encoding="utf-8")
