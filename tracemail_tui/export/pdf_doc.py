"""The PDF canvas shared by all tracemail reports: fonts, page furniture, safe text, blocks.

Any Unicode renders: DejaVu Sans/Sans Mono cover Latin, Greek, Cyrillic, Hebrew, Arabic
and many symbols; Droid Sans Fallback adds CJK. HarfBuzz shaping (when `uharfbuzz` is
installed) applies the Unicode bidi algorithm, so right-to-left text reads correctly.
A character no font has (most colour emoji) becomes a visible ``[U+1F4E7]`` instead of
vanishing. Control and bidi-override characters are escaped first (`text.visible`).
"""

from __future__ import annotations

import datetime as dt
import os
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import IO, Final, cast

from fpdf import FPDF
from fpdf.enums import TableBordersLayout, XPos, YPos
from fpdf.fonts import FontFace

import tracemail_tui
from tracemail_tui.export.text import visible
from tracemail_tui.fileperm import write_private

FONT_DIR: Final = Path(__file__).parent / "fonts"
SANS: Final = "dejavu"
MONO: Final = "dejavumono"
CJK: Final = "droidfallback"
_FONT_FILES: Final = {
    (SANS, ""): "DejaVuSans.ttf",
    (SANS, "B"): "DejaVuSans-Bold.ttf",
    (MONO, ""): "DejaVuSansMono.ttf",
    (CJK, ""): "DroidSansFallbackFull.ttf",
}
PAPERS: Final = {"a4": "A4", "letter": "Letter"}
GREY: Final = (90, 90, 90)
RULE: Final = (190, 190, 190)
TONES: Final = {"good": (20, 120, 50), "warning": (170, 100, 0), "bad": (180, 30, 30)}


@lru_cache(maxsize=1)
def covered_codepoints() -> frozenset[int]:
    """Every code point some bundled font has a glyph for (read once per process)."""
    from fontTools.ttLib import TTFont

    points: set[int] = set()
    for name in _FONT_FILES.values():
        with TTFont(FONT_DIR / name, lazy=True) as font:
            points.update(font.getBestCmap())
    return frozenset(points)


MAX_TEXT: Final = 8_000
"""Longest text drawn in one place: a 1 MB hostile log line would be hundreds of pages,
so the rest is replaced by a visible "… [N more characters not shown]"."""
NEUTRAL_RUN: Final = 200
"""fpdf2's bidi step recurses once per character of a run without a strong direction
(spaces, punctuation) and is quadratic in it: 1,000 `<` crash it (RecursionError). Longer
runs are shortened to this many characters plus a visible "…[+N]"."""
_STRONG: Final = frozenset({"L", "R", "AL", "EN", "AN"})


def printable(text: str) -> str:
    """`text` made visible (escapes for controls) with glyph-less characters as ``[U+XXXX]``,
    bounded in length and in neutral runs (see MAX_TEXT, NEUTRAL_RUN)."""
    text = visible(text)
    covered = covered_codepoints()
    if not all(ord(ch) in covered for ch in text):
        text = "".join(ch if ord(ch) in covered else f"[U+{ord(ch):04X}]" for ch in text)
    return _bounded(text)


def _bounded(text: str) -> str:
    if len(text) > MAX_TEXT:
        text = f"{text[:MAX_TEXT]} … [{len(text) - MAX_TEXT} more characters not shown]"
    if len(text) <= NEUTRAL_RUN:
        return text
    out: list[str] = []
    run = skipped = 0
    for ch in text:
        if unicodedata.bidirectional(ch) in _STRONG:
            if skipped:
                out.append(f"…[+{skipped}]")
            run = skipped = 0
        else:
            run += 1
            if run > NEUTRAL_RUN:
                skipped += 1
                continue
        out.append(ch)
    if skipped:
        out.append(f"…[+{skipped}]")
    return "".join(out)


def paper_format(paper: str) -> str:
    """The fpdf2 page format for ``a4`` / ``letter`` (ValueError for anything else)."""
    try:
        return PAPERS[paper.lower()]
    except KeyError:
        raise ValueError(f"unknown paper size {paper!r} (expected a4 or letter)") from None


class ReportPDF(FPDF):
    """An FPDF with the bundled Unicode fonts, a running header and "page N of M" footer."""

    def __init__(self, *, title: str, paper: str = "a4", landscape: bool = False) -> None:
        super().__init__(orientation="L" if landscape else "P", format=paper_format(paper))
        self.report_title = title
        self.generated = dt.datetime.now(dt.UTC).replace(microsecond=0)
        for (family, style), file in _FONT_FILES.items():
            self.add_font(family, style, str(FONT_DIR / file))
        self.set_fallback_fonts([SANS, CJK], exact_match=False)
        try:  # shaping gives bidi reordering and Arabic joining; optional dependency
            self.set_text_shaping(True)
        except Exception:  # uharfbuzz missing: text still renders, RTL in logical order
            self.text_shaping = None
        self.set_title(title)
        self.set_creator(f"tracemail {tracemail_tui.__version__}")
        self.set_margins(15, 16, 15)
        self.set_auto_page_break(True, margin=16)
        self.set_font(SANS, size=9)

    # page furniture -------------------------------------------------------------------
    def header(self) -> None:
        self.set_font(SANS, size=7)
        self.set_text_color(*GREY)
        self.set_y(7)
        self.cell(0, 4, printable(self.report_title), align="L")
        self.set_text_color(0)
        self.set_y(self.t_margin)

    def footer(self) -> None:
        self.set_y(-11)
        self.set_font(SANS, size=7)
        self.set_text_color(*GREY)
        stamp = self.generated.strftime("%Y-%m-%d %H:%M UTC")
        self.cell(0, 4, f"tracemail {tracemail_tui.__version__} · generated {stamp}", align="L")
        self.set_x(self.l_margin)
        self.cell(0, 4, f"page {self.page_no()} of {{nb}}", align="R")
        self.set_text_color(0)

    # blocks -----------------------------------------------------------------------------
    def text_lines(self, height: float, text: str) -> None:
        """Left-aligned wrapped text over the full width (fpdf2 justifies by default)."""
        self.multi_cell(0, height, printable(text), align="L", new_x=XPos.LMARGIN,
                        new_y=YPos.NEXT)

    def title_block(self, title: str, subtitle: str, outcome: str, tone: str = "") -> None:
        """Big title, the outcome as icon + word (coloured by `tone` on top, never alone),
        and a grey subtitle (the result id)."""
        self.set_font(SANS, "B", 16)
        self.text_lines(8, title)
        self.set_font(SANS, "B", 13)
        self.set_text_color(*TONES.get(tone, (0, 0, 0)))
        self.text_lines(7, outcome)
        self.set_text_color(0)
        self.set_font(SANS, size=8)
        self.set_text_color(*GREY)
        self.text_lines(4.5, subtitle)
        self.set_text_color(0)
        self.ln(2)

    def section(self, heading: str) -> None:
        """A section heading with a rule under it; starts a new page if too close to the end."""
        if self.will_page_break(20):
            self.add_page()
        self.ln(2)
        self.set_font(SANS, "B", 11)
        self.cell(0, 6, printable(heading), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(*RULE)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(1.5)
        self.set_font(SANS, size=9)

    def paragraph(self, text: str, *, size: float = 9) -> None:
        """Wrapped body text."""
        self.set_font(SANS, size=size)
        self.text_lines(size * 0.5, text)
        self.ln(1)

    def key_values(self, pairs: Iterable[tuple[str, str]], *, key_width: float = 0.28) -> None:
        """A two-column table: field name (grey) | value (wrapped, never cut)."""
        self.set_font(SANS, size=8.5)
        key_style = FontFace(color=GREY)
        with self.table(
            col_widths=(key_width, 1 - key_width),
            first_row_as_headings=False,
            borders_layout=TableBordersLayout.HORIZONTAL_LINES,
            text_align="LEFT",
            line_height=4.2,
            padding=(0.8, 1.5),
            v_align="TOP",
        ) as table:
            for key, value in pairs:
                row = table.row()
                row.cell(printable(key), style=key_style)
                row.cell(printable(value))
        self.ln(1)

    def grid(
        self,
        headings: Sequence[str],
        rows: Iterable[Sequence[str]],
        col_widths: Sequence[float],
        *,
        size: float = 7.5,
        mono_cols: Sequence[int] = (),
    ) -> None:
        """A table with a heading row repeated on every page; text wraps per cell."""
        self.set_font(SANS, size=size)
        mono = FontFace(family=MONO, size_pt=size)
        with self.table(
            col_widths=tuple(col_widths),
            borders_layout=TableBordersLayout.HORIZONTAL_LINES,
            text_align="LEFT",
            line_height=size * 0.48,
            padding=(0.6, 1),
            v_align="TOP",
            headings_style=FontFace(emphasis="BOLD", size_pt=size),
        ) as table:
            head = table.row()
            for text in headings:
                head.cell(printable(text))
            for values in rows:
                row = table.row()
                for index, text in enumerate(values):
                    row.cell(printable(text), style=mono if index in mono_cols else None)
        self.ln(1)

    def compact_grid(
        self,
        headings: Sequence[str],
        rows: Iterable[Sequence[str]],
        col_widths: Sequence[float],
        *,
        size: float = 7,
    ) -> None:
        """A fast one-line-per-row table for long lists: cells too long for their column
        end in "…" (the CSV export and the one-result report carry the full values)."""
        total = sum(col_widths)
        widths = [self.epw * w / total for w in col_widths]
        height = size * 0.55
        pad = 1.0

        def heading_row() -> None:
            self.set_font(SANS, "B", size)
            self.set_draw_color(*RULE)
            for text, width in zip(headings, widths, strict=True):
                self.cell(width, height + 1, fit(self, printable(text), width - pad), border="B")
            self.ln(height + 1)
            self.set_font(SANS, size=size)

        heading_row()
        self.set_fill_color(242, 242, 242)
        for index, values in enumerate(rows):
            if self.will_page_break(height):
                self.add_page()
                heading_row()
            for text, width in zip(values, widths, strict=True):
                shown = fit(self, printable(text), width - pad)
                self.cell(width, height, shown, fill=index % 2 == 1)
            self.ln(height)
        self.ln(1)

    def mono_lines(self, lines: Iterable[str], *, size: float = 7) -> None:
        """Log lines in a monospaced block, numbered; long lines wrap under their text
        (the number marks where each logged line starts), nothing is cut."""
        gutter = 8.0
        height = size * 0.45
        width = self.epw - gutter - 1.5
        for number, line in enumerate(lines, start=1):
            text = printable(line)
            self.set_font(MONO, size=size)
            lines_out = self.multi_cell(width, height, text, align="L", dry_run=True,
                                        output="LINES")
            rows = len(cast(list[str], lines_out))
            # Keep a logged line on one page when it fits there; a reader (and a text
            # extractor) should not find it cut by the page footer.
            if self.will_page_break(rows * height) and rows * height < self.eph:
                self.add_page()
            self.set_font(SANS, size=size - 1)
            self.set_text_color(*GREY)
            self.set_x(self.l_margin)
            self.cell(gutter, height, str(number), align="R")
            self.set_text_color(0)
            self.set_font(MONO, size=size)
            self.set_x(self.l_margin + gutter + 1.5)
            # WORD wrap still splits a token longer than the line, so nothing is lost.
            self.multi_cell(width, height, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.ln(0.6)
        self.set_font(SANS, size=9)


def save(pdf: FPDF, target: str | os.PathLike[str] | IO[bytes]) -> None:
    """Write the finished document to a path or a binary file object."""
    if isinstance(target, str | os.PathLike):
        write_private(target, bytes(pdf.output()))  # personal data: 0600
    else:
        target.write(bytes(pdf.output()))


def fit(pdf: FPDF, text: str, width: float) -> str:
    """`text` shortened with "…" until it fits `width` (one line; text must be printable)."""
    full = pdf.get_string_width(text)
    if full <= width:
        return text
    keep = max(int(len(text) * width / full), 1)
    while keep > 0:
        short = text[:keep].rstrip() + "…"
        if pdf.get_string_width(short) <= width:
            return short
        keep -= max(1, keep // 20)
    return "…"
