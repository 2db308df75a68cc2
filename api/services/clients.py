"""API clients: who may call the service, in which role, for which workshops, with which key.

A key looks like ``wsk_<key id>_<secret>``: 12 hex digits that find the client's row and 43
URL-safe characters (256 random bits) that prove it. Only the SHA-256 of the whole key is
stored. A slow password hash (argon2, scrypt) protects guessable passwords; a 256-bit random
secret cannot be guessed, so a fast hash loses nothing and keeps every request cheap. The key
is shown once, when the client is added; a lost key is revoked and a new client added.

Roles: ``booking`` (an online booking system: slots, and its own holds and bookings),
``manager`` (everything for its workshops, including re-planning, day events, the audit log
and the day board) and ``viewer`` (reads, without customer or vehicle data).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.db.models import ApiClientRow, WorkshopRow
from api.db.session import Database, is_unique_violation
from api.schemas import ID_PATTERN
from api.services import audit
from api.services.audit import Actor
from api.services.errors import Conflict, Invalid, NotFound

KEY_PREFIX = "wsk_"
KEY = re.compile(r"wsk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
WORKSHOP_ID = re.compile(ID_PATTERN)
"""Workshop and booking ids the service accepts (in paths and in day files it loads)."""


class Role(StrEnum):
    """What a client may do; see the module docstring."""

    BOOKING = "booking"
    MANAGER = "manager"
    VIEWER = "viewer"


@dataclass(frozen=True, slots=True)
class Client:
    """A stored client as the service sees it (never its key)."""

    id: int
    name: str
    role: Role
    workshops: frozenset[str] | None  # None: every workshop
    created_at: dt.datetime
    revoked_at: dt.datetime | None

    @classmethod
    def of(cls, row: ApiClientRow) -> Client:
        """The client of a row."""
        return cls(
            id=row.id,
            name=row.name,
            role=Role(row.role),
            workshops=None if row.all_workshops else frozenset(row.workshops),
            created_at=row.created_at,
            revoked_at=row.revoked_at,
        )


@dataclass(frozen=True, slots=True)
class NewClient:
    """A client just added, with the key that is shown this once."""

    client: Client
    key: str
    unknown_workshops: tuple[str, ...]  # named but not loaded (yet)


def key_hash(key: str) -> str:
    """The stored form of a key: SHA-256, hex."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def add_client(
    db: Database,
    *,
    name: str,
    role: str,
    workshops: Sequence[str],
    now: dt.datetime,
    actor: Actor,
) -> NewClient:
    """Add a client and make its key; Invalid for a bad name, role or workshop id, Conflict
    if an active client has the name. No ``workshops`` means every workshop."""
    if not NAME.fullmatch(name):
        raise Invalid(
            f"client name {name!r}: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit",
            field="name",
        )
    try:
        chosen = Role(role)
    except ValueError as exc:
        roles = ", ".join(r.value for r in Role)
        raise Invalid(f"role {role!r}: expected one of {roles}", field="role") from exc
    scope = sorted(set(workshops))
    for w in scope:
        if not WORKSHOP_ID.fullmatch(w):
            raise Invalid(f"workshop id {w!r} is not a valid id", field="workshop")
    key_id = secrets.token_hex(6)
    key = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"

    def work(session: Session) -> NewClient:
        taken = session.scalar(
            select(ApiClientRow.id).where(
                ApiClientRow.name == name, ApiClientRow.revoked_at.is_(None)
            )
        )
        if taken is not None:
            raise Conflict(f"a client named {name!r} exists; revoke it first or pick another name")
        row = ApiClientRow(
            name=name,
            role=chosen.value,
            all_workshops=not scope,
            workshops=scope,
            key_id=key_id,
            secret_hash=key_hash(key),
            created_at=now,
        )
        session.add(row)
        session.flush()
        known = set(session.scalars(select(WorkshopRow.id).where(WorkshopRow.id.in_(scope))))
        audit.record(
            session,
            actor,
            "client.add",
            now=now,
            target=name,
            detail={"role": chosen.value, "workshops": scope or "all"},
        )
        return NewClient(Client.of(row), key, tuple(w for w in scope if w not in known))

    try:
        return db.write(work)
    except IntegrityError as exc:
        if is_unique_violation(exc):  # added at the same moment by someone else
            raise Conflict(f"a client named {name!r} exists") from exc
        raise


def list_clients(db: Database) -> list[Client]:
    """Every client, revoked ones included, in the order they were added."""
    with db.read() as session:
        rows = session.scalars(select(ApiClientRow).order_by(ApiClientRow.id))
        return [Client.of(r) for r in rows]


def revoke_client(db: Database, *, name: str, now: dt.datetime, actor: Actor) -> Client:
    """Revoke the active client called ``name``: its key stops working at once, and so do the
    day-board sign-ins made with it. NotFound if there is no such active client."""

    def work(session: Session) -> Client:
        row = session.scalars(
            select(ApiClientRow)
            .where(ApiClientRow.name == name, ApiClientRow.revoked_at.is_(None))
            .with_for_update()
        ).one_or_none()
        if row is None:
            raise NotFound(f"no active client named {name!r}")
        row.revoked_at = now
        audit.record(session, actor, "client.revoke", now=now, target=name, detail={})
        session.flush()
        return Client.of(row)

    return db.write(work)


def authenticate(session: Session, key: str) -> Client | None:
    """The active client whose key this is, or None (malformed, unknown or revoked)."""
    found = KEY.fullmatch(key)
    if found is None:
        return None
    row = session.scalars(
        select(ApiClientRow).where(
            ApiClientRow.key_id == found.group(1), ApiClientRow.revoked_at.is_(None)
        )
    ).one_or_none()
    if row is None or not hmac.compare_digest(row.secret_hash, key_hash(key)):
        return None
    return Client.of(row)


def active_client(session: Session, client_id: int) -> Client | None:
    """The client with this id if it is not revoked (a board sign-in checks it each time)."""
    row = session.get(ApiClientRow, client_id)
    if row is None or row.revoked_at is not None:
        return None
    return Client.of(row)


def any_active(session: Session) -> bool:
    """Whether any client is configured (not revoked): if so, every request needs a key."""
    return (
        session.scalar(select(ApiClientRow.id).where(ApiClientRow.revoked_at.is_(None)).limit(1))
        is not None
    )


def lock_client(session: Session, client_id: int) -> None:
    """Lock the client's row until the transaction ends, so its concurrent hold requests
    count its open holds one after the other (on every process, on PostgreSQL; a SQLite
    write transaction is already exclusive)."""
    session.execute(
        select(ApiClientRow.id).where(ApiClientRow.id == client_id).with_for_update()
    ).first()
