"""Shared fixtures: the hand-made tiny day (see tests/utils.py for its picture)."""

from __future__ import annotations

import pytest

from scheduler.domain import Day
from tests.utils import tiny_day as _tiny_day


@pytest.fixture(scope="session")
def tiny_day() -> Day:
    """Two technicians, a lift and a wash, three bookings, oil short until 10:00."""
    return _tiny_day()
