"""Idempotency keys: the first answer, whatever it was, is the answer to every retry."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError

from api.db.models import IdempotencyKeyRow
from api.db.session import Database
from tests.api.helpers import WORKSHOP

HOLDS = f"/workshops/{WORKSHOP}/holds"
DAY = {"from": "2026-11-26T07:30:00+08:00", "to": "2026-11-26T19:00:00+08:00"}


def _offer(client: Any, index: int = 0) -> str:
    r = client.get(f"/workshops/{WORKSHOP}/slots", params={"services": "TYRE", **DAY})
    token: str = r.json()["slots"][index]["slot"]
    return token


def test_a_first_409_is_replayed_even_when_the_slot_has_come_free(app_client: Any) -> None:
    slot = _offer(app_client)
    other = app_client.post(HOLDS, json={"slot": slot})
    assert other.status_code == 201
    first = app_client.post(HOLDS, json={"slot": slot}, headers={"Idempotency-Key": "k409"})
    assert first.status_code == 409
    assert app_client.delete(f"/holds/{other.json()['id']}").status_code == 200
    retry = app_client.post(HOLDS, json={"slot": slot}, headers={"Idempotency-Key": "k409"})
    assert retry.status_code == 409, retry.text
    assert retry.json() == first.json()
    assert retry.headers["content-type"].startswith("application/problem+json")
    assert retry.headers["Idempotent-Replayed"] == "true"
    # Without the key (a new request) the slot is free again.
    assert app_client.post(HOLDS, json={"slot": slot}).status_code == 201


def test_a_first_hold_expired_answer_to_a_confirm_is_replayed(app_client: Any, clock: Any) -> None:
    hold = app_client.post(HOLDS, json={"slot": _offer(app_client)}).json()
    clock.advance(minutes=6)
    url = f"/holds/{hold['id']}/confirm"
    first = app_client.post(url, json={"customer": "A"}, headers={"Idempotency-Key": "late"})
    again = app_client.post(url, json={"customer": "A"}, headers={"Idempotency-Key": "late"})
    assert first.status_code == again.status_code == 409
    assert first.json() == again.json() and first.json()["type"] == "/problems/hold-expired"
    assert again.headers["Idempotent-Replayed"] == "true"


def test_keys_expire_after_a_day(app_client: Any, clock: Any, db_url: str) -> None:
    first = app_client.post(
        HOLDS, json={"slot": _offer(app_client, 0)}, headers={"Idempotency-Key": "old"}
    )
    assert first.status_code == 201
    clock.advance(hours=25)  # the day is over by now: re-use the key on tomorrow's offers
    tomorrow = {"from": "2026-11-27T07:30:00+08:00", "to": "2026-11-27T19:00:00+08:00"}
    token = app_client.get(
        f"/workshops/{WORKSHOP}/slots", params={"services": "TYRE", **tomorrow}
    ).json()["slots"][0]["slot"]
    reused = app_client.post(HOLDS, json={"slot": token}, headers={"Idempotency-Key": "old"})
    assert reused.status_code == 201, reused.text
    assert reused.json()["id"] != first.json()["id"]
    db = Database(db_url)
    try:
        with db.read() as session:
            rows = session.query(IdempotencyKeyRow).all()
            assert [r.key for r in rows] == ["old"]  # the expired row was cleaned up
    finally:
        db.dispose()


def test_a_duplicate_key_is_recognised_by_its_error_code(db_url: str) -> None:
    from api.db.migrate import upgrade
    from api.db.session import is_unique_violation

    db = Database(db_url)
    upgrade(db)
    now = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)

    def add(session: Any) -> None:
        session.add(
            IdempotencyKeyRow(
                key="dup", endpoint="e", request_hash="h", status_code=201, body={}, created_at=now
            )
        )
        session.flush()

    try:
        db.write(add)
        with pytest.raises(IntegrityError) as caught:
            db.write(add)
        assert is_unique_violation(caught.value)
    finally:
        db.dispose()
