"""Finding and reading log files: directories, rotated files, ``.gz``, bounded chunks.

A *source* is one file with what the header split needs to date and place its lines:
the host for host-less formats and the reference time for year-less stamps. Files are
read in chunks of a bounded number of bytes, cut at the last newline, so memory never
depends on the size of a file. Which parser sees a line is decided later by its
``program`` column, never by the file name.
"""

from __future__ import annotations

import datetime as dt
import gzip
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from tracemail_tui.store.logfiles import classify
from tracemail_tui.store.parse.header import split_lines

CHUNK_BYTES = 4 * 1024 * 1024
"""Default chunk size: ~20k typical lines; a batch holds one chunk per stream (file + rotations)."""

# Directory names that are layout, not a machine (generated data uses <root>/<host>/...).
_NOT_HOSTS = frozenset(
    {"log", "logs", "var", "mail", "tmp", "data", "real", "fixtures", "tests", "dovecot",
     "rspamd", "postfix", "clamav", "roundcube", "archive", "old", "backup", "shared"}
)
_HOSTLIKE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62})(?:\.[a-z0-9-]+)*$")
_SNIFF_BYTES = 64 * 1024


@dataclass(frozen=True)
class Source:
    """One log file and how to interpret its lines."""

    path: Path
    host: str | None
    mtime: dt.datetime
    year: int | None = None

    @property
    def compressed(self) -> bool:
        return self.path.suffix == ".gz"


def _rotation_key(path: Path) -> tuple[str, tuple[int, str, int]]:
    """Sort key grouping a log with its rotated copies, oldest first (the tailer's rules:
    `logfiles.classify`)."""
    lf = classify(str(path))
    return lf.family, lf.rank


def rotation_base(path: Path) -> str:
    """The live file name a rotated file belongs to (``mail.log.2.gz`` -> ``mail.log``)."""
    return Path(classify(str(path)).family).name


def expand(paths: Iterable[str | Path]) -> list[Path]:
    """Files named or found (recursively) under `paths`, rotated sets oldest first.

    Raises FileNotFoundError / PermissionError (OSError) for a path that cannot be read,
    which the CLI turns into a one-line error.
    """
    files: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            root = path.resolve()  # symlinks leading out of a log dir are not followed
            files.extend(f for f in path.rglob("*")
                         if f.is_file() and _is_log_name(f) and f.resolve().is_relative_to(root))
        elif path.is_file():
            files.append(path)
        elif not path.exists():
            raise FileNotFoundError(f"no such file or directory: {path}")
        else:
            raise OSError(f"not a regular file: {path}")
    unique = sorted(set(files), key=_rotation_key)
    for f in unique:
        with open(f, "rb"):  # unreadable input is an error up front, not mid-run
            pass
    return unique


def _is_log_name(path: Path) -> bool:
    """Skip obvious non-logs found in a directory (ground truth, queue dumps, archives)."""
    name = path.name
    if name.startswith("."):
        return False
    return not name.endswith((".json", ".md", ".txt", ".py", ".toml", ".zst", ".xz", ".bz2"))


def _sniff_lines(path: Path) -> pl.Series:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            data = fh.read(_SNIFF_BYTES)
    except (OSError, EOFError):
        return pl.Series("raw", [], pl.String)
    cut = data.rfind(b"\n")
    return _decode(data[: cut + 1] if cut >= 0 else data)


def _syslog_hosts(path: Path) -> set[str]:
    """Hosts named by syslog-form lines at the start of `path` (empty for host-less forms)."""
    frame = split_lines(_sniff_lines(path), host=None)
    hosts = frame.get_column("host").drop_nulls().unique().to_list()
    return {h for h in hosts if h}


def infer_host(path: Path, siblings: Iterable[Path]) -> str | None:
    """Host for a host-less file: the single syslog host of its sibling files, else the
    directory name when it looks like a host name, else None."""
    seen: set[str] = set()
    for sib in siblings:
        seen |= _syslog_hosts(sib)
    if len(seen) == 1:
        return next(iter(seen))
    name = path.parent.name.lower()
    if name and name not in _NOT_HOSTS and _HOSTLIKE.match(name):
        return name
    return None


def sources(
    paths: Iterable[str | Path],
    *,
    host: str | None = None,
    hosts: Mapping[str, str] | None = None,
    year: int | None = None,
) -> list[Source]:
    """Resolve `paths` into sources with host and dating settings.

    `host` forces the host of host-less lines in every file (the ``--host`` option);
    `hosts` maps a file or directory path to its host (the config's ``[hosts]`` table).
    """
    files = expand(paths)
    by_dir: dict[Path, list[Path]] = {}
    for f in files:
        by_dir.setdefault(f.parent, []).append(f)
    out: list[Source] = []
    inferred: dict[Path, str | None] = {}
    for f in files:
        h = host or configured_host(f, hosts or {})
        if h is None:
            if f.parent not in inferred:
                inferred[f.parent] = infer_host(f, by_dir[f.parent])
            h = inferred[f.parent]
        mtime = dt.datetime.fromtimestamp(f.stat().st_mtime)
        out.append(Source(path=f, host=h, mtime=mtime, year=year))
    return out


def configured_host(path: str | Path, hosts: Mapping[str, str]) -> str | None:
    """The host the config's ``[hosts]`` gives `path`: a key naming the file, its live
    file (``dovecot.log`` covers ``dovecot.log.1`` and ``dovecot.log.2.gz``: a rotated copy
    is the same machine's log) or a directory above it. One rule for the one-shot reader
    and the tailer, so that both give a line the same host and its row the same id."""
    resolved = Path(path).resolve()
    family = Path(classify(str(resolved)).family)
    for key, value in hosts.items():
        k = Path(key).resolve()
        if k in (resolved, family) or k in resolved.parents:
            return value
    return None


# Leading bytes that make Polars' line reader treat a buffer as gzip, zlib or zstd data.
_SNIFFED_MAGICS = (b"\x1f\x8b", b"x\x01", b"x^", b"x\x9c", b"x\xda", b"(\xb5/\xfd")


def _decode(data: bytes) -> pl.Series:
    """Bytes of whole lines -> a Series of lines; invalid UTF-8 is replaced, never fatal."""
    if not data:
        return pl.Series("raw", [], pl.String)
    if data.startswith(_SNIFFED_MAGICS):
        # `pl.read_lines` takes such bytes for a compressed buffer: it would drop them
        # silently (zlib) or fail (gzip, zstd). Split them as plain text instead, with the
        # same rules (lines end at "\n", a trailing "\r" goes).
        text = data.decode("utf-8", errors="replace").split("\n")
        s = pl.Series("raw", [ln.removesuffix("\r") for ln in text], pl.String)
    else:
        try:
            s = pl.read_lines(data, name="raw").to_series()
        except pl.exceptions.ComputeError:
            fixed = data.decode("utf-8", errors="replace").encode("utf-8")
            s = pl.read_lines(fixed, name="raw").to_series()
    return s.filter(s.str.len_bytes() > 0)


def read_raw_chunks(
    path: Path, chunk_bytes: int = CHUNK_BYTES, on_bytes: Callable[[int], object] | None = None
) -> Iterator[pl.Series]:
    """Yield the lines of `path` in chunks of about `chunk_bytes`, cut at a newline.

    `on_bytes` hears of every block read (bytes of text: decompressed for a .gz file).
    """
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        rest = b""
        while True:
            try:
                block = fh.read(chunk_bytes)
            except (EOFError, gzip.BadGzipFile, OSError) as exc:  # truncated archive
                raise OSError(f"cannot read {path}: {exc}") from exc
            if not block:
                break
            if on_bytes is not None:
                on_bytes(len(block))
            data = rest + block
            cut = data.rfind(b"\n")
            if cut < 0:
                rest = data
                continue
            rest = data[cut + 1 :]
            yield _decode(data[: cut + 1])
        if rest:
            yield _decode(rest)


_SKIP_SAMPLE = 500  # lines of a chunk tested first: one file's chunk is of one kind
_SKIP_WORTH = 0.05  # skipping under this share of lines costs more than it saves


def _worth_skipping(raw: pl.Series, skip: pl.Expr) -> bool:
    """Whether a chunk has enough skippable lines to pay for the test on all of them
    (a Postfix mail.log has none; Dovecot's and Rspamd's own files are mostly such)."""
    if len(raw) == 0:
        return False
    sample = raw.head(_SKIP_SAMPLE).to_frame().select(skip.fill_null(False)).to_series()
    return bool(sample.mean() >= _SKIP_WORTH)  # type: ignore[operator]


def read_chunks(
    src: Source,
    chunk_bytes: int = CHUNK_BYTES,
    on_bytes: Callable[[int], object] | None = None,
    skip: pl.Expr | None = None,
    on_skipped: Callable[[int], object] | None = None,
) -> Iterator[pl.DataFrame]:
    """Yield lines frames (see header.split_lines) of `src`, chunk by chunk.

    `skip` (an expression on the ``raw`` column, see `Needs.raw_skip`) drops lines
    before they are split; `on_skipped` hears how many, so they are still counted.
    """
    for raw in read_raw_chunks(src.path, chunk_bytes, on_bytes):
        if skip is not None and _worth_skipping(raw, skip):
            unused = raw.to_frame().select(skip.fill_null(False)).to_series()
            n = int(unused.sum())
            if n:
                raw = raw.filter(~unused)
                if on_skipped is not None:
                    on_skipped(n)
        if len(raw):
            yield split_lines(raw, host=src.host, year=src.year, mtime=src.mtime)
