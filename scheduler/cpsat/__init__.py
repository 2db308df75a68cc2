"""The CP-SAT planner: improves a dispatch plan within a time limit and proves a lower bound.

``improve(day, start, time_limit=...)`` is the entry point (``scheduler.solve`` calls it for
``method="cpsat"``). The model is built in small pieces: ``problem`` compiles the day,
``variables`` and ``constraints`` build the CP-SAT model one family at a time, ``objective``
adds the terms, ``search`` runs CP-SAT with hints and a solution callback, ``lns`` re-optimises
neighbourhoods of large days and ``relaxation`` proves bounds of its own.
"""

from scheduler.cpsat.constraints import Strengthening as Strengthening
from scheduler.cpsat.improve import DEFAULT_STABILITY_WEIGHT as DEFAULT_STABILITY_WEIGHT
from scheduler.cpsat.improve import improve as improve
from scheduler.cpsat.improve import solve_problem as solve_problem
from scheduler.cpsat.model import OBJECTIVES as OBJECTIVES
from scheduler.cpsat.model import Objective as Objective
