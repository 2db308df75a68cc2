"""schemathesis against /openapi.json: generated requests never get a 5xx, every error answer
is application/problem+json, and every answer (status, media type, body) is one the document
declares for its operation, so the code and its contract cannot drift apart unnoticed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is in the test extra")

WORKSHOP = "city-motors"
DATE = "2026-11-26"


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The OpenAPI schema of an app on a fresh SQLite database holding the small day."""
    from api.clock import ManualClock
    from api.main import create_app
    from api.services.workshops import load_day_file
    from api.settings import Settings
    from tests.api.conftest import MORNING, SMALL_DAY

    path: Path = tmp_path_factory.mktemp("fuzz") / "workshop.db"
    clock = ManualClock(MORNING)
    app = create_app(Settings(database_url=f"sqlite:///{path}", solver_processes=0), clock=clock)
    load_day_file(app.state.context.db, SMALL_DAY, replace=False, now=clock.now())
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def _checks() -> list[Any]:
    from schemathesis.checks import (
        content_type_conformance,
        not_a_server_error,
        response_schema_conformance,
        status_code_conformance,
    )

    return [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_no_server_errors_and_problems_for_errors(api_schema: Any, mode: str) -> None:
    """Every operation, 25 generated valid requests and 6 invalid ones each (schemathesis's
    pytest plugin does not load under this pytest, so the operations are driven through their
    Hypothesis strategies)."""
    checks = _checks()
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 10
    if mode == "negative":  # nothing to get wrong in an operation that takes no input
        raw = [op.definition.raw for op in operations]
        operations = [
            op
            for op, r in zip(operations, raw, strict=True)
            if "parameters" in r or "requestBody" in r
        ]
    for operation in operations:

        @given(case=operation.as_strategy(schemathesis.GenerationMode(mode)))
        @settings(
            max_examples=25 if mode == "positive" else 6,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case: Any) -> None:
            response = case.call()
            assert response.status_code < 500, (case.method, case.path, response.text)
            if response.status_code >= 400:
                kind = response.headers.get("content-type")
                kind = kind[0] if isinstance(kind, list) else kind
                assert kind.startswith("application/problem+json"), (case.path, kind)
                body = response.json()
                assert {"type", "title", "status", "detail"} <= set(body)
            case.validate_response(response, checks=checks)

        run()


def test_the_booking_flow_answers_as_documented(api_schema: Any) -> None:
    """Random requests rarely get past validation, so the success answers are checked along
    the real flow: slots, hold, replayed hold, confirm, booking, plan, re-plan, event, cancel."""
    checks = _checks()

    def call(path: str, method: str, status: int, **parts: Any) -> Any:
        case = api_schema[path][method].Case(**parts)
        response = case.call()
        assert response.status_code == status, (method, path, response.text)
        case.validate_response(response, checks=checks)
        return response.json()

    ws = {"workshop_id": WORKSHOP}
    slots = call(
        "/workshops/{workshop_id}/slots",
        "GET",
        200,
        path_parameters=ws,
        query={"services": "MINOR,TYRE", "from": f"{DATE}T08:00:00+08:00"},
    )["slots"]
    key = {"Idempotency-Key": "fuzz-flow"}
    hold_path = "/workshops/{workshop_id}/holds"
    body = {"slot": slots[0]["slot"]}
    hold = call(hold_path, "POST", 201, path_parameters=ws, body=body, headers=key)
    assert call(hold_path, "POST", 201, path_parameters=ws, body=body, headers=key) == hold
    call(hold_path, "POST", 409, path_parameters=ws, body=body)
    held = {"hold_id": hold["id"]}
    call("/holds/{hold_id}", "GET", 200, path_parameters=held)
    booked = call(
        "/holds/{hold_id}/confirm", "POST", 201, path_parameters=held, body={"customer": "Fuzz"}
    )
    booking = {**ws, "booking_id": booked["booking"]}
    call("/workshops/{workshop_id}/bookings/{booking_id}", "GET", 200, path_parameters=booking)
    day = {**ws, "date": DATE}
    call("/workshops/{workshop_id}/plans/{date}", "GET", 200, path_parameters=day)
    version = {**day, "version": 1}
    call(
        "/workshops/{workshop_id}/plans/{date}/versions/{version}",
        "GET",
        200,
        path_parameters=version,
    )
    call(
        "/workshops/{workshop_id}/plans/{date}",
        "POST",
        201,
        path_parameters=day,
        body={"method": "dispatch"},
    )
    call(
        "/workshops/{workshop_id}/days/{date}/events",
        "POST",
        201,
        path_parameters=day,
        body={
            "kind": "walk-in",
            "services": ["TYRE"],
            "at": f"{DATE}T09:00:00+08:00",
            "method": "dispatch",
        },
    )
    call("/workshops/{workshop_id}/bookings/{booking_id}", "DELETE", 200, path_parameters=booking)
    call("/workshops/{workshop_id}/bookings", "GET", 200, path_parameters=ws)
    call("/readyz", "GET", 200)
