"""Improve a plan with CP-SAT: warm-started, anytime, within a time limit, with a proven bound.

The best dispatch plan comes first; CP-SAT starts from it (every variable hinted), keeps the best
plan found at every moment, and stops at the time limit. Small and medium days are solved as one
model; large days by a large-neighbourhood search that re-optimises a window of time or a group of
bookings while everything else stays put (``scheduler.cpsat.lns``). Whatever happens, the plan
returned is never worse than the one given.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from scheduler.bounds import critical_path_bound
from scheduler.checker import check_plan
from scheduler.cpsat.constraints import DEFAULT_STRENGTHENING, Strengthening
from scheduler.cpsat.model import OBJECTIVES, Objective, build_model
from scheduler.cpsat.problem import Problem, compile_day
from scheduler.cpsat.relaxation import parts_bound, pooled_bound
from scheduler.cpsat.search import (
    DETERMINISTIC_PER_SECOND,
    Evaluation,
    SearchResult,
    Solution,
    assignments,
    canonical,
    evaluate,
    improves,
    search,
    solution_from_assignments,
)
from scheduler.domain import Day
from scheduler.plan import Assignment, Plan, PlanStatus, Unscheduled
from scheduler.solve import Progress, ProgressCallback

DEFAULT_STABILITY_WEIGHT = Fraction(30)
"""Weighted minutes a changed booking costs when re-planning against a previous plan."""

DEFAULT_PARAMETERS: Mapping[str, object] = {"cp_model_probing_level": 0}
"""CP-SAT parameters we change: deep probing costs seconds of presolve on a medium day."""

LNS_MIN_TASKS = 150
"""From this many operations on, the day is improved by large-neighbourhood search."""

FULL_SHARE = 0.4
STALLED_GAP = 0.10
"""On smaller days the whole model runs first. If after ``FULL_SHARE`` of the time its proven
gap is still above ``STALLED_GAP``, the proof is out of reach in the time left and the rest of
the time goes to the neighbourhood search, which improves plans faster. Measured at 10 s on
the generated days: at 40% of the time every medium day that CP-SAT went on to prove optimal
had a gap of at most 5.2%, every rush day (load 97%) one of 13% to 93%. At 30 s the switch
gave a lower objective than the whole model alone on 9 of the 10 rush days (median 36,487
against 38,234; ``benchmarks/cpsat_days.py --kinds rush``) and left the medium days as they
were. Days within the gap keep the whole model; a switched day keeps its proven bound."""

LEFT_OUT = (
    "left out by the optimiser: no place was found for it that costs the other customers less "
    "waiting than leaving it for another day"
)


@dataclass(slots=True)
class _Clock:
    """Seconds since the call began, and what is left of the time limit."""

    began: float
    limit: float

    def elapsed(self) -> float:
        return time.perf_counter() - self.began

    def left(self) -> float:
        return self.limit - self.elapsed()


def improve(
    day: Day,
    start: Plan,
    *,
    time_limit: float,
    workers: int = 2,
    seed: int = 0,
    on_progress: ProgressCallback | None = None,
    objective: Objective = "weighted-wait",
    frozen: Sequence[Assignment] = (),
    previous: Plan | None = None,
    stability_weight: Fraction | int = DEFAULT_STABILITY_WEIGHT,
    strengthening: Strengthening = DEFAULT_STRENGTHENING,
    neighbourhood: bool | None = None,
    stop: threading.Event | None = None,
    parameters: Mapping[str, object] | None = None,
    deterministic_time: float | None = None,
) -> Plan:
    """Improve ``start`` with CP-SAT and return the best plan found within ``time_limit``.

    Parameters
    ----------
    day
        The workshop and its bookings.
    start
        A plan to start from, usually the best dispatch plan; every variable is hinted from it.
        It must keep every ``frozen`` assignment.
    time_limit
        Seconds for the whole call, model building included.
    workers
        CP-SAT search workers. With one worker the search stops on CP-SAT's deterministic clock
        (``deterministic_time``), so the same ``seed`` gives the same plan unless the time limit
        is reached first (on an overloaded machine).
    seed
        Random seed of CP-SAT and of the neighbourhood search.
    on_progress
        Called with the start plan and then each improvement: seconds since the call began, the
        plan's objective (DESIGN.md's, or the makespan) and the best proven bound.
    objective
        ``weighted-wait`` (DESIGN.md) or ``makespan`` (the end of the last operation; for
        literature instances). In makespan mode every booking the start plan schedules stays
        scheduled, the plan's ``lower_bound`` stays a bound on DESIGN.md's objective and its
        KPIs gain ``makespan`` and ``makespan_lower_bound``.
    frozen
        Assignments that must stay exactly as they are, end included (operations already
        started when re-planning during the day). Their bookings stay scheduled.
    previous
        The plan customers were told about. With it, each booking that is scheduled there and
        now would be ready at a different minute (its promise moves), or would have any
        operation done by a different technician, or would be left out, costs
        ``stability_weight`` on top of the objective. The penalty steers the search only: the
        plan's objective is DESIGN.md's, recomputed from its schedule.
    stability_weight
        Weighted minutes per changed booking (default 30: one moved promise is worth half an
        hour of one drop-off's lateness).
    strengthening
        Optional model strengthenings (for benchmarks).
    neighbourhood
        Force (True) or forbid (False) the large-neighbourhood search; by default it is used
        from ``LNS_MIN_TASKS`` operations on.
    stop
        Set it from another thread to stop early; the best plan so far is returned.
    parameters
        Extra CP-SAT parameters by name, over ``DEFAULT_PARAMETERS`` (for benchmarks).
    deterministic_time
        With one worker, the budget of CP-SAT deterministic time for the whole search;
        default ``DETERMINISTIC_PER_SECOND`` per second of the time limit (roughly a third to
        half of the limit in wall-clock time on this machine). Ignored with more workers.

    Returns
    -------
    Plan
        Never worse than ``start``: no more bookings left out, and an objective (plus stability
        penalty, when ``previous`` is given) no higher. Status ``OPTIMAL`` when CP-SAT proved no
        plan is better, ``FEASIBLE`` when it improved on ``start`` without proof, otherwise
        ``start``'s own status. ``lower_bound`` is the best proven bound: CP-SAT's, the
        critical-path bound and our relaxations (``scheduler.cpsat.relaxation``), whichever is
        highest; with ``frozen`` it bounds the plans that keep them.

    Raises
    ------
    ValueError
        For an unknown objective, a non-positive time limit or worker count, or a frozen
        assignment that ``start`` does not keep.
    """
    clock = _Clock(time.perf_counter(), time_limit)
    if objective not in OBJECTIVES:
        raise ValueError(
            f"unknown objective {objective!r}; expected one of {', '.join(OBJECTIVES)}"
        )
    if time_limit <= 0:
        raise ValueError(f"time_limit must be positive, got {time_limit}")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    kept = set(start.assignments)
    for a in frozen:
        if a not in kept:
            raise ValueError(
                f"the start plan does not keep frozen assignment {a.booking} {a.service}"
                f"#{a.operation}"
            )
    makespan = objective == "makespan"
    parameters = {**DEFAULT_PARAMETERS, **(parameters or {})}
    problem = compile_day(
        day,
        frozen=frozen,
        required=start.scheduled_bookings() if makespan else (),
        previous=previous,
        stability_weight=stability_weight if previous is not None and not makespan else 0,
        tight_windows=strengthening.tight_windows,
    )
    start_solution, exact = solution_from_assignments(problem, start.assignments)
    start_valid = exact and not check_plan(day, start)
    start_eval = evaluate(problem, start_solution, makespan=makespan) if start_valid else None
    static = max(
        critical_path_bound(day) * problem.scale,
        Fraction(pooled_bound(problem, time_budget=min(1.0, 0.03 * time_limit))),
        Fraction(parts_bound(problem)),
    )
    report = _Reporter(on_progress, clock, problem, static, makespan)
    report.best = start_eval
    report.plan(start_eval)

    budget = (
        DETERMINISTIC_PER_SECOND * clock.left()
        if deterministic_time is None
        else deterministic_time
    )
    best: Solution | None
    best_eval: Evaluation | None
    use_lns = neighbourhood if neighbourhood is not None else len(problem.tasks) >= LNS_MIN_TASKS

    def neighbourhoods(solution: Solution, evaluation: Evaluation) -> tuple[Solution, Evaluation]:
        from scheduler.cpsat.lns import neighbourhood_search

        return neighbourhood_search(
            day,
            problem,
            solution,
            evaluation,
            clock_left=clock.left,
            reserve=_reserve(problem, time_limit),
            deterministic_time=budget if workers == 1 else None,
            workers=workers,
            seed=seed,
            objective=objective,
            frozen=frozen,
            previous=previous,
            stability_weight=stability_weight,
            strengthening=strengthening,
            listener=report.solution,
            stop=stop,
            parameters=parameters,
        )

    if use_lns and start_valid:
        assert start_eval is not None
        best, best_eval = neighbourhoods(start_solution, start_eval)
        bound, optimum = 0, None
    else:
        pm = build_model(
            problem,
            objective=objective,
            options=strengthening,
            upper_bound=start_eval.value if start_eval is not None else None,
        )
        hint = canonical(problem, start_solution) if strengthening.symmetry_breaking else None
        # With one worker the search must repeat itself, so it never switches on the clock.
        switch = neighbourhood is None and workers > 1 and start_valid and not makespan
        stalled = threading.Event() if switch else None
        timer = None
        if stalled is not None:
            timer = threading.Timer(
                FULL_SHARE * (clock.left() - _reserve(problem, time_limit)),
                lambda: stalled.set() if report.gap() > STALLED_GAP else None,
            )
            timer.daemon = True
            timer.start()
        try:
            result = search(
                pm,
                hint=hint if hint is not None else start_solution,
                time_limit=clock.left() - _reserve(problem, time_limit),
                workers=workers,
                seed=seed,
                deterministic_time=budget if workers == 1 else None,
                listener=report.solution,
                stop=stop,
                parameters=parameters,
                halt=stalled,
                bound_listener=report.bound,
            )
        finally:
            if timer is not None:
                timer.cancel()
        best, best_eval, bound = result.best, result.evaluation, result.bound
        optimum = (
            result.final.value if result.status == "OPTIMAL" and result.final is not None else None
        )
        user_stopped = stop is not None and stop.is_set()
        if stalled is not None and stalled.is_set() and optimum is None and not user_stopped:
            assert start_eval is not None  # a switch needs a valid start
            if best is None or best_eval is None or not improves(best_eval, start_eval):
                best, best_eval = start_solution, start_eval
            best, best_eval = neighbourhoods(best, best_eval)
    return _finish(
        day,
        start,
        problem,
        best,
        best_eval,
        start_eval,
        bound=bound,
        static=static,
        optimum=optimum,
        makespan=makespan,
        start_valid=start_valid,
        frozen=frozen,
    )


def _reserve(problem: Problem, time_limit: float) -> float:
    """Seconds kept back for turning the solution into a checked plan."""
    return min(0.25 * time_limit, 0.05 + 0.0004 * len(problem.tasks))


class _Reporter:
    """Turns solutions into ``Progress`` lines: elapsed seconds, objective, best bound."""

    def __init__(
        self,
        callback: ProgressCallback | None,
        clock: _Clock,
        problem: Problem,
        static: Fraction,
        makespan: bool,
    ) -> None:
        self.callback = callback
        self.clock = clock
        self.scale = problem.scale
        self.static = static
        self.makespan = makespan
        self.best_bound = 0
        self.best: Evaluation | None = None

    def plan(self, evaluation: Evaluation | None) -> None:
        """Report a plan's evaluation with the best bound known."""
        if self.callback is None or evaluation is None:
            return
        if self.makespan:
            value = float(evaluation.value)
            bound = float(self.best_bound)
        else:
            value = float(Fraction(evaluation.design, self.scale))
            bound = float(max(self.static, Fraction(self.best_bound)) / self.scale)
        self.callback(Progress(round(self.clock.elapsed(), 3), value, min(bound, value)))

    def solution(self, solution: Solution, evaluation: Evaluation, bound: int) -> None:
        """Listener for improving solutions."""
        self.best = evaluation
        self.best_bound = max(self.best_bound, bound)
        self.plan(evaluation)

    def bound(self, bound: int) -> None:
        """Listener for CP-SAT's proven bound, which also rises between solutions."""
        self.best_bound = max(self.best_bound, bound)

    def gap(self) -> float:
        """Relative gap between the best plan so far and the best bound (1 when unknown)."""
        if self.best is None or self.best.design <= 0:
            return 0.0 if self.best is not None else 1.0
        bound = max(self.static, Fraction(self.best_bound))
        return float(1 - bound / self.best.design)


def _finish(
    day: Day,
    start: Plan,
    problem: Problem,
    best: Solution | None,
    best_eval: Evaluation | None,
    start_eval: Evaluation | None,
    *,
    bound: int,
    static: Fraction,
    optimum: int | None,
    makespan: bool,
    start_valid: bool,
    frozen: Sequence[Assignment],
) -> Plan:
    """The plan to return: the search's if it beats ``start``, with the best bound.

    ``optimum`` is the proven optimal value when CP-SAT proved one (of the value it minimises:
    DESIGN.md's objective plus any stability penalty, or the makespan).
    """
    design_bound = Fraction(0) if makespan else Fraction(bound)
    lower = max(static, design_bound) / problem.scale
    result: Plan | None = None
    if best is not None and best_eval is not None:
        if start_eval is not None:
            better = improves(best_eval, start_eval)
        else:  # the start could not be read into the model: compare the plans themselves
            better = (
                best_eval.unscheduled <= len(start.unscheduled)
                and Fraction(best_eval.design, problem.scale) < start.objective
            )
        if better:
            proven = optimum is not None and best_eval.value == optimum
            result = Plan.build(
                day,
                assignments(problem, best),
                _unscheduled(problem, best, start),
                status=PlanStatus.OPTIMAL if proven else PlanStatus.FEASIBLE,
                lower_bound=lower,
            )
            violations = [str(v) for v in check_plan(day, result)]
            if not set(frozen) <= set(result.assignments):
                violations.append("a frozen assignment moved")
            if violations and start_valid:
                warnings.warn(
                    f"CP-SAT plan failed the checker ({violations[0]}); keeping the start plan",
                    RuntimeWarning,
                    stacklevel=3,
                )
                result = None
    if result is None:
        proven = optimum is not None and start_eval is not None and start_eval.value == optimum
        result = Plan.build(
            day,
            start.assignments,
            start.unscheduled,
            status=PlanStatus.OPTIMAL if proven else start.status,
            lower_bound=max(lower, start.lower_bound if start_valid else Fraction(0)),
        )
    if makespan:
        everyone = all(job.required for job in problem.jobs)
        result = result.with_kpis(
            {
                **result.kpis,
                "makespan": max((a.end for a in result.assignments), default=0),
                "makespan_lower_bound": bound if everyone else 0,
            }
        )
    return result


def _unscheduled(problem: Problem, solution: Solution, start: Plan) -> list[Unscheduled]:
    """Bookings left out, each with the dispatcher's reason if it had one, else ours."""
    reasons = {u.booking: u.reason for u in start.unscheduled}
    out = []
    for j, job in enumerate(problem.jobs):
        if not solution.present[j]:
            reason = reasons.get(job.booking) or job.reason or LEFT_OUT
            out.append(Unscheduled(job.booking, reason))
    return out


def solve_problem(
    problem: Problem,
    *,
    time_limit: float,
    objective: Objective = "makespan",
    workers: int = 2,
    seed: int = 0,
    hint: Solution | None = None,
    strengthening: Strengthening = DEFAULT_STRENGTHENING,
    parameters: Mapping[str, object] | None = None,
) -> SearchResult:
    """Solve a compiled problem directly, without a day or a start plan.

    For instances that come from outside the workshop, such as the literature's flexible job
    shops (``benchmarks/brandimarte.py``), whose machine-dependent processing times no day can
    express. ``time_limit`` covers model building and search.
    """
    began = time.perf_counter()
    pm = build_model(problem, objective=objective, options=strengthening)
    return search(
        pm,
        hint=canonical(problem, hint)
        if hint is not None and strengthening.symmetry_breaking
        else hint,
        time_limit=time_limit - (time.perf_counter() - began),
        workers=workers,
        seed=seed,
        parameters={**DEFAULT_PARAMETERS, **(parameters or {})},
    )
