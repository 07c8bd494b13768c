"""Snapshots of each view and of the detail modal at 80x24 and 160x48, and of the `t`
breakdown at 80x24.

Fixed synthetic data and a frozen clock: nothing in these renders depends on real time.
Update after an intended change with `pytest tests/tui/test_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from tests.tui.data import store
from tests.tui.helpers import make_app, settle

SIZES = [(80, 24), (160, 48)]


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x48"])
@pytest.mark.parametrize("view", ["accesses", "received", "sent"])
def test_view(snap_compare, view: str, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    async def ready(pilot: Pilot) -> None:
        await settle(pilot)

    assert snap_compare(make_app(store(), view), terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x48"])
def test_detail_modal(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    async def open_detail(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("k", "k", "enter")  # a row with Rich markup in its subject
        await settle(pilot)

    assert snap_compare(make_app(store(), "received"), terminal_size=size, run_before=open_detail)


def test_breakdown_screen(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def open_top(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("s", "s")  # Sent: rejected, so the reasons have something to say
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)

    assert snap_compare(make_app(store(), "sent"), terminal_size=(80, 24), run_before=open_top)
