"""Queue policies: how the foreman decides which waiting car goes next (one class per file).

Every policy satisfies :class:`QueuePolicy`. :func:`make_policy` builds one from its name and
options, as a what-if scenario file names it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from scheduler.plan import Assignment
from simulation.policies.base import QueuePolicy as QueuePolicy
from simulation.policies.base import RankingPolicy as RankingPolicy
from simulation.policies.base import start_in_order as start_in_order
from simulation.policies.express_lane import ExpressLane as ExpressLane
from simulation.policies.fcfs import FirstComeFirstServed as FirstComeFirstServed
from simulation.policies.follow_plan import FollowPlan as FollowPlan
from simulation.policies.spt import ShortestProcessingTime as ShortestProcessingTime
from simulation.policies.waiters_first import WaitersFirst as WaitersFirst

POLICY_NAMES: tuple[str, ...] = ("fcfs", "spt", "waiters-first", "express-lane", "follow-plan")
"""Every policy name a scenario may use."""


def make_policy(
    name: str, *, plan: Iterable[Assignment] | None = None, **options: Any
) -> QueuePolicy:
    """Build the policy called ``name``.

    Parameters
    ----------
    name
        One of :data:`POLICY_NAMES`.
    plan
        The plan's assignments, for ``follow-plan``.
    **options
        The policy's own parameters (``ExpressLane``'s ``max_minutes``, ``technicians``,
        ``bays``; ``FollowPlan``'s ``replanner`` and ``threshold``).

    Raises
    ------
    ValueError
        For an unknown name or options the policy does not take.
    """
    if name == "fcfs":
        policy: QueuePolicy = FirstComeFirstServed()
    elif name == "spt":
        policy = ShortestProcessingTime()
    elif name == "waiters-first":
        policy = WaitersFirst()
    elif name == "express-lane":
        return ExpressLane(**options)
    elif name == "follow-plan":
        if plan is None:
            raise ValueError("the follow-plan policy needs a plan")
        return FollowPlan(plan, **options)
    else:
        raise ValueError(
            f"unknown queue policy {name!r}; expected one of {', '.join(POLICY_NAMES)}"
        )
    if options:
        raise ValueError(f"queue policy {name!r} takes no options, got {', '.join(options)}")
    return policy
