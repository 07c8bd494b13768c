"""The Parquet store: upserts, atomic commits, crash safety, modes, retention, erasure."""

from __future__ import annotations

import datetime as dt
import stat
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from tracemail_tui.store import manifest as mf
from tracemail_tui.store import query
from tracemail_tui.store.partitions import ParquetStore, StoreBusy
from tracemail_tui.store.query import Filters

TODAY = dt.date(2026, 11, 27)
ROOT = Path(__file__).parent.parent


def today() -> dt.date:
    return TODAY


def received(rows: list[tuple[str, str, str, str]]) -> pl.DataFrame:
    """(id, time, status, recipient) -> received rows."""
    return pl.DataFrame(
        {
            "id": [r[0] for r in rows],
            "time": [dt.datetime.fromisoformat(r[1]) for r in rows],
            "status": [r[2] for r in rows],
            "recipient": [r[3] for r in rows],
            "domain": [r[3].split("@")[1] for r in rows],
        }
    )


def lines(texts: list[tuple[str, str]]) -> pl.DataFrame:
    """(time, raw) -> lines rows."""
    return pl.DataFrame(
        {
            "time": [dt.datetime.fromisoformat(t) for t, _ in texts],
            "server": ["mx01"] * len(texts),
            "program": ["postfix/smtpd"] * len(texts),
            "raw": [r for _, r in texts],
        }
    )


def open_store(root: Path, **kw: object) -> ParquetStore:
    return ParquetStore(root, today=today, **kw)  # type: ignore[arg-type]


def rows(store: ParquetStore, view: str, f: Filters | None = None) -> pl.DataFrame:
    return query.query(store, view, f or Filters()).collect()


def test_hot_rows_are_queryable_and_upserted_by_id(tmp_path: Path) -> None:
    s = open_store(tmp_path)
    g0 = s.generation
    s.add({"received": received([("r-1", "2026-11-27T05:00:00", "accepted", "a@x.test")])})
    assert s.generation > g0
    s.add(
        {
            "received": received(
                [
                    ("r-1", "2026-11-27T05:00:00", "quarantined", "a@x.test"),
                    ("r-2", "2026-11-26T23:59:59", "rejected", "b@y.test"),
                ]
            )
        }
    )
    got = rows(s, "received")
    assert got.select("id", "status").rows() == [("r-2", "rejected"), ("r-1", "quarantined")]
    assert query.counts(s, "received", Filters()) == {
        "accepted": 0,
        "quarantined": 1,
        "rejected": 1,
    }


def test_commit_partitions_by_day_and_upserts_across_commits(tmp_path: Path) -> None:
    s = open_store(tmp_path)
    s.add(
        {
            "received": received(
                [
                    ("r-1", "2026-11-27T05:00:00", "accepted", "a@x.test"),
                    ("r-2", "2026-11-26T10:00:00", "accepted", "b@x.test"),
                ]
            )
        }
    )
    s.commit(checkpoints=[{"k": 1}])
    assert sorted(s.manifest.parts["received"]) == ["2026-11-26", "2026-11-27"]
    # r-1 changes after its first version was committed: the new one replaces it.
    s.add({"received": received([("r-1", "2026-11-27T05:00:00", "rejected", "a@x.test")])})
    assert rows(s, "received").select("id", "status").rows() == [
        ("r-2", "accepted"),
        ("r-1", "rejected"),
    ]
    s.commit(checkpoints=[{"k": 2}])
    assert [p.rows for p in s.manifest.parts["received"]["2026-11-27"]] == [1]
    s.close()
    s2 = open_store(tmp_path, readonly=True)
    assert rows(s2, "received").select("id", "status").rows() == [
        ("r-2", "accepted"),
        ("r-1", "rejected"),
    ]
    assert s2.checkpoints() == [{"k": 2}]
    one_day = rows(s2, "received", Filters(date=dt.date(2026, 11, 26)))
    assert one_day["id"].to_list() == ["r-2"]


def test_files_and_dirs_are_private(tmp_path: Path) -> None:
    root = tmp_path / "store"
    s = open_store(root)
    s.add({"lines": lines([("2026-11-27T05:00:00", "hello")])})
    s.commit(checkpoints=[], engine_state=b"state")
    for p in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode == (mf.DIR_MODE if p.is_dir() else mf.FILE_MODE), (p, oct(mode))


CRASH = """
import datetime as dt, os, sys
import polars as pl
from tracemail_tui.store.partitions import ParquetStore
s = ParquetStore(sys.argv[1], today=lambda: dt.date(2026, 11, 27))
s.add({"lines": pl.DataFrame({"time": [dt.datetime(2026, 11, 27, 5, 0, 1)], "raw": ["two"]})})
s._write_manifest = lambda new: os._exit(3)  # the process dies after the data write
s.commit(checkpoints=[{"offset": 8}])
"""


def test_crash_between_data_and_manifest_loses_nothing_and_duplicates_nothing(
    tmp_path: Path,
) -> None:
    s = open_store(tmp_path)
    s.add({"lines": lines([("2026-11-27T05:00:00", "one")])})
    s.commit(checkpoints=[{"offset": 4}])
    s.close()
    proc = subprocess.run([sys.executable, "-c", CRASH, str(tmp_path)], cwd=ROOT, check=False)
    assert proc.returncode == 3
    assert len(list(tmp_path.rglob("*.parquet"))) == 2  # the dead commit's file is there
    # A new process sees the last commit only; the orphaned file is cleaned up.
    s2 = open_store(tmp_path)
    assert s2.checkpoints() == [{"offset": 4}]
    assert rows(s2, "lines")["raw"].to_list() == ["one"]
    assert len(list(tmp_path.rglob("*.parquet"))) == 1
    # The tailer re-reads from offset 4 ("two" again): counted exactly once.
    s2.add({"lines": lines([("2026-11-27T05:00:01", "two")])})
    s2.commit(checkpoints=[{"offset": 8}])
    assert rows(s2, "lines")["raw"].to_list() == ["one", "two"]


def test_failed_commit_keeps_rows_for_the_next_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = open_store(tmp_path)
    s.add({"received": received([("r-1", "2026-11-27T05:00:00", "accepted", "a@x.test")])})
    s.commit(checkpoints=[{"offset": 1}])
    s.add({"received": received([("r-1", "2026-11-27T05:00:00", "rejected", "a@x.test")])})
    real = s._write_manifest
    monkeypatch.setattr(s, "_write_manifest", lambda new: (_ for _ in ()).throw(OSError("full")))
    with pytest.raises(OSError):
        s.commit(checkpoints=[{"offset": 2}])
    assert s.checkpoints() == [{"offset": 1}]
    assert len(list(tmp_path.rglob("*.parquet"))) == 1  # the unlisted file was removed
    # Still queryable in this process, and committed on the next try.
    assert rows(s, "received")["status"].to_list() == ["rejected"]
    monkeypatch.setattr(s, "_write_manifest", real)
    s.commit(checkpoints=[{"offset": 2}])
    s.close()
    got = rows(open_store(tmp_path, readonly=True), "received")
    assert got.select("id", "status").rows() == [("r-1", "rejected")]


def test_append_segments_merge_in_tiers(tmp_path: Path) -> None:
    s = open_store(tmp_path)
    for i in range(20):
        s.add({"lines": lines([(f"2026-11-27T05:00:{i:02d}", f"l{i}")])})
        s.commit(checkpoints=[])
    parts = s.manifest.parts["lines"]["2026-11-27"]
    assert len(parts) < 8
    assert rows(s, "lines")["raw"].to_list() == [f"l{i}" for i in range(20)]
    # Superseded files are deleted (one commit later, for scans in flight).
    s.commit(checkpoints=[])
    on_disk = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.parquet")}
    assert on_disk == {p.name for p in s.manifest.parts["lines"]["2026-11-27"]}


def test_retention_on_open_and_prune(tmp_path: Path) -> None:
    s = open_store(tmp_path, retention_days=30)
    s.add(
        {
            "received": received(
                [
                    (
                        "r-old",
                        "2026-10-27T12:00:00",
                        "accepted",
                        "a@x.test",
                    ),  # 31 days ago: too old
                    ("r-edge", "2026-10-28T12:00:00", "accepted", "a@x.test"),  # 30 days ago: kept
                    ("r-new", "2026-11-20T12:00:00", "accepted", "a@x.test"),
                ]
            )
        }
    )
    s.commit(checkpoints=[])
    assert rows(s, "received")["id"].to_list() == ["r-edge", "r-new"]
    s.close()
    # A week later the store opens with a shorter window: old days removed on open.
    later = ParquetStore(tmp_path, retention_days=7, today=lambda: dt.date(2026, 11, 27))
    assert rows(later, "received")["id"].to_list() == ["r-new"]
    assert later.prune(before=dt.date(2026, 11, 21)) == ["2026-11-20"]
    assert rows(later, "received").height == 0
    assert not list(tmp_path.rglob("*.parquet"))


def test_forget_erases_an_account_everywhere(tmp_path: Path) -> None:
    s = open_store(tmp_path)
    s.add(
        {
            "received": received(
                [
                    ("r-1", "2026-11-27T05:00:00", "accepted", "Alice@Example.com"),
                    ("r-2", "2026-11-27T05:00:01", "accepted", "alice+news@example.com"),
                    ("r-3", "2026-11-27T05:00:02", "accepted", "malice@example.com"),
                ]
            ),
            "lines": lines(
                [
                    ("2026-11-27T05:00:00", "to=<alice@example.com>, status=sent"),
                    ("2026-11-27T05:00:00", "to=<malice@example.com>, status=sent"),
                    ("2026-11-27T05:00:00", "removed"),
                ]
            ),
        }
    )
    s.commit(checkpoints=[])
    s.add({"received": received([("r-4", "2026-11-26T05:00:00", "accepted", "ALICE@example.com")])})
    removed = s.forget("alice@example.com")
    assert removed["received"] == 3 and removed["lines"] == 1
    assert rows(s, "received")["id"].to_list() == ["r-3"]
    assert rows(s, "lines")["raw"].to_list() == ["to=<malice@example.com>, status=sent", "removed"]
    s.close()
    assert rows(open_store(tmp_path), "received")["id"].to_list() == ["r-3"]
    for p in tmp_path.rglob("*.parquet"):
        assert b"alice@" not in p.read_bytes().replace(b"malice@", b"")


def test_single_writer_and_readonly_reader(tmp_path: Path) -> None:
    s = open_store(tmp_path)
    with pytest.raises(StoreBusy):
        open_store(tmp_path)
    s.add({"received": received([("r-1", "2026-11-27T05:00:00", "accepted", "a@x.test")])})
    s.commit(checkpoints=[])
    reader = open_store(tmp_path, readonly=True)
    g = reader.generation
    s.add({"received": received([("r-2", "2026-11-27T05:00:01", "accepted", "a@x.test")])})
    s.commit(checkpoints=[])
    assert reader.generation > g  # sees the other process's commit
    assert rows(reader, "received")["id"].to_list() == ["r-1", "r-2"]
    with pytest.raises(ValueError):
        reader.add({})
    with pytest.raises(ValueError):
        ParquetStore(tmp_path / "nothing", readonly=True)


def test_engine_state_round_trip(tmp_path: Path) -> None:
    s = open_store(tmp_path)
    s.commit(checkpoints=[], engine_state=b"one")
    s.commit(checkpoints=[], engine_state=b"two")
    s.commit(checkpoints=[])
    assert s.engine_state() == b"two"
    assert len(list((tmp_path / "state").iterdir())) == 1


def test_retracted_ids_disappear_from_memory_and_disk(tmp_path: Path) -> None:
    s = open_store(tmp_path)
    s.add(
        {
            "received": received(
                [
                    ("r-1", "2026-11-26T05:00:00", "accepted", "a@x.test"),
                    ("r-2", "2026-11-27T05:00:00", "accepted", "b@x.test"),
                ]
            )
        }
    )
    s.commit(checkpoints=[])
    s.add(
        {"received": received([("r-3", "2026-11-27T06:00:00", "accepted", "c@x.test")])},
        retract={"received": ["r-1"]},
    )
    assert rows(s, "received")["id"].to_list() == ["r-2", "r-3"]
    s.commit(checkpoints=[])
    assert "2026-11-26" not in s.manifest.parts["received"]  # the day held only r-1
    s.close()
    assert rows(open_store(tmp_path), "received")["id"].to_list() == ["r-2", "r-3"]


def test_retention_applies_daily_without_new_rows(tmp_path: Path) -> None:
    day = [dt.date(2026, 11, 27)]
    s = ParquetStore(tmp_path, retention_days=1, today=lambda: day[0])
    s.add({"received": received([("r-1", "2026-11-26T12:00:00", "accepted", "a@x.test")])})
    s.commit(checkpoints=[])
    assert not s.commit_due()
    day[0] = dt.date(2026, 11, 28)  # midnight passes while following an idle log
    assert s.commit_due()
    s.commit(checkpoints=[])
    assert rows(s, "received").height == 0 and not s.commit_due()
