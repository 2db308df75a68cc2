"""Objective terms of the planning model; each soft rule returns its own terms.

All terms are integers in units of ``1 / Problem.scale`` weighted minutes, so priorities of 1.5
and a waiter weight of 2 stay exact. The objective CP-SAT reports is never shown to anyone: plans
are re-evaluated from their schedule (CP-SAT's value can sit above it, e.g. a lateness variable
that is not tight when the search stops).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from scheduler.cpsat.problem import Job, Problem
from scheduler.cpsat.variables import JobVar, Variables

LinearExpr = cp_model.LinearExprT


@dataclass(slots=True)
class Terms:
    """A weighted sum of expressions plus a constant."""

    expressions: list[LinearExpr] = field(default_factory=list)
    coefficients: list[int] = field(default_factory=list)
    constant: int = 0

    def add(self, coefficient: int, expression: LinearExpr) -> None:
        """Add ``coefficient * expression``."""
        if coefficient:
            self.expressions.append(expression)
            self.coefficients.append(coefficient)

    def extend(self, other: Terms) -> None:
        """Add all of ``other``."""
        self.expressions.extend(other.expressions)
        self.coefficients.extend(other.coefficients)
        self.constant += other.constant

    def expression(self) -> LinearExpr:
        """The sum as one linear expression."""
        return cp_model.LinearExpr.weighted_sum(self.expressions, self.coefficients) + self.constant


def ready(problem: Problem, v: Variables, job: Job) -> LinearExpr:
    """When the car is ready: the end of the booking's last task."""
    return v.end(problem, job.tasks[-1])


def _scheduled_jobs(problem: Problem, v: Variables) -> list[tuple[Job, JobVar]]:
    return [(job, var) for job, var in zip(problem.jobs, v.jobs, strict=True) if var is not None]


def waiting_terms(model: cp_model.CpModel, problem: Problem, v: Variables) -> Terms:
    """Weighted wait of scheduled bookings: a waiter from arrival, a drop-off past its promise.

    The wait variable is bounded below by the schedule when the booking is scheduled, and by
    the booking's own earliest finish times its presence (a cut that helps the LP bound).
    """
    terms = Terms()
    for job, var in _scheduled_jobs(problem, v):
        assert job.earliest_end is not None
        end = ready(problem, v, job)
        if job.waiting and job.required:
            terms.add(job.weight, end)
            terms.constant -= job.weight * job.release
            continue
        if var.wait is None:
            continue
        reference = job.release if job.waiting else job.due
        model.add(var.wait >= end - reference).only_enforce_if(var.present)
        floor = max(0, job.earliest_end - reference)
        if floor:
            model.add(var.wait >= floor * var.present)
        terms.add(job.weight, var.wait)
    return terms


def unscheduled_terms(problem: Problem, v: Variables) -> Terms:
    """The penalty for each booking left out: 10000 times its weight."""
    terms = Terms()
    for job, var in zip(problem.jobs, v.jobs, strict=True):
        penalty = problem.penalty_per_weight * job.weight
        if var is None:
            terms.constant += penalty
        elif not job.required:
            terms.constant += penalty
            terms.add(-penalty, var.present)
    return terms


def stability_terms(model: cp_model.CpModel, problem: Problem, v: Variables) -> Terms:
    """A penalty per booking whose promise or technician changes against the previous plan.

    A booking is unchanged when it is scheduled, ready at the same minute as in the previous
    plan, and every task keeps its previous technician.
    """
    terms = Terms()
    for job, var in _scheduled_jobs(problem, v):
        if var.changed is None or job.previous_ready is None:
            continue
        same = var.changed.Not()
        model.add_implication(same, var.present)
        model.add(ready(problem, v, job) == job.previous_ready).only_enforce_if(same)
        for t in job.tasks:
            task, task_var = problem.tasks[t], v.tasks[t]
            if task.previous_technician is None or task_var is None:
                continue
            literals = [
                m.literal for m in task_var.modes if m.technician == task.previous_technician
            ]
            if literals:
                model.add_implication(same, literals[0])
            else:
                model.add(var.changed == 1)
        terms.add(problem.stability_penalty, var.changed)
    return terms


def preference_terms(problem: Problem, v: Variables) -> Terms:
    """One unit per scheduled task not done by the technician its booking asked for."""
    terms = Terms()
    for t, task_var in enumerate(v.tasks):
        preferred = problem.tasks[t].preferred
        if task_var is None or preferred is None:
            continue
        literals = [m.literal for m in task_var.modes if m.technician == preferred]
        terms.add(1, task_var.present)
        terms.add(-1, literals[0])
    return terms


def makespan_terms(model: cp_model.CpModel, problem: Problem, v: Variables) -> Terms:
    """The end of the last task, after the number of bookings left out (lexicographically)."""
    assert v.makespan is not None
    terms = Terms()
    per_job = problem.horizon + 1
    for job, var in zip(problem.jobs, v.jobs, strict=True):
        if var is None:
            terms.constant += per_job
            continue
        model.add(v.makespan >= ready(problem, v, job)).only_enforce_if(var.present)
        if not job.required:
            terms.constant += per_job
            terms.add(-per_job, var.present)
    terms.add(1, v.makespan)
    return terms
