"""The results table: textual-fastdatatable on an Arrow table of ready-made strings.

A fresh table is mounted for every result (its `clear()` refuses), and column widths are
given up front so the widget never measures a million cells on the UI thread.
"""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa
from textual.binding import Binding, BindingType
from textual_fastdatatable import ArrowBackend
from textual_fastdatatable.data_table import DataTable

from tracemail_tui.widgets.columns import ColumnSpec


class PremeasuredBackend(ArrowBackend):
    """An Arrow backend whose column widths are known, so nothing is measured."""

    def __init__(self, data: pa.Table, widths: list[int]) -> None:
        super().__init__(data)
        self._widths = widths

    @property
    def column_content_widths(self) -> list[int]:
        return self._widths


class ResultsTable(DataTable):
    """Rows of one view, newest last; vim keys on top of the arrows."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, id="table.down"),
        Binding("k", "cursor_up", "Up", show=False, id="table.up"),
        Binding("g", "scroll_home", "First row", show=False, id="table.first"),
        Binding("G", "scroll_end", "Last row", show=False, id="table.last"),
    ]

    def __init__(self, table: pa.Table, columns: list[tuple[ColumnSpec, int]]) -> None:
        widths = [w for _, w in columns]
        super().__init__(
            backend=PremeasuredBackend(table, widths),
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
