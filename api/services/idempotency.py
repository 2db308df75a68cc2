"""Idempotency keys: the first answer to a keyed request, replayed on retries.

The key is stored in the same transaction as the effect it guards (the hold or the booking),
after the day's lock is taken, so a retry that arrives while the first attempt is still
running waits for it and then finds its answer. The first answer is stored whatever it was:
a 409 stays a 409 for every retry, even if the slot has come free since, because a client that
saw "slot taken" must not learn later that it booked after all. The same key with a different
body is refused. Keys expire (24 hours by default) and expired ones are deleted by the writes
that store new ones.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from api.db.models import IdempotencyKeyRow
from api.services.errors import IdempotencyMismatch, ServiceError, StoredProblem
from api.services.schedule import utc


@dataclass(frozen=True, slots=True)
class Answer:
    """A service answer: HTTP status, JSON body, and whether it is a replay."""

    status: int
    body: dict[str, Any]
    replayed: bool = False

    @classmethod
    def of_error(cls, error: ServiceError) -> Answer:
        """The problem answer of ``error``."""
        return cls(error.status, error.problem())

    def success(self) -> Answer:
        """This answer, if it is not an error; otherwise StoredProblem is raised with it."""
        if self.status >= 400:
            raise StoredProblem(self.status, self.body, replayed=self.replayed)
        return self


@dataclass(frozen=True, slots=True)
class Keyed:
    """A request that may carry an Idempotency-Key: the key, where it was sent, its body."""

    key: str | None
    endpoint: str
    digest: str  # fingerprint of the request body
    ttl: dt.timedelta  # how long the first answer is kept

    @classmethod
    def of(cls, key: str | None, endpoint: str, body: Any, *, hours: float) -> Keyed:
        """The keyed request for ``body`` sent to ``endpoint``."""
        return cls(key, endpoint, request_hash(body), dt.timedelta(hours=hours))


def request_hash(body: Any) -> str:
    """A fingerprint of a request body (canonical JSON)."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def stored_answer(session: Session, request: Keyed, now: dt.datetime) -> Answer | None:
    """The answer already given to the request's key, unless it expired; IdempotencyMismatch
    if the body differs from the first request's."""
    if request.key is None:
        return None
    row = session.get(IdempotencyKeyRow, (request.key, request.endpoint))
    if row is None:
        return None
    if utc(row.created_at) <= now - request.ttl:
        session.delete(row)
        session.flush()
        return None
    if row.request_hash != request.digest:
        raise IdempotencyMismatch(
            f"Idempotency-Key {request.key!r} was first used with a different request body; "
            "use a new key for a new request",
            field="Idempotency-Key",
        )
    return Answer(row.status_code, dict(row.body), replayed=True)


def remember(session: Session, request: Keyed, answer: Answer, now: dt.datetime) -> None:
    """Store ``answer`` under the request's key (no-op without a key); drop expired keys."""
    if request.key is None:
        return
    session.execute(
        delete(IdempotencyKeyRow).where(IdempotencyKeyRow.created_at <= now - request.ttl)
    )
    session.add(
        IdempotencyKeyRow(
            key=request.key,
            endpoint=request.endpoint,
            request_hash=request.digest,
            status_code=answer.status,
            body=answer.body,
            created_at=now,
        )
    )
    session.flush()


def once(session: Session, request: Keyed, now: dt.datetime, act: Callable[[], Answer]) -> Answer:
    """The first answer to the request's key, else ``act()``'s answer, stored under the key.

    ``act`` may return an error answer (its effects are kept, e.g. an expired hold released)
    or raise a ServiceError (its effects are rolled back to a savepoint); either way the error
    is the key's answer from then on. Errors of 500 and above, and 429 (a cap the client may
    get under), are never stored: a retry may succeed. Run it under the day's lock, so
    retries of one key queue up behind each other.
    """
    if request.key is None:
        return act()
    replay = stored_answer(session, request, now)
    if replay is not None:
        return replay
    try:
        with session.begin_nested():
            answer = act()
    except ServiceError as exc:
        if exc.status >= 500 or exc.status == 429:  # may pass: a retry deserves a fresh look
            raise
        answer = Answer.of_error(exc)
    remember(session, request, answer, now)
    return answer
