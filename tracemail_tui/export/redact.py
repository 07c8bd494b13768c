"""Pseudonymisation for handing results to third parties.

- addresses → ``u-<keyed hash>@domain``: HMAC-SHA256 of the lower-cased address with a
  secret key, so the same address always gets the same pseudonym (rows stay linkable)
  but nobody without the key can test a guess; the domain is kept, or pseudonymised
  (``d-<hash>.invalid``) with ``domains=True``;
- IPs → their network: IPv4 /24 (``203.0.113.0/24``), IPv6 /48;
- subjects → dropped (null in frames, ``[subject removed]`` inside log lines);
- absolute file paths in text → ``[path]``: a mailbox path names its user
  (``/var/vmail/example.org/nina/.dovecot.sieve`` in Pigeonhole's lines, lab R33);
- client names, hosts of our own servers, statuses, times → kept.

Frames are redacted column by column with a map over each column's *unique* values
(Python's HMAC and ``ipaddress`` per distinct value, then a vectorised ``replace``).
Message-ids look like addresses and often embed one, so they get the address treatment.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import polars as pl

KEY_ENV: Final = "TRACEMAIL_REDACT_KEY"
KEY_FILE_NAME: Final = "redact.key"
HASH_CHARS: Final = 10  # 40 bits: collisions stay unlikely up to ~100k addresses

# Which columns hold what, per view. Free-text columns may embed addresses and IPs.
ADDRESS_COLUMNS: Final = {
    "accesses": ("user",),
    "received": ("sender", "recipient", "orig_recipient"),
    "sent": ("sender", "recipient", "account"),
}
IP_COLUMNS: Final = {
    "accesses": ("local_ip", "remote_ip"),
    "received": ("client_ip",),
    "sent": ("relay_ip", "client_ip"),
}
TEXT_COLUMNS: Final = {
    "accesses": (),
    "received": ("reason", "message_id", "forwarded_to", "filter_rule", "helo", "client_host"),
    "sent": ("reason", "message_id", "relay_host"),
}
SUBJECT_COLUMNS: Final = ("subject",)
DOMAIN_COLUMNS: Final = ("domain",)

_LOCAL: Final = r"[^\s<>()\[\]{},;:\"'=@/\\]"
# The lookbehind lets a local part start only where a run of local-part characters starts:
# without it a 1 MB line without `@` is rescanned from every position (quadratic).
_ADDRESS_RE: Final = re.compile(
    rf"(?<!{_LOCAL}){_LOCAL}+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*"
)
_IPV4_RE: Final = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?!\.?\d)")
_IPV6_RE: Final = re.compile(r"(?<![\w:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:%\w+)?")
# Subjects inside log lines: Dovecot mail_log `subject=...` runs to the end of the line;
# Postfix header_checks INFO `header Subject: ... from host[ip];` ends at the client.
_DOVECOT_SUBJECT_RE: Final = re.compile(r"(\bsubject=).*$", re.IGNORECASE)
_POSTFIX_SUBJECT_RE: Final = re.compile(
    r"(\bheader Subject: ).*?(?=( from [^\s\[]+\[[^\]\[\s]*\](?::\d+)?;)|$)", re.IGNORECASE
)
# An absolute path of two or more segments, not part of a URL, a ratio (`delays=0.1/0/0`)
# or Postfix's `[private/dovecot-lmtp]`. Segments exclude "/", so no backtracking blow-up.
_PATH_RE: Final = re.compile(r"(?<![\w/:.~\]-])/(?:[^\s/'\"()<>,;\[\]]+/)+[^\s/'\"()<>,;\[\]]*")
PATH_REMOVED: Final = "[path]"
# Dovecot mail_log `from=Display Name <addr>`: the display name is personal too.
_DISPLAY_NAME_RE: Final = re.compile(r"(\bfrom=)([^<,=]*[^<,=\s])(\s*<)")
SUBJECT_REMOVED: Final = "[subject removed]"
NOTICE: Final = "yes (addresses pseudonymised, IPs masked, subjects removed)"
NAME_REMOVED: Final = "[name removed]"


def load_key(key: str | bytes | None = None) -> bytes:
    """The HMAC key: `key`, else `$TRACEMAIL_REDACT_KEY`, else `redact_key` of the config
    file, else the per-user key file.

    The key file (in the user config dir) is created with a random key on first use,
    so pseudonyms are stable across runs on one machine and unguessable elsewhere.
    """
    if key is None:
        key = os.environ.get(KEY_ENV) or None
    if key is None:
        from tracemail_tui import config

        key = config.load().redact_key or None
    if key is None:
        key = _key_file_key()
    return key.encode() if isinstance(key, str) else key


def _key_file_key() -> bytes:
    from platformdirs import user_config_dir

    path = Path(user_config_dir("tracemail")) / KEY_FILE_NAME
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(value + b"\n")
    return value


def mask_ip(text: str) -> str | None:
    """The /24 (IPv4) or /48 (IPv6) network of an IP; None if `text` is not an IP."""
    try:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


@dataclass(frozen=True)
class Redactor:
    """Keyed pseudonymiser; one instance gives the same pseudonyms everywhere it is used."""

    key: bytes
    domains: bool = False  # also pseudonymise the domain part

    @classmethod
    def from_config(cls, key: str | bytes | None = None, *, domains: bool = False) -> Redactor:
        """A redactor with the configured key (see `load_key`)."""
        return cls(load_key(key), domains=domains)

    def _digest(self, kind: str, value: str) -> str:
        mac = hmac.new(self.key, f"{kind}:{value}".encode(), hashlib.sha256)
        return mac.hexdigest()[:HASH_CHARS]

    def domain(self, domain: str) -> str:
        """The domain as shown after redaction (kept unless `domains`)."""
        domain = domain.lower()
        return f"d-{self._digest('domain', domain)}.invalid" if self.domains else domain

    def address(self, address: str) -> str:
        """`u-<hash>@domain` for an address (``u-<hash>`` for a bare user name)."""
        address = address.strip().lower()
        local, at, domain = address.rpartition("@")
        pseudonym = f"u-{self._digest('address', address)}"
        return f"{pseudonym}@{self.domain(domain)}" if at and local else pseudonym

    def ip(self, text: str) -> str:
        """An IP masked to its network; anything else is treated as free text."""
        return mask_ip(text.strip()) or self.text(text)

    def text(self, text: str, subjects: Iterable[str] = ()) -> str:
        """Free text (a log line, a reject reason) with subjects, display names,
        addresses and IPs replaced. `subjects`: known subjects to remove literally too."""
        text = remove_subjects(text, subjects)
        text = _PATH_RE.sub(PATH_REMOVED, text)
        text = _DISPLAY_NAME_RE.sub(rf"\g<1>{NAME_REMOVED}\g<3>", text)
        text = _ADDRESS_RE.sub(lambda m: self.address(m.group(0)), text)
        text = _IPV4_RE.sub(_masked_match, text)
        return _IPV6_RE.sub(_masked_match, text)

    def frame(self, df: pl.DataFrame, view: str) -> pl.DataFrame:
        """A view frame (accesses/received/sent) with every personal column redacted."""
        if view not in ADDRESS_COLUMNS:
            raise ValueError(f"cannot redact view {view!r}")
        jobs: list[tuple[str, Callable[[str], str]]] = [
            *((c, self.address) for c in ADDRESS_COLUMNS[view]),
            *((c, self.ip) for c in IP_COLUMNS[view]),
            *((c, self.text) for c in TEXT_COLUMNS[view]),
            *((c, self.domain) for c in DOMAIN_COLUMNS),
        ]
        exprs = [_map_unique(df, col, fn) for col, fn in jobs if col in df.columns]
        dropped = [c for c in SUBJECT_COLUMNS if c in df.columns]
        exprs += [pl.lit(None, dtype=pl.String).alias(c) for c in dropped]
        return df.with_columns(exprs) if exprs else df

    def lines(self, lines: pl.DataFrame, subjects: Iterable[str] = ()) -> pl.DataFrame:
        """Evidence lines (`schema.LINES`) with addresses, IPs and subjects replaced in `raw`."""
        known = [s for s in subjects if s]
        if "raw" not in lines.columns:
            return lines
        return lines.with_columns(_map_unique(lines, "raw", lambda t: self.text(t, known)))

    def row(self, row: dict[str, Any], view: str) -> dict[str, Any]:
        """One result (a dict of a view row) redacted like `frame`."""
        if not row:
            return dict(row)
        return self.frame(pl.DataFrame([row]), view).row(0, named=True)

    def query(self, query: Mapping[str, Any] | None) -> dict[str, Any]:
        """A query description (filters shown in a report) with text values redacted:
        `--account alice@example.com` must not survive in a pseudonymised report."""
        return {
            key: self.text(value) if isinstance(value, str) else value
            for key, value in (query or {}).items()
        }

    def locate(self, result: dict[str, Any]) -> dict[str, Any]:
        """A locate result with its account and message-id pseudonymised."""
        out = dict(result)
        if out.get("account"):
            out["account"] = self.address(out["account"])
        if out.get("message_id"):
            out["message_id"] = self.text(out["message_id"])
        return out


def remove_subjects(text: str, subjects: Iterable[str] = ()) -> str:
    """`text` (a log line) with logged subjects replaced by ``[subject removed]``: the
    Dovecot ``subject=`` and Postfix ``header Subject:`` fields, and `subjects` literally."""
    for subject in subjects:
        if subject and len(subject) >= 4:
            text = text.replace(subject, SUBJECT_REMOVED)
    text = _DOVECOT_SUBJECT_RE.sub(rf"\g<1>{SUBJECT_REMOVED}", text)
    return _POSTFIX_SUBJECT_RE.sub(rf"\g<1>{SUBJECT_REMOVED}", text)


def mask_addresses(text: str, keep: Callable[[str], bool], mask: str) -> str:
    """`text` with every address (or message-id) for which `keep(address)` is false
    replaced by `mask`; the address finder is the one pseudonymisation uses."""
    return _ADDRESS_RE.sub(lambda m: m.group(0) if keep(m.group(0)) else mask, text)


def _masked_match(match: re.Match[str]) -> str:
    """Regex callback: an IP candidate masked, or left alone if it is no IP (e.g. `12:30:00`)."""
    found = match.group(0)
    if not any(ch.isalnum() for ch in found):  # a bare "::" in prose is no address
        return found
    return mask_ip(found) or found


def _map_unique(df: pl.DataFrame, column: str, fn: Callable[[str], str]) -> pl.Expr:
    """`column` with `fn` applied once per distinct non-null value (then a vectorised replace)."""
    series = df.get_column(column)
    if series.dtype != pl.String:
        series = series.cast(pl.String)
    uniques = series.drop_nulls().unique().to_list()
    mapping = {value: fn(value) for value in uniques}
    return pl.col(column).cast(pl.String).replace(mapping).alias(column)
