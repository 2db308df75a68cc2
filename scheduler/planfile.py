"""The plan file: a plan as JSON, with ISO 8601 times carrying the workshop's UTC offset.

Writing is exact: objectives are numbers (halves stay halves). Reading keeps what the file
claims (status, objective, bound) so the checker can compare the claims with the schedule.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import Any

from scheduler.clock import from_iso, to_iso, zone
from scheduler.domain import Day
from scheduler.io import Problem
from scheduler.plan import Assignment, ObjectiveParts, Plan, PlanStatus, Unscheduled


class PlanFileError(ValueError):
    """A plan file is not shaped as the contract says; ``problems`` lists where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        super().__init__((str(problems[0]) if problems else "invalid plan file") + more)


def json_number(value: Fraction | int | float) -> int | float:
    """An exact value as a JSON number: an int when whole, otherwise the nearest float."""
    fraction = Fraction(value)
    if fraction.denominator == 1:
        return int(fraction)
    return float(fraction)


def plan_to_dict(day: Day, plan: Plan) -> dict[str, Any]:
    """The plan in the plan-file format of DESIGN.md."""
    tz = zone(day.workshop.timezone)
    return {
        "workshop": day.workshop.id,
        "date": day.date.isoformat(),
        "status": plan.status.value,
        "objective": json_number(plan.objective),
        "objective_parts": {
            "weighted_wait": json_number(plan.parts.weighted_wait),
            "unscheduled_penalty": json_number(plan.parts.unscheduled_penalty),
        },
        "lower_bound": json_number(plan.lower_bound),
        "assignments": [
            {
                "booking": a.booking,
                "service": a.service,
                "operation": a.operation,
                "bay": a.bay,
                "technician": a.technician,
                "start": to_iso(day.date, tz, a.start),
                "end": to_iso(day.date, tz, a.end),
            }
            for a in plan.assignments
        ],
        "unscheduled": [{"booking": u.booking, "reason": u.reason} for u in plan.unscheduled],
        "kpis": dict(plan.kpis),
    }


def write_plan(day: Day, plan: Plan, path: str | Path) -> None:
    """Write the plan file (UTF-8 JSON, indented for people to read)."""
    text = json.dumps(plan_to_dict(day, plan), indent=2, ensure_ascii=False)
    Path(path).write_text(text + "\n", encoding="utf-8")


def _exact(value: Any) -> Fraction:
    """A JSON number as an exact fraction of the decimal text it was written as."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {value!r}")
    try:
        return Fraction(Decimal(repr(value)))
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"expected a finite number, got {value!r}") from exc


def plan_from_dict(day: Day, data: Any, *, source: str = "<plan>") -> Plan:
    """Read a plan-file object against its day, keeping the file's own claims."""
    problems: list[Problem] = []

    def fail(where: str, message: str) -> None:
        problems.append(Problem(f"{source} {where}".rstrip(), message))

    if not isinstance(data, dict):
        raise PlanFileError([Problem(source, "expected a JSON object")])
    for key in (
        "workshop",
        "date",
        "status",
        "objective",
        "objective_parts",
        "lower_bound",
        "assignments",
        "unscheduled",
    ):
        if key not in data:
            fail(key, f"missing required field {key!r}")
    if problems:
        raise PlanFileError(problems)
    if data["workshop"] != day.workshop.id:
        fail(
            "workshop",
            f"plan is for workshop {data['workshop']!r}, day file is for {day.workshop.id!r}",
        )
    if data["date"] != day.date.isoformat():
        fail("date", f"plan is for {data['date']!r}, day file is for {day.date.isoformat()}")
    status = PlanStatus.HEURISTIC
    try:
        status = PlanStatus(data["status"])
    except ValueError:
        fail("status", f"expected one of OPTIMAL, FEASIBLE, HEURISTIC, got {data['status']!r}")
    numbers: dict[str, Fraction] = {}
    parts = data["objective_parts"] if isinstance(data["objective_parts"], dict) else {}
    if not isinstance(data["objective_parts"], dict):
        fail("objective_parts", "expected an object {weighted_wait, unscheduled_penalty}")
    for name, raw in (
        ("objective", data["objective"]),
        ("lower_bound", data["lower_bound"]),
        ("objective_parts.weighted_wait", parts.get("weighted_wait")),
        ("objective_parts.unscheduled_penalty", parts.get("unscheduled_penalty")),
    ):
        try:
            numbers[name] = _exact(raw)
        except ValueError as exc:
            fail(name, str(exc))

    tz = zone(day.workshop.timezone)
    assignments: list[Assignment] = []
    if not isinstance(data["assignments"], list):
        fail("assignments", "expected a list")
    for i, item in enumerate(data["assignments"] if isinstance(data["assignments"], list) else []):
        where = f"assignments[{i}]"
        if not isinstance(item, dict):
            fail(where, "expected an object")
            continue
        missing = [
            k
            for k in ("booking", "service", "operation", "bay", "technician", "start", "end")
            if k not in item
        ]
        if missing:
            fail(where, f"missing field(s) {', '.join(missing)}")
            continue
        times = []
        for key in ("start", "end"):
            try:
                times.append(from_iso(day.date, tz, str(item[key])))
            except ValueError as exc:
                fail(f"{where}.{key}", str(exc))
        operation = item["operation"]
        if isinstance(operation, bool) or not isinstance(operation, int):
            fail(f"{where}.operation", f"expected an operation index, got {operation!r}")
            continue
        if len(times) == 2:
            assignments.append(
                Assignment(
                    times[0],
                    times[1],
                    str(item["booking"]),
                    str(item["service"]),
                    operation,
                    str(item["bay"]),
                    str(item["technician"]),
                )
            )
    unscheduled: list[Unscheduled] = []
    if not isinstance(data["unscheduled"], list):
        fail("unscheduled", "expected a list")
    for i, item in enumerate(data["unscheduled"] if isinstance(data["unscheduled"], list) else []):
        if not isinstance(item, dict) or "booking" not in item:
            fail(f"unscheduled[{i}]", "expected an object {booking, reason}")
            continue
        unscheduled.append(Unscheduled(str(item["booking"]), str(item.get("reason", ""))))
    if problems:
        raise PlanFileError(problems)
    kpis = data.get("kpis") if isinstance(data.get("kpis"), dict) else {}
    return Plan(
        status=status,
        assignments=tuple(assignments),
        unscheduled=tuple(unscheduled),
        objective=numbers["objective"],
        parts=ObjectiveParts(
            numbers["objective_parts.weighted_wait"],
            numbers["objective_parts.unscheduled_penalty"],
        ),
        lower_bound=numbers["lower_bound"],
        kpis=MappingProxyType(dict(kpis or {})),
    )


def read_plan(day: Day, path: str | Path) -> Plan:
    """Read a plan file from disk against its day."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PlanFileError([Problem(str(path), "file not found")]) from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PlanFileError([Problem(str(path), f"not valid JSON: {exc}")]) from exc
    return plan_from_dict(day, data, source=path.name)
