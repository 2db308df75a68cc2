"""The tables behind the service, as SQLAlchemy 2 typed ORM models.

A workshop is stored with the day-file data it was loaded from, so each day can be rebuilt
exactly as a ``scheduler.domain.Day``. A day's *committed schedule* is the set of assignments of
its bookings and of its unexpired holds; each assignment reserves two resource intervals (its
technician and its bay), and on PostgreSQL an exclusion constraint on those intervals makes
double-booking impossible whatever the code does. Plans are kept with a version per day.

These models never leave the service layer: routes answer with ``api.schemas`` models.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

BOOKED = "booked"
CANCELLED = "cancelled"
HELD = "held"
CONFIRMED = "confirmed"
EXPIRED = "expired"


class Base(DeclarativeBase):
    """Declarative base of every table; ``type_annotation_map`` keeps times timezone-aware."""

    type_annotation_map = {dt.datetime: DateTime(timezone=True), dict[str, Any]: JSON}  # noqa: RUF012


class WorkshopRow(Base):
    """A workshop: the day-file sections describing it (header, bays, technicians, ...)."""

    __tablename__ = "workshops"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    config: Mapped[dict[str, Any]]  # workshop, bays, technicians, services, parts
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class DayRow(Base):
    """One date of one workshop: its effective data after day events, and change counters.

    Every write to a day's schedule locks this row first, so writes for the same day queue up.
    """

    __tablename__ = "days"
    __table_args__ = (UniqueConstraint("workshop_id", "date", name="uq_days_workshop_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workshop_id: Mapped[str] = mapped_column(ForeignKey("workshops.id", ondelete="CASCADE"))
    date: Mapped[dt.date] = mapped_column(Date)
    config: Mapped[dict[str, Any]]  # the workshop sections in force that day
    schedule_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime]


class BookingRow(Base):
    """A customer's car booked in for the day (loaded, booked online, or a walk-in)."""

    __tablename__ = "bookings"
    __table_args__ = (
        UniqueConstraint("workshop_id", "booking_id", name="uq_bookings_workshop_booking"),
        Index("ix_bookings_day_status", "day_id", "status"),
    )

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workshop_id: Mapped[str] = mapped_column(ForeignKey("workshops.id", ondelete="CASCADE"))
    day_id: Mapped[int] = mapped_column(ForeignKey("days.id", ondelete="CASCADE"))
    booking_id: Mapped[str] = mapped_column(String(100))
    customer: Mapped[str] = mapped_column(String(200), default="")
    vehicle: Mapped[str] = mapped_column(String(100), default="")
    services: Mapped[list[str]] = mapped_column(JSON)
    arrival: Mapped[int] = mapped_column(Integer)  # minutes since local midnight
    waiting: Mapped[bool] = mapped_column(Boolean, default=False)
    promised: Mapped[int | None] = mapped_column(Integer, nullable=True)
    priority: Mapped[str] = mapped_column(String(32), default="1")  # exact decimal text
    technician: Mapped[str | None] = mapped_column(String(100), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default=BOOKED)
    source: Mapped[str] = mapped_column(String(16), default="load")
    hold_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    unscheduled_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    position: Mapped[int] = mapped_column(Integer, default=0)  # order in the day file
    created_at: Mapped[dt.datetime]
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    # The API client whose hold it was confirmed from (None: loaded, walk-in, local mode).
    client_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    # When ``workshop privacy purge`` blanked its customer and vehicle.
    anonymised_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)


class HoldRow(Base):
    """A slot held for a few minutes while the customer decides; it reserves its witness."""

    __tablename__ = "holds"
    __table_args__ = (Index("ix_holds_day_status", "day_id", "status"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    workshop_id: Mapped[str] = mapped_column(ForeignKey("workshops.id", ondelete="CASCADE"))
    day_id: Mapped[int] = mapped_column(ForeignKey("days.id", ondelete="CASCADE"))
    services: Mapped[list[str]] = mapped_column(JSON)
    arrival: Mapped[int] = mapped_column(Integer)
    waiting: Mapped[bool] = mapped_column(Boolean)
    promised: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(16), default=HELD)
    booking_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[dt.datetime]
    # The API client that made it (None in local mode): only it may read, confirm or release
    # it, and its open holds count against that client's cap.
    client_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)


class AssignmentRow(Base):
    """One operation of a booking or hold on a technician in a bay, ``[start, end)`` minutes."""

    __tablename__ = "assignments"
    __table_args__ = (Index("ix_assignments_day", "day_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    day_id: Mapped[int] = mapped_column(ForeignKey("days.id", ondelete="CASCADE"))
    booking_pk: Mapped[int | None] = mapped_column(
        ForeignKey("bookings.pk", ondelete="CASCADE"), nullable=True, index=True
    )
    hold_id: Mapped[str | None] = mapped_column(
        ForeignKey("holds.id", ondelete="CASCADE"), nullable=True, index=True
    )
    service: Mapped[str] = mapped_column(String(100))
    operation: Mapped[int] = mapped_column(Integer)
    technician: Mapped[str] = mapped_column(String(100))
    bay: Mapped[str] = mapped_column(String(100))
    start_minute: Mapped[int] = mapped_column(Integer)
    end_minute: Mapped[int] = mapped_column(Integer)


class ReservedIntervalRow(Base):
    """A technician or bay taken over ``[start_at, end_at)``, by a hold or a booking.

    On PostgreSQL the migration adds ``EXCLUDE USING gist (resource WITH =,
    tstzrange(start_at, end_at, '[)') WITH &&)``: two overlapping rows for one resource cannot
    both be committed, whichever process writes them.
    """

    __tablename__ = "reserved_intervals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("assignments.id", ondelete="CASCADE"), index=True
    )
    resource: Mapped[str] = mapped_column(String(250))  # "<workshop>/technician/<id>" or bay
    start_at: Mapped[dt.datetime]
    end_at: Mapped[dt.datetime]


class IdempotencyKeyRow(Base):
    """The first answer given to a request carrying ``Idempotency-Key``, replayed on retries
    until it expires (``created_at`` + the ``idempotency_hours`` setting)."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_created_at", "created_at"),)

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(300), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime]


class PlanRow(Base):
    """A stored plan of a day (plan-file JSON); every re-plan adds a version, none is lost."""

    __tablename__ = "plans"
    __table_args__ = (UniqueConstraint("day_id", "version", name="uq_plans_day_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    day_id: Mapped[int] = mapped_column(ForeignKey("days.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]]
    # The exact bound as a fraction ("1141/2"): the plan file's JSON number may be a float.
    lower_bound: Mapped[str | None] = mapped_column(String(64), nullable=True)
    schedule_version: Mapped[int] = mapped_column(Integer)  # the day's counter it matches
    created_at: Mapped[dt.datetime]


class DayEventRow(Base):
    """Something that happened during the day (overrun, absence, late part, walk-in)."""

    __tablename__ = "day_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    day_id: Mapped[int] = mapped_column(ForeignKey("days.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]]
    at_minute: Mapped[int] = mapped_column(Integer)
    plan_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[dt.datetime]


class SecretRow(Base):
    """Secrets every process on the database shares, such as the slot-token signing key."""

    __tablename__ = "app_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


class ApiClientRow(Base):
    """A program or person allowed to call the service: a role, workshops, a key's hash.

    The key itself is shown once when the client is added and never stored: ``key_id`` (the
    public part of the key) finds the row, ``secret_hash`` (SHA-256 of the whole key) proves
    it. Revoked clients are kept, so the audit log's names keep meaning something; a name is
    unique among the clients not revoked.
    """

    __tablename__ = "api_clients"
    __table_args__ = (
        Index(
            "uq_api_clients_active_name",
            "name",
            unique=True,
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))  # booking, manager or viewer
    all_workshops: Mapped[bool] = mapped_column(Boolean)
    workshops: Mapped[list[str]] = mapped_column(JSON)  # when not all_workshops
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)


class AuditRow(Base):
    """One change to the service's data: who made it, when, what, and to which workshop.

    Written in the same transaction as the change, so a change that rolled back leaves no
    entry and a committed one always has its entry. ``detail`` never holds customer or vehicle
    data (the retention purge need not rewrite the log).
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_workshop_id_id", "workshop_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(100))  # client name, "local", "cli:<user>"
    client_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    workshop_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str | None] = mapped_column(String(200), nullable=True)
    detail: Mapped[dict[str, Any]]
