"""schemathesis against /openapi.json: generated requests never get a 5xx, and every error
answer is application/problem+json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is in the test extra")


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


def test_no_server_errors_and_problems_for_errors(api_schema: Any) -> None:
    """Every operation, 25 generated requests each (schemathesis's pytest plugin does not load
    under this pytest, so the operations are driven through their Hypothesis strategies)."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
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

        run()
