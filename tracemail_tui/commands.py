"""Command palette entries, one per action bound to a key on the current screen.

Generated from the active bindings (like the help screen), so every action reachable
by a key is reachable by name too, and new bindings show up without extra code.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider

from tracemail_tui.screens.help import key_label

# Shown in the palette under clearer names than the footer's short labels.
NAMES = {
    "view.filter": "Focus the filter bar",
    "view.prev_day": "Previous day",
    "view.next_day": "Next day",
    "view.follow": "Toggle follow (stick to newest rows)",
    "view.pause": "Pause / resume live updates",
    "view.export_csv": "Export the shown rows as CSV",
    "view.cycle_status": "Cycle the outcome filter",
    "view.clear": "Clear filters (keep the day)",
    "view.top": "Top values of a field (reason, relay, remote IP…) over the shown rows",
    "screen.details": "Open details of the selected row",
    "screen.accesses": "Show Accesses",
    "screen.received": "Show Received",
    "screen.sent": "Show Sent",
    "detail.locate": "Locate the message (folder / deleted / POP)",
    "detail.pdf": "PDF report of this result",
    "detail.copy": "Copy the message-id / session id",
    "detail.related": "Open the related result (forward copy or original, retry, next login)",
    "app.help": "Help: all keys",
    "app.quit": "Quit",
}


class ActionsProvider(Provider):
    """Every binding of the screen's focus chain as a palette command."""

    def _commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        screen = self.screen
        seen: set[str] = set()
        out: list[tuple[str, str, Callable[[], object]]] = []
        for active in screen.active_bindings.values():
            binding: Binding = active.binding
            if not binding.description or binding.system:
                continue
            name = NAMES.get(binding.id or "", binding.description)
            if name in seen or binding.id in (None, "table.down", "table.up"):
                continue
            seen.add(name)
            # The app runs it in the namespace of the node that owns the binding.
            action = partial(self.app.run_action, binding.action, active.node)
            out.append((name, f"key: {key_label(binding)}", action))
        return out

    async def discover(self) -> Hits:
        for name, help_text, action in self._commands():
            yield DiscoveryHit(name, action, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, action in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), action, help=help_text)
