"""The sample days in scenarios/: each loads, and each is the workshop its README describes.

They are demo material and fixtures for other tests, so besides loading they must keep the
properties that make them realistic and plannable: the load, the morning peak, the waiter share,
the late brake-pad delivery, the CSV export of the EV dealer.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from fractions import Fraction
from pathlib import Path

import pytest

from scheduler.domain import Day
from scheduler.io import BOOKING_COLUMNS, load_day

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
DAY_FILES = ("small-shop.yaml", "city-dealer.yaml", "ev-dealer.yaml")


def technician_load(day: Day) -> float:
    """Standard minutes of all booked operations / technicians' working minutes."""
    work = sum(op.minutes for b in day.bookings for _, _, op in day.operations(b))
    capacity = sum(e - s for t in day.workshop.technicians for s, e in t.working_windows())
    return work / capacity


def standard_minutes(day: Day, booking_id: str) -> int:
    """Standard minutes of one booking's operations."""
    return sum(op.minutes for _, _, op in day.operations(day.booking(booking_id)))


def waiter_share(day: Day) -> float:
    """Share of bookings whose customer waits on site."""
    return sum(b.waiting for b in day.bookings) / len(day.bookings)


def hhmm(text: str) -> int:
    """Minutes since midnight of "HH:MM"."""
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


@pytest.fixture(scope="module")
def days() -> dict[str, Day]:
    """Every sample day, loaded once."""
    return {name: load_day(SCENARIOS / name) for name in DAY_FILES}


def test_the_scenarios_folder_holds_exactly_the_documented_days() -> None:
    assert sorted(p.name for p in SCENARIOS.glob("*.yaml")) == sorted(DAY_FILES)
    readme = (SCENARIOS / "README.md").read_text(encoding="utf-8")
    for name in (*DAY_FILES, "ev-dealer-bookings.csv"):
        assert f"`{name}`" in readme


@pytest.mark.parametrize("name", DAY_FILES)
def test_every_sample_loads_and_is_coherent(days: dict[str, Day], name: str) -> None:
    day = days[name]
    ws = day.workshop
    assert day.date == dt.date(2026, 11, 26)
    assert day.bookings
    for b in day.bookings:
        assert ws.open <= b.arrival < ws.close
        assert b.customer and b.vehicle
        if b.waiting:
            # A waiter's promise leaves room for the work itself.
            assert b.promised is not None
            assert b.promised >= b.arrival + standard_minutes(day, b.id)
        if b.technician is not None:
            first_skill = day.operations(b)[0][2].skill
            assert first_skill in ws.technician(b.technician).skills
    # Every skill and bay kind the catalogue needs is on shift for some part of the day.
    for service in ws.services.values():
        for op in service.operations:
            assert any(op.skill in t.skills and t.working_windows() for t in ws.technicians)
            assert any(op.bay in bay.kinds for bay in ws.bays)
    # No skill is booked beyond the working minutes of the people who have it.
    need: dict[str, int] = {}
    for b in day.bookings:
        for _, _, op in day.operations(b):
            need[op.skill] = need.get(op.skill, 0) + op.minutes
    for skill, minutes in need.items():
        hands = sum(
            e - s for t in ws.technicians if skill in t.skills for s, e in t.working_windows()
        )
        assert minutes <= 0.9 * hands, skill


@pytest.mark.parametrize("name", DAY_FILES)
def test_every_time_in_the_yaml_is_quoted(name: str) -> None:
    text = (SCENARIOS / name).read_text(encoding="utf-8")
    data_lines = [line.split("#")[0] for line in text.splitlines()]  # comments may say 10:00
    times = [m for line in data_lines for m in re.findall(r"\"?\b\d{1,2}:\d{2}\b\"?", line)]
    assert times
    assert all(t.startswith('"') and t.endswith('"') for t in times)


def test_small_shop(days: dict[str, Day]) -> None:
    day = days["small-shop.yaml"]
    ws = day.workshop
    assert (len(ws.bays), len(ws.technicians)) == (3, 3)
    assert 10 <= len(day.bookings) <= 14
    assert 0.65 <= technician_load(day) <= 0.9
    assert 0.2 <= waiter_share(day) <= 0.45


def test_city_dealer_has_the_bays_and_staff_of_a_city_dealer(days: dict[str, Day]) -> None:
    ws = days["city-dealer.yaml"].workshop
    assert ws.timezone == "Asia/Shanghai"
    assert len(ws.bays) == 10
    kinds = [k for bay in ws.bays for k in bay.kinds]
    assert {"lift", "ev", "alignment", "tyre", "wash"} <= set(kinds)
    assert len(ws.technicians) == 9
    assert len({t.shift for t in ws.technicians}) >= 2  # early and late shifts
    assert all(t.breaks for t in ws.technicians)
    efficiencies = {t.efficiency for t in ws.technicians}
    assert Fraction("1.25") in efficiencies and Fraction("0.9") in efficiencies
    assert any(t.absent for t in ws.technicians)
    for code in ("MINOR", "MAJOR", "BRAKES", "TYRES", "ALIGN", "EVCHK", "DIAG", "WASH", "AC"):
        assert code in ws.services
    assert any(len(s.operations) > 1 for s in ws.services.values())  # service then wash


def test_city_dealer_bookings_have_a_morning_peak_and_a_third_waiters(
    days: dict[str, Day],
) -> None:
    day = days["city-dealer.yaml"]
    assert 45 <= len(day.bookings) <= 55
    assert 0.7 <= technician_load(day) <= 0.85
    assert 0.3 <= waiter_share(day) <= 0.4
    drop_offs = [b for b in day.bookings if not b.waiting]
    peak = [b for b in drop_offs if hhmm("07:30") <= b.arrival <= hhmm("09:30")]
    assert len(peak) / len(drop_offs) >= 0.75
    assert sum(b.technician is not None for b in day.bookings) >= 3
    priorities = {b.priority for b in day.bookings}
    assert {Fraction(3, 2), Fraction(2)} <= priorities
    assert any(len(b.services) > 1 for b in day.bookings)


def test_city_dealer_brake_pads_arrive_late_for_some_bookings(days: dict[str, Day]) -> None:
    day = days["city-dealer.yaml"]
    pads = day.workshop.parts["BRK-PAD-F"]
    need = sum(op.parts.get("BRK-PAD-F", 0) for b in day.bookings for _, _, op in day.operations(b))
    assert pads.deliveries == ((hhmm("11:00"), pads.deliveries[0][1]),)
    assert pads.on_hand < need <= pads.total  # some must wait for the delivery, none go without
    # A brake job that arrives before the delivery cannot all start from the shelf.
    early = [
        b
        for b in day.bookings
        if b.arrival < hhmm("11:00")
        and any("BRK-PAD-F" in op.parts for _, _, op in day.operations(b))
    ]
    assert len(early) > pads.on_hand


def test_ev_dealer_reads_its_bookings_from_the_csv(days: dict[str, Day]) -> None:
    text = (SCENARIOS / "ev-dealer.yaml").read_text(encoding="utf-8")
    assert re.search(r"^bookings: ev-dealer-bookings\.csv$", text, re.MULTILINE)
    with (SCENARIOS / "ev-dealer-bookings.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0].keys()) == BOOKING_COLUMNS
    day = days["ev-dealer.yaml"]
    assert len(day.bookings) == len(rows)
    assert 140 <= len(day.bookings) <= 160
    # The reader kept what the CSV says, row by row.
    for row, booking in zip(rows, day.bookings, strict=True):
        assert booking.id == row["id"]
        assert booking.services == tuple(row["services"].split(";"))
        assert booking.waiting == (row["waiting"] == "true")
        assert (booking.technician or "") == row["technician"]


def test_ev_dealer_is_large_and_electric(days: dict[str, Day]) -> None:
    day = days["ev-dealer.yaml"]
    ws = day.workshop
    assert ws.timezone.startswith("Europe/")
    assert 23 <= len(ws.bays) <= 27
    assert 20 <= len(ws.technicians) <= 24
    assert sum("ev" in bay.kinds for bay in ws.bays) >= 8
    ev_bookings = [b for b in day.bookings if any(op.bay == "ev" for _, _, op in day.operations(b))]
    assert len(ev_bookings) >= 0.3 * len(day.bookings)
    electric_cars = [b for b in day.bookings if b.vehicle.endswith("E")]  # German E plates
    assert len(electric_cars) >= 0.5 * len(day.bookings)
    assert 0.65 <= technician_load(day) <= 0.85
    assert 0.2 <= waiter_share(day) <= 0.4
    assert any(not t.working_windows() for t in ws.technicians)  # someone is off sick
    assert any(p.deliveries for p in ws.parts.values())
