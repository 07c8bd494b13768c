"""The demo log set: the bundled `demo_data/`, or the same bytes made on the spot.

`demo_data/` sits at the top of the source tree and is not part of an installed package;
`make_demo()` regenerates it in a tenth of a second, so `tracemail demo` works either way.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

from tracemail_tui.gen.batch import generate
from tracemail_tui.gen.options import GenOptions

#: Must match the command in demo_data/README.md (a test checks both). Two days ending on
#: 2026-11-27 18:00: the day the app opens on is well filled, and live demo lines continue
#: from there (see `DEMO_END`).
_START = datetime(2026, 11, 25, 18, 0)
_DAYS = 2.0
DEMO_OPTIONS: dict[str, object] = {
    "seed": 2026,
    "lines": 20000,
    "days": _DAYS,
    "start": _START,
    "n_domains": 40,
    "n_accounts": 400,
}

#: Where the demo logs end: live demo lines continue from here at real speed.
DEMO_END = _START + timedelta(days=_DAYS)

BUNDLED = Path(__file__).resolve().parents[2] / "demo_data"


def make_demo(dest: Path | str) -> Path:
    """Put the demo log set into `dest` (copied if bundled, else generated); returns `dest`.

    `dest` should be a scratch directory: live mode then appends to these files.
    """
    dest = Path(dest)
    if (BUNDLED / "mx1" / "mail.log").exists():
        shutil.copytree(BUNDLED, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.md"))
    else:
        generate(dest, GenOptions(**DEMO_OPTIONS))  # type: ignore[arg-type]
    return dest
