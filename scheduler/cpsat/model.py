"""The CP-SAT model of one planning problem: variables, constraints and objective together.

``build_model`` is the single place that decides the order: variables, then every constraint
family, then the objective terms. The objective CP-SAT minimises is

- ``weighted-wait``: ``tie * (weighted wait + unscheduled penalty + stability penalty) +
  preference misses``, where ``tie`` exceeds the most preference misses possible, so the
  requested technician only breaks ties and never costs a minute of waiting;
- ``makespan``: bookings left out first, then the end of the last task.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from ortools.sat.python import cp_model

from scheduler.cpsat.constraints import DEFAULT_STRENGTHENING, Strengthening, add_constraints
from scheduler.cpsat.objective import (
    Terms,
    makespan_terms,
    preference_terms,
    stability_terms,
    unscheduled_terms,
    waiting_terms,
)
from scheduler.cpsat.problem import Problem
from scheduler.cpsat.variables import Variables, make_variables

Objective = Literal["weighted-wait", "makespan"]
OBJECTIVES: tuple[Objective, ...] = ("weighted-wait", "makespan")


@dataclass(slots=True)
class PlanningModel:
    """A built model and what is needed to read its bound back in the problem's units."""

    model: cp_model.CpModel
    problem: Problem
    variables: Variables
    objective: Objective
    tie: int  # multiplier of the main objective over the preference tie-break
    preference_max: int  # most preference misses possible
    stability_max: int  # largest total stability penalty possible

    def main_bound(self, solver_bound: float) -> int:
        """A lower bound on the main objective (scaled DESIGN.md objective, or makespan).

        The solver's bound covers the main objective times ``tie`` plus preference misses,
        and includes the stability penalty; both are taken off at their largest.
        """
        if not math.isfinite(solver_bound):
            return 0
        combined = math.ceil(solver_bound - 1e-6)
        main = -(-(combined - self.preference_max) // self.tie)  # ceiling division
        return max(0, main - self.stability_max)


def build_model(
    problem: Problem,
    *,
    objective: Objective = "weighted-wait",
    options: Strengthening = DEFAULT_STRENGTHENING,
    upper_bound: int | None = None,
) -> PlanningModel:
    """Build the CP-SAT model of ``problem``.

    Parameters
    ----------
    problem
        The compiled problem.
    objective
        ``weighted-wait`` (DESIGN.md) or ``makespan`` (literature instances).
    options
        Which redundant constraints and symmetry breaking to add.
    upper_bound
        Only plans whose main objective (scaled, including any stability penalty) is at most
        this are wanted, typically the warm-start plan's value; it prunes and tightens windows.
    """
    model = cp_model.CpModel()
    v = make_variables(model, problem, makespan=objective == "makespan")
    add_constraints(model, problem, v, options)
    main = Terms()
    preference = Terms()
    stability_max = 0
    if objective == "makespan":
        main.extend(makespan_terms(model, problem, v))
    else:
        main.extend(waiting_terms(model, problem, v))
        main.extend(unscheduled_terms(problem, v))
        stability = stability_terms(model, problem, v)
        stability_max = sum(stability.coefficients)
        main.extend(stability)
        preference = preference_terms(problem, v)
    preference_max = sum(c for c in preference.coefficients if c > 0)
    tie = preference_max + 1
    if upper_bound is not None:
        model.add(main.expression() <= upper_bound)
    combined = Terms()
    combined.extend(main)
    combined.coefficients = [c * tie for c in combined.coefficients]
    combined.constant *= tie
    combined.extend(preference)
    model.minimize(combined.expression())
    return PlanningModel(model, problem, v, objective, tie, preference_max, stability_max)
