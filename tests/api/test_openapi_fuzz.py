"""schemathesis against /openapi.json: generated requests never get a 5xx, every error answer
is application/problem+json, and every answer (status, media type, body) is one the document
declares for its operation, so the code and its contract cannot drift apart unnoticed.

Requests carry a manager's API key (every workshop): the service as deployed. Without a key,
every operation but the health probes answers 401 (schemathesis's ASGI client is not on the
loopback interface, so the local trial mode does not apply even before a client exists)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from scheduler.io import read_yaml
from tests.api.conftest import SMALL_DAY
from tests.api.helpers import add_key, bearer

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is in the test extra")

WORKSHOP = "city-motors"
DATE = "2026-11-26"


PUBLIC = {("GET", "/healthz"), ("GET", "/readyz")}


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """An app on a fresh SQLite database holding the small day, with three manager keys
    (one per test, so one test's rate-limited requests do not throttle another's)."""
    from api.clock import ManualClock
    from api.main import create_app
    from api.services.workshops import load_day_file
    from api.settings import Settings
    from tests.api.conftest import MORNING, SMALL_DAY

    path: Path = tmp_path_factory.mktemp("fuzz") / "workshop.db"
    clock = ManualClock(MORNING)
    app = create_app(Settings(database_url=f"sqlite:///{path}", solver_processes=0), clock=clock)
    load_day_file(app.state.context.db, SMALL_DAY, replace=False, now=clock.now())
    app.state.test_keys = {
        name: add_key(app, f"fuzz-{name}", "manager") for name in ("positive", "negative", "flow")
    }
    return app


@pytest.fixture(scope="module")
def api_schema(fuzz_app: Any) -> Any:
    """The app's OpenAPI schema, for schemathesis."""
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)


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
def test_no_server_errors_and_problems_for_errors(
    api_schema: Any, fuzz_app: Any, mode: str
) -> None:
    """Every operation, 25 generated valid requests and 6 invalid ones each (schemathesis's
    pytest plugin does not load under this pytest, so the operations are driven through their
    Hypothesis strategies)."""
    checks = _checks()
    auth = bearer(fuzz_app.state.test_keys[mode])
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
            response = case.call(headers=auth)
            assert response.status_code < 500, (case.method, case.path, response.text)
            if response.status_code >= 400:
                kind = response.headers.get("content-type")
                kind = kind[0] if isinstance(kind, list) else kind
                assert kind.startswith("application/problem+json"), (case.path, kind)
                body = response.json()
                assert {"type", "title", "status", "detail"} <= set(body)
            case.validate_response(response, checks=checks)

        run()


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_without_credentials_every_operation_but_health_is_401(api_schema: Any, mode: str) -> None:
    """No key, whatever the path, query or body: 401 problem+json naming the bearer scheme."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    public = [op for op in operations if (op.method.upper(), op.path) in PUBLIC]
    assert len(public) == len(PUBLIC)
    for operation in operations:
        raw = operation.definition.raw
        if mode == "negative" and "parameters" not in raw and "requestBody" not in raw:
            continue  # nothing to get wrong in an operation that takes no input
        _no_key_answers(operation, mode, public=operation in public)


def _header(response: Any, name: str) -> str:
    value = response.headers.get(name)
    return str(value[0] if isinstance(value, list) else value)


def _no_key_answers(operation: Any, mode: str, *, public: bool) -> None:
    """Five generated requests without a key: 401 problems, or answers for public ones."""

    @given(case=operation.as_strategy(schemathesis.GenerationMode(mode)))
    @settings(
        max_examples=5,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case: Any) -> None:
        case.headers = {k: v for k, v in (case.headers or {}).items() if k != "Authorization"}
        response = case.call()
        if public:
            assert response.status_code in (200, 503), (case.path, response.text)
            return
        assert response.status_code == 401, (case.method, case.path, response.text)
        assert _header(response, "content-type").startswith("application/problem+json")
        assert _header(response, "www-authenticate").startswith("Bearer")

    run()


def test_the_booking_flow_answers_as_documented(api_schema: Any, fuzz_app: Any) -> None:
    """Random requests rarely get past validation, so the success answers are checked along
    the real flow: a day loaded, slots, hold, replayed hold, confirm, booking, plan, re-plan,
    event, cancel, audit."""
    checks = _checks()
    auth = bearer(fuzz_app.state.test_keys["flow"])

    def call(path: str, method: str, status: int, **parts: Any) -> Any:
        parts["headers"] = {**parts.get("headers", {}), **auth}
        case = api_schema[path][method].Case(**parts)
        response = case.call()
        assert response.status_code == status, (method, path, response.text)
        case.validate_response(response, checks=checks)
        return response.json()

    ws = {"workshop_id": WORKSHOP}
    later = {**ws, "date": "2026-12-01"}  # the small day, moved: loaded by a manager
    day_file, _ = read_yaml(SMALL_DAY.read_text(encoding="utf-8"), source="small-day.yaml")
    day_file["day"] = later["date"]
    for b in day_file["bookings"]:
        b["id"] = b["id"].replace("R", "L")
    load = "/workshops/{workshop_id}/days/{date}"
    media = {"media_type": "application/json"}
    call(load, "PUT", 200, path_parameters=later, body=day_file, **media)
    call(load, "PUT", 200, path_parameters=later, body=day_file, **media)  # a retry
    changed = {**day_file, "bookings": [{**day_file["bookings"][0], "arrival": "08:20"}]}
    call(load, "PUT", 409, path_parameters=later, body=changed, **media)
    call(load, "PUT", 422, path_parameters=ws | {"date": DATE}, body=day_file, **media)
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
    audit = call("/workshops/{workshop_id}/audit", "GET", 200, path_parameters=ws)["entries"]
    assert [e["action"] for e in audit][:5] == [
        "booking.cancel",
        "day.event",
        "plan.replan",
        "hold.confirm",
        "hold.create",
    ]
    call("/readyz", "GET", 200)
