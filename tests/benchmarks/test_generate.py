"""The day generator: every size loads, is deterministic, hits its load and has every feature.

Planner tests lean on generated days to exercise shifts, breaks, absences, bay windows, part
deliveries and shortages, preferences and priorities, so these tests check that each of those is
really in the generated data, read back through the day-file reader.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import re
import sys
import time
from fractions import Fraction
from pathlib import Path
from types import ModuleType

import pytest

from scheduler.domain import Day
from scheduler.io import load_day, parse_day, parse_day_text

ROOT = Path(__file__).resolve().parents[2]
SIZES = ("tiny", "small", "medium", "large", "xl")
SEEDS = range(5)


def _load_generator() -> ModuleType:
    """Import benchmarks/generate.py by path: benchmarks/ is scripts, not an installed package."""
    spec = importlib.util.spec_from_file_location(
        "_benchmarks_generate", ROOT / "benchmarks" / "generate.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being created
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


def technician_load(day: Day) -> float:
    """Standard minutes of all booked operations / technicians' working minutes."""
    work = sum(op.minutes for b in day.bookings for _, _, op in day.operations(b))
    capacity = sum(
        end - start for t in day.workshop.technicians for start, end in t.working_windows()
    )
    return work / capacity


def standard_minutes(day: Day, booking_id: str) -> int:
    """Standard minutes of one booking's operations."""
    return sum(op.minutes for _, _, op in day.operations(day.booking(booking_id)))


def part_demand(day: Day) -> dict[str, int]:
    """Units of each part that all the day's bookings together would use."""
    demand = dict.fromkeys(day.workshop.parts, 0)
    for booking in day.bookings:
        for _, _, op in day.operations(booking):
            for sku, qty in op.parts.items():
                demand[sku] += qty
    return demand


@pytest.fixture(scope="module")
def days() -> dict[tuple[str, int], Day]:
    """Every size for five seeds, read back through the day-file reader."""
    return {(size, seed): gen.generate_day_object(size, seed) for size in SIZES for seed in SEEDS}


@pytest.fixture(scope="module")
def rush_days() -> dict[int, Day]:
    """Saturday-morning rush days for five seeds."""
    return {seed: gen.generate_day_object(rush=True, seed=seed) for seed in SEEDS}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("seed", SEEDS)
def test_every_size_and_seed_loads_with_its_counts(size: str, seed: int) -> None:
    data = gen.generate_day(size, seed)
    day = parse_day(data)
    profile = gen.SIZES[size]
    assert len(day.bookings) == profile.bookings
    assert len(day.workshop.bays) == profile.bays
    assert len(day.workshop.technicians) == profile.technicians
    # The YAML text says the same as the data it was written from.
    assert parse_day_text(gen.to_yaml(data)) == day


def test_xl_is_300_bookings_40_bays_35_technicians(days: dict[tuple[str, int], Day]) -> None:
    for seed in SEEDS:
        ws = days["xl", seed].workshop
        assert (len(days["xl", seed].bookings), len(ws.bays), len(ws.technicians)) == (300, 40, 35)


def test_tiny_is_small_enough_to_check_by_hand(days: dict[tuple[str, int], Day]) -> None:
    for seed in SEEDS:
        day = days["tiny", seed]
        assert len(day.bookings) == 4
        assert len(day.workshop.bays) == 2
        assert len(day.workshop.technicians) == 2
        assert day.workshop.close - day.workshop.open <= 6 * 60


@pytest.mark.parametrize("size", SIZES)
def test_same_seed_same_day(size: str) -> None:
    assert gen.generate_day(size, 7) == gen.generate_day(size, 7)
    assert gen.to_yaml(gen.generate_day(size, 7)) == gen.to_yaml(gen.generate_day(size, 7))


@pytest.mark.parametrize("size", SIZES)
def test_different_seeds_give_different_days(size: str) -> None:
    texts = {gen.to_yaml(gen.generate_day(size, seed)) for seed in SEEDS}
    assert len(texts) == len(SEEDS)
    bookings = {
        tuple(tuple(b["services"]) for b in gen.generate_day(size, s)["bookings"]) for s in SEEDS
    }
    assert len(bookings) > 1  # not just renamed: the work itself differs


def test_generation_uses_no_global_random_state() -> None:
    import random

    random.seed(1)
    first = gen.generate_day("small", 3)
    random.seed(2)
    random.random()
    assert gen.generate_day("small", 3) == first


@pytest.mark.parametrize("size", ["small", "medium", "large", "xl"])
def test_default_load_is_about_three_quarters(days: dict[tuple[str, int], Day], size: str) -> None:
    for seed in SEEDS:
        assert 0.72 <= technician_load(days[size, seed]) <= 0.78


def test_tiny_load_is_near_the_default(days: dict[tuple[str, int], Day]) -> None:
    # A 40-minute job is 6% of a tiny day's 650-odd working minutes, so allow more slack.
    for seed in SEEDS:
        assert 0.6 <= technician_load(days["tiny", seed]) <= 0.9


@pytest.mark.parametrize(("size", "load"), [("medium", 0.9), ("large", 0.6), ("xl", 0.95)])
def test_requested_load_is_met(size: str, load: float) -> None:
    for seed in range(3):
        assert technician_load(gen.generate_day_object(size, seed, load=load)) == pytest.approx(
            load, abs=0.02
        )


def test_rush_days_are_overloaded_saturday_mornings(rush_days: dict[int, Day]) -> None:
    for day in rush_days.values():
        ws = day.workshop
        assert technician_load(day) >= 0.95
        assert day.date.weekday() == 5  # Saturday
        assert len(day.bookings) == gen.SIZES["medium"].bookings
        waiters = sum(b.waiting for b in day.bookings)
        assert 0.55 <= waiters / len(day.bookings) <= 0.65
        # Everyone is in within three hours of opening.
        assert max(b.arrival for b in day.bookings) <= ws.open + 180
        weekday = gen.generate_day_object("medium", 0)
        assert technician_load(day) > technician_load(weekday) + 0.15


def test_waiter_share_is_honoured() -> None:
    for share in (0.0, 0.2, 0.5, 1.0):
        day = gen.generate_day_object("large", 1, waiter_share=share)
        assert sum(b.waiting for b in day.bookings) == round(share * len(day.bookings))


def test_default_waiter_share_is_about_a_third(days: dict[tuple[str, int], Day]) -> None:
    for size in ("medium", "large", "xl"):
        day = days[size, 0]
        assert 0.3 <= sum(b.waiting for b in day.bookings) / len(day.bookings) <= 0.4


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown size"):
        gen.generate_day("huge")
    with pytest.raises(ValueError, match="load"):
        gen.generate_day("small", load=0)
    with pytest.raises(ValueError, match="waiter_share"):
        gen.generate_day("small", waiter_share=1.5)


# --- the features planners must respect ------------------------------------------------------


@pytest.mark.parametrize("size", ["small", "medium", "large", "xl"])
def test_every_bay_kind_is_present(days: dict[tuple[str, int], Day], size: str) -> None:
    for seed in SEEDS:
        kinds = {k for bay in days[size, seed].workshop.bays for k in bay.kinds}
        assert {"lift", "ev", "tyre", "alignment", "wash"} <= kinds


@pytest.mark.parametrize("size", SIZES)
def test_staff_have_shifts_breaks_absences_and_efficiencies(
    days: dict[tuple[str, int], Day], size: str
) -> None:
    for seed in SEEDS:
        techs = days[size, seed].workshop.technicians
        assert all(t.breaks for t in techs)
        # An absence overlapping a break: planners must merge the windows, not add them up.
        assert any(a[0] < b[1] and b[0] < a[1] for t in techs for a in t.absent for b in t.breaks)
        assert len({t.efficiency for t in techs}) > 1
        assert all((t.efficiency * 100).denominator == 1 for t in techs)
        if len(techs) >= 3:
            assert len({t.shift for t in techs}) >= 2  # early and late shifts
            assert len({frozenset(t.skills) for t in techs}) >= 2  # not everyone does everything


def test_efficiencies_span_masters_to_apprentices(days: dict[tuple[str, int], Day]) -> None:
    effs = {t.efficiency for seed in SEEDS for t in days["large", seed].workshop.technicians}
    assert min(effs) <= Fraction("0.9") and max(effs) >= Fraction("1.2")
    assert any(e.denominator == 20 for e in effs)  # two decimals, e.g. 0.95 or 1.05


def test_some_technician_is_off_all_day_on_some_large_day(
    days: dict[tuple[str, int], Day],
) -> None:
    sizes = ("large", "xl")
    techs = [t for s in sizes for seed in SEEDS for t in days[s, seed].workshop.technicians]
    assert any(not t.working_windows() for t in techs)


@pytest.mark.parametrize("size", SIZES)
def test_bays_have_unavailable_windows(days: dict[tuple[str, int], Day], size: str) -> None:
    for seed in SEEDS:
        assert any(bay.unavailable for bay in days[size, seed].workshop.bays)


@pytest.mark.parametrize("size", SIZES)
def test_some_part_must_wait_for_a_delivery(days: dict[tuple[str, int], Day], size: str) -> None:
    for seed in SEEDS:
        day = days[size, seed]
        demand = part_demand(day)
        assert any(
            part.deliveries and part.on_hand < demand[sku]
            for sku, part in day.workshop.parts.items()
        )


def test_parts_are_sometimes_too_few_for_every_booking(days: dict[tuple[str, int], Day]) -> None:
    short_days = 0
    for size in ("small", "medium", "large", "xl"):
        for seed in SEEDS:
            day = days[size, seed]
            demand = part_demand(day)
            short_days += any(p.total < demand[s] for s, p in day.workshop.parts.items())
    assert 0 < short_days < 20  # occasionally, not always


@pytest.mark.parametrize("size", SIZES)
def test_bookings_have_preferences_priorities_waiters_and_drop_offs(
    days: dict[tuple[str, int], Day], size: str
) -> None:
    for seed in SEEDS:
        day = days[size, seed]
        ws = day.workshop
        assert any(b.technician is not None for b in day.bookings)
        assert any(b.priority == Fraction(3, 2) for b in day.bookings)
        assert any(b.waiting for b in day.bookings)
        assert any(not b.waiting for b in day.bookings)
        assert any(not b.waiting and b.promised is not None for b in day.bookings)
        for b in day.bookings:
            assert ws.open <= b.arrival < ws.close
            if b.technician is not None:
                first_skill = day.operations(b)[0][2].skill
                assert first_skill in ws.technician(b.technician).skills
            if b.waiting:
                # A waiter's promise leaves room for the work itself.
                assert b.promised is not None
                assert b.promised >= b.arrival + standard_minutes(day, b.id)


def test_some_bookings_have_several_services_and_some_services_several_operations(
    days: dict[tuple[str, int], Day],
) -> None:
    day = days["medium", 0]
    assert any(len(b.services) > 1 for b in day.bookings)
    assert any(len(s.operations) > 1 for s in day.workshop.services.values())


def test_drop_offs_peak_in_the_morning(days: dict[tuple[str, int], Day]) -> None:
    for seed in SEEDS:
        day = days["large", seed]
        drop_offs = [b for b in day.bookings if not b.waiting]
        early = [b for b in drop_offs if b.arrival < day.workshop.open + 120]
        assert len(early) / len(drop_offs) >= 0.6


def test_every_skill_has_enough_hands(days: dict[tuple[str, int], Day]) -> None:
    """No skill is booked beyond the working minutes of the people who have it."""
    for size in ("small", "medium", "large", "xl"):
        for seed in SEEDS:
            day = days[size, seed]
            need: dict[str, int] = {}
            for b in day.bookings:
                for _, _, op in day.operations(b):
                    need[op.skill] = need.get(op.skill, 0) + op.minutes
            for skill, minutes in need.items():
                hands = sum(
                    e - s
                    for t in day.workshop.technicians
                    if skill in t.skills
                    for s, e in t.working_windows()
                )
                assert minutes <= 0.9 * hands, (size, seed, skill)


def test_names_are_not_repeated_within_a_day(days: dict[tuple[str, int], Day]) -> None:
    for size in SIZES:
        day = days[size, 0]
        names = [b.customer for b in day.bookings] + [t.name for t in day.workshop.technicians]
        assert len(set(names)) == len(names)
        assert all(b.vehicle for b in day.bookings)


# --- speed and the command line --------------------------------------------------------------


def test_xl_generates_well_under_a_second() -> None:
    start = time.perf_counter()
    gen.generate_day("xl", 11)
    assert time.perf_counter() - start < 0.5


def test_command_line_writes_a_loadable_day_with_quoted_times(tmp_path: Path) -> None:
    out = tmp_path / "day.yaml"
    assert (
        gen.main(["--size", "small", "--seed", "3", "--rush", "--load", "0.9", "--out", str(out)])
        == 0
    )
    text = out.read_text(encoding="utf-8")
    assert not re.search(r"(?<![\"\d])\d{1,2}:\d{2}(?![\"\d])", text), "an unquoted time"
    day = load_day(out)
    assert day.date == dt.date(2026, 11, 28)
    assert technician_load(day) == pytest.approx(0.9, abs=0.02)
    assert len(day.bookings) == gen.SIZES["small"].bookings


def test_command_line_rejects_a_bad_size(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        gen.main(["--size", "enormous"])
    assert exc.value.code != 0
    assert "enormous" in capsys.readouterr().err
