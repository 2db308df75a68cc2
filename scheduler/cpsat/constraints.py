"""The hard rules of DESIGN.md as CP-SAT constraints, one family per function.

``add_constraints`` calls them in a fixed order. The first six families are the rules
themselves (a technician and a bay per operation, each holding one operation at a time and only
when at work or open, arrival, catalogue order, parts on the shelf); the seventh keeps the order
a problem's chains ask for (re-timing a plan, see ``lns.retime``). The rest are optional
strengthenings (see ``Strengthening``): redundant constraints that cut no valid plan but help
CP-SAT bound and prune (a knapsack row per part, a cumulative per skill and per bay kind), and
symmetry breaking, which keeps one plan of each set that only swaps identical resources.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ortools.sat.python import cp_model

from scheduler.cpsat.problem import Problem, Resource
from scheduler.cpsat.variables import TaskVar, Variables
from scheduler.domain import Window


@dataclass(frozen=True, slots=True)
class Strengthening:
    """Which optional model strengthenings to use.

    The defaults are what ``benchmarks/strengthening.py`` showed to pay off on generated days at
    10 s: tight windows and the parts knapsack on; the redundant cumulatives and symmetry
    breaking off (with them, fewer medium days were proven optimal and rush days ended with
    more bookings left out).

    Attributes
    ----------
    tight_windows
        Start windows of each task from arrival, shifts, breaks, parts and the latest finish.
    redundant_cumulatives
        A cumulative per skill over tasks needing it (capacity: technicians with the skill
        free at each minute) and per bay kind over tasks needing it.
    parts_knapsack
        Per part, the day's whole supply caps the scheduled bookings' takes (a linear row).
    symmetry_breaking
        Between technicians (or bays) that are interchangeable for every task, the k-th task
        that could use the group may only use its first k+1 members.
    """

    tight_windows: bool = True
    redundant_cumulatives: bool = False
    parts_knapsack: bool = True
    symmetry_breaking: bool = False


DEFAULT_STRENGTHENING = Strengthening()
"""The strengthenings used unless asked otherwise."""


def add_constraints(
    model: cp_model.CpModel, problem: Problem, v: Variables, options: Strengthening
) -> None:
    """Add every constraint family, in a fixed order."""
    _one_technician_and_one_bay(model, v)
    _technician_no_overlap(model, problem, v)  # also shifts, breaks, absences, fixed work
    _bay_no_overlap(model, problem, v)  # also unavailable windows, fixed work
    _release_at_arrival(model, problem, v)
    _booking_precedence(model, problem, v)
    _parts_stock(model, problem, v)
    _chains_in_order(model, problem, v)
    if options.parts_knapsack:
        _parts_total(model, problem, v)
    if options.redundant_cumulatives:
        _skill_capacity(model, problem, v)
        _bay_kind_capacity(model, problem, v)
    if options.symmetry_breaking:
        _identical_resources(model, problem, v)


def _tasks(v: Variables) -> Iterable[tuple[int, TaskVar]]:
    return ((i, t) for i, t in enumerate(v.tasks) if t is not None)


def _one_technician_and_one_bay(model: cp_model.CpModel, v: Variables) -> None:
    """A scheduled task has exactly one technician and one bay; the technician sets its length."""
    for _, t in _tasks(v):
        if len(t.modes) > 1:
            model.add(sum(m.literal for m in t.modes) == t.present)
        if not isinstance(t.duration, int):
            model.add(t.duration == sum(m.duration * m.literal for m in t.modes))
        if len(t.bays) > 1:
            model.add(sum(b.literal for b in t.bays) == t.present)


def _blocked_intervals(
    model: cp_model.CpModel, resource: Resource, name: str
) -> list[cp_model.IntervalVar]:
    return [
        model.new_fixed_size_interval_var(s, e - s, f"{name}_{k}")
        for k, (s, e) in enumerate(resource.blocked)
    ]


def _technician_no_overlap(model: cp_model.CpModel, problem: Problem, v: Variables) -> None:
    """A technician does one task at a time, only on shift, never on a break or absent.

    Breaks and absences are merged into ``blocked`` when the problem is compiled: overlapping
    fixed intervals in one no-overlap would make the model infeasible.
    """
    by_tech: dict[int, list[cp_model.IntervalVar]] = defaultdict(list)
    for _, t in _tasks(v):
        for m in t.modes:
            by_tech[m.technician].append(m.interval)
    for tech, intervals in sorted(by_tech.items()):
        resource = problem.technicians[tech]
        model.add_no_overlap(intervals + _blocked_intervals(model, resource, f"off{tech}"))


def _bay_no_overlap(model: cp_model.CpModel, problem: Problem, v: Variables) -> None:
    """A bay holds one task at a time, never while it is unavailable."""
    by_bay: dict[int, list[cp_model.IntervalVar]] = defaultdict(list)
    for _, t in _tasks(v):
        for b in t.bays:
            by_bay[b.bay].append(b.interval)
    for bay, intervals in sorted(by_bay.items()):
        resource = problem.bays[bay]
        model.add_no_overlap(intervals + _blocked_intervals(model, resource, f"shut{bay}"))


def _release_at_arrival(model: cp_model.CpModel, problem: Problem, v: Variables) -> None:
    """No work on a car before it arrives."""
    for job in problem.jobs:
        if job.tasks and v.tasks[job.tasks[0]] is not None:
            first = v.tasks[job.tasks[0]]
            assert first is not None
            model.add(first.start >= job.release)


def _booking_precedence(model: cp_model.CpModel, problem: Problem, v: Variables) -> None:
    """A booking's operations run in catalogue order, one after the other."""
    for job in problem.jobs:
        for before, after in zip(job.tasks, job.tasks[1:], strict=False):
            if v.tasks[before] is None and v.tasks[after] is None:
                continue
            model.add(v.start(problem, after) >= v.end(problem, before))


def _parts_stock(model: cp_model.CpModel, problem: Problem, v: Variables) -> None:
    """Parts are taken at a task's start; the shelf never holds less than nothing.

    One reservoir per part that can run short: stock on hand and deliveries are fixed positive
    events, takes of fixed work fixed negative ones, and each task takes at its start when its
    booking is scheduled. A delivery at 10:30 serves a task starting at 10:30.
    """
    takes: dict[int, list[tuple[cp_model.IntVar, int, cp_model.IntVar]]] = defaultdict(list)
    for i, t in _tasks(v):
        for k, qty in problem.tasks[i].parts:
            takes[k].append((t.start, -qty, t.present))
    for s, stock in enumerate(problem.stocks):
        if not takes[s]:
            continue
        times: list[cp_model.LinearExprT] = [at for at, _ in stock.events]
        changes: list[cp_model.LinearExprT] = [change for _, change in stock.events]
        actives: list[cp_model.LiteralT] = [True] * len(stock.events)
        for start, change, present in takes[s]:
            times.append(start)
            changes.append(change)
            actives.append(present)
        supply = sum(change for _, change in stock.events if change > 0)
        model.add_reservoir_constraint_with_active(times, changes, actives, stock.floor, supply)


def _chains_in_order(model: cp_model.CpModel, problem: Problem, v: Variables) -> None:
    """Each task of a chain starts once the one before it in the chain has ended."""
    for chain in problem.chains:
        for before, after in itertools.pairwise(chain):
            model.add(v.start(problem, after) >= v.end(problem, before))


def _parts_total(model: cp_model.CpModel, problem: Problem, v: Variables) -> None:
    """Redundant: scheduled bookings take no more of a part than the day brings in all.

    The reservoir says the same minute by minute, but CP-SAT's linear relaxation does not see
    it; this knapsack row lets the bound count bookings that a shortage must leave out.
    """
    demand: dict[int, list[tuple[int, cp_model.IntVar]]] = defaultdict(list)
    for i, t in _tasks(v):
        for k, qty in problem.tasks[i].parts:
            demand[k].append((qty, t.present))
    for s, stock in enumerate(problem.stocks):
        if not demand[s]:
            continue
        available = sum(change for _, change in stock.events) - stock.floor
        model.add(sum(qty * present for qty, present in demand[s]) <= available)


def capacity_profile(
    resources: Sequence[Resource], horizon: int
) -> tuple[int, list[tuple[Window, int]]]:
    """Most resources free at once, and the windows when fewer are free with how many fewer."""
    deltas: dict[int, int] = defaultdict(int)
    for r in resources:
        for s, e in r.blocked:
            s, e = max(0, s), min(e, horizon)
            if s < e:
                deltas[s] -= 1
                deltas[e] += 1
    points = sorted({0, horizon, *(p for p in deltas if p < horizon)})
    steps: list[tuple[Window, int]] = []
    level = len(resources)
    for a, b in itertools.pairwise(points):
        level += deltas.get(a, 0)
        steps.append(((a, b), level))
    cap = max((lvl for _, lvl in steps), default=0)
    return cap, [(w, cap - lvl) for w, lvl in steps if lvl < cap]


def _pool_capacity(
    model: cp_model.CpModel,
    problem: Problem,
    v: Variables,
    members: Sequence[Resource],
    intervals: list[cp_model.IntervalVar],
    name: str,
) -> None:
    cap, segments = capacity_profile(members, problem.horizon)
    if cap <= 0 or len(intervals) <= cap:
        return
    fixed = [
        model.new_fixed_size_interval_var(s, e - s, f"{name}_{k}")
        for k, ((s, e), _) in enumerate(segments)
    ]
    demands = [1] * len(intervals) + [d for _, d in segments]
    model.add_cumulative(intervals + fixed, demands, cap)


def _skill_capacity(model: cp_model.CpModel, problem: Problem, v: Variables) -> None:
    """Redundant: tasks needing a skill never outnumber the technicians with it at work."""
    by_skill: dict[str, list[cp_model.IntervalVar]] = defaultdict(list)
    for i, t in _tasks(v):
        skill = problem.tasks[i].skill
        if skill is not None:
            by_skill[skill].append(t.interval)
    for skill, intervals in sorted(by_skill.items()):
        members = problem.skill_members.get(skill, ())
        if len(members) > 1:
            resources = [problem.technicians[i] for i in members]
            _pool_capacity(model, problem, v, resources, intervals, f"skill_{skill}")


def _bay_kind_capacity(model: cp_model.CpModel, problem: Problem, v: Variables) -> None:
    """Redundant: tasks needing a bay kind never outnumber the open bays of that kind."""
    by_kind: dict[str, list[cp_model.IntervalVar]] = defaultdict(list)
    for i, t in _tasks(v):
        kind = problem.tasks[i].kind
        if kind is not None:
            by_kind[kind].append(t.interval)
    for kind, intervals in sorted(by_kind.items()):
        members = problem.kind_members.get(kind, ())
        if len(members) > 1:
            resources = [problem.bays[i] for i in members]
            _pool_capacity(model, problem, v, resources, intervals, f"kind_{kind}")


def identical_groups(problem: Problem) -> tuple[list[list[int]], list[list[int]]]:
    """Groups of technicians, and of bays, that are interchangeable in every respect.

    Two technicians are interchangeable when they have the same blocked windows, can do
    exactly the same tasks in the same durations, and no booking asks for either by name or
    depends on either for stability. Bays likewise, without durations.
    """
    tech_columns: dict[int, list[tuple[int, int]]] = defaultdict(list)
    bay_columns: dict[int, list[int]] = defaultdict(list)
    named: set[int] = set()
    for i, task in enumerate(problem.tasks):
        if task.pin is not None:
            continue
        for m in task.modes:
            tech_columns[m.technician].append((i, m.duration))
        for b in task.bays:
            bay_columns[b].append(i)
        if task.preferred is not None:
            named.add(task.preferred)
        if task.previous_technician is not None:
            named.add(task.previous_technician)
    tech_groups: dict[tuple[object, ...], list[int]] = defaultdict(list)
    for i, r in enumerate(problem.technicians):
        if i in named or not tech_columns[i]:
            continue
        tech_groups[(r.blocked, tuple(tech_columns[i]))].append(i)
    bay_groups: dict[tuple[object, ...], list[int]] = defaultdict(list)
    for i, r in enumerate(problem.bays):
        if bay_columns[i]:
            bay_groups[(r.blocked, tuple(bay_columns[i]))].append(i)
    return (
        [g for g in tech_groups.values() if len(g) > 1],
        [g for g in bay_groups.values() if len(g) > 1],
    )


def _identical_resources(model: cp_model.CpModel, problem: Problem, v: Variables) -> None:
    """Symmetry breaking: the k-th task able to use a group of identical resources may use
    only the group's first k+1 members.

    Valid because any plan can be relabelled within the group in order of first use; the hint is
    relabelled the same way (``search.canonical_hint``).
    """
    tech_groups, bay_groups = identical_groups(problem)
    for group in tech_groups:
        rank = {tech: k for k, tech in enumerate(group)}
        k = 0
        for _, t in _tasks(v):
            if k >= len(group) - 1:
                break
            literals = [m.literal for m in t.modes if m.technician in rank]
            if not literals:
                continue
            for m in t.modes:
                if rank.get(m.technician, -1) > k:
                    model.add(m.literal == 0)
            k += 1
    for group in bay_groups:
        rank = {bay: k for k, bay in enumerate(group)}
        k = 0
        for _, t in _tasks(v):
            if k >= len(group) - 1:
                break
            if not any(b.bay in rank for b in t.bays):
                continue
            for b in t.bays:
                if rank.get(b.bay, -1) > k:
                    model.add(b.literal == 0)
            k += 1
