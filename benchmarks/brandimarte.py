"""Brandimarte's flexible job shops mk01-mk10 in makespan mode (issue 3, table 3).

Reads the instances in ``benchmarks/data/brandimarte`` (see its SOURCE.md), maps each into the
planner's problem model, solves it with CP-SAT in makespan mode for each time limit and seed,
checks every schedule independently (precedence, machine overlap, durations), and prints the
makespan, CP-SAT's bound and the gap to the best known makespan (median over seeds), and the
mean gap per time limit. ``--peer`` also runs PyJobShop on the same instances with the same
limits and workers, in the same run (``pip install pyjobshop``).

The mapping: each machine becomes a technician; each job a booking whose operations are tasks
with one mode per eligible machine (that machine, its processing time); no bays. The domain's
``Day`` cannot carry these instances: there, a duration is the operation's standard minutes
times the technician's efficiency, one factor per technician, while Brandimarte's times vary
per operation and machine freely. The planner's problem model (``scheduler.cpsat.problem``)
carries a duration per mode, so the same CP-SAT model solves both.

    python benchmarks/brandimarte.py [--instances mk01,...,mk10] [--limits 10,60] [--seeds 3]
        [--workers 2] [--peer]
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import itertools

from scheduler.cpsat import solve_problem
from scheduler.cpsat.problem import Job, Mode, Problem, Resource, Task
from scheduler.cpsat.search import Solution

DATA = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True, slots=True)
class FlexibleJobShop:
    """Jobs of operations; each operation maps its eligible machines to processing times."""

    name: str
    machines: int
    jobs: tuple[tuple[dict[int, int], ...], ...]


def read_fjsp(path: Path) -> FlexibleJobShop:
    """Read a flexible job shop in either text layout.

    Line 1 is ``jobs machines`` (SchedulingLab's variant, 0-based machines) or the classic
    ``jobs machines flexibility`` (1-based machines). Each further non-empty line is a job:
    its number of operations, then per operation the number of eligible machines followed by
    that many ``machine time`` pairs.
    """
    lines = [line.split() for line in path.read_text().splitlines() if line.strip()]
    header = lines[0]
    n_jobs, n_machines = int(header[0]), int(header[1])
    offset = 1 if len(header) >= 3 else 0
    jobs = []
    for tokens in lines[1 : 1 + n_jobs]:
        values = [int(x) for x in tokens]
        ops: list[dict[int, int]] = []
        k = 1
        for _ in range(values[0]):
            eligible = values[k]
            pairs = values[k + 1 : k + 1 + 2 * eligible]
            ops.append({pairs[i] - offset: pairs[i + 1] for i in range(0, len(pairs), 2)})
            k += 1 + 2 * eligible
        if k != len(values):
            raise ValueError(f"{path.name}: job line has {len(values) - k} numbers too many")
        jobs.append(tuple(ops))
    if len(jobs) != n_jobs:
        raise ValueError(f"{path.name}: expected {n_jobs} jobs, found {len(jobs)}")
    for ops in jobs:
        for op in ops:
            if not op or not all(0 <= m < n_machines for m in op):
                raise ValueError(f"{path.name}: machine index out of range")
    return FlexibleJobShop(path.stem, n_machines, tuple(jobs))


def to_problem(instance: FlexibleJobShop) -> Problem:
    """The instance as a planning problem: machines are technicians, jobs bookings, no bays."""
    # Doing every operation one after another on its fastest machine is a valid schedule, so
    # no optimal one ends later.
    horizon = sum(min(op.values()) for ops in instance.jobs for op in ops)
    technicians = tuple(Resource(f"M{m}", ()) for m in range(instance.machines))
    tasks: list[Task] = []
    jobs: list[Job] = []
    for j, ops in enumerate(instance.jobs):
        shortest = [min(op.values()) for op in ops]
        indices = []
        for k, op in enumerate(ops):
            earliest = sum(shortest[:k])
            latest = horizon - sum(shortest[k:])
            indices.append(len(tasks))
            tasks.append(
                Task(
                    job=j,
                    service=f"J{j}",
                    operation=k,
                    modes=tuple(Mode(m, d) for m, d in sorted(op.items())),
                    bays=(),
                    starts=((earliest, latest),),
                )
            )
        jobs.append(
            Job(
                booking=f"J{j}",
                tasks=tuple(indices),
                release=0,
                waiting=False,
                due=horizon,
                weight=1,
                required=True,
                earliest_end=sum(shortest),
            )
        )
    return Problem(technicians, (), tuple(jobs), tuple(tasks), (), horizon)


def check_schedule(problem: Problem, solution: Solution) -> int:
    """Verify a schedule independently of the solver and return its makespan.

    Raises
    ------
    ValueError
        When an operation is missing, runs before its predecessor ends, on a machine that
        cannot do it, or overlaps another operation on its machine.
    """
    busy: dict[int, list[tuple[int, int]]] = {}
    makespan = 0
    for job in problem.jobs:
        ready = 0
        for t in job.tasks:
            choice = solution.choices[t]
            if choice is None:
                raise ValueError(f"{job.booking}: an operation is not scheduled")
            mode = problem.tasks[t].modes[choice.mode]
            if choice.start < ready:
                raise ValueError(f"{job.booking}: operation starts before its predecessor ends")
            ready = choice.start + mode.duration
            busy.setdefault(mode.technician, []).append((choice.start, ready))
        makespan = max(makespan, ready)
    for machine, spans in busy.items():
        spans.sort()
        for (_, end), (start, _) in itertools.pairwise(spans):
            if start < end:
                raise ValueError(f"machine M{machine} holds two operations at once")
    return makespan


@dataclass(frozen=True, slots=True)
class Outcome:
    """One solve: makespan found (checked; infinite when none was found), bound, seconds."""

    makespan: float
    bound: int
    seconds: float


def solve_ours(problem: Problem, limit: float, workers: int, seed: int) -> Outcome:
    """Our CP-SAT model in makespan mode."""
    began = time.perf_counter()
    result = solve_problem(
        problem, time_limit=limit, objective="makespan", workers=workers, seed=seed
    )
    seconds = time.perf_counter() - began
    if result.best is None:
        return Outcome(float("inf"), result.bound, seconds)
    return Outcome(check_schedule(problem, result.best), result.bound, seconds)


def solve_peer(instance: FlexibleJobShop, limit: float, workers: int, seed: int) -> Outcome:
    """PyJobShop's own model of the same instance (machines with processing-time modes)."""
    from pyjobshop import Model

    model = Model()
    machines = [model.add_machine(name=f"M{m}") for m in range(instance.machines)]
    for j, ops in enumerate(instance.jobs):
        job = model.add_job(name=f"J{j}")
        tasks = [model.add_task(job=job) for _ in ops]
        for task, op in zip(tasks, ops, strict=True):
            for m, d in op.items():
                model.add_mode(task, machines[m], d)
        for before, after in itertools.pairwise(tasks):
            model.add_end_before_start(before, after)
    began = time.perf_counter()
    result = model.solve(
        solver="ortools",
        time_limit=limit,
        display=False,
        num_workers=workers,
        random_seed=seed,
    )
    seconds = time.perf_counter() - began
    found = result.objective < float("inf")
    return Outcome(result.objective if found else float("inf"), int(result.lower_bound), seconds)


def best_known(names: Sequence[str]) -> dict[str, tuple[int, int]]:
    """(lower bound, best known makespan) per instance, from bounds.csv."""
    with (DATA / "brandimarte" / "bounds.csv").open() as f:
        return {r["instance"]: (int(r["lb"]), int(r["ub"])) for r in csv.DictReader(f)}


def run_table(
    console: Console,
    title: str,
    instances: list[FlexibleJobShop],
    known: dict[str, tuple[int, int]],
    limits: list[float],
    seeds: int,
    workers: int,
    peer: bool,
) -> None:
    """Solve every instance at every limit and seed; print medians and the mean gap."""
    solvers = ["ours", *(["pyjobshop"] if peer else [])]
    table = Table(title=title)
    table.add_column("instance")
    table.add_column("best known", justify="right")
    for limit in limits:
        for who in solvers:
            table.add_column(f"{who} {limit:g}s: makespan / bound / gap", justify="right")
    gaps: dict[tuple[str, float], list[float]] = {(w, t): [] for w in solvers for t in limits}
    for instance in instances:
        problem = to_problem(instance)
        _, ub = known[instance.name]
        cells = []
        for limit in limits:
            for who in solvers:
                outcomes = [
                    solve_ours(problem, limit, workers, seed)
                    if who == "ours"
                    else solve_peer(instance, limit, workers, seed)
                    for seed in range(seeds)
                ]
                span = statistics.median(o.makespan for o in outcomes)
                bound = statistics.median(o.bound for o in outcomes)
                gap = span / ub - 1
                gaps[(who, limit)].append(gap)
                cells.append(f"{span:g} / {bound:g} / {gap:.1%}")
        table.add_row(instance.name, str(ub), *cells)
        console.print(f"{instance.name}: done", style="dim")
    table.add_row(
        "mean gap",
        "",
        *(f"{statistics.mean(gaps[(w, t)]):.2%}" for t in limits for w in solvers),
    )
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", default=",".join(f"mk{i:02d}" for i in range(1, 11)))
    parser.add_argument("--limits", default="10,60")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--peer", action="store_true", help="also run PyJobShop")
    args = parser.parse_args()
    names = args.instances.split(",")
    instances = [read_fjsp(DATA / "brandimarte" / f"{name}.txt") for name in names]
    run_table(
        Console(width=200),
        f"Brandimarte, makespan mode, {args.workers} workers, median of {args.seeds} seeds",
        instances,
        best_known(names),
        [float(x) for x in args.limits.split(",")],
        args.seeds,
        args.workers,
        args.peer,
    )


if __name__ == "__main__":
    main()
