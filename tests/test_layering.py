"""The headless core must never import Textual: the CLI and exports rely on it."""

import subprocess
import sys


def test_store_and_export_do_not_import_textual() -> None:
    code = (
        "import sys, pkgutil, importlib\n"
        "import tracemail_tui.store as s, tracemail_tui.export as e\n"
        "for pkg in (s, e):\n"
        "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "        importlib.import_module(m.name)\n"
        "bad = [m for m in sys.modules if m == 'textual' or m.startswith('textual.')]\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_schema_views_match_design() -> None:
    from tracemail_tui.store import schema

    assert list(schema.ACCESSES)[:18] == [
        "id", "time", "logout_time", "status", "error", "user", "domain", "protocol", "client",
        "server", "local_ip", "remote_ip", "session", "bytes_in", "bytes_out", "deleted",
        "expunged", "trashed",
    ]
    assert schema.empty("received").columns[:3] == ["id", "time", "status"]
    assert schema.STATUSES["sent"] == ("delivered", "rejected", "queued")
