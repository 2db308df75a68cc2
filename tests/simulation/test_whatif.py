"""What-if scenarios: reading them (with located errors) and the paired experiment."""

from __future__ import annotations

import math
import pickle
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as scipy_stats

from scheduler.domain import Day
from scheduler.io import DayFileError
from simulation.experiments import ReplicationRunner
from simulation.outcomes import KPIS
from simulation.scenario import (
    Scenario,
    ScenarioError,
    load_scenario,
    parse_scenario_text,
)
from simulation.whatif import (
    PairedReplication,
    SideRun,
    compare,
    prepare_plan,
    run_whatif,
    unpaired_difference,
)
from tests.utils import SCENARIOS

WHATIF = SCENARIOS / "whatif"
NAMED = (
    "one-more-technician",
    "express-lane",
    "saturday-rush",
    "ev-doubling",
    "waiters-first",
    "optimised-plan",
    "bay-down",
)


def scenario_text(changes: str, *, base: str = "../small-shop.yaml", extra: str = "") -> str:
    return f"name: test\nbase: {base}\n{extra}changes:\n{changes}"


def problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        parse_scenario_text(text, source="test.yaml", base_dir=WHATIF)
    return [str(p) for p in info.value.problems]


# -- the named scenarios ---------------------------------------------------------------------


def test_the_named_scenarios_all_load() -> None:
    found = sorted(p.stem for p in WHATIF.glob("*.yaml"))
    assert found == sorted(NAMED)
    for name in NAMED:
        scenario = load_scenario(WHATIF / f"{name}.yaml")
        assert scenario.name == name
        assert scenario.description
        assert scenario.changes
        assert scenario.base.policy.name == "fcfs"


def test_scenario_changes_shape_the_variant() -> None:
    tech = load_scenario(WHATIF / "one-more-technician.yaml")
    added = tech.variant.day.workshop.technician("T10")
    like = tech.base.day.workshop.technician("T03")
    assert added.skills == like.skills and added.shift == (540, 1080)
    assert len(tech.variant.day.workshop.technicians) == len(tech.base.day.workshop.technicians) + 1

    rush = load_scenario(WHATIF / "saturday-rush.yaml")
    n = len(rush.base.day.bookings)
    assert rush.variant.day.bookings[:n] == rush.base.day.bookings  # base bookings first, as is
    assert len(rush.variant.day.bookings) == round(n * 1.3)
    base_rates = rush.base.uncertainty.rates(rush.base.day)
    variant_rates = rush.variant.uncertainty.rates(rush.variant.day)
    assert [r for _, r in variant_rates] == pytest.approx([3 * r for _, r in base_rates])

    ev = load_scenario(WHATIF / "ev-doubling.yaml")

    def ev_bookings(day: Day) -> int:
        return sum(
            1
            for b in day.bookings
            if any("ev" in (op.skill, op.bay) for _, _, op in day.operations(b))
        )

    assert ev_bookings(ev.variant.day) == 2 * ev_bookings(ev.base.day)

    lane = load_scenario(WHATIF / "express-lane.yaml")
    assert lane.variant.policy.name == "express-lane"
    assert lane.variant.policy.technicians == ("T05",)


def test_every_kind_of_change_reads() -> None:
    text = scenario_text(
        """  - add_technician: {id: T4, skills: [general, mot], shift: ["09:00", "17:00"],
      breaks: [["12:00", "12:30"]], efficiency: 1.1}
  - add_bay: {like: B2, id: B4}
  - close_bay: {bay: B3, from: "14:00", to: "15:00"}
  - remove_bay: B4
  - remove_technician: T3
  - rush: {bookings: 1.5, walk_ins: 2}
  - scale_service: {services: [MOT], factor: 2}
  - duration_spread: 0.4
  - uncertainty: {no_show: 0.1, walk_in_rates: [["08:00", 1.0], ["12:00", 0.5]]}
  - policy: {name: follow-plan, plan: fcfs, replan: never, threshold: 20}
""",
        extra="policy: waiters-first\nuncertainty: {late_delivery: 0}\nreplications: 12\nseed: 4\n",
    )
    s = parse_scenario_text(text, source="test.yaml", base_dir=WHATIF)
    ws = s.variant.day.workshop
    assert [t.id for t in ws.technicians] == ["T1", "T2", "T4"]
    assert [b.id for b in ws.bays] == ["B1", "B2", "B3"]
    assert ws.bay("B3").unavailable[-1] == (840, 900)
    assert s.base.policy.name == "waiters-first"
    assert s.variant.policy.name == "follow-plan" and s.variant.policy.replan is None
    assert s.variant.uncertainty.duration_spread == 0.4
    assert s.variant.uncertainty.no_show == 0.1
    assert s.variant.uncertainty.late_delivery == 0
    # walk-in rates given explicitly, then doubled by the rush (the rush factor applies last)
    assert s.variant.uncertainty.walk_in_rates == ((480, 2.0), (720, 1.0))
    assert (s.replications, s.seed) == (12, 4)
    assert len(s.changes) == 10


# -- malformed scenarios get located errors --------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            "  - add_technician: {id: T9, skills: [general]}\n",
            "test.yaml:4 changes[0].add_technician.shift: missing required field 'shift'",
        ),
        (
            "  - remove_technician: T99\n",
            "test.yaml:4 changes[0].remove_technician: unknown technician 'T99'",
        ),
        (
            "  - express_lane: {technicians: [T1], bays: [X1]}\n",
            "test.yaml:4 changes[0].express_lane.bays[0]: unknown bay 'X1'",
        ),
        (
            "  - rush: {bookings: 0.5}\n",
            "test.yaml:4 changes[0].rush.bookings: expected a number >= 1, got 0.5",
        ),
        (
            "  - scale_service: {services: [NOPE], factor: 2}\n",
            "test.yaml:4 changes[0].scale_service.services: unknown service code 'NOPE'",
        ),
        (
            "  - policy: lifo\n",
            "test.yaml:4 changes[0].policy: expected one of fcfs, spt, waiters-first, "
            "express-lane, follow-plan, got 'lifo'",
        ),
        (
            "  - paint_the_walls: blue\n",
            "test.yaml:4 changes[0]: unknown change 'paint_the_walls'",
        ),
        (
            "  - duration_spread: -1\n",
            "test.yaml:4 changes[0].duration_spread: expected a number >= 0, got -1",
        ),
        (
            "  - uncertainty: {no_show: 2}\n",
            "test.yaml:4 changes[0].uncertainty.no_show: expected a number >= 0 and <= 1, got 2",
        ),
        (
            "  - uncertainty: {noshow: 0.1}\n",
            "test.yaml:4 changes[0].uncertainty.noshow: unknown field 'noshow'",
        ),
        (
            '  - close_bay: {bay: B1, from: "12:00", to: "11:00"}\n',
            "test.yaml:4 changes[0].close_bay.to: the bay must reopen after it closes",
        ),
        (
            "  - remove_technician: T1\n  - remove_technician: T2\n",
            "test.yaml:4 changes: service 'MOT' needs skill 'mot' no technician has",
        ),
    ],
)
def test_a_malformed_change_is_reported_with_its_line_and_field(
    changes: str, expected: str
) -> None:
    found = problems(scenario_text(changes))
    assert any(p.startswith(expected) for p in found), found


def test_top_level_problems_are_located() -> None:
    assert problems("base: ../small-shop.yaml\n") == [
        "test.yaml:1 changes: missing required field 'changes'"
    ]
    assert problems("base: ../nope.yaml\nchanges: []\n")[0].startswith(
        "test.yaml:1 base: day file ../nope.yaml not found"
    )
    assert problems(scenario_text("  - rush: {walk_ins: 2}\n", extra="replications: 1\n"))[
        0
    ].startswith("test.yaml:3 replications: expected a whole number >= 2")
    assert problems(scenario_text("  - rush: {walk_ins: 2}\n", extra="colour: red\n"))[0] == (
        "test.yaml:3 colour: unknown field 'colour'; expected one of base, changes, name, "
        "description, policy, uncertainty, replications, seed"
    )
    assert problems("base: [\n")[0].startswith("test.yaml:2: not valid YAML")
    assert problems(
        scenario_text("  - policy: fcfs\n  - policy: fcfs\n").replace(
            "name: test", "name: test\nname: again"
        )
    )[0].startswith("test.yaml:2 name: field 'name' is given twice")


def test_missing_scenario_file_and_bad_base_day(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="file not found"):
        load_scenario(tmp_path / "nope.yaml")
    (tmp_path / "day.yaml").write_text("workshop: {}\n", encoding="utf-8")
    (tmp_path / "s.yaml").write_text("base: day.yaml\nchanges: []\n", encoding="utf-8")
    with pytest.raises(DayFileError) as info:
        load_scenario(tmp_path / "s.yaml")
    assert str(info.value.problems[0]).startswith("day.yaml")


# -- the experiment --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bay_down() -> Scenario:
    """Harwood Garage with its EV-ready lift out until 13:00 (fast: twelve bookings)."""
    return load_scenario(WHATIF / "bay-down.yaml")


def test_same_seed_same_answer_and_the_json_shape(bay_down: Scenario) -> None:
    one = run_whatif(bay_down, replications=4, seed=3, workers=1)
    two = run_whatif(bay_down, replications=4, seed=3, workers=1)
    assert one.rows == two.rows
    doc = one.to_json()
    assert doc["scenario"] == "bay-down" and doc["replications"] == 4 and doc["seed"] == 3
    assert list(doc["kpis"]) == list(KPIS)
    for entry in doc["kpis"].values():
        assert set(entry) == {"label", "base", "variant", "difference", "significant", "unpaired"}
        for side in ("base", "variant", "difference", "unpaired"):
            assert set(entry[side]) == {"mean", "ci95"} and len(entry[side]["ci95"]) == 2
    for row in one.rows:
        for k in KPIS:
            assert row[f"diff:{k}"] == row[f"variant:{k}"] - row[f"base:{k}"]


def test_a_change_to_the_variant_leaves_the_base_alone() -> None:
    """Two scenarios on the same base: the base side of every replication is identical."""
    a = run_whatif(load_scenario(WHATIF / "one-more-technician.yaml"), replications=3, workers=1)
    b = run_whatif(load_scenario(WHATIF / "saturday-rush.yaml"), replications=3, workers=1)
    for ra, rb in zip(a.rows, b.rows, strict=True):
        assert {k: v for k, v in ra.items() if k.startswith("base:")} == {
            k: v for k, v in rb.items() if k.startswith("base:")
        }


def test_an_identical_variant_differs_by_exactly_nothing() -> None:
    """Common random numbers: the same day twice gives zero differences, not noise."""
    text = scenario_text("  - duration_spread: 0.25\n")  # the default: no change at all
    scenario = parse_scenario_text(text, source="test.yaml", base_dir=WHATIF)
    result = run_whatif(scenario, replications=5, workers=1)
    for c in result.comparisons:
        assert c.difference.mean == 0 and c.difference.half_width == 0
        assert not c.significant
        assert c.base.mean == c.variant.mean


def test_paired_intervals_are_narrower_than_unpaired(bay_down: Scenario) -> None:
    result = run_whatif(bay_down, replications=12, workers=1)
    wait = result.comparison("waiter_mean_wait")
    assert wait.difference.half_width < wait.unpaired.half_width
    assert wait.variance_reduction > 1
    assert wait.significant  # closing the EV lift all morning makes waiters wait


def test_unpaired_difference_is_welchs_interval() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(10, 2, 20), rng.normal(12, 3, 20)
    got = unpaired_difference(b, a)
    ref = scipy_stats.ttest_ind(b, a, equal_var=False).confidence_interval(0.95)
    assert (got.low, got.high) == pytest.approx((ref.low, ref.high))


def test_precision_adds_replications_until_the_interval_is_narrow(bay_down: Scenario) -> None:
    result = run_whatif(
        bay_down,
        replications=4,
        precision=0.08,
        precision_kpis=("weighted_wait",),
        max_replications=200,
        workers=1,
    )
    assert result.precision is not None and result.precision.reached
    assert result.replications > 4
    c = result.comparison("weighted_wait")
    assert c.difference.half_width <= 0.08 * abs(c.base.mean)


def test_invalid_experiment_settings(bay_down: Scenario) -> None:
    with pytest.raises(ValueError, match="replications must be a whole number >= 2"):
        run_whatif(bay_down, replications=1)
    with pytest.raises(ValueError, match="seed must be"):
        run_whatif(bay_down, seed=-1)
    with pytest.raises(ValueError, match="precision key figures must be among"):
        run_whatif(bay_down, precision=0.1, precision_kpis=("happiness",))


def test_replications_travel_to_other_processes() -> None:
    """A replication pickles (days as plain data) and gives the same answer elsewhere."""
    scenario = load_scenario(WHATIF / "optimised-plan.yaml")
    replicate = PairedReplication(
        SideRun(scenario.base, prepare_plan(scenario.base)),
        SideRun(scenario.variant, prepare_plan(scenario.variant)),
        seed=2,
    )
    clone = pickle.loads(pickle.dumps(replicate))
    assert clone(1) == replicate(1)
    # in_process_below=0 sends even this short job to the pool.
    with ReplicationRunner(replicate, workers=2, in_process_below=0.0) as runner:
        pooled = runner.run(range(3))
    assert pooled == [replicate(i) for i in range(3)]


def test_compare_reports_every_kpi_with_its_interval(bay_down: Scenario) -> None:
    result = run_whatif(bay_down, replications=3, workers=1)
    again = compare(result.rows)
    assert [c.kpi for c in again] == list(KPIS)
    for c in again:
        for interval in (c.base, c.variant, c.difference, c.unpaired):
            assert interval.n == 3
            assert interval.low <= interval.mean <= interval.high
            assert math.isfinite(interval.half_width)


@pytest.mark.slow
def test_a_dask_cluster_gives_the_same_answer_as_the_local_pool() -> None:
    distributed = pytest.importorskip("distributed")
    scenario = load_scenario(WHATIF / "bay-down.yaml")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster:
        remote = run_whatif(scenario, replications=4, cluster=cluster.scheduler_address)
    local = run_whatif(scenario, replications=4, workers=1)
    assert remote.rows == local.rows
