"""Idempotency keys: the first successful answer to a keyed request, replayed on retries.

The key is stored in the same transaction as the effect it guards (the hold or the booking),
after the day's lock is taken, so a retry that arrives while the first attempt is still
running waits for it and then finds its answer. The same key with a different body is refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from api.db.models import IdempotencyKeyRow
from api.services.errors import IdempotencyMismatch


@dataclass(frozen=True, slots=True)
class Answer:
    """A service answer: HTTP status, JSON body, and whether it is a replay."""

    status: int
    body: dict[str, Any]
    replayed: bool = False


def request_hash(body: Any) -> str:
    """A fingerprint of a request body (canonical JSON)."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def stored_answer(session: Session, key: str | None, endpoint: str, digest: str) -> Answer | None:
    """The answer already given for ``key`` at ``endpoint``; IdempotencyMismatch if the body
    differs from the first request's."""
    if key is None:
        return None
    row = session.get(IdempotencyKeyRow, (key, endpoint))
    if row is None:
        return None
    if row.request_hash != digest:
        raise IdempotencyMismatch(
            f"Idempotency-Key {key!r} was first used with a different request body; "
            "use a new key for a new request",
            field="Idempotency-Key",
        )
    return Answer(row.status_code, dict(row.body), replayed=True)


def remember(
    session: Session,
    key: str | None,
    endpoint: str,
    digest: str,
    answer: Answer,
    now: dt.datetime,
) -> None:
    """Store ``answer`` under ``key`` (no-op without a key)."""
    if key is None:
        return
    session.add(
        IdempotencyKeyRow(
            key=key,
            endpoint=endpoint,
            request_hash=digest,
            status_code=answer.status,
            body=answer.body,
            created_at=now,
        )
    )
    session.flush()
