"""A manager loads a day over HTTP: ``PUT /workshops/{id}/days/{date}`` with a day file.

The same as ``workshop load`` at the server, for the manager's own workshops: the file (YAML,
or the same structure as JSON) is read as strictly as the command line reads it, stored,
planned and audited. Because it comes from the network, it may not use YAML anchors (a few
hundred bytes of them stand for billions of values) nor name a bookings CSV file (which would
be read from the server's disk), and it must be for the workshop and date it was sent to.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from api.services.workshops import store_day
from scheduler.domain import Day
from scheduler.io import parse_day_text, read_yaml
from tests.api.conftest import SMALL_DAY
from tests.api.helpers import WORKSHOP, add_key, assert_valid_plan, bearer, stored_day

ROOT = Path(__file__).resolve().parents[2]
OTHER_DAY = ROOT / "scenarios" / "small-shop.yaml"
OTHER = "harwood-garage"
YAML = {"Content-Type": "application/yaml"}
LATER = dt.date(2026, 12, 1)


def _url(date: dt.date | str, workshop: str = WORKSHOP) -> str:
    return f"/workshops/{workshop}/days/{date}"


def _later_file(date: dt.date = LATER) -> str:
    """The small day moved to ``date``, with booking ids of its own."""
    text = SMALL_DAY.read_text(encoding="utf-8").replace("day: 2026-11-26", f"day: {date}")
    return text.replace("id: R10", f"id: D{date.day:02d}")


def _days(client: Any, workshop: str = WORKSHOP) -> list[str]:
    answer = client.get(f"/workshops/{workshop}")
    assert answer.status_code == 200, answer.text
    days: list[str] = answer.json()["days"]
    return days


def _problem(answer: Any, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = answer.json()
    assert "Traceback" not in answer.text
    return body


def test_a_manager_loads_a_day_as_yaml_or_as_json(app_client: Any, db_url: str, clock: Any) -> None:
    answer = app_client.put(_url(LATER), content=_later_file(), headers=YAML)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "workshop": WORKSHOP,
        "date": LATER.isoformat(),
        "bookings": 6,
        "scheduled": 6,
        "unscheduled": 0,
        "plan_version": 1,
    }
    assert LATER.isoformat() in _days(app_client)
    plan = app_client.get(f"/workshops/{WORKSHOP}/plans/{LATER}")
    assert plan.status_code == 200
    assert_valid_plan(stored_day(db_url, clock.now(), LATER), plan.json())
    # The same file as JSON (YAML 1.2 reads times and dates as the text they are).
    second = LATER + dt.timedelta(days=1)
    data, _ = read_yaml(_later_file(second), source="day")
    answer = app_client.put(_url(second), json=data)
    assert answer.status_code == 200, answer.text
    assert second.isoformat() in _days(app_client)
    audit = app_client.get(f"/workshops/{WORKSHOP}/audit").json()["entries"]
    assert [(e["action"], e["target"], e["actor"]) for e in audit[:2]] == [
        ("workshop.load", second.isoformat(), "test-manager"),
        ("workshop.load", LATER.isoformat(), "test-manager"),
    ]


def test_a_new_workshop_is_created_within_the_managers_scope(app_client: Any) -> None:
    text = OTHER_DAY.read_text(encoding="utf-8")
    app = app_client.app
    outsider = bearer(add_key(app, "city-only", "manager", [WORKSHOP]))
    refused = app_client.put(_url("2026-11-26", OTHER), content=text, headers={**YAML, **outsider})
    assert _problem(refused, 404)["detail"] == f"no workshop {OTHER!r}"
    for role in ("booking", "viewer"):
        key = bearer(add_key(app, f"{role}-all", role))
        answer = app_client.put(_url("2026-11-26", OTHER), content=text, headers={**YAML, **key})
        assert _problem(answer, 403)["type"] == "/problems/forbidden"
    assert OTHER not in {w["id"] for w in app_client.get("/workshops").json()}
    # A manager whose workshops name it may create it, before it was ever loaded.
    opener = bearer(add_key(app, "harwood-boss", "manager", [OTHER]))
    made = app_client.put(_url("2026-11-26", OTHER), content=text, headers={**YAML, **opener})
    assert made.status_code == 200, made.text
    assert made.json()["workshop"] == OTHER
    assert _days(app_client, OTHER) == ["2026-11-26"]


def test_two_days_of_a_new_workshop_loaded_at_once_both_load(app_client: Any, clock: Any) -> None:
    """Both loads create the workshop's row; the second waits for the first's and updates it
    (on PostgreSQL it failed on the workshop's key, a 500 over HTTP)."""
    db = app_client.app.state.context.db
    text = OTHER_DAY.read_text(encoding="utf-8")
    for attempt in range(5):
        workshop = f"{OTHER}-{attempt}"
        days = [
            parse_day_text(
                text.replace(f"id: {OTHER}", f"id: {workshop}")
                .replace('day: "2026-11-26"', f'day: "2026-11-2{6 + n}"')
                .replace("id: J41", f"id: J{n}1"),
                source="day",
            )
            for n in range(2)
        ]
        start = threading.Barrier(len(days))

        def load(day: Day, start: threading.Barrier = start) -> int:
            start.wait()
            return store_day(db, day, replace=False, now=clock.now()).bookings

        with ThreadPoolExecutor(len(days)) as pool:
            assert list(pool.map(load, days)) == [len(d.bookings) for d in days]
        assert _days(app_client, workshop) == ["2026-11-26", "2026-11-27"]


def test_a_retried_load_gets_the_first_answer_until_the_day_moves_on(app_client: Any) -> None:
    url = _url("2026-11-26")
    text = SMALL_DAY.read_text(encoding="utf-8")
    same = app_client.put(url, content=text, headers=YAML)
    assert same.status_code == 200, same.text
    assert (same.json()["plan_version"], same.json()["scheduled"]) == (1, 6)
    replanned = app_client.post(f"/workshops/{WORKSHOP}/plans/2026-11-26", json={})
    assert replanned.status_code == 201, replanned.text
    # Re-planned since: the file no longer describes the day as it is.
    _problem(app_client.put(url, content=text, headers=YAML), 409)


def test_a_retried_load_leaves_the_workshop_settings_a_later_load_made(app_client: Any) -> None:
    first = _later_file(LATER)
    assert app_client.put(_url(LATER), content=first, headers=YAML).status_code == 200
    # The next day's file renames the workshop: its settings are the workshop's from now on.
    second = _later_file(LATER + dt.timedelta(days=1)).replace(
        "name: City Motors", "name: City Motors East", 1
    )
    assert "City Motors East" in second
    loaded = app_client.put(_url(LATER + dt.timedelta(days=1)), content=second, headers=YAML)
    assert loaded.status_code == 200, loaded.text
    retry = app_client.put(_url(LATER), content=first, headers=YAML)
    assert retry.status_code == 200 and retry.json()["plan_version"] == 1, retry.text
    assert app_client.get(f"/workshops/{WORKSHOP}").json()["name"] == "City Motors East Service"


def test_loading_over_a_day_needs_replace_and_keeps_online_bookings_unless_told(
    app_client: Any,
) -> None:
    url = _url("2026-11-26")
    text = SMALL_DAY.read_text(encoding="utf-8")
    # The day as loaded, sent again (a retry): the first answer, nothing stored twice.
    same = app_client.put(url, content=text, headers=YAML)
    assert same.status_code == 200, same.text
    assert same.json()["plan_version"] == 1 and same.json()["bookings"] == 6
    changed = text.replace('arrival: "08:15"', 'arrival: "08:20"')
    again = _problem(app_client.put(url, content=changed, headers=YAML), 409)
    assert "replace=true" in again["detail"] and "--replace" not in again["detail"]
    replaced = app_client.put(url, content=text, headers=YAML, params={"replace": "true"})
    assert replaced.status_code == 200 and replaced.json()["plan_version"] == 2
    offers = app_client.get(
        f"/workshops/{WORKSHOP}/slots",
        params={"services": "TYRE", "from": "2026-11-26T07:30:00+08:00"},
    ).json()["slots"]
    hold = app_client.post(f"/workshops/{WORKSHOP}/holds", json={"slot": offers[0]["slot"]})
    booked = app_client.post(f"/holds/{hold.json()['id']}/confirm", json={"customer": "Online"})
    assert booked.status_code == 201, booked.text
    kept = _problem(
        app_client.put(url, content=text, headers=YAML, params={"replace": "true"}), 409
    )
    assert "1 online booking(s)" in kept["detail"]
    assert "discard_online_bookings=true" in kept["detail"]
    forced = app_client.put(
        url, content=text, headers=YAML, params={"discard_online_bookings": "true"}
    )
    assert forced.status_code == 200, forced.text
    booking = booked.json()["booking"]
    assert app_client.get(f"/workshops/{WORKSHOP}/bookings/{booking}").status_code == 404


BOMB = "\n".join(
    [
        'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
        *(
            f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]"
            for i in range(8)
        ),
    ]
)


@pytest.mark.parametrize(
    ("case", "status", "field", "says"),
    [
        ("other workshop", 422, "workshop", "workshop.id is 'city-motors'"),
        ("other date", 422, "day", "day is 2026-12-01, but it was sent to 2026-12-02"),
        ("csv file", 422, "bookings", "cannot be sent over HTTP"),
        ("aliases", 422, None, "anchors and aliases"),
        ("not utf-8", 422, None, "not UTF-8"),
        ("bad time", 422, None, "bookings[0].arrival: expected a time"),
        ("not yaml", 422, None, "not valid YAML"),
        ("nested deep", 422, None, "nested more than 32 levels deep"),
        ("empty", 422, None, "empty"),
        ("text/plain", 415, None, "application/yaml or application/json"),
        ("no type", 415, None, "application/yaml or application/json"),
    ],
)
def test_what_the_network_may_not_send(
    app_client: Any,
    tmp_path: Path,
    case: str,
    status: int,
    field: str | None,
    says: str,
) -> None:
    secret = tmp_path / "bookings.csv"
    secret.write_text("id,services,arrival\nSECRET-ROW,MINOR,08:00\n", encoding="utf-8")
    text, url, headers = _later_file(), _url(LATER), dict(YAML)
    body: bytes | str = text
    if case == "other workshop":
        url = _url(LATER, "elsewhere")
    elif case == "other date":
        url = _url(LATER + dt.timedelta(days=1))
    elif case == "csv file":
        body = text.split("bookings:")[0] + f"bookings: {secret}\n"
    elif case == "aliases":
        body = BOMB  # 9**9 strings once expanded
    elif case == "not utf-8":
        body = text.encode("utf-16")
    elif case == "bad time":
        body = text.replace('arrival: "08:00"', 'arrival: "25:00"', 1)
    elif case == "not yaml":
        body = "workshop: [unclosed"
    elif case == "nested deep":  # under libyaml's own limit, past Python's stack: was a 500
        body = "workshop: " + "[" * 999 + "]" * 999
    elif case == "empty":
        body = ""
    elif case == "text/plain":
        headers = {"Content-Type": "text/plain"}
    else:
        headers = {}
    started = time.monotonic()
    answer = app_client.put(url, content=body, headers=headers)
    assert time.monotonic() - started < 5
    problem = _problem(answer, status)
    assert says in problem["detail"], problem
    assert problem.get("field") == field
    assert "SECRET-ROW" not in answer.text
    assert _days(app_client) == ["2026-11-26"]  # nothing was stored


def test_a_day_file_too_large_is_refused_before_it_is_read(app_client: Any) -> None:
    padding = "# " + "x" * 100 + "\n"
    body = _later_file() + padding * 700  # past the 64 KiB limit
    answer = app_client.put(_url(LATER), content=body, headers=YAML)
    assert _problem(answer, 413)["type"] == "/problems/content-too-large"
    assert json.loads(answer.text)["status"] == 413
    assert _days(app_client) == ["2026-11-26"]
