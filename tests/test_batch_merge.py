"""The one-shot reader's time merge: every line once, in time order, in few big batches."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import polars as pl

from tracemail_tui.store import batch, sources

START = dt.datetime(2026, 11, 27, 0, 0, 0)


def _log(path: Path, host: str, n: int, span_s: int, pad: int) -> None:
    """`n` Postfix lines spread evenly over `span_s` seconds, each `pad` bytes longer."""
    lines = []
    for i in range(n):
        t = START + dt.timedelta(seconds=i * span_s // n)
        lines.append(f"{t:%b %d %H:%M:%S} {host} postfix/smtpd[{i}]: connect from x{'y' * pad}\n")
    path.write_text("".join(lines))


def test_streams_of_different_density_merge_in_few_time_ordered_batches(tmp_path: Path) -> None:
    # Three streams over the same 10 hours with different bytes per hour: each round
    # reads a share of the budget per stream, so all advance by about the same time.
    _log(tmp_path / "a.log", "a", 30_000, 36_000, 10)
    _log(tmp_path / "b.log", "b", 6_000, 36_000, 120)
    _log(tmp_path / "c.log", "c", 2_000, 36_000, 40)
    srcs = sources.sources([tmp_path], year=2026)
    total = sum(s.path.stat().st_size for s in srcs)
    budget = 256 * 1024
    got = list(batch.merged_chunks(srcs, budget, raw=False))
    assert sum(b.height for b in got) == 38_000
    assert "raw" not in got[0].columns
    for prev, nxt in itertools.pairwise(got):
        assert prev.get_column("time").max() <= nxt.get_column("time").min()
    # About one batch per round of `budget` bytes, not many slivers.
    assert len(got) <= 2 * total // budget + 2, [b.height for b in got]
    merged = pl.concat(got)
    assert merged.group_by("host").len().sort("host").get_column("len").to_list() == [
        30_000, 6_000, 2_000]


def test_a_gzip_archive_gets_its_share_by_text_size(tmp_path: Path) -> None:
    import gzip

    _log(tmp_path / "a.log", "a", 5_000, 3600, 60)
    text = (tmp_path / "a.log").read_bytes()
    (tmp_path / "b.log.1.gz").write_bytes(gzip.compress(text.replace(b" a postfix", b" b postfix")))
    srcs = sources.sources([tmp_path], year=2026)
    gz = next(s for s in srcs if s.compressed)
    assert batch._size(gz) == len(text) > gz.path.stat().st_size * 5
    got = list(batch.merged_chunks(srcs, 128 * 1024, raw=False))
    assert sum(b.height for b in got) == 10_000
    # Both streams advance together: each batch holds about as many lines of each host.
    for b in got[:-1]:
        per = dict(b.group_by("host").len().iter_rows())
        assert abs(per.get("a", 0) - per.get("b", 0)) <= 0.2 * b.height, per


def test_progress_counts_every_byte_of_text_once(tmp_path: Path) -> None:
    import gzip

    _log(tmp_path / "a.log", "a", 20_000, 36_000, 30)
    _log(tmp_path / "b.log", "b", 4_000, 36_000, 30)
    text = (tmp_path / "b.log").read_bytes()
    (tmp_path / "c.log.1.gz").write_bytes(gzip.compress(text.replace(b" b postfix", b" c postfix")))
    total = sum(len((tmp_path / n).read_bytes()) for n in ("a.log", "b.log")) + len(text)
    seen: list[tuple[int, int]] = []
    res = batch.run([tmp_path], year=2026, chunk_bytes=128 * 1024,
                    progress=lambda done, all_: seen.append((done, all_)))
    assert res.stats.lines == 28_000
    assert len(seen) > 3
    assert all(t == total for _, t in seen)
    dones = [d for d, _ in seen]
    assert dones == sorted(dones) and dones[-1] == total
