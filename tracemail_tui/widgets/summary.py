"""The lines above the table: counts per outcome (clickable quick filters), hourly bars,
"showing N of M" and the live state. Only numbers and fixed words are rendered as
markup here; the one value from a log (a picked breakdown value, `group_label`) is
escaped and shown as literal `Content`.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.content import Content
from textual.message import Message
from textual.widgets import Static

from tracemail_tui.store.breakdown import NONE_LABEL
from tracemail_tui.widgets.columns import ICONS, LABELS
from tracemail_tui.widgets.safe_text import escape_controls

# Theme variables per outcome: colour is a hint, the icon and word carry the meaning.
TONES = {
    "success": "$text-success",
    "accepted": "$text-success",
    "delivered": "$text-success",
    "failed": "$text-error",
    "rejected": "$text-error",
    "quarantined": "$text-warning",
    "queued": "$text-warning",
}

BARS = " ▁▂▃▄▅▆▇█"
GROUP_CHARS = 20


def group_label(group: tuple[str, str | None]) -> str:
    """A picked breakdown value, short, controls escaped: "relay host: mx.b.test"."""
    name, value = group
    text = NONE_LABEL if value is None else escape_controls(value)
    if len(text) > GROUP_CHARS:
        text = text[: GROUP_CHARS - 1] + "…"
    return f"{name.replace('_', ' ')}: {text}"


class SummaryLine(Static):
    """`✓ Accepted 1,204  ⚑ Quarantined 12  ✗ Rejected 31`; a click filters on that outcome."""

    @dataclass
    class Picked(Message):
        """The user clicked an outcome (`None`: the active one again, i.e. clear it)."""

        status: str | None

    def show(self, counts: dict[str, int], active: str | None) -> None:
        """Render the counts; the active status filter is bold and bracketed."""
        parts = []
        for status, n in counts.items():
            label = f"{ICONS.get(status, '?')} {LABELS.get(status, status)} {n:,}"
            if status == active:
                label = f"[b]▸{label}◂[/b]"
            tone = TONES.get(status, "")
            parts.append(f"[@click=pick('{status}')][{tone}]{label}[/][/]")
        self.update(Content.from_markup("  ".join(parts)))
        self._active = active

    def action_pick(self, status: str) -> None:
        """A click on an outcome: filter on it, or clear it when it is already active."""
        self.post_message(self.Picked(None if getattr(self, "_active", None) == status else status))


def hour_bars(hours: list[int]) -> str:
    """24 block characters, one per hour, scaled to the busiest hour."""
    peak = max(hours) if hours else 0
    if peak == 0:
        return "·" * len(hours)
    top = len(BARS) - 1
    return "".join(BARS[min(top, -(-n * top // peak))] if n else "·" for n in hours)


class HourBars(Static):
    """Events per hour over the selected day, e.g. `00h ▁▂▃█▅▃▁… 23h  peak 14h 1,204`."""

    def show(self, hours: list[int], day: object) -> None:
        """Render the bars for `day` (a date, or None when there is no data)."""
        if day is None:
            self.update("no events")
            return
        peak = max(range(24), key=lambda h: hours[h])
        text = f"{day} 00h {hour_bars(hours)} 23h  peak {peak:02d}h {hours[peak]:,}/h"
        self.update(Content(text))
