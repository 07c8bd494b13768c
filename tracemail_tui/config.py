"""User configuration: where the logs are, where the store lives, scope and privacy.

Read from ``$TRACEMAIL_CONFIG`` or ``<user config dir>/tracemail/config.toml``; every key
is optional and environment variables override the file, so a systemd unit or a
one-off shell can steer tracemail without editing files. Example::

    logs = ["/var/log/mail.log", "/var/log/dovecot.log", "/var/log/rspamd/rspamd.log"]
    store = "/var/lib/tracemail"
    retention_days = 30
    scope = ["example.com"]          # confine every view, search and export to these
    show_subjects = true
    queue_lifetime_days = 5          # Postfix's maximal_queue_lifetime, if not the default
    [hosts]                          # host for log files that do not name one
    "/var/log/dovecot.log" = "imap1"
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from platformdirs import user_config_dir, user_data_dir


@dataclass(frozen=True)
class Config:
    """Resolved settings (file, then environment, then command-line flags on top)."""

    logs: tuple[Path, ...] = ()
    store: Path = field(default_factory=lambda: Path(user_data_dir("tracemail")))
    retention_days: int = 30
    scope: tuple[str, ...] = ()
    show_subjects: bool = True
    hosts: dict[str, str] = field(default_factory=dict)
    redact_key: str | None = None
    queue_lifetime_days: float | None = None  # Postfix's maximal_queue_lifetime; None: default


def _flag(env_value: str | None, default: object) -> bool:
    """A boolean from the environment ("0", "false", "no", "off" are false) or the file."""
    if env_value is None:
        return bool(default)
    return env_value.strip().lower() not in ("0", "false", "no", "off", "")


# Command-line flags of this process (e.g. the global `--scope`), applied by every `load()`
# so the CLI, the TUI and the exports all see the same settings.
_OVERRIDES: dict[str, object] = {}


def override(**settings: object) -> None:
    """Set this process's command-line settings (replacing earlier ones; None = unset)."""
    _OVERRIDES.clear()
    _OVERRIDES.update({k: v for k, v in settings.items() if v is not None})


def _days(value: object) -> float | None:
    """A positive number of days (Postfix's maximal_queue_lifetime), or None if unset."""
    if value is None or value == "":
        return None
    try:
        days = float(str(value))
    except ValueError:
        raise ValueError(f"queue_lifetime_days must be a number of days, not {value!r}") from None
    if not 0 < days <= 365:
        raise ValueError("queue_lifetime_days must be more than 0 and at most 365")
    return days


def config_path() -> Path:
    """Where the config file is looked for."""
    env = os.environ.get("TRACEMAIL_CONFIG")
    return Path(env) if env else Path(user_config_dir("tracemail")) / "config.toml"


def load(path: Path | None = None) -> Config:
    """Load the config; a missing file means defaults, a broken one a clear ValueError."""
    path = path or config_path()
    data: dict = {}
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read config {path}: {exc}") from exc
    env = os.environ
    logs = env.get("TRACEMAIL_LOGS")
    scope = env.get("TRACEMAIL_SCOPE")
    cfg = Config(
        logs=tuple(Path(p) for p in (logs.split(":") if logs else data.get("logs", [])) if p),
        retention_days=int(env.get("TRACEMAIL_RETENTION_DAYS", data.get("retention_days", 30))),
        scope=tuple(
            d.strip().lower()
            for d in (scope.split(",") if scope else data.get("scope", []))
            if d.strip()
        ),
        show_subjects=_flag(env.get("TRACEMAIL_SHOW_SUBJECTS"), data.get("show_subjects", True)),
        hosts={str(k): str(v) for k, v in data.get("hosts", {}).items()},
        redact_key=env.get("TRACEMAIL_REDACT_KEY", data.get("redact_key")),
        queue_lifetime_days=_days(env.get("TRACEMAIL_QUEUE_LIFETIME_DAYS",
                                          data.get("queue_lifetime_days"))),
    )
    store = env.get("TRACEMAIL_STORE", data.get("store"))
    if store:
        cfg = Config(**{**cfg.__dict__, "store": Path(store)})
    if _OVERRIDES:
        cfg = Config(**{**cfg.__dict__, **_OVERRIDES})
    if cfg.retention_days < 1:
        raise ValueError("retention_days must be at least 1")
    return cfg
