"""Regenerate docs/report-example.png: page 1 of the PDF report of scenario R12.

Run from the repository root (needs poppler-utils' pdftoppm):
    python docs/report_example.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from export_data import r12, r12_evidence, r12_locate  # noqa: E402

from tracemail_tui.export.pdf_report import write_result_pdf  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        pdf = Path(tmp) / "report.pdf"
        write_result_pdf(
            r12(), pdf, view="received", lines=r12_evidence(), locate=r12_locate(),
            query={"domain": "example.com", "date": "2026-11-27", "text": "URGENT"},
        )
        prefix = Path(tmp) / "page"
        subprocess.run(
            ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", pdf, prefix],
            check=True,
        )
        (ROOT / "docs" / "report-example.png").write_bytes(prefix.with_suffix(".png").read_bytes())


if __name__ == "__main__":
    main()
