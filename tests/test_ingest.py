"""Tail -> engine -> store: batches, files, restarts and crashes give the one-shot result."""

from __future__ import annotations

import datetime as dt
import gzip
import random
from pathlib import Path

import polars as pl
import pytest

from tracemail_tui.store import query, sources
from tracemail_tui.store.ingest import HostGuesser, Ingestor
from tracemail_tui.store.parse.header import split_lines
from tracemail_tui.store.partitions import ParquetStore

REAL = Path(__file__).parent / "fixtures" / "real"
INCLUDE = ("*.log",)


class ToyEngine:
    """A stand-in correlator with open keys: ``KEY: open|to=<a>|close`` lines -> received rows.

    It has the incremental contract of the real engine: each chunk returns the rows of
    every key it touched, and keys stay open across chunks (and files) until closed.
    """

    def __init__(self) -> None:
        self.open: dict[str, dict[str, object]] = {}

    def feed(self, lines: pl.DataFrame) -> dict[str, pl.DataFrame]:
        touched: dict[str, dict[str, object]] = {}
        for time, msg in lines.select("time", "msg").iter_rows():
            key, _, ev = (msg or "").partition(": ")
            st = self.open.setdefault(key, {"id": f"r-{key}", "time": time, "n": 0})
            st["n"] = int(st["n"]) + 1  # type: ignore[call-overload]
            if ev.startswith("to="):
                st["recipient"] = ev[4:-1]
                st["domain"] = ev[4:-1].split("@")[1]
            st["status"] = "accepted" if ev == "close" else "quarantined"
            st["size"] = st["n"]
            touched[key] = dict(st)
            if ev == "close":
                del self.open[key]
        rows = pl.DataFrame(list(touched.values())) if touched else pl.DataFrame()
        return {"received": rows.drop("n")} if touched else {}


def toy_lines(n_keys: int, seed: int = 1) -> list[tuple[str, str]]:
    """(file, line) pairs: each key's events spread over two files, interleaved."""
    rnd = random.Random(seed)
    events: list[tuple[str, str]] = []
    t0 = dt.datetime(2026, 11, 27, 5, 0, 0)
    pending = {k: ["open", f"to=<u{k}@d{k % 3}.test>", "close"] for k in range(n_keys)}
    i = 0
    while pending:
        k = rnd.choice(list(pending))
        ev = pending[k].pop(0)
        if not pending[k]:
            del pending[k]
        stamp = (t0 + dt.timedelta(seconds=i)).strftime("%b %d %H:%M:%S")
        fname = "a.log" if ev != "close" else "b.log"
        events.append((fname, f"{stamp} mx01 toy[1]: K{k}: {ev}"))
        i += 1
    return events


def one_shot(events: list[tuple[str, str]]) -> pl.DataFrame:
    frame = split_lines(pl.Series([ln for _, ln in events]), year=2026)
    return ToyEngine().feed(frame)["received"].sort("id")


def store_rows(root: Path) -> pl.DataFrame:
    s = ParquetStore(root, readonly=True)
    cols = ["id", "time", "status", "recipient", "domain", "size"]
    return query.query(s, "received", query.Filters()).collect().select(cols).sort("id")


def write(folder: Path, events: list[tuple[str, str]]) -> None:
    for fname, line in events:
        with open(folder / fname, "a") as f:
            f.write(line + "\n")


def test_spanning_batches_files_restart_and_crash_equal_one_shot(tmp_path: Path) -> None:
    logs, root = tmp_path / "logs", tmp_path / "store"
    logs.mkdir()
    events = toy_lines(60)
    write(logs, events[:70])

    # Run 1: tiny batches, commits after every batch.
    s = ParquetStore(root, flush_interval=0, today=lambda: dt.date(2026, 11, 27))
    ing = Ingestor(
        s, [logs], engine_factory=ToyEngine, include=INCLUDE, batch_bytes=200, feed_lines=1
    )
    ing.backfill()
    assert ing.stats.commits >= 2 and ing.engine.open  # type: ignore[attr-defined]
    s.close()

    # Run 2 "crashes": lines handled (queryable) but never committed.
    write(logs, events[70:120])
    s = ParquetStore(root, flush_interval=1e9, today=lambda: dt.date(2026, 11, 27))
    ing = Ingestor(
        s, [logs], engine_factory=ToyEngine, include=INCLUDE, batch_bytes=200, feed_lines=1
    )
    for batch in ing.tailer.poll():
        ing.handle(batch)
    assert s.scan("lines").collect().height == 120
    s.close()  # no commit: the process died

    # Run 3 resumes from run 1's checkpoints and correlator state.
    write(logs, events[120:])
    s = ParquetStore(root, today=lambda: dt.date(2026, 11, 27))
    ing = Ingestor(
        s, [logs], engine_factory=ToyEngine, include=INCLUDE, batch_bytes=200, feed_lines=1
    )
    ing.backfill()
    s.close()

    assert store_rows(root).equals(one_shot(events).select(store_rows(root).columns))
    # Every line stored exactly once.
    stored = ParquetStore(root, readonly=True).scan("lines").collect()
    assert sorted(stored["raw"].to_list()) == sorted(ln for _, ln in events)


def test_real_logs_lines_and_hosts(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    for name in ("mail.log", "dovecot.log", "rspamd.log"):
        (logs / name).write_bytes((REAL / name).read_bytes())
    s = ParquetStore(tmp_path / "store", today=lambda: dt.date(2026, 11, 27))
    ing = Ingestor(s, [logs])
    ing.backfill()
    lines = s.scan("lines").collect()
    n = sum(
        len((REAL / f).read_bytes().splitlines()) for f in ("mail.log", "dovecot.log", "rspamd.log")
    )
    assert lines.height == n == ing.stats.lines
    # Host-less Dovecot and Rspamd lines get the host the syslog lines next to them name.
    assert lines["server"].drop_nulls().unique().to_list() == ["mx01"]
    assert ing.stats.unparsed == lines.filter(pl.col("program").is_null()).height
    info = s.info()
    assert set(info["sources"]) == {
        str(logs / f) for f in ("mail.log", "dovecot.log", "rspamd.log")
    }
    assert info["sources"][str(logs / "mail.log")]["last_time"].startswith("20")


def test_host_guesser(tmp_path: Path) -> None:
    (tmp_path / "mx01").mkdir()
    (tmp_path / "mx01" / "dovecot.log").write_text("Nov 27 05:39:56 imap-login: Info: Login: x\n")
    (tmp_path / "mx01" / "mail.log").write_text("Nov 27 05:39:56 mail7 postfix/qmgr[1]: x\n")
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "rspamd.log").write_text("2026-11-27 05:40:04 #1(main) x\n")
    guess = HostGuesser({str(tmp_path / "logs"): "imap1"})
    assert guess(str(tmp_path / "logs" / "rspamd.log")) == "imap1"  # configured directory
    assert guess(str(tmp_path / "mx01" / "dovecot.log")) == "mail7"  # the syslog sibling
    (tmp_path / "web1").mkdir()
    assert HostGuesser()(str(tmp_path / "web1" / "userlogins")) == "web1"  # directory name


@pytest.mark.parametrize("name", ["dovecot.log", "dovecot.log.1", "dovecot.log.2.gz",
                                  "dovecot.log-20261126", "dovecot.log.20261126-031500.gz"])
def test_configured_host_covers_rotated_copies(tmp_path: Path, name: str) -> None:
    """A [hosts] key for dovecot.log is that machine's log, rotated or not, for the
    tailer and the one-shot reader alike (else a rotated copy takes the host of its
    neighbours, and its rows other ids than the live file gave them)."""
    central = tmp_path / "central"  # a log server: syslog files of two hosts side by side
    central.mkdir()
    (central / "mail.log").write_text("Nov 27 05:39:56 mx07 postfix/qmgr[1]: x\n"
                                      "Nov 27 05:39:57 mx08 postfix/qmgr[1]: x\n")
    line = b"Nov 27 05:39:56 imap-login: Info: Login: x\n"
    (central / name).write_bytes(gzip.compress(line) if name.endswith(".gz") else line)
    hosts = {str(central / "dovecot.log"): "imap1"}
    assert HostGuesser(hosts)(str(central / name)) == "imap1"
    src = {s.path.name: s.host for s in sources.sources([central], hosts=hosts)}
    assert src[name] == "imap1"
    assert HostGuesser(hosts)(str(central / "dovecotx.log")) != "imap1"  # not its family


class Recorder:
    """Engine that records the times of the lines it is fed, in feeding order."""

    def __init__(self) -> None:
        self.times: list[dt.datetime] = []

    def feed(self, lines: pl.DataFrame) -> dict[str, pl.DataFrame]:
        self.times += lines["time"].to_list()
        return {}


def test_backfill_feeds_files_interleaved_by_time(tmp_path: Path) -> None:
    """Two files backfilled in small batches still reach the engine in time order."""
    logs = tmp_path / "logs"
    logs.mkdir()
    t0 = dt.datetime(2026, 11, 27, 5, 0, 0)
    for i in range(400):
        stamp = (t0 + dt.timedelta(seconds=i)).strftime("%b %d %H:%M:%S")
        name = "mail.log" if i % 3 else "dovecot.log"
        with open(logs / name, "a") as f:
            f.write(f"{stamp} mx01 postfix/smtpd[1]: line {i}\n")
    s = ParquetStore(tmp_path / "store", flush_interval=0, today=lambda: dt.date(2026, 11, 27))
    ing = Ingestor(
        s, [logs], engine_factory=Recorder, batch_bytes=300, feed_lines=1, background_commits=False
    )
    ing.backfill()
    times = ing.engine.times  # type: ignore[attr-defined]
    assert len(times) == 400 and times == sorted(times)
    assert ing.stats.commits > 10  # committed between partial releases...
    s.close()
    s2 = ParquetStore(tmp_path / "store", today=lambda: dt.date(2026, 11, 27))
    again = Ingestor(s2, [logs], engine_factory=Recorder, batch_bytes=300)
    again.backfill()
    assert again.stats.lines == 0  # ... and the checkpoints cover exactly what was fed
    assert s2.scan("lines").collect().height == 400


def _cut_by_time(files: dict[str, bytes], cuts: list[dt.datetime]) -> list[dict[str, bytes]]:
    """Split every file at the same moments, as live appends would be."""
    parts: list[dict[str, bytes]] = [{} for _ in range(len(cuts) + 1)]
    for name, data in files.items():
        lines = data.splitlines(keepends=True)
        times = split_lines(pl.Series([ln.decode(errors="replace") for ln in lines]), year=2026)[
            "time"
        ].to_list()
        for ln, t in zip(lines, times, strict=True):
            k = sum(1 for c in cuts if t is not None and t >= c)
            parts[k][name] = parts[k].get(name, b"") + ln
    return parts


@pytest.mark.parametrize("kind", ["real", "generated"])
def test_live_ingest_equals_one_shot_search(tmp_path: Path, kind: str) -> None:
    """Messages spanning batches, files, hosts, a crash and a restart: same rows as `search`."""
    from tracemail_tui.gen import generate
    from tracemail_tui.store import engine

    src = tmp_path / "src"
    if kind == "real":
        src.mkdir()
        for name in ("mail.log", "dovecot.log", "rspamd.log", "clamav.log"):
            (src / name).write_bytes((REAL / name).read_bytes())
    else:
        generate(src, lines=6000, days=0.1, seed=11)
    expected = engine.run([src])
    files = {str(p.relative_to(src)): p.read_bytes() for p in src.rglob("*") if p.is_file()}
    times = split_lines(
        pl.Series([ln.decode(errors="replace") for d in files.values() for ln in d.splitlines()]),
        year=2026,
    )["time"].drop_nulls()
    lo, hi = times.min(), times.max()
    parts = _cut_by_time(files, [lo + (hi - lo) / 3, lo + (hi - lo) * 2 / 3])  # type: ignore[operator]
    logs, root = tmp_path / "logs", tmp_path / "store"
    today = lambda: dt.date(2026, 11, 28)  # noqa: E731

    def append(part: dict[str, bytes]) -> None:
        for name, data in part.items():
            (logs / name).parent.mkdir(parents=True, exist_ok=True)
            with open(logs / name, "ab") as f:
                f.write(data)

    logs.mkdir()
    append(parts[0])
    s = ParquetStore(root, flush_interval=0, today=today)
    Ingestor(s, [logs], batch_bytes=16 << 10, feed_lines=150).backfill()
    s.close()
    append(parts[1])  # this run dies before committing
    s = ParquetStore(root, flush_interval=1e9, today=today)
    ing = Ingestor(s, [logs], batch_bytes=16 << 10, feed_lines=150)
    for batch in ing.tailer.poll():
        ing.handle(batch)
    s.close()
    append(parts[2])
    s = ParquetStore(root, flush_interval=0, today=today)
    Ingestor(s, [logs], batch_bytes=16 << 10, feed_lines=150).backfill()
    s.close()

    got = ParquetStore(root, readonly=True)
    for view in ("accesses", "received", "sent"):
        want = expected[view].sort("id")
        have = got.scan(view).collect().sort("id")
        assert have.height == want.height > 0, view
        assert have.equals(want.select(have.columns)), view
    assert got.scan("mailbox").collect().height == expected["mailbox"].height
    n_lines = sum(1 for d in files.values() for ln in d.splitlines() if ln)
    assert got.scan("lines").collect().height == n_lines


def test_follow_commits_in_the_background_and_on_stop(tmp_path: Path) -> None:
    import threading
    import time

    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "mail.log").write_bytes(
        (REAL / "mail.log").read_bytes()[:2000].rsplit(b"\n", 1)[0] + b"\n"
    )
    s = ParquetStore(tmp_path / "store", flush_interval=0.2, retention_days=100_000)
    ing = Ingestor(s, [logs])
    stop = threading.Event()
    th = threading.Thread(
        target=ing.follow,
        args=(stop,),
        kwargs={"debounce_ms": 50, "step_ms": 10, "timeout_ms": 200},
    )
    th.start()
    rest = (REAL / "mail.log").read_bytes()[len((logs / "mail.log").read_bytes()) :]
    time.sleep(0.3)
    with open(logs / "mail.log", "ab") as f:
        f.write(rest)
    deadline = time.monotonic() + 20
    want = len((REAL / "mail.log").read_bytes().splitlines())
    while s.scan("lines").collect().height < want and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    th.join()
    s.close()
    reader = ParquetStore(tmp_path / "store", readonly=True)
    assert reader.scan("lines").collect().height == want  # committed, once each
    assert reader.scan("received").collect().height > 0
    assert ing.stats.commits >= 2
