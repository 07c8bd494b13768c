"""The `?` help screen, generated from the bindings themselves (never out of date)."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


def key_label(binding: Binding) -> str:
    """How a key is written for people (`[`, `space`, `ctrl+q`)."""
    if binding.key_display:
        return binding.key_display
    names = {
        "slash": "/",
        "question_mark": "?",
        "left_square_bracket": "[",
        "right_square_bracket": "]",
        "escape": "esc",
    }
    # "escape,t": one binding, several keys
    return "/".join(names.get(key, key) for key in binding.key.split(","))


def bindings_table(sections: list[tuple[str, list[BindingType]]]) -> Table:
    """One row per binding with a description, grouped by where it applies."""
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True)
    table.add_column()
    for title, bindings in sections:
        table.add_row(Text(title, style="bold underline"), "")
        for b in bindings:
            if isinstance(b, Binding) and b.description:
                table.add_row(Text(key_label(b), style="bold"), Text(b.description))
        table.add_row("", "")
    return table


class HelpScreen(ModalScreen[None]):
    """All keys, by section; `esc`, `q` or `?` closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close", id="help.close"),
    ]

    def __init__(self, sections: list[tuple[str, list[BindingType]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with Vertical(id="help"):
            yield Static("tracemail — keys   (esc closes, ctrl+p: every command)", id="help-title")
            with VerticalScroll():
                yield Static(bindings_table(self.sections))
