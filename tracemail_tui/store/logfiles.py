"""Which files to tail: discovery under configured paths, rotation families and their order.

A *family* is one log and its rotated copies: ``mail.log``, ``mail.log.1``,
``mail.log.2.gz``, ``mail.log-20261126`` (logrotate's dateext), and
``mail.log.20261126-031500.gz`` (``postfix logrotate`` of Postfix's own ``maillog_file``,
whose default suffix is ``%Y%m%d-%H%M%S``). Inside a family files are read oldest first
(highest rotation number, then oldest date, then the live file), so lines reach the
correlators in the order the daemons wrote them.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

# Names tailed inside a directory by default (a file named explicitly is always tailed).
# Globs match the file name or its family name (the name without rotation suffix).
DEFAULT_INCLUDE: Final = (
    "mail.log",
    "maillog",
    "mail.info",
    "mail.warn",
    "mail.err",
    "postfix*.log",  # Postfix's own maillog_file (its documentation's /var/log/postfix.log)
    "dovecot*.log",
    "dovecot*",
    "rspamd.log",
    "clamav.log",
    "clamd.log",
    "freshclam.log",
    "userlogins",
    "userlogins.log",
)
# Compressions we cannot read (only gzip is supported) and editor droppings.
DEFAULT_EXCLUDE: Final = ("*.bz2", "*.xz", "*.zst", "*.lz4", "*.swp", "*~", "*.tmp")

# A date suffix: "-20261126" (dateext), "-2026112603" (dateformat), ".20261126-031500"
# (Postfix's maillog_file_rotate_suffix); the number form has at most 4 digits.
_ROTATED = re.compile(
    r"^(?P<base>.+?)(?:\.(?P<n>\d{1,4})|[.-](?P<date>\d{8}(?:-?\d{2,6})?))?(?P<gz>\.gz)?$"
)


@dataclass(frozen=True)
class LogFile:
    """One file found on disk, with its family and place in the rotation order."""

    path: str
    family: str  # directory + name without rotation suffix
    rank: tuple[int, str, int]  # sorts oldest first inside a family
    gz: bool


def classify(path: str) -> LogFile:
    """Family and rotation rank of `path` (``mail.log.2.gz`` -> family ``mail.log``)."""
    head, name = os.path.split(path)
    m = _ROTATED.match(name)
    assert m is not None  # the pattern matches every non-empty name
    base, n, date, gz = m["base"], m["n"], m["date"], bool(m["gz"])
    live = n is None and date is None
    # Rotated first (is_live=0), dated ones by date, numbered ones by descending number.
    # Dates compare as digits only: "20261126-031500" and "2026112603" sort as one form.
    rank = (1 if live else 0, (date or "").replace("-", ""), -int(n) if n else 0)
    return LogFile(path=path, family=os.path.join(head, base), rank=rank, gz=gz)


def _matches(name: str, family_name: str, globs: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, g) or fnmatch.fnmatchcase(family_name, g) for g in globs)


def discover(
    roots: tuple[str, ...],
    include: tuple[str, ...] = DEFAULT_INCLUDE,
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE,
) -> list[LogFile]:
    """Files under `roots` (files as given, directories recursively), oldest first per family.

    Missing roots are skipped silently: a log directory may come and go (the caller
    keeps watching its nearest existing ancestor).
    """
    found: dict[str, LogFile] = {}
    for root in roots:
        if os.path.isfile(root):
            lf = classify(os.path.abspath(root))
            found[lf.path] = lf
            continue
        if not os.path.isdir(root):
            continue
        real_root = os.path.realpath(root)  # symlinks leading out of a log dir: not followed
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                lf = classify(os.path.abspath(os.path.join(dirpath, name)))
                if os.path.commonpath([real_root, os.path.realpath(lf.path)]) != real_root:
                    continue
                fam = os.path.basename(lf.family)
                if _matches(name, fam, include) and not _matches(name, fam, exclude):
                    found[lf.path] = lf
    # A file given explicitly also pulls in its rotated siblings (backfill of mail.log.1 ...).
    for root in roots:
        if os.path.isfile(root):
            lf = classify(os.path.abspath(root))
            folder = os.path.dirname(lf.path)
            try:
                names = os.listdir(folder)
            except OSError:
                continue
            for name in names:
                sib = classify(os.path.join(folder, name))
                if sib.family == lf.family and not _matches(name, name, exclude):
                    if os.path.isfile(sib.path):
                        found.setdefault(sib.path, sib)
    return sorted(found.values(), key=lambda f: (f.family, f.rank, f.path))


def watch_targets(roots: tuple[str, ...]) -> tuple[str, ...]:
    """Directories to watch: each root's directory, or its nearest existing ancestor.

    Watching the directory (not the file) is what reveals rotation (rename + create)
    and a log directory that disappears and comes back.
    """
    out: set[str] = set()
    for root in roots:
        p = Path(root).absolute()
        if not p.is_dir():
            p = p.parent
        while not p.exists() and p != p.parent:
            p = p.parent
        out.add(str(p))
    return tuple(sorted(out))


def gzip_isize(path: str | os.PathLike[str]) -> int | None:
    """Uncompressed size mod 2**32 from a gzip file's trailer: a cheap "fully read?"
    test for the tailer, and a size to share reads by for one-shot runs."""
    try:
        with open(path, "rb") as f:
            f.seek(-4, os.SEEK_END)
            return int.from_bytes(f.read(4), "little")
    except OSError:
        return None
