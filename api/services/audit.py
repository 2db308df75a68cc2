"""The audit log: who changed what, and when.

Every change to the service's data writes one entry in the same transaction as the change
itself: holds made, released and confirmed, bookings cancelled, re-plans, day events, days
loaded, API clients added and revoked, retention purges. A change that rolls back leaves no
entry; a replayed idempotent request changes nothing and writes none. Entries name the actor
(an API client's name, ``local`` for the local trial mode, ``cli:<user>`` for the command line)
and carry ids and figures, never customer or vehicle data, so the retention purge need not
rewrite history.
"""

from __future__ import annotations

import datetime as dt
import getpass
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.models import AuditRow
from api.db.session import Database
from api.services.schedule import get_workshop_row
from scheduler.clock import zone


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change: a name for the log and the API client id, if it is one."""

    name: str
    client_id: int | None = None


SYSTEM = Actor("system")
"""Changes made by code with no person or client behind them (tests, benchmarks)."""


def cli_actor() -> Actor:
    """The person at the command line, by their login name."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        user = "unknown"
    return Actor(f"cli:{user}"[:100])


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    now: dt.datetime,
    workshop: str | None = None,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add one entry to the log, inside the caller's transaction."""
    session.add(
        AuditRow(
            at=now,
            actor=actor.name,
            client_id=actor.client_id,
            workshop_id=workshop,
            action=action,
            target=target,
            detail=detail or {},
        )
    )


def _entry(row: AuditRow, tz_name: str | None) -> dict[str, Any]:
    at = row.at if row.at.tzinfo is not None else row.at.replace(tzinfo=dt.UTC)
    if tz_name:
        at = at.astimezone(zone(tz_name))
    return {
        "id": row.id,
        "at": at.isoformat(),
        "actor": row.actor,
        "action": row.action,
        "workshop": row.workshop_id,
        "target": row.target,
        "detail": dict(row.detail),
    }


def entries(
    db: Database,
    *,
    workshop_id: str | None,
    limit: int,
    before: int | None = None,
    tz_name: str | None = None,
) -> list[dict[str, Any]]:
    """The newest ``limit`` entries (of one workshop, or every entry when ``workshop_id`` is
    None), newest first, older than entry ``before`` when given. Times are in the workshop's
    zone (else ``tz_name``, else UTC); NotFound for an unknown workshop."""
    with db.read() as session:
        if workshop_id is not None:
            tz_name = get_workshop_row(session, workshop_id).timezone
        query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
        if workshop_id is not None:
            query = query.where(AuditRow.workshop_id == workshop_id)
        if before is not None:
            query = query.where(AuditRow.id < before)
        return [_entry(row, tz_name) for row in session.scalars(query)]
