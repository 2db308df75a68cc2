"""CP-SAT variables of the planning model, grouped per task and per booking.

Each task has one *main* interval (start, duration, end), present exactly when its booking is
scheduled. Each mode (a technician, with that technician's exact duration) and each candidate bay
adds an optional interval that shares the main interval's start; its literal says whether the task
uses that technician or bay. The main duration equals the sum of mode durations times their
literals, so choosing a technician fixes the duration (leaving that link out makes the bound
collapse). Tasks that are pinned have no variables; their times are constants.
"""

from __future__ import annotations

from dataclasses import dataclass

from ortools.sat.python import cp_model

from scheduler.cpsat.problem import Problem, Task

LinearExpr = cp_model.LinearExprT


@dataclass(slots=True)
class ModeVar:
    """A task done by one technician: its literal and its interval on that technician."""

    mode: int  # index into Task.modes
    technician: int
    duration: int
    literal: cp_model.IntVar
    interval: cp_model.IntervalVar


@dataclass(slots=True)
class BayVar:
    """A task done in one bay: its literal and its interval in that bay."""

    bay: int
    literal: cp_model.IntVar
    interval: cp_model.IntervalVar


@dataclass(slots=True)
class TaskVar:
    """The variables of one task that is not pinned."""

    start: cp_model.IntVar
    duration: cp_model.IntVar | int
    end: LinearExpr  # start + duration: a variable when the duration is one
    present: cp_model.IntVar  # the booking's presence
    interval: cp_model.IntervalVar  # present iff the booking is scheduled
    modes: list[ModeVar]
    bays: list[BayVar]


@dataclass(slots=True)
class JobVar:
    """The variables of one booking that can be scheduled."""

    present: cp_model.IntVar  # the booking is scheduled
    wait: cp_model.IntVar | None  # waiter's wait or drop-off's lateness; None if always 0
    changed: cp_model.IntVar | None = None  # ready time or technician changed vs previous


@dataclass(slots=True)
class Variables:
    """All variables of the model; ``None`` where a task is pinned or a job never schedulable."""

    jobs: list[JobVar | None]
    tasks: list[TaskVar | None]
    makespan: cp_model.IntVar | None = None

    def start(self, problem: Problem, task: int) -> LinearExpr:
        """Start of a task: a variable, or the pinned constant."""
        var = self.tasks[task]
        if var is not None:
            return var.start
        pin = problem.tasks[task].pin
        assert pin is not None
        return pin.start

    def end(self, problem: Problem, task: int) -> LinearExpr:
        """End of a task: an expression, or the pinned constant."""
        var = self.tasks[task]
        if var is not None:
            return var.end
        pin = problem.tasks[task].pin
        assert pin is not None
        return pin.end


def make_variables(model: cp_model.CpModel, problem: Problem, *, makespan: bool) -> Variables:
    """Create the variables for every schedulable booking and its tasks."""
    jobs: list[JobVar | None] = []
    tasks: list[TaskVar | None] = [None] * len(problem.tasks)
    for j, job in enumerate(problem.jobs):
        if not job.schedulable:
            jobs.append(None)
            continue
        present = model.new_constant(1) if job.required else model.new_bool_var(f"p{j}")
        for t in job.tasks:
            task = problem.tasks[t]
            if task.pin is None:
                tasks[t] = _task_var(model, t, task, present, optional=not job.required)
        if job.waiting:
            wait = model.new_int_var(0, problem.horizon - job.release, f"w{j}")
        elif job.due < problem.horizon:
            wait = model.new_int_var(0, problem.horizon - job.due, f"w{j}")
        else:
            wait = None
        changed = model.new_bool_var(f"c{j}") if job.previous_ready is not None else None
        jobs.append(JobVar(present, wait, changed))
    span = model.new_int_var(0, problem.horizon, "makespan") if makespan else None
    return Variables(jobs, tasks, span)


def _task_var(
    model: cp_model.CpModel, index: int, task: Task, present: cp_model.IntVar, *, optional: bool
) -> TaskVar:
    """A task's start, duration, main interval, and one optional interval per mode and bay."""
    start = model.new_int_var_from_domain(
        cp_model.Domain.from_intervals([list(r) for r in task.starts]), f"s{index}"
    )
    durations = sorted({m.duration for m in task.modes})
    duration: cp_model.IntVar | int
    end: LinearExpr
    if len(durations) == 1:
        duration = durations[0]
        end = start + duration
        interval = model.new_optional_fixed_size_interval_var(start, duration, present, f"i{index}")
    else:
        # An absent task takes no time, so the duration link (constraints) also holds when all
        # mode literals are false.
        values = [0, *durations] if optional else durations
        duration = model.new_int_var_from_domain(cp_model.Domain.from_values(values), f"d{index}")
        end = model.new_int_var(task.starts[0][0], task.starts[-1][1] + durations[-1], f"e{index}")
        interval = model.new_optional_interval_var(start, duration, end, present, f"i{index}")
    modes: list[ModeVar] = []
    for k, m in enumerate(task.modes):
        if len(task.modes) == 1:
            modes.append(ModeVar(k, m.technician, m.duration, present, interval))
            continue
        literal = model.new_bool_var(f"m{index}_{k}")
        mode_interval = model.new_optional_fixed_size_interval_var(
            start, m.duration, literal, f"im{index}_{k}"
        )
        modes.append(ModeVar(k, m.technician, m.duration, literal, mode_interval))
    bays: list[BayVar] = []
    for b in task.bays:
        if len(task.bays) == 1:
            bays.append(BayVar(b, present, interval))
            continue
        literal = model.new_bool_var(f"b{index}_{b}")
        if isinstance(duration, int):
            bay_interval = model.new_optional_fixed_size_interval_var(
                start, duration, literal, f"ib{index}_{b}"
            )
        else:
            bay_interval = model.new_optional_interval_var(
                start, duration, end, literal, f"ib{index}_{b}"
            )
        bays.append(BayVar(b, literal, bay_interval))
    return TaskVar(start, duration, end, present, interval, modes, bays)
