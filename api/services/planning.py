"""Planning services: plan a day file, check a plan file. The CLI and HTTP routes call these."""

from __future__ import annotations

from pathlib import Path

from scheduler.checker import Violation, check_plan
from scheduler.domain import Day
from scheduler.io import load_day
from scheduler.plan import Plan
from scheduler.planfile import read_plan, write_plan
from scheduler.solve import Method, ProgressCallback, solve


def plan_day_file(
    day_path: Path,
    *,
    method: Method = "dispatch",
    time_limit: float = 10.0,
    workers: int = 2,
    seed: int = 0,
    out: Path | None = None,
    on_progress: ProgressCallback | None = None,
) -> tuple[Day, Plan]:
    """Read a day file, plan it, verify the plan with the checker and write it if asked.

    Raises DayFileError for a bad day file and RuntimeError if the plan fails the checker
    (a bug: every plan the project emits must pass it, so none is written).
    """
    day = load_day(day_path)
    plan = solve(
        day, method, time_limit=time_limit, workers=workers, seed=seed, on_progress=on_progress
    )
    violations = check_plan(day, plan)
    if violations:
        raise RuntimeError(
            f"the {method} planner produced an invalid plan ({violations[0]}); "
            "nothing was written, please report this"
        )
    if out is not None:
        write_plan(day, plan, out)
    return day, plan


def check_plan_file(day_path: Path, plan_path: Path) -> tuple[Day, Plan, list[Violation]]:
    """Read a day file and a plan file and list every rule the plan breaks."""
    day = load_day(day_path)
    plan = read_plan(day, plan_path)
    return day, plan, check_plan(day, plan)
