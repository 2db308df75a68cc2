"""Lower bounds of our own, so the gap a service manager sees means something.

CP-SAT's bound on a sum of waits is weak: it proves little about queueing. Two relaxations
help, each valid for every plan of the problem (frozen work included):

- **Own path**: each booking alone on the workshop, every operation at the earliest minute a
  qualified technician and a matching bay are free and its parts are on the shelf (computed when
  the problem is compiled). A waiter waits at least that long; it already counts breaks, shifts
  and deliveries, which the catalogue-time ``critical_path_bound`` does not.
- **Pooled work** (waiters only): all operations needing one skill (or one bay kind) share the
  technicians with that skill (bays of that kind). Relax them to preemptive work on that pool,
  at most one unit per booking per minute, capacity the pool's free members minute by minute.
  For any plan, a booking's pool work is done at rate at most one, so its pool work ends no
  earlier than its *mean busy time* plus half its work; the least weighted sum of mean busy
  times over the relaxation is a transportation problem, solved exactly as a min-cost flow.
  Drop-offs, bookings with pinned work and every other booking keep their own-path bound; the
  two parts add up because they bound disjoint parts of the objective.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from ortools.graph.python import min_cost_flow

from scheduler.cpsat.problem import Job, Problem, Resource

# Per-unit flow costs are floored after scaling by this, which only lowers the bound a little.
_COST_SCALE = 1 << 20


def own_path_costs(problem: Problem) -> list[int]:
    """Each job's least scaled cost on an otherwise empty workshop (penalty if it never fits)."""
    out = []
    for job in problem.jobs:
        if job.earliest_end is None:
            out.append(problem.penalty_per_weight * job.weight)
        else:
            out.append(job.weight * job.wait(job.earliest_end))
    return out


def own_path_bound(problem: Problem) -> int:
    """Sum of own-path costs (scaled units)."""
    return sum(own_path_costs(problem))


def parts_bound(problem: Problem) -> int:
    """Own-path bound plus the least penalty a parts shortage forces (scaled units).

    When the day's whole supply of a part (minus fixed takes) is less than the bookings need,
    some must be left out; covering the shortage with the cheapest bookings per unit of the
    part, fractionally (a knapsack's linear relaxation), is a valid floor on the extra cost.
    Different parts may be short through the same bookings, so the worst part counts, not the
    sum.
    """
    own = own_path_costs(problem)
    extra = 0.0
    for k, stock in enumerate(problem.stocks):
        need: dict[int, int] = defaultdict(int)
        fixed_need = 0
        for task in problem.tasks:
            for stock_index, qty in task.parts:
                if stock_index != k or task.pin is not None:
                    continue
                if problem.jobs[task.job].required:
                    fixed_need += qty
                else:
                    need[task.job] += qty
        available = sum(change for _, change in stock.events) - stock.floor - fixed_need
        shortage = sum(need.values()) - available
        if shortage <= 0:
            continue
        items = sorted(
            (
                (problem.penalty_per_weight * problem.jobs[j].weight - own[j]) / qty,
                qty,
            )
            for j, qty in need.items()
            if problem.jobs[j].schedulable
        )
        cost = 0.0
        for per_unit, qty in items:
            take = min(qty, shortage)
            cost += per_unit * take
            shortage -= take
            if shortage <= 0:
                break
        extra = max(extra, cost)
    return sum(own) + max(0, math.floor(extra - 1e-9 * max(1.0, extra)))


def pooled_bound(problem: Problem, *, time_budget: float = 1.0) -> int:
    """The better of the own-path bound and every pool's pooled-work bound (scaled units).

    Stops trying further pools once ``time_budget`` seconds are spent.
    """
    own = own_path_costs(problem)
    best = sum(own)
    began = time.perf_counter()
    for members, tasks_of in _pools(problem):
        if time.perf_counter() - began > time_budget:
            break
        eligible = [
            j
            for j, job in enumerate(problem.jobs)
            if job.earliest_end is not None
            and tasks_of[j]
            and not any(problem.tasks[t].pin is not None for t in job.tasks)
        ]
        if not eligible:
            continue
        pool = _pool_flow_bound(problem, members, tasks_of, eligible)
        chosen = set(eligible)
        others = sum(c for j, c in enumerate(own) if j not in chosen)
        best = max(best, pool + others)
    return best


def _pools(problem: Problem) -> list[tuple[Sequence[Resource], dict[int, list[int]]]]:
    """Each skill's technicians and each bay kind's bays, with the tasks needing them per job."""
    pools: list[tuple[Sequence[Resource], dict[int, list[int]]]] = []
    by_skill: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    by_kind: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for t, task in enumerate(problem.tasks):
        if task.skill is not None:
            by_skill[task.skill][task.job].append(t)
        if task.kind is not None:
            by_kind[task.kind][task.job].append(t)
    for skill, tasks_of in sorted(by_skill.items()):
        members = [problem.technicians[i] for i in problem.skill_members.get(skill, ())]
        pools.append((members, tasks_of))
    for kind, tasks_of in sorted(by_kind.items()):
        members = [problem.bays[i] for i in problem.kind_members.get(kind, ())]
        pools.append((members, tasks_of))
    return pools


def _free_count(members: Sequence[Resource], horizon: int) -> np.ndarray:
    """Members free at each minute of ``[0, horizon)``."""
    free = np.full(horizon, len(members), dtype=np.int64)
    for r in members:
        for s, e in r.blocked:
            free[max(0, s) : min(e, horizon)] -= 1
    return np.maximum(free, 0)


@dataclass(frozen=True, slots=True)
class _PoolJob:
    """A booking's work on one pool: when it can start there, how much, what must follow."""

    job: Job
    release: int
    work: int  # minutes on the fastest members
    tail: int  # minutes of work after its last task on the pool


def _pool_flow_bound(
    problem: Problem,
    members: Sequence[Resource],
    tasks_of: dict[int, list[int]],
    eligible: list[int],
) -> int:
    """Least scaled cost of the eligible bookings under the pooled-work relaxation.

    Each unit of a booking's pool work goes to one minute inside the horizon (at most one unit
    per booking per minute, at most the free members per minute), or overflows past the
    horizon. Per unit at minute ``t``, a waiter costs ``w/p * (t + 1/2 + p/2 + tail - arrival)``
    (summing to ``w * (mean busy time + p/2 + tail - arrival)``, at most its real wait), a
    drop-off ``w/p * max(0, t + 1 + tail - promised)`` (each unit ends at least ``tail`` before
    the car is ready), and an overflowing unit ``w/p * 10000``: a booking whose work does not fit
    must be left out. Costs are floored after scaling, so the bound only gets lower.
    """
    horizon = problem.horizon
    free = _free_count(members, horizon)
    jobs: list[_PoolJob] = []
    for j in eligible:
        job = problem.jobs[j]
        pool_tasks = set(tasks_of[j])
        first = min(k for k, t in enumerate(job.tasks) if t in pool_tasks)
        last = max(k for k, t in enumerate(job.tasks) if t in pool_tasks)
        work = sum(problem.tasks[t].min_duration for t in job.tasks if t in pool_tasks)
        tail = sum(problem.tasks[t].min_duration for t in job.tasks[last + 1 :])
        jobs.append(_PoolJob(job, problem.tasks[job.tasks[first]].earliest, work, tail))
    earliest = min(pj.release for pj in jobs)
    bucket = max(1, math.ceil(len(jobs) * (horizon - earliest) / 40_000))
    slots = list(range(earliest - earliest % bucket, horizon, bucket))
    n_jobs = len(jobs)
    overflow = n_jobs + len(slots)
    sink = overflow + 1
    tails: list[int] = []
    heads: list[int] = []
    caps: list[int] = []
    costs: list[int] = []
    starts = np.array(slots, dtype=np.float64)
    for i, pj in enumerate(jobs):
        w, p = pj.job.weight, pj.work
        ks = np.nonzero(starts + bucket > pj.release)[0]
        # Every unit placed in a slot lies at minute max(slot start, release) or later.
        t = np.maximum(starts[ks], pj.release)
        if pj.job.waiting:
            unit = w * (t + 0.5 + p / 2 + pj.tail - pj.job.release) / p
        else:
            unit = w * np.maximum(0.0, t + 1 + pj.tail - pj.job.due) / p
        tails.extend([i] * len(ks))
        heads.extend((n_jobs + ks).tolist())
        caps.extend(np.minimum(bucket, horizon - starts[ks]).astype(np.int64).tolist())
        costs.extend(np.floor(unit * _COST_SCALE).astype(np.int64).tolist())
        tails.append(i)
        heads.append(overflow)
        caps.append(p)
        costs.append(math.floor(problem.penalty_per_weight * w / p * _COST_SCALE))
    for k, s in enumerate(slots):
        cap = int(free[s : s + bucket].sum())
        if cap > 0:
            tails.append(n_jobs + k)
            heads.append(sink)
            caps.append(cap)
            costs.append(0)
    total = sum(pj.work for pj in jobs)
    tails.append(overflow)
    heads.append(sink)
    caps.append(total)
    costs.append(0)
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        np.array(tails, dtype=np.int32),
        np.array(heads, dtype=np.int32),
        np.array(caps, dtype=np.int64),
        np.array(costs, dtype=np.int64),
    )
    supplies = np.zeros(sink + 1, dtype=np.int64)
    supplies[:n_jobs] = [pj.work for pj in jobs]
    supplies[sink] = -total
    flow.set_nodes_supplies(np.arange(sink + 1, dtype=np.int32), supplies)
    if flow.solve() != flow.OPTIMAL:
        return 0
    value = int(flow.optimal_cost()) / _COST_SCALE
    # Round down, with a margin for the floating-point arithmetic above.
    return max(0, math.floor(value - 1e-9 * max(1.0, value)))
