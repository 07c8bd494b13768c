"""Scope, redaction and hidden subjects through every CLI command, on the real logs.

The real run has customers of two domains: example.com (alice, bob, gina, ...) and
example.org (carol, dave, henry, ...). With `--scope example.org` no output may contain an
example.com address or the subject of a message that only concerned example.com; R14 is
one transaction to both domains, so its evidence lines must hide bob's and gina's address.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import polars as pl
import pypdf
import pytest
from typer.testing import CliRunner

from tracemail_tui.cli.common import app
from tracemail_tui.store.ingest import Ingestor
from tracemail_tui.store.partitions import ParquetStore

REAL = Path(__file__).parent / "fixtures" / "real"


def real_store(root: Path) -> ParquetStore:
    """The real logs in a store, as `tracemail tui` / `ingest` put them there."""
    store = ParquetStore(root)
    Ingestor(store, [str(REAL)]).backfill()
    return store
NO_CONFIG = {"TRACEMAIL_CONFIG": "/nonexistent.toml", "TRACEMAIL_REDACT_KEY": "test-key"}
runner = CliRunner()


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    res = runner.invoke(app, list(args), env={**NO_CONFIG, **(env or {})})
    return res.exit_code, res.stdout, res.stderr


def pdf_text(path: Path) -> str:
    """Text of a PDF with line breaks removed (an address may wrap across lines)."""
    return "".join(p.extract_text() for p in pypdf.PdfReader(path).pages).replace("\n", "")


@pytest.fixture(scope="module")
def unscoped() -> dict[str, list[dict[str, object]]]:
    out = {}
    for view in ("accesses", "received", "sent"):
        code, text, _ = invoke("search", view, str(REAL), "-f", "json")
        assert code == 0
        out[view] = json.loads(text)
    return out


def _domains(row: dict[str, object]) -> set[str]:
    return {str(row[c]).rpartition("@")[2] for c in ("user", "sender", "recipient", "account")
            if row.get(c)}


@pytest.fixture(scope="module")
def r14_henry(unscoped: dict[str, list[dict[str, object]]]) -> str:
    """Id of henry's row of R14 (one transaction to bob, gina, ghost and henry)."""
    return next(str(r["id"]) for r in unscoped["received"]
                if r["queue_id"] == "AA119162551" and r["recipient"] == "henry@example.org")


@pytest.fixture(scope="module")
def forbidden(unscoped: dict[str, list[dict[str, object]]]) -> list[str]:
    """Subjects of mail that only example.com was party to (R14 is shared, so allowed)."""
    rows = unscoped["received"] + unscoped["sent"]
    ours = {r["subject"] for r in rows if "example.org" in _domains(r)}
    only_com = {r["subject"] for r in rows if "example.com" in _domains(r)} - ours
    subjects = sorted(s for s in only_com if isinstance(s, str) and len(s) > 6)
    assert len(subjects) >= 8  # the test would prove nothing without them
    return subjects


def assert_clean(text: str, forbidden: list[str]) -> None:
    assert not re.search(r"@example\.com\b", text, re.IGNORECASE), text[:2000]
    for subject in forbidden:
        assert subject[:25] not in text, subject


@pytest.mark.parametrize("fmt", ["table", "csv", "json", "jsonl"])
@pytest.mark.parametrize("view", ["accesses", "received", "sent"])
def test_search_scope_every_format(view: str, fmt: str, forbidden: list[str]) -> None:
    code, out, _ = invoke("--scope", "example.org", "search", view, str(REAL), "-f", fmt)
    assert code == 0
    assert_clean(out, forbidden)
    assert "example.org" in out  # and the customer's own rows are there


def test_scope_from_env_and_config(tmp_path: Path, forbidden: list[str]) -> None:
    code, out, _ = invoke("search", "received", str(REAL), "-f", "json",
                          env={"TRACEMAIL_SCOPE": "example.org"})
    assert code == 0 and len(json.loads(out)) == 5
    assert_clean(out, forbidden)
    cfg = tmp_path / "c.toml"
    cfg.write_text('scope = ["example.org"]\n')
    code, out, _ = invoke("search", "sent", str(REAL), "-f", "csv",
                          env={"TRACEMAIL_CONFIG": str(cfg)})
    assert code == 0 and out.count("\n") == 2  # header + henry's GTUBE
    assert_clean(out, forbidden)


def test_search_scope_output_file(tmp_path: Path, forbidden: list[str]) -> None:
    target = tmp_path / "out.csv"
    code, _, _ = invoke("--scope", "example.org", "search", "received", str(REAL),
                        "-f", "csv", "-o", str(target))
    assert code == 0
    assert_clean(target.read_text("utf-8"), forbidden)


def test_stats_counts_rows_in_scope_only(forbidden: list[str]) -> None:
    code, out, _ = invoke("--scope", "example.org", "stats", str(REAL), "-f", "json")
    assert code == 0
    data = json.loads(out)
    assert data["rows"] == {"accesses": 7, "received": 5, "sent": 1}
    assert data["scope"] == ["example.org"] and data["lines"] == 852
    assert_clean(out, forbidden)
    code, out, _ = invoke("--scope", "example.org", "stats", str(REAL))
    assert code == 0 and "rows counted in scope only" in out
    assert_clean(out, forbidden)


def test_locate_out_of_scope_account_is_not_found() -> None:
    mid = "<r01.6acd47.21d421@partner.test>"
    code, out, _ = invoke("locate", mid, "--account", "alice@example.com", str(REAL), "-f", "json")
    assert code == 0 and json.loads(out)["state"] == "in-folder"
    code, out, _ = invoke("--scope", "example.org", "locate", mid, "--account",
                          "alice@example.com", str(REAL), "-f", "json")
    found = json.loads(out)
    assert code == 0 and found["state"] == "unknown" and found["history"] == []
    # In scope, the customer's own mailbox is still located.
    code, out, _ = invoke("--scope", "example.org", "locate", "<r14.6acd47.6a103b@partner.test>",
                          "--account", "henry@example.org", str(REAL), "-f", "json")
    assert code == 0 and json.loads(out)["state"] == "in-folder"


def test_report_refuses_out_of_scope_id(tmp_path: Path, unscoped: dict) -> None:
    bob = next(r["id"] for r in unscoped["received"] if r["recipient"] == "bob@example.com")
    target = tmp_path / "r.pdf"
    code, _, err = invoke("--scope", "example.org", "report", "received", bob, str(REAL),
                            "-o", str(target))
    assert code == 2 and "no received result" in err and not target.exists()


def test_report_evidence_hides_other_customers(
    tmp_path: Path, forbidden: list[str], r14_henry: str
) -> None:
    plain, scoped = tmp_path / "plain.pdf", tmp_path / "scoped.pdf"
    assert invoke("report", "received", r14_henry, str(REAL), "-o", str(plain))[0] == 0
    assert "bob@example.com" in pdf_text(plain)  # the leak the scope must close
    code, _, _ = invoke("--scope", "example.org", "report", "received", r14_henry, str(REAL),
                        "-o", str(scoped))
    assert code == 0
    text = pdf_text(scoped)
    assert_clean(text, forbidden)
    assert "[out-of-scope address]" in text and "henry@example.org" in text
    assert "Price list 2026" in text  # henry's own subject stays
    assert stat.S_IMODE(scoped.stat().st_mode) == 0o600


def test_bad_scope_is_usage_error() -> None:
    code, out, err = invoke("--scope", " , ", "search", "sent", str(REAL))
    assert code == 2 and out == "" and err.startswith("tracemail: error: --scope")


# ---------------------------------------------------------------- redaction
ADDRESSES = ("petra@partner.test", "alice@example.com", "henry@example.org")


@pytest.mark.parametrize("fmt", ["table", "csv", "json", "jsonl"])
def test_search_redact_every_format(fmt: str) -> None:
    code, out, _ = invoke("search", "received", str(REAL), "-f", fmt, "--redact")
    assert code == 0
    for address in ADDRESSES:
        assert address not in out
    assert "u-" in out and "127.0.0.10" not in out and "Price list" not in out
    if fmt in ("json", "jsonl"):
        rows = [json.loads(x) for x in out.splitlines()] if fmt == "jsonl" else json.loads(out)
        assert all(r["subject"] is None for r in rows)
        assert {r["client_ip"] for r in rows} <= {"127.0.0.0/24", None}


def test_redacted_pseudonyms_are_stable_with_the_key() -> None:
    first = invoke("search", "sent", str(REAL), "-f", "json", "--redact")[1]
    again = invoke("search", "sent", str(REAL), "-f", "json", "--redact")[1]
    other = invoke("search", "sent", str(REAL), "-f", "json", "--redact",
                   env={"TRACEMAIL_REDACT_KEY": "another"})[1]
    assert first == again and first != other


def test_related_rows_keep_their_own_scope(tmp_path: Path, unscoped: dict) -> None:
    """R04: carol's forwarded copy is a sent row of partner.test's (sender and recipient):
    a report scoped to example.org tells carol's row, not that other row; redacted, the copy's
    address is pseudonymised like every other one."""
    carol = next(r["id"] for r in unscoped["received"] if r["recipient"] == "carol@example.org")
    told = "The forwarded copy to carol.private@partner.test was delivered"
    for args, present in ((["--scope", "partner.test"], True), (["--scope", "example.org"], False),
                          ([], True)):
        target = tmp_path / f"{len(args)}-{present}.pdf"
        code, _, err = invoke(*args, "report", "received", carol, str(REAL), "-o", str(target))
        assert code == 0, err
        assert (told in pdf_text(target)) is present, args
    redacted = tmp_path / "redacted.pdf"
    assert invoke("report", "received", carol, str(REAL), "-o", str(redacted), "--redact")[0] == 0
    text = pdf_text(redacted)
    assert "carol.private@partner.test" not in text
    assert re.search(r"The forwarded copy to u-[0-9a-f]+@partner\.test was delivered", text)


def test_failed_login_burst_counts_only_the_scope(tmp_path: Path, unscoped: dict) -> None:
    """carol's failure came from the address that also failed for two example.com names:
    scoped to example.org her report must not count (or hint at) the other customer's."""
    carol = next(r["id"] for r in unscoped["accesses"] if r["user"] == "carol@example.org"
                 and r["status"] == "failed")
    plain, scoped = tmp_path / "plain.pdf", tmp_path / "scoped.pdf"
    assert invoke("report", "accesses", carol, str(REAL), "-o", str(plain))[0] == 0
    assert "From 127.0.0.31, 5 failed logins for 3 accounts" in pdf_text(plain)
    code, _, err = invoke("--scope", "example.org", "report", "accesses", carol, str(REAL),
                          "-o", str(scoped))
    assert code == 0, err
    text = pdf_text(scoped)
    assert "failed logins" not in text and "No successful login of carol@example.org" in text


def test_report_redact(tmp_path: Path, r14_henry: str) -> None:
    target = tmp_path / "r.pdf"
    code, _, _ = invoke("report", "received", r14_henry, str(REAL), "-o", str(target), "--redact")
    assert code == 0
    text = pdf_text(target)
    for address in ADDRESSES:
        assert address not in text
    assert "Price list 2026" not in text and "[subject removed]" in text


# ---------------------------------------------------------------- subjects off
def test_show_subjects_false_everywhere(tmp_path: Path, unscoped: dict, r14_henry: str) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("show_subjects = false\n")
    env = {"TRACEMAIL_CONFIG": str(cfg)}
    subjects = {r["subject"] for r in unscoped["received"] if r["subject"]}
    for fmt in ("table", "csv", "json", "jsonl"):
        code, out, _ = invoke("search", "received", str(REAL), "-f", fmt, env=env)
        assert code == 0
        assert not any(s[:20] in out for s in subjects), fmt
    rows = json.loads(invoke("search", "received", str(REAL), "-f", "json", env=env)[1])
    assert rows and all(r["subject"] is None for r in rows)
    assert "petra@partner.test" in json.dumps(rows)  # nothing else hidden
    target = tmp_path / "r.pdf"
    assert invoke("report", "received", r14_henry, str(REAL), "-o", str(target), env=env)[0] == 0
    text = pdf_text(target)
    assert "Price list 2026" not in text and "[subject removed]" in text


# ---------------------------------------------------------------- file modes
def test_exports_are_private_whatever_the_umask(tmp_path: Path, r14_henry: str) -> None:
    old = os.umask(0o022)
    try:
        csv_out, pdf_out = tmp_path / "s.csv", tmp_path / "r.pdf"
        csv_out.write_text("old")
        csv_out.chmod(0o644)  # an existing world-readable file is tightened too
        assert invoke("search", "sent", str(REAL), "-f", "csv", "-o", str(csv_out))[0] == 0
        assert invoke("report", "received", r14_henry, str(REAL), "-o", str(pdf_out))[0] == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(csv_out.stat().st_mode) == 0o600
    assert stat.S_IMODE(pdf_out.stat().st_mode) == 0o600


def test_show_subjects_from_environment(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("show_subjects = true\n")
    env = {"TRACEMAIL_CONFIG": str(cfg), "TRACEMAIL_SHOW_SUBJECTS": "off"}
    rows = json.loads(invoke("search", "sent", str(REAL), "-f", "json", env=env)[1])
    assert rows and all(r["subject"] is None for r in rows)
    env["TRACEMAIL_SHOW_SUBJECTS"] = "1"
    rows = json.loads(invoke("search", "sent", str(REAL), "-f", "json", env=env)[1])
    assert any(r["subject"] for r in rows)


def test_global_scope_reaches_config_load_during_the_command_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The TUI and the exports call `config.load()`: `--scope` must reach them, and must
    not outlive the invocation."""
    from tracemail_tui import config
    from tracemail_tui.cli import search as search_mod

    seen: list[tuple[str, ...]] = []
    real = search_mod.run_engine

    def spy(*args: object, **kw: object) -> object:
        seen.append(config.load().scope)
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(search_mod, "run_engine", spy)
    assert invoke("--scope", "Example.ORG", "search", "sent", str(REAL))[0] == 0
    assert seen == [("example.org",)]
    monkeypatch.setenv("TRACEMAIL_CONFIG", "/nonexistent.toml")
    monkeypatch.delenv("TRACEMAIL_SCOPE", raising=False)
    assert config.load().scope == ()


def test_tui_adapters_apply_the_scope(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, r14_henry: str, forbidden: list[str]
) -> None:
    """The screens get evidence, locate and exports through `adapters`: scoped there too."""
    from tracemail_tui import adapters
    from tracemail_tui.store.query import Filters

    monkeypatch.setenv("TRACEMAIL_CONFIG", "/nonexistent.toml")
    monkeypatch.setenv("TRACEMAIL_SCOPE", "example.org")
    store = real_store(tmp_path / "store")
    row = store.scan("received").filter(pl.col("id") == r14_henry).collect().row(0, named=True)
    raw = "\n".join(adapters.evidence(store, "received", row).get_column("raw"))
    assert "henry@example.org" in raw and "[out-of-scope address]" in raw
    assert_clean(raw, forbidden)
    gone = adapters.locate(store, "<r01.6acd47.21d421@partner.test>", "alice@example.com")
    assert gone["state"] == "unknown" and gone["history"] == []
    monkeypatch.setenv("TRACEMAIL_SHOW_SUBJECTS", "0")
    path = adapters.export_csv(store, "received", Filters(scope=("example.org",)), tmp_path)
    text = path.read_text("utf-8")
    assert "henry@example.org" in text and "Price list" not in text
    assert_clean(text, forbidden)


def test_private_source_for_the_screens(
    unscoped: dict, forbidden: list[str], tmp_path: Path
) -> None:
    """What `tracemail tui` hands the app: scoped views and mailbox, hidden subjects."""
    from tracemail_tui.export.privacy import Privacy

    store = real_store(tmp_path / "store")
    assert Privacy().source(store) is store  # nothing to hide: the store itself
    seen = Privacy(scope=("example.org",), show_subjects=False).source(store)
    received = seen.scan("received").collect()
    assert received.height == 5 and received.get_column("subject").null_count() == 5
    assert_clean(received.write_csv(), forbidden)
    users = set(seen.scan("mailbox").collect().get_column("user"))
    assert users and all(u.endswith("@example.org") for u in users)
    assert seen.generation == store.generation and seen.root == store.root
