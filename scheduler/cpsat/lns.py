"""Large-neighbourhood search for big days: re-plan a few bookings at a time, the rest stays put.

On a day of 150 to 300 bookings the whole model is too big for CP-SAT to improve much within
seconds. Instead, pick a *neighbourhood* (the bookings around a moment of the day, around one
technician, around a booking left out, or around the costliest bookings), fix every other
booking exactly where it is (its technician, bay and parts are simply taken), and let CP-SAT
re-plan the neighbourhood, warm-started from the current plan and allowed only to improve it.
Neighbourhoods grow while CP-SAT closes them quickly and shrink when it does not, and the kinds
that have been paying off on this day are picked more often (adaptive LNS). Because
what is not re-planned stays put to the minute, moved bookings leave holes behind; at the end
the whole plan is re-timed with every booking kept on its technicians and bays and in its order
on each (``retime``), which closes them.
"""

from __future__ import annotations

import random
import threading
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction

from scheduler.cpsat.constraints import Strengthening
from scheduler.cpsat.model import Objective, build_model
from scheduler.cpsat.problem import Problem, compile_day
from scheduler.cpsat.search import (
    DETERMINISTIC_PER_SECOND,
    Choice,
    Evaluation,
    Solution,
    SolutionListener,
    assignments,
    canonical,
    evaluate,
    improves,
    search,
    solution_from_assignments,
)
from scheduler.domain import Day
from scheduler.plan import Assignment, Plan

MIN_SIZE, MAX_SIZE = 6, 60
INITIAL_SIZE = 15
SUB_TIME = 0.5  # seconds per neighbourhood
MIN_LEFT = 0.3  # no new neighbourhood with less time left than this
RETIME_TIME = 0.25  # seconds for the closing re-timing (a large day's takes about 0.1 s)

PATIENCE = 0.15
"""A neighbourhood is given up after this many seconds without a better plan. On 10 s runs of
the restricted rush days (``benchmarks/peer_pyjobshop.py``'s days) 12 of 27 neighbourhoods of
one run found nothing after the start plan yet held CP-SAT for the whole ``SUB_TIME``, while
those that paid found their last gain within 0.3 s. Measured over three solver seeds, the
nine days' summed weighted wait fell 1.1% (50,067 against 50,633 on average, lower in each
seed); large days at 30 s stayed within their target (median 1.49% to best known, seed 0)."""

KINDS = ("window", "costly", "technician")
SCORE_DECAY = 0.3
EXPLORE = 0.2
"""Each kind of neighbourhood is scored by what it gained per second of search, as a moving
average (each use moves the score ``SCORE_DECAY`` of the way to the new rate); a kind is picked
with probability ``EXPLORE / 3`` plus the rest in proportion to its score (adaptive LNS, after
Ropke and Pisinger 2006). Which kind pays differs from day to day and changes as the plan
improves: on large days 1, 4 and 5 the costly bookings' neighbourhoods gained 1.3 to 5 times
as much per second as the time windows, which got 65% of the picks when they were fixed."""

LEFT_OUT_SHARE = 0.4
LEFT_OUT_TRIES = 15
LEFT_OUT_RETRY = 0.05
"""A booking left out is worth 10,000 weighted minutes, so ``LEFT_OUT_SHARE`` of the picks
re-plan around one that has had fewer than ``LEFT_OUT_TRIES`` tries; after that, ``LEFT_OUT_RETRY``
of them. Most bookings still out after a few tries stay out for good (the best plans known leave
them out too: on large day 1, 28 of 29 such neighbourhoods found nothing), but some take a dozen
tries (large day 0 placed one in each of five 30 s runs with 15 tries, in one of three with 6)."""


@dataclass(slots=True)
class _State:
    """The current plan, by booking, and its exact evaluation on the whole day."""

    by_booking: dict[str, list[Assignment]]
    solution: Solution
    evaluation: Evaluation


def neighbourhood_search(
    day: Day,
    problem: Problem,
    start: Solution,
    start_eval: Evaluation,
    *,
    clock_left: Callable[[], float],
    reserve: float,
    deterministic_time: float | None,
    workers: int,
    seed: int,
    objective: Objective,
    frozen: Sequence[Assignment],
    previous: Plan | None,
    stability_weight: Fraction | int,
    strengthening: Strengthening,
    listener: SolutionListener | None,
    stop: threading.Event | None,
    parameters: Mapping[str, object] | None = None,
) -> tuple[Solution, Evaluation]:
    """Improve ``start`` neighbourhood by neighbourhood until the time is up.

    Parameters
    ----------
    problem
        The whole day compiled, used to evaluate every candidate exactly.
    clock_left
        Seconds left of the caller's time limit.
    reserve
        Seconds to keep back for the caller.
    deterministic_time
        When given, the whole search runs on this much CP-SAT deterministic time (one worker),
        so the neighbourhoods and their results repeat from run to run.

    Returns
    -------
    The best solution and its evaluation (never worse than ``start``).
    """
    rng = random.Random(seed)
    state = _State(_group(assignments(problem, start)), start, start_eval)
    makespan = objective == "makespan"
    frozen_by_booking: dict[str, list[Assignment]] = defaultdict(list)
    for a in frozen:
        frozen_by_booking[a.booking].append(a)
    chooser = _Chooser(day, problem, rng)
    size = min(MAX_SIZE, max(MIN_SIZE, INITIAL_SIZE))
    sub_time = SUB_TIME
    deterministic = deterministic_time is not None
    budget = deterministic_time or 0.0
    while clock_left() - reserve > MIN_LEFT and not (stop is not None and stop.is_set()):
        if deterministic and budget <= 0:
            break
        subset = chooser.choose(state, size)
        if not subset:
            break
        fixed = [a for b, lst in state.by_booking.items() if b not in subset for a in lst]
        bookings = [day.booking(b) for b in sorted(subset, key=lambda b: chooser.order[b])]
        sub = compile_day(
            day,
            bookings=bookings,
            fixed=fixed,
            frozen=[a for b in subset for a in frozen_by_booking.get(b, [])],
            required=[b for b in subset if b in state.by_booking] if makespan else (),
            previous=previous,
            stability_weight=stability_weight if previous is not None and not makespan else 0,
            tight_windows=strengthening.tight_windows,
        )
        current = [a for b in subset for a in state.by_booking.get(b, [])]
        sub_start, exact = solution_from_assignments(sub, current)
        if not exact:
            continue
        sub_eval = evaluate(sub, sub_start, makespan=makespan)
        pm = build_model(
            sub, objective=objective, options=strengthening, upper_bound=sub_eval.value
        )
        limit = min(sub_time, clock_left() - reserve)
        det_limit = min(budget, DETERMINISTIC_PER_SECOND * sub_time)
        result = search(
            pm,
            hint=canonical(sub, sub_start) if strengthening.symmetry_breaking else sub_start,
            time_limit=limit,
            workers=workers,
            seed=rng.randrange(1 << 30),
            deterministic_time=det_limit if deterministic else None,
            stop=stop,
            parameters=parameters,
            patience=None if deterministic else PATIENCE,
        )
        # Scored on CP-SAT's deterministic clock when the search must repeat itself.
        chooser.reward(
            _gain(result.evaluation, sub_eval),
            result.deterministic_time if deterministic else result.seconds,
            det_limit if deterministic else limit,
        )
        # Charge at least a tenth of the share, so the number of neighbourhoods is bounded
        # by the budget alone even when CP-SAT closes them in no deterministic time.
        budget -= max(result.deterministic_time, 0.1 * det_limit)
        quick = (
            result.deterministic_time < 0.5 * det_limit
            if deterministic
            else result.seconds < 0.5 * limit
        )
        if result.status == "OPTIMAL" and quick:
            size = min(MAX_SIZE, size + 2)
        elif result.status != "OPTIMAL":
            size = max(MIN_SIZE, size - 1)
        if result.best is None or result.evaluation is None:
            continue
        if not improves(result.evaluation, sub_eval):
            continue
        merged = dict(state.by_booking)
        for b in subset:
            merged.pop(b, None)
        merged.update(_group(assignments(sub, result.best)))
        full, full_exact = solution_from_assignments(
            problem, [a for x in merged.values() for a in x]
        )
        full_eval = evaluate(problem, full, makespan=makespan)
        if full_exact and improves(full_eval, state.evaluation):
            state = _State(merged, full, full_eval)
            if listener is not None:
                listener(full, full_eval, 0)
    left = clock_left() - reserve
    if left > 0.02 and not (stop is not None and stop.is_set()):
        solution, evaluation = retime(
            problem,
            state.solution,
            state.evaluation,
            time_limit=min(RETIME_TIME, left),
            deterministic_time=DETERMINISTIC_PER_SECOND * RETIME_TIME if deterministic else None,
            workers=workers,
            seed=rng.randrange(1 << 30),
            objective=objective,
            strengthening=strengthening,
            stop=stop,
            parameters=parameters,
        )
        if evaluation != state.evaluation and listener is not None:
            listener(solution, evaluation, 0)
        return solution, evaluation
    return state.solution, state.evaluation


def retime(
    problem: Problem,
    solution: Solution,
    evaluation: Evaluation,
    *,
    time_limit: float,
    deterministic_time: float | None,
    workers: int,
    seed: int,
    objective: Objective,
    strengthening: Strengthening,
    stop: threading.Event | None,
    parameters: Mapping[str, object] | None = None,
) -> tuple[Solution, Evaluation]:
    """The plan with every booking kept on its technicians and bays and in its order on each,
    each task as early or late as the objective wants; never worse than ``solution``.

    CP-SAT solves this in about 0.1 s on a 300-operation day: with the resources chosen, only
    the times are left, and the current plan is a solution to start from.
    """
    kept, hint = _kept_order_problem(problem, solution)
    pm = build_model(
        kept,
        objective=objective,
        # Symmetry breaking would relabel resources the chains name.
        options=replace(strengthening, symmetry_breaking=False),
        upper_bound=evaluation.value,
    )
    result = search(
        pm,
        hint=hint,
        time_limit=time_limit,
        workers=workers,
        seed=seed,
        deterministic_time=deterministic_time,
        stop=stop,
        parameters=parameters,
    )
    if result.best is None:
        return solution, evaluation
    # Through assignments, as a neighbourhood's result is merged: kept tasks have one mode.
    retimed, exact = solution_from_assignments(problem, assignments(kept, result.best))
    retimed_eval = evaluate(problem, retimed, makespan=objective == "makespan")
    if exact and improves(retimed_eval, evaluation):
        return retimed, retimed_eval
    return solution, evaluation


def _kept_order_problem(problem: Problem, solution: Solution) -> tuple[Problem, Solution]:
    """``problem`` with each scheduled task held to its technician and bay and to its place in
    their order (as chains), its booking required; bookings left out stay out. Also the
    solution in the new problem's terms (each kept task's one mode is mode 0)."""
    tasks = list(problem.tasks)
    jobs = list(problem.jobs)
    choices = list(solution.choices)
    by_technician: dict[int, list[tuple[int, int]]] = defaultdict(list)
    by_bay: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for j, job in enumerate(problem.jobs):
        if not solution.present[j]:
            jobs[j] = replace(job, tasks=(), earliest_end=None)
            continue
        jobs[j] = replace(job, required=True)
        for t in job.tasks:
            task, choice = problem.tasks[t], solution.choices[t]
            if choice is None:  # pinned: its technician and bay are blocked already
                continue
            mode = task.modes[choice.mode]
            tasks[t] = replace(
                task,
                modes=(mode,),
                bays=(choice.bay,) if task.bays else (),
                # A preference the kept technician misses is a constant: leave it out.
                preferred=task.preferred if task.preferred == mode.technician else None,
            )
            choices[t] = Choice(choice.start, 0, choice.bay)
            by_technician[mode.technician].append((choice.start, t))
            if task.bays:
                by_bay[choice.bay].append((choice.start, t))
    chains = tuple(
        tuple(t for _, t in sorted(uses))
        for uses in (*by_technician.values(), *by_bay.values())
        if len(uses) > 1
    )
    kept = replace(problem, jobs=tuple(jobs), tasks=tuple(tasks), chains=chains)
    return kept, Solution(solution.present, tuple(choices))


def _gain(found: Evaluation | None, start: Evaluation) -> int:
    """How much a neighbourhood's best plan lowers its value; 0 if it leaves more out."""
    if found is None or found.unscheduled > start.unscheduled:
        return 0
    return max(0, start.value - found.value)


def _group(items: Sequence[Assignment]) -> dict[str, list[Assignment]]:
    out: dict[str, list[Assignment]] = defaultdict(list)
    for a in items:
        out[a.booking].append(a)
    return dict(out)


class _Chooser:
    """Picks neighbourhoods: a time window, a technician's day, a left-out booking, or costly
    bookings, each with the bookings that compete with them for time and resources."""

    def __init__(self, day: Day, problem: Problem, rng: random.Random) -> None:
        self.day = day
        self.problem = problem
        self.rng = rng
        self.kind: str | None = None  # of the last pick; None for a left-out booking's
        self.score: dict[str, float] = {}
        self.tries: dict[str, int] = defaultdict(int)
        self.order = {b.id: k for k, b in enumerate(day.bookings)}
        self.jobs = {job.booking: j for j, job in enumerate(problem.jobs)}
        # Resources each booking could use, for "who competes with whom".
        self.could_use: dict[str, set[str]] = {}
        for job in problem.jobs:
            used: set[str] = set()
            for t in job.tasks:
                task = problem.tasks[t]
                used.update("T" + problem.technicians[m.technician].id for m in task.modes)
                used.update("B" + problem.bays[b].id for b in task.bays)
            self.could_use[job.booking] = used

    def choose(self, state: _State, size: int) -> set[str]:
        """A neighbourhood of about ``size`` bookings."""
        left_out = [
            job.booking
            for j, job in enumerate(self.problem.jobs)
            if job.schedulable and not state.solution.present[j]
        ]
        fresh = [b for b in left_out if self.tries[b] < LEFT_OUT_TRIES]
        if fresh and self.rng.random() < LEFT_OUT_SHARE:
            booking = self.rng.choice(fresh)
            self.tries[booking] += 1
            self.kind = None
            return self._around(state, booking, size)
        if left_out and self.rng.random() < LEFT_OUT_RETRY:
            self.kind = None
            return self._around(state, self.rng.choice(left_out), size)
        self.kind = self._pick_kind()
        if self.kind == "window":
            return self._window(state, size)
        if self.kind == "costly":
            return self._costly(state, size)
        return self._technician(state, size)

    def _pick_kind(self) -> str:
        # A kind not tried yet counts as good as the best, so each gets tried early.
        known = [self.score[k] for k in KINDS if k in self.score]
        top = max(known, default=1.0)
        weights = [self.score.get(k, top) for k in KINDS]
        total = sum(weights)
        shares = [w / total if total > 0 else 1 / len(KINDS) for w in weights]
        chances = [EXPLORE / len(KINDS) + (1 - EXPLORE) * share for share in shares]
        return self.rng.choices(KINDS, chances)[0]

    def reward(self, gain: int, spent: float, allowed: float) -> None:
        """Score the last pick's kind: ``gain`` in objective units for ``spent`` of the
        ``allowed`` search time (seconds, or deterministic time)."""
        if self.kind is None:
            return
        rate = gain / max(spent, 0.1 * allowed, 1e-9)
        old = self.score.get(self.kind)
        self.score[self.kind] = rate if old is None else old + SCORE_DECAY * (rate - old)

    def _span(self, booking: str, state: _State) -> tuple[int, int]:
        """When a booking is in the workshop: arrival until ready (or its latest finish)."""
        arrival = self.day.booking(booking).arrival
        items = state.by_booking.get(booking)
        if items:
            return min(arrival, min(a.start for a in items)), max(a.end for a in items)
        return arrival, self.problem.horizon

    def _competitors(
        self, state: _State, seeds: set[str], window: tuple[int, int], size: int
    ) -> set[str]:
        """``seeds`` plus bookings sharing resources with them in ``window``, nearest first."""
        resources: set[str] = set()
        for b in seeds:
            resources |= self.could_use.get(b, set())
        lo, hi = window
        scored: list[tuple[float, str]] = []
        for b, items in state.by_booking.items():
            if b in seeds:
                continue
            for a in items:
                if (
                    a.start < hi
                    and lo < a.end
                    and ("T" + a.technician in resources or "B" + a.bay in resources)
                ):
                    scored.append(
                        (abs((a.start + a.end) / 2 - (lo + hi) / 2) + self.rng.random(), b)
                    )
                    break
        scored.sort()
        out = set(seeds)
        for _, b in scored:
            if len(out) >= size:
                break
            out.add(b)
        return out

    def _around(self, state: _State, booking: str, size: int) -> set[str]:
        job = self.problem.jobs[self.jobs[booking]]
        lo = self.problem.tasks[job.tasks[0]].earliest
        hi = min(self.problem.horizon, lo + self.rng.randint(90, 360))
        return self._competitors(state, {booking}, (lo, hi), size)

    def _window(self, state: _State, size: int) -> set[str]:
        spans = [self._span(b, state) for b in state.by_booking]
        if not spans:
            return set()
        lo = min(s for s, _ in spans)
        hi = max(e for _, e in spans)
        at = self.rng.randint(lo, max(lo, hi - 30))
        inside = [
            (abs((s + e) / 2 - at) + self.rng.random(), b)
            for b, (s, e) in zip(state.by_booking, spans, strict=True)
        ]
        inside.sort()
        chosen = {b for _, b in inside[:size]}
        # Bookings left out that could be placed around then come along.
        for j, job in enumerate(self.problem.jobs):
            if job.schedulable and not state.solution.present[j] and job.release <= at + 60:
                chosen.add(job.booking)
                break
        return chosen

    def _costly(self, state: _State, size: int) -> set[str]:
        costs = []
        for j, job in enumerate(self.problem.jobs):
            if not state.solution.present[j]:
                continue
            ready = max(a.end for a in state.by_booking[job.booking])
            costs.append((job.weight * job.wait(ready), job.booking))
        total = sum(c for c, _ in costs)
        if total <= 0:
            return self._window(state, size)
        pick = self.rng.random() * total
        booking = costs[-1][1]
        for cost, candidate in costs:
            pick -= cost
            if pick <= 0:
                booking = candidate
                break
        return self._competitors(state, {booking}, self._span(booking, state), size)

    def _technician(self, state: _State, size: int) -> set[str]:
        techs = sorted({a.technician for items in state.by_booking.values() for a in items})
        if not techs:
            return set()
        tech = self.rng.choice(techs)
        mine = sorted(
            (a.start, b)
            for b, items in state.by_booking.items()
            for a in items
            if a.technician == tech
        )
        if not mine:
            return set()
        k = self.rng.randrange(len(mine))
        seeds = {b for _, b in mine[k : k + max(2, size // 3)]}
        lo = min(self._span(b, state)[0] for b in seeds)
        hi = max(self._span(b, state)[1] for b in seeds)
        return self._competitors(state, seeds, (lo, hi), size)
