"""Slot tokens: the witness of an offer, sealed so a client can hand it back but neither read
nor forge it.

A token carries everything needed to hold the slot without searching again: the workshop, the
date, the services, the drop-off and promised times and the witness (technician, bay and times
of each operation). Booking systems must not learn which technician would do the work, so the
JSON is encrypted and authenticated as a Fernet token (AES-128-CBC with HMAC-SHA256, from the
``cryptography`` package) under a key derived with HKDF from the key every process on the
database shares. The witness is re-checked against the schedule when it is held.
"""

from __future__ import annotations

import base64
import functools
import json
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
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


@functools.lru_cache(maxsize=16)
def _fernet(key: bytes) -> Fernet:
    """The token cipher for a shared key (a key of its own, derived for this one purpose)."""
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"workshop slot tokens v2"
    ).derive(key)
    return Fernet(base64.urlsafe_b64encode(derived))


def encode(offer: SlotOffer, key: bytes) -> str:
    """The opaque, sealed token of an offer."""
    body = json.dumps(offer.payload(), separators=(",", ":"), ensure_ascii=False).encode()
    return _fernet(key).encrypt(body).decode("ascii")


def open_token(token: str, key: bytes) -> bytes:
    """The JSON inside a token; InvalidToken if it was not sealed with ``key`` or was altered."""
    return _fernet(key).decrypt(token.encode("ascii"))


def decode(token: str, key: bytes) -> SlotOffer:
    """The offer inside a token; Invalid (field ``slot``) if it was altered or is malformed."""
    bad = Invalid("the slot token is not one this service issued (altered or truncated)")
    bad.field = "slot"
    try:
        body = open_token(token, key)
    except (InvalidToken, UnicodeEncodeError, ValueError) as exc:
        raise bad from exc
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
