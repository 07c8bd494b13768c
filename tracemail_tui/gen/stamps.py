"""Timestamp prefixes in the forms real daemons write, cached per second.

Events reach a file in time order, so each formatter keeps only the last
second it formatted: one `time.gmtime` + `strftime` per second per file, not per line.
Times are seconds since the epoch of a *naive local* clock (formatted as UTC, no zone
conversion), so generated logs look the same on every machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable

_MON = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DOW = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

#: Styles of the syslog-like prefix Postfix (and Dovecot via syslog) lines get.
SYSLOG_STYLES = ("postlogd", "syslog", "rfc3339")


def _postlogd(tm: time.struct_time) -> str:  # Postfix maillog_file: "Nov 07 05:39:56"
    return (
        f"{_MON[tm.tm_mon - 1]} {tm.tm_mday:02d} {tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}"
    )


def _syslog(tm: time.struct_time) -> str:  # classic syslogd: "Nov  7 05:39:56"
    return f"{_MON[tm.tm_mon - 1]} {tm.tm_mday:2d} {tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}"


def _rfc3339(tm: time.struct_time) -> str:  # rsyslog high precision, fraction added per line
    return (
        f"{tm.tm_year:04d}-{tm.tm_mon:02d}-{tm.tm_mday:02d}"
        f"T{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}"
    )


def _rspamd(tm: time.struct_time) -> str:  # "2026-11-27 05:39:56"
    return (
        f"{tm.tm_year:04d}-{tm.tm_mon:02d}-{tm.tm_mday:02d}"
        f" {tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}"
    )


def _clamav(tm: time.struct_time) -> str:  # ctime(): "Fri Nov 27 05:40:08 2026 ->"
    return (
        f"{_DOW[tm.tm_wday]} {_MON[tm.tm_mon - 1]} {tm.tm_mday:2d} "
        f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d} {tm.tm_year:04d} ->"
    )


def _roundcube(tm: time.struct_time) -> str:  # rcube::write_log 'd-M-Y H:i:s O'
    return (
        f"[{tm.tm_mday:02d}-{_MON[tm.tm_mon - 1]}-{tm.tm_year:04d} "
        f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d} +0000]:"
    )


_BUILDERS: dict[str, Callable[[time.struct_time], str]] = {
    "postlogd": _postlogd,
    "syslog": _syslog,
    "rfc3339": _rfc3339,
    "dovecot": _postlogd,  # Dovecot log_timestamp default "%b %d %H:%M:%S "
    "rspamd": _rspamd,
    "clamav": _clamav,
    "roundcube": _roundcube,
}

STYLES = tuple(_BUILDERS)


class Stamper:
    """Formats the timestamp prefix of one file; remembers the last second."""

    __slots__ = ("_build", "_frac", "_last_s", "_last_txt")

    def __init__(self, style: str) -> None:
        if style not in _BUILDERS:
            raise ValueError(f"unknown timestamp style {style!r} (one of {', '.join(STYLES)})")
        self._build = _BUILDERS[style]
        self._frac = style == "rfc3339"
        self._last_s = -1
        self._last_txt = ""

    def __call__(self, t: float) -> str:
        """Prefix for time `t` (seconds), without the trailing space."""
        s = int(t)
        if s != self._last_s:
            self._last_s = s
            self._last_txt = self._build(time.gmtime(s))
        if self._frac:
            return f"{self._last_txt}.{int((t - s) * 1e6):06d}+00:00"
        return self._last_txt


def iso(t: float) -> str:
    """ISO 8601 local time at second resolution, as the output contract writes it."""
    tm = time.gmtime(int(t))
    return (
        f"{tm.tm_year:04d}-{tm.tm_mon:02d}-{tm.tm_mday:02d}"
        f"T{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}"
    )


def compact(t: float) -> str:
    """`20261127054017`: the stamp Postfix puts in the Message-ID of its bounce notices."""
    return time.strftime("%Y%m%d%H%M%S", time.gmtime(int(t)))


def postfix_secs(x: float) -> str:
    """A delay the way Postfix prints it: `0`, `0.05`, `1.2`, `37`."""
    if x < 0.005:
        return "0"
    if x < 1:
        return f"{x:.2f}".rstrip("0").rstrip(".")
    if x < 10:
        return f"{x:.1f}".rstrip("0").rstrip(".")
    return str(int(x))
