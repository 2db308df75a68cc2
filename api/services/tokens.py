"""Slot tokens: the witness of an offer, signed so a client can hand it back but not forge it.

A token carries everything needed to hold the slot without searching again: the workshop, the
date, the services, the drop-off and promised times and the witness (technician, bay and times
of each operation). It is base64url JSON plus an HMAC-SHA256 signature with a key every
process on the database shares. The witness is re-checked against the schedule when it is held.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.db.models import SecretRow
from api.db.session import Database
from api.services.errors import Invalid
from scheduler.plan import Assignment

_SECRET_NAME = "slot-token-key"


@dataclass(frozen=True, slots=True)
class SlotOffer:
    """An exact offer: drop-off time, promised ready time and the insertion that proves it."""

    workshop: str
    date: str  # ISO date
    services: tuple[str, ...]
    waiting: bool
    arrival: int
    promised: int
    witness: tuple[Assignment, ...]

    def payload(self) -> dict[str, Any]:
        """The token's JSON payload (short keys keep tokens short)."""
        return {
            "w": self.workshop,
            "d": self.date,
            "s": list(self.services),
            "t": self.waiting,
            "a": self.arrival,
            "p": self.promised,
            "x": [
                [a.service, a.operation, a.technician, a.bay, a.start, a.end] for a in self.witness
            ],
        }


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode(offer: SlotOffer, key: bytes) -> str:
    """The opaque, signed token of an offer."""
    body = json.dumps(offer.payload(), separators=(",", ":"), ensure_ascii=False).encode()
    signature = hmac.new(key, body, hashlib.sha256).digest()[:16]
    return f"{_b64(body)}.{_b64(signature)}"


def decode(token: str, key: bytes) -> SlotOffer:
    """The offer inside a token; Invalid (field ``slot``) if it was altered or is malformed."""
    bad = Invalid("the slot token is not one this service issued (altered or truncated)")
    bad.field = "slot"
    try:
        body_text, signature_text = token.split(".")
        body, signature = _unb64(body_text), _unb64(signature_text)
    except (ValueError, binascii.Error) as exc:
        raise bad from exc
    expected = hmac.new(key, body, hashlib.sha256).digest()[:16]
    if not hmac.compare_digest(signature, expected):
        raise bad
    try:
        p = json.loads(body)
        witness = tuple(
            Assignment(int(x[4]), int(x[5]), "", str(x[0]), int(x[1]), str(x[3]), str(x[2]))
            for x in p["x"]
        )
        return SlotOffer(
            workshop=str(p["w"]),
            date=str(p["d"]),
            services=tuple(str(s) for s in p["s"]),
            waiting=bool(p["t"]),
            arrival=int(p["a"]),
            promised=int(p["p"]),
            witness=witness,
        )
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise bad from exc


def signing_key(db: Database, configured: str | None) -> bytes:
    """The configured key, else the one stored in the database (made once, shared by all)."""
    if configured:
        return configured.encode()

    def work(session: Session) -> str:
        found = session.scalar(select(SecretRow.value).where(SecretRow.name == _SECRET_NAME))
        if found is not None:
            return found
        value = secrets.token_hex(32)
        session.add(SecretRow(name=_SECRET_NAME, value=value))
        session.flush()
        return value

    try:
        return db.write(work).encode()
    except IntegrityError:  # another process made it first
        return db.write(work).encode()
