"""The results table: textual-fastdatatable on an Arrow table of ready-made strings.

A fresh table is mounted for every result (its `clear()` refuses), and column widths are
given up front so the widget never measures a million cells on the UI thread.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pyarrow as pa
from rich.text import Text
from textual.binding import Binding, BindingType
from textual_fastdatatable import ArrowBackend
from textual_fastdatatable.data_table import DataTable

from tracemail_tui.widgets.columns import ColumnSpec, Formatter


class FormattingBackend(ArrowBackend):
    """Arrow backend that formats cells as they are rendered and never measures.

    Column widths are given (from `columns.fit`), and only the rows on screen are ever
    formatted, so a 200k-row result costs the same to show as a 20-row one.
    """

    def __init__(self, data: pa.Table, widths: list[int], formats: list[Formatter]) -> None:
        super().__init__(data)
        self._widths = widths
        self._formats = formats

    @property
    def column_content_widths(self) -> list[int]:
        return self._widths

    def get_row_at(self, index: int) -> list[Any]:
        values = super().get_row_at(index)
        return [fmt(v) for fmt, v in zip(self._formats, values, strict=True)]

    def get_cell_at(self, row_index: int, column_index: int) -> Any:
        return self._formats[column_index](super().get_cell_at(row_index, column_index))

    def get_column_at(self, column_index: int) -> list[Any]:
        fmt = self._formats[column_index]
        return [fmt(v) for v in super().get_column_at(column_index)]


class ResultsTable(DataTable):
    """Rows of one view, newest last; vim keys on top of the arrows."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, id="table.down"),
        Binding("k", "cursor_up", "Up", show=False, id="table.up"),
        Binding("g", "scroll_home", "First row", show=False, id="table.first"),
        Binding("G", "scroll_end", "Last row", show=False, id="table.last"),
    ]

    def __init__(
        self, table: pa.Table, columns: list[tuple[ColumnSpec, int]], formats: list[Formatter]
    ) -> None:
        widths = [w for _, w in columns]
        super().__init__(
            backend=FormattingBackend(table, widths, formats),
            column_labels=[Text(spec.label) for spec, _ in columns],
            column_widths=list(widths),
            cursor_type="row",
            render_markup=False,  # log content is shown literally, never as Rich markup
            null_rep="—",
            max_column_content_width=max(widths, default=10),
        )

    @property
    def at_end(self) -> bool:
        """Is the cursor on the last (newest) row? (follow mode sticks only then)."""
        return self.row_count == 0 or self.cursor_row >= self.row_count - 1
