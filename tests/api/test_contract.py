"""The HTTP contract as the OpenAPI document states it and as the service answers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from api.schemas import HoldPublic
from tests.api.helpers import DATE, WORKSHOP

PROBLEM = {"$ref": "#/components/schemas/Problem"}


def test_every_error_answer_is_documented_as_a_problem(app_client: Any) -> None:
    doc = app_client.get("/openapi.json").json()
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            errors = {code: r for code, r in responses.items() if int(code) >= 400}
            for code, response in errors.items():
                assert response["content"] == {"application/problem+json": {"schema": PROBLEM}}, (
                    method,
                    path,
                    code,
                )
            if operation.get("parameters") or operation.get("requestBody"):
                assert "422" in errors, (method, path)
    assert "503" in doc["paths"]["/readyz"]["get"]["responses"]


def test_malformed_json_names_the_body(app_client: Any) -> None:
    r = app_client.post(
        f"/workshops/{WORKSHOP}/holds",
        content=b"not json",
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422
    assert r.json()["field"] == "body"


def test_holds_answer_their_model_in_the_workshop_offset(app_client: Any) -> None:
    slots = app_client.get(
        f"/workshops/{WORKSHOP}/slots",
        params={"services": "TYRE", "from": "2026-11-26T08:00:00+08:00"},
    ).json()["slots"]
    hold = app_client.post(f"/workshops/{WORKSHOP}/holds", json={"slot": slots[0]["slot"]})
    assert hold.status_code == 201
    body = hold.json()
    assert set(body) == set(HoldPublic.model_fields)
    assert body["status"] == "held"
    expires = dt.datetime.fromisoformat(body["expires_at"])
    assert expires.utcoffset() == dt.timedelta(hours=8)
    assert body["expires_at"] == app_client.get(f"/holds/{body['id']}").json()["expires_at"]
    confirm = app_client.post(f"/holds/{body['id']}/confirm", json={"customer": "Model"})
    assert confirm.status_code == 201
    assert confirm.json()["status"] == "booked" and confirm.json()["hold"] == body["id"]


def test_replanned_objective_is_exact(app_client: Any) -> None:
    r = app_client.post(f"/workshops/{WORKSHOP}/plans/{DATE}", json={"method": "dispatch"})
    assert r.status_code == 201
    plan = app_client.get(f"/workshops/{WORKSHOP}/plans/{DATE}").json()
    assert r.json()["objective"] == plan["objective"]
    assert type(r.json()["objective"]) is type(plan["objective"])
