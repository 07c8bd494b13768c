"""Which columns of each view are DESIGN.md fields, and which hold what kind of data.

Exports show the DESIGN.md fields (the stable contract) in schema order; the schema's
extra columns are offered separately so an export never depends on internals.
"""

from __future__ import annotations

from typing import Final

from tracemail_tui.store import schema

# The DESIGN.md fields are the leading columns of each schema, up to the first extra.
_FIRST_EXTRA: Final = {"accesses": "tls", "received": "subject_source", "sent": "subject_source"}


def design_fields(view: str) -> tuple[str, ...]:
    """DESIGN.md field names of `view` (with `id` first), in schema order."""
    names = list(schema.SCHEMAS[view])
    return tuple(names[: names.index(_FIRST_EXTRA[view])])


def extra_fields(view: str) -> tuple[str, ...]:
    """Schema columns of `view` beyond DESIGN.md (engine extras), in schema order."""
    return tuple(name for name in schema.SCHEMAS[view] if name not in design_fields(view))


def check_view(view: str) -> None:
    """Raise ValueError for anything but a result view name."""
    if view not in schema.VIEWS:
        raise ValueError(f"unknown view {view!r} (expected one of {', '.join(schema.VIEWS)})")
