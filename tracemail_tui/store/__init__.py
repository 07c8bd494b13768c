"""Headless core: reading, parsing, correlating and storing mail logs.

Nothing under `store/` imports Textual (a test checks it), so the CLI, the
exports and the TUI all sit on the same engine.
"""
