"""Running CP-SAT on a built model: hints in, solutions out, the best one kept at every moment.

A *solution* here is the problem's own view of a plan (which bookings are in, and each task's
start, technician mode and bay). It is evaluated exactly in integer arithmetic, compared with
the best so far in a solution callback, and turned back into assignments only at the end, so a
search stopped early (time limit, or the caller's stop event) still hands back its best plan.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from ortools.sat.python import cp_model

from scheduler.cpsat.constraints import identical_groups
from scheduler.cpsat.model import PlanningModel
from scheduler.cpsat.problem import Problem
from scheduler.plan import Assignment

NO_BAY = -1


@dataclass(frozen=True, slots=True)
class Choice:
    """How one task is done: when, by which mode (technician), in which bay."""

    start: int
    mode: int  # index into Task.modes
    bay: int  # index into Problem.bays; NO_BAY for tasks that need none


@dataclass(frozen=True, slots=True)
class Solution:
    """Which bookings are scheduled and how each of their tasks is done."""

    present: tuple[bool, ...]  # per job
    choices: tuple[Choice | None, ...]  # per task; None when pinned or its booking is out


@dataclass(frozen=True, slots=True, order=True)
class Evaluation:
    """A solution's worth, compared lexicographically: fewer bookings out, then the value, and
    among equals fewer tasks missing the technician their booking asked for."""

    unscheduled: int
    value: int  # scaled DESIGN.md objective plus stability penalty, or makespan
    design: int  # scaled DESIGN.md objective alone
    misses: int = 0  # tasks not done by the requested technician (a tie-break only)


@dataclass(frozen=True, slots=True)
class SearchResult:
    """What a CP-SAT run found: status, best solution, and the proven bound."""

    status: str  # OPTIMAL, FEASIBLE, INFEASIBLE, UNKNOWN, MODEL_INVALID
    best: Solution | None
    evaluation: Evaluation | None
    bound: int  # lower bound on the scaled DESIGN.md objective (or on the makespan objective)
    seconds: float
    deterministic_time: float = 0.0
    final: Evaluation | None = None  # CP-SAT's own last (lowest-objective) solution


DETERMINISTIC_PER_SECOND = 0.008
"""CP-SAT deterministic time to allow per wall-clock second when one worker must repeat itself.

Measured on planning models here: one worker accrues 0.015 to 0.025 deterministic units per
second, so this budget normally runs out before the wall clock does.
"""

SolutionListener = Callable[[Solution, Evaluation, int], None]
"""Called with each improving solution, its evaluation and the current proven bound."""


def improves(candidate: Evaluation, incumbent: Evaluation) -> bool:
    """No more bookings left out, no higher value, and strictly better in one of the two; or
    the same in both with fewer tasks missing their requested technician."""
    if candidate.unscheduled > incumbent.unscheduled or candidate.value > incumbent.value:
        return False
    if (candidate.unscheduled, candidate.value) != (incumbent.unscheduled, incumbent.value):
        return True
    return candidate.misses < incumbent.misses


def ready_time(problem: Problem, solution: Solution, job: int) -> int:
    """When job ``job``'s car is ready in ``solution``."""
    last = problem.jobs[job].tasks[-1]
    task = problem.tasks[last]
    if task.pin is not None:
        return task.pin.end
    choice = solution.choices[last]
    assert choice is not None
    return choice.start + task.modes[choice.mode].duration


def evaluate(problem: Problem, solution: Solution, *, makespan: bool = False) -> Evaluation:
    """Exact value of a solution in scaled units (see ``Evaluation``)."""
    design = 0
    stability = 0
    unscheduled = 0
    latest = 0
    misses = 0
    for j, job in enumerate(problem.jobs):
        if not solution.present[j]:
            unscheduled += 1
            design += problem.penalty_per_weight * job.weight
            continue
        at = ready_time(problem, solution, j)
        latest = max(latest, at)
        design += job.weight * job.wait(at)
        if job.previous_ready is not None and _changed(problem, solution, j, at):
            stability += problem.stability_penalty
        for t in job.tasks:
            task, choice = problem.tasks[t], solution.choices[t]
            if task.preferred is not None and choice is not None:
                misses += task.modes[choice.mode].technician != task.preferred
    if makespan:
        return Evaluation(unscheduled, unscheduled * (problem.horizon + 1) + latest, design, misses)
    return Evaluation(unscheduled, design + stability, design, misses)


def _changed(problem: Problem, solution: Solution, job: int, at: int) -> bool:
    previous = problem.jobs[job].previous_ready
    assert previous is not None
    if at != previous:
        return True
    for t in problem.jobs[job].tasks:
        task, choice = problem.tasks[t], solution.choices[t]
        if task.previous_technician is None or choice is None:
            continue
        if task.modes[choice.mode].technician != task.previous_technician:
            return True
    return False


def assignments(problem: Problem, solution: Solution) -> list[Assignment]:
    """The solution's assignments, pinned ones included."""
    out: list[Assignment] = []
    for j, job in enumerate(problem.jobs):
        if not solution.present[j]:
            continue
        for t in job.tasks:
            choice = solution.choices[t]
            if problem.tasks[t].pin is not None:
                out.append(problem.pinned_assignment(t))
            elif choice is not None:
                out.append(problem.assignment(t, choice.start, choice.mode, choice.bay))
    return out


def solution_from_assignments(
    problem: Problem, given: Iterable[Assignment]
) -> tuple[Solution, bool]:
    """The problem's view of a plan; the flag says whether every booking in it maps exactly.

    A booking whose assignments do not fit the problem (a technician who is not a mode, a
    duration that does not match, a start outside the window) is read as left out.
    """
    by_key = {(a.booking, a.service, a.operation): a for a in given}
    tech_index = {r.id: i for i, r in enumerate(problem.technicians)}
    bay_index = {r.id: i for i, r in enumerate(problem.bays)}
    present: list[bool] = []
    choices: list[Choice | None] = [None] * len(problem.tasks)
    exact = True
    for job in problem.jobs:
        keys = [
            (job.booking, problem.tasks[t].service, problem.tasks[t].operation) for t in job.tasks
        ]
        found = [by_key.get(k) for k in keys]
        if not job.tasks or all(a is None for a in found):
            present.append(False)
            exact = exact and not any(k[0] == job.booking for k in by_key)
            continue
        picked: list[tuple[int, Choice]] = []
        ok = True
        for t, a in zip(job.tasks, found, strict=True):
            task = problem.tasks[t]
            if task.pin is not None:
                continue
            choice = _choice(problem, t, a, tech_index, bay_index) if a is not None else None
            if choice is None:
                ok = False
                break
            picked.append((t, choice))
        present.append(ok)
        exact = exact and ok
        if ok:
            for t, choice in picked:
                choices[t] = choice
    return Solution(tuple(present), tuple(choices)), exact


def _choice(
    problem: Problem,
    t: int,
    a: Assignment,
    tech_index: dict[str, int],
    bay_index: dict[str, int],
) -> Choice | None:
    task = problem.tasks[t]
    tech = tech_index.get(a.technician)
    bay = bay_index.get(a.bay)
    if bay is None or bay not in task.bays:
        if task.bays or a.bay:
            return None
        bay = NO_BAY
    if not any(lo <= a.start <= hi for lo, hi in task.starts):
        return None
    for k, m in enumerate(task.modes):
        if m.technician == tech and m.duration == a.end - a.start:
            return Choice(a.start, k, bay)
    return None


def canonical(problem: Problem, solution: Solution) -> Solution:
    """Relabel identical technicians and bays in order of first use (see symmetry breaking)."""
    tech_groups, bay_groups = identical_groups(problem)
    choices = list(solution.choices)
    for group in tech_groups:
        members = set(group)
        used = (
            problem.tasks[t].modes[c.mode].technician
            for t, c in _eligible(problem, choices)
            if any(m.technician in members for m in problem.tasks[t].modes)
        )
        mapping = _first_use_order(group, used)
        for t, c in enumerate(choices):
            if c is None:
                continue
            tech = problem.tasks[t].modes[c.mode].technician
            if tech in mapping:
                new = mapping[tech]
                mode = next(k for k, m in enumerate(problem.tasks[t].modes) if m.technician == new)
                choices[t] = Choice(c.start, mode, c.bay)
    for group in bay_groups:
        members = set(group)
        used = (
            c.bay
            for t, c in _eligible(problem, choices)
            if any(b in members for b in problem.tasks[t].bays)
        )
        mapping = _first_use_order(group, used)
        for t, c in enumerate(choices):
            if c is not None and c.bay in mapping:
                choices[t] = Choice(c.start, c.mode, mapping[c.bay])
    return Solution(solution.present, tuple(choices))


def _eligible(problem: Problem, choices: Sequence[Choice | None]) -> list[tuple[int, Choice]]:
    """Scheduled, unpinned tasks in the order symmetry breaking uses (task index)."""
    return [(t, c) for t, c in enumerate(choices) if c is not None and problem.tasks[t].pin is None]


def _first_use_order(group: Sequence[int], used: Iterable[int]) -> dict[int, int]:
    """A permutation of ``group`` sending members, in order of first use, to its first slots."""
    members = set(group)
    order: list[int] = []
    for r in used:
        if r in members and r not in order:
            order.append(r)
    order.extend(r for r in group if r not in order)
    return dict(zip(order, group, strict=True))


def add_hint(pm: PlanningModel, solution: Solution) -> None:
    """Hint every variable from ``solution`` (CP-SAT starts from a complete, feasible plan)."""
    model, problem, v = pm.model, pm.problem, pm.variables
    latest = 0
    for j, (job, var) in enumerate(zip(problem.jobs, v.jobs, strict=True)):
        if var is None:
            continue
        present = solution.present[j]
        if not job.required:
            model.add_hint(var.present, present)
        for t in job.tasks:
            task, task_var = problem.tasks[t], v.tasks[t]
            if task_var is None:
                continue
            choice = solution.choices[t] if present else None
            start = choice.start if choice is not None else task.earliest
            model.add_hint(task_var.start, start)
            duration = task.modes[choice.mode].duration if choice is not None else 0
            if not isinstance(task_var.duration, int):
                model.add_hint(task_var.duration, duration)
                if isinstance(task_var.end, cp_model.IntVar):
                    model.add_hint(task_var.end, start + duration)
            if len(task_var.modes) > 1:
                for m in task_var.modes:
                    model.add_hint(m.literal, choice is not None and m.mode == choice.mode)
            if len(task_var.bays) > 1:
                for b in task_var.bays:
                    model.add_hint(b.literal, choice is not None and b.bay == choice.bay)
        at = ready_time(problem, solution, j) if present else 0
        latest = max(latest, at)
        if var.wait is not None:
            reference = job.release if job.waiting else job.due
            model.add_hint(var.wait, max(0, at - reference) if present else 0)
        if var.changed is not None:
            model.add_hint(var.changed, not present or _changed(problem, solution, j, at))
    if v.makespan is not None:
        model.add_hint(v.makespan, latest)


class _Recorder(cp_model.CpSolverSolutionCallback):
    """Keeps the best solution seen, by ``Evaluation`` order, and tells the listener."""

    def __init__(self, pm: PlanningModel, listener: SolutionListener | None) -> None:
        super().__init__()
        self.pm = pm
        self.listener = listener
        self.best: Solution | None = None
        self.evaluation: Evaluation | None = None
        self.final: Evaluation | None = None
        self.improved: float | None = None  # when the best solution last changed

    def on_solution_callback(self) -> None:
        solution = self.read()
        evaluation = evaluate(self.pm.problem, solution, makespan=self.pm.objective == "makespan")
        self.final = evaluation
        if self.evaluation is None or evaluation < self.evaluation:
            self.best, self.evaluation = solution, evaluation
            self.improved = time.perf_counter()
            if self.listener is not None:
                bound = self.pm.main_bound(self.best_objective_bound)
                self.listener(solution, evaluation, bound)

    def read(self) -> Solution:
        """The current solution, read from the solver."""
        problem, v = self.pm.problem, self.pm.variables
        present = []
        for job, var in zip(problem.jobs, v.jobs, strict=True):
            present.append(var is not None and (job.required or self.boolean_value(var.present)))
        choices: list[Choice | None] = [None] * len(problem.tasks)
        for t, task_var in enumerate(v.tasks):
            if task_var is None or not present[problem.tasks[t].job]:
                continue
            mode = _chosen(self, [(m.mode, m.literal) for m in task_var.modes])
            bay = (
                _chosen(self, [(b.bay, b.literal) for b in task_var.bays])
                if task_var.bays
                else NO_BAY
            )
            choices[t] = Choice(self.value(task_var.start), mode, bay)
        return Solution(tuple(present), tuple(choices))


def _chosen(
    cb: cp_model.CpSolverSolutionCallback, options: list[tuple[int, cp_model.IntVar]]
) -> int:
    if len(options) == 1:
        return options[0][0]
    for key, literal in options:
        if cb.boolean_value(literal):
            return key
    raise AssertionError("a present task has no chosen alternative")


def search(
    pm: PlanningModel,
    *,
    hint: Solution | None,
    time_limit: float,
    workers: int,
    seed: int,
    deterministic_time: float | None = None,
    listener: SolutionListener | None = None,
    stop: threading.Event | None = None,
    parameters: Mapping[str, object] | None = None,
    halt: threading.Event | None = None,
    bound_listener: Callable[[int], None] | None = None,
    patience: float | None = None,
) -> SearchResult:
    """Solve the model within ``time_limit`` seconds and return the best solution found.

    Parameters
    ----------
    deterministic_time
        Also stop after this much of CP-SAT's deterministic time, so that one worker with a
        fixed seed repeats its search exactly unless the wall clock runs out first (see
        ``DETERMINISTIC_PER_SECOND``).
    stop
        Set it from another thread to end the search early; the best solution so far stands.
    parameters
        Extra CP-SAT parameters by name (benchmarks use it to compare settings).
    halt
        A second event that ends the search like ``stop`` (the caller's own reasons).
    bound_listener
        Called with each improvement of CP-SAT's proven bound (as ``SearchResult.bound``).
    patience
        Also stop when this many seconds pass without a better solution, counted from the
        first one (wall clock, so not for searches that must repeat themselves).
    """
    began = time.perf_counter()
    if hint is not None:
        add_hint(pm, hint)
    solver = cp_model.CpSolver()
    p = solver.parameters
    p.max_time_in_seconds = max(0.01, time_limit)
    p.num_workers = max(1, workers)
    p.random_seed = seed
    if deterministic_time is not None:
        p.max_deterministic_time = max(1e-4, deterministic_time)
    for name, value in (parameters or {}).items():
        setattr(p, name, value)
    recorder = _Recorder(pm, listener)
    if bound_listener is not None:
        solver.best_bound_callback = lambda bound: bound_listener(pm.main_bound(bound))
    done = threading.Event()
    watcher = None
    events = [e for e in (stop, halt) if e is not None]
    if events or patience is not None:
        watcher = threading.Thread(
            target=_watch, args=(events, done, solver, recorder, patience), daemon=True
        )
        watcher.start()
    try:
        status = solver.solve(pm.model, recorder)
    finally:
        done.set()
        if watcher is not None:
            watcher.join()
    name = solver.status_name(status)
    bound = 0
    if name in ("OPTIMAL", "FEASIBLE", "UNKNOWN"):
        bound = pm.main_bound(solver.best_objective_bound)
    return SearchResult(
        name,
        recorder.best,
        recorder.evaluation,
        bound,
        time.perf_counter() - began,
        solver.deterministic_time,
        recorder.final,
    )


def _watch(
    events: Sequence[threading.Event],
    done: threading.Event,
    solver: cp_model.CpSolver,
    recorder: _Recorder,
    patience: float | None,
) -> None:
    """Stop ``solver`` once an event is set or, with ``patience``, once the search has gone
    that long without a better solution."""
    poll = 0.05 if patience is None else min(0.05, patience / 5)
    while not done.wait(poll):
        if any(e.is_set() for e in events):
            solver.stop_search()
            return
        improved = recorder.improved
        if (
            patience is not None
            and improved is not None
            and time.perf_counter() > improved + patience
        ):
            solver.stop_search()
            return
