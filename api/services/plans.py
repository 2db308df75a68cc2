"""Plans of a day over the service: read the current plan, store new versions, re-plan.

The committed schedule in the database *is* the current plan: every stored version replaces
the bookings' assignments (holds are left alone) and is kept in ``plans`` with its number, so a
re-plan never loses the previous one. Nothing is stored or served that fails ``check_plan``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.db.models import BookingRow, DayRow, PlanRow
from api.db.session import Database
from api.services.errors import NotFound
from api.services.schedule import (
    Schedule,
    bump,
    get_day,
    latest_plan,
    load_schedule,
    next_plan_version,
    release_assignments,
    reserve,
    verified,
)
from scheduler.bounds import critical_path_bound
from scheduler.domain import Day
from scheduler.plan import Plan, PlanStatus, Unscheduled
from scheduler.planfile import plan_to_dict


def store_plan(
    session: Session,
    row: DayRow,
    day: Day,
    plan: Plan,
    booking_pks: dict[str, int],
    *,
    reason: str,
    now: dt.datetime,
) -> int:
    """Make ``plan`` the day's committed schedule and keep it as a new version; return it.

    Raises RuntimeError (and stores nothing) if the plan fails the checker.
    """
    verified(day, plan)
    release_assignments(session, bookings=list(booking_pks.values()))
    reserve(session, row, day.workshop, plan.assignments, booking_pks=booking_pks)
    session.execute(
        update(BookingRow).where(BookingRow.day_id == row.id).values(unscheduled_reason=None)
    )
    for u in plan.unscheduled:
        session.execute(
            update(BookingRow)
            .where(BookingRow.pk == booking_pks[u.booking])
            .values(unscheduled_reason=u.reason)
        )
    bump(row)
    version = next_plan_version(session, row.id)
    session.add(
        PlanRow(
            day_id=row.id,
            version=version,
            status=plan.status.value,
            reason=reason[:200],
            data=plan_to_dict(day, plan),
            lower_bound=str(plan.lower_bound),
            schedule_version=row.schedule_version,
            created_at=now,
        )
    )
    session.flush()
    return version


def plan_of_schedule(session: Session, schedule: Schedule) -> tuple[Plan, int]:
    """The day's current plan, built from the committed schedule; with its version number.

    If nothing changed since the newest stored version, it is that version (same status and
    exact bound); otherwise the bookings confirmed or cancelled since are in it, as a
    HEURISTIC plan with the critical-path bound, and its version is the newest stored one.
    """
    day = schedule.day
    stored = latest_plan(session, schedule.row.id)
    unscheduled = [Unscheduled(b, r) for b, r in schedule.unscheduled.items()]
    if (
        stored is not None
        and stored.schedule_version == schedule.row.schedule_version
        and stored.lower_bound is not None
    ):
        status, bound = PlanStatus(stored.status), Fraction(stored.lower_bound)
    else:
        status, bound = PlanStatus.HEURISTIC, critical_path_bound(day)
    plan = Plan.build(
        day, schedule.booking_assignments, unscheduled, status=status, lower_bound=bound
    )
    return verified(day, plan), (stored.version if stored is not None else 0)


@dataclass(frozen=True, slots=True)
class CurrentPlan:
    """A day's plan as served: the plan-file JSON and its stored version number."""

    data: dict[str, Any]
    version: int


def current_plan(db: Database, workshop_id: str, date: dt.date, now: dt.datetime) -> CurrentPlan:
    """The plan-file JSON of the day's current plan."""
    with db.read() as session:
        schedule = load_schedule(session, get_day(session, workshop_id, date), now)
        plan, version = plan_of_schedule(session, schedule)
        return CurrentPlan(plan_to_dict(schedule.day, plan), version)


def plan_version(db: Database, workshop_id: str, date: dt.date, version: int) -> dict[str, Any]:
    """A stored plan version, exactly as it was stored."""
    with db.read() as session:
        row = get_day(session, workshop_id, date)
        found = session.scalars(
            select(PlanRow).where(PlanRow.day_id == row.id, PlanRow.version == version)
        ).one_or_none()
        if found is None:
            raise NotFound(f"day {date.isoformat()} has no plan version {version}")
        return dict(found.data)
