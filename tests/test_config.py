"""Configuration: file, environment override, clear errors."""

from pathlib import Path

import pytest

from tracemail_tui import config


def test_defaults_without_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("TRACEMAIL_LOGS", "TRACEMAIL_SCOPE", "TRACEMAIL_STORE", "TRACEMAIL_RETENTION_DAYS"):
        monkeypatch.delenv(var, raising=False)
    cfg = config.load(tmp_path / "none.toml")
    assert cfg.retention_days == 30 and cfg.logs == () and cfg.scope == ()


def test_file_then_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "c.toml"
    f.write_text('logs = ["/a/mail.log"]\nscope = ["Example.COM"]\nretention_days = 7\n'
                 'store = "/tmp/s"\n[hosts]\n"/a/dovecot.log" = "imap1"\n')
    monkeypatch.delenv("TRACEMAIL_LOGS", raising=False)
    monkeypatch.delenv("TRACEMAIL_STORE", raising=False)
    monkeypatch.delenv("TRACEMAIL_RETENTION_DAYS", raising=False)
    monkeypatch.setenv("TRACEMAIL_SCOPE", "example.org, example.net")
    cfg = config.load(f)
    assert cfg.logs == (Path("/a/mail.log"),)
    assert cfg.scope == ("example.org", "example.net")
    assert cfg.retention_days == 7 and cfg.store == Path("/tmp/s")
    assert cfg.hosts == {"/a/dovecot.log": "imap1"}


def test_broken_file_is_a_clear_error(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text("logs = [")
    with pytest.raises(ValueError, match="cannot read config"):
        config.load(f)


def test_queue_lifetime_days(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Postfix's maximal_queue_lifetime when a server changed it; unset means the default."""
    monkeypatch.delenv("TRACEMAIL_QUEUE_LIFETIME_DAYS", raising=False)
    f = tmp_path / "c.toml"
    assert config.load(f).queue_lifetime_days is None
    f.write_text("queue_lifetime_days = 3\n")
    assert config.load(f).queue_lifetime_days == 3.0
    monkeypatch.setenv("TRACEMAIL_QUEUE_LIFETIME_DAYS", "1.5")
    assert config.load(f).queue_lifetime_days == 1.5
    for bad in ("0", "-2", "forever"):
        monkeypatch.setenv("TRACEMAIL_QUEUE_LIFETIME_DAYS", bad)
        with pytest.raises(ValueError, match="queue_lifetime_days"):
            config.load(f)
