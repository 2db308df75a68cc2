"""Loading a day file from the day board: a manager uploads the YAML (and its bookings CSV).

The board's form posts ``multipart/form-data`` to ``/board/{workshop}/load``, which calls the
same service function as ``PUT /workshops/{id}/days/{date}``: the file is read in memory as
strictly as over the API, stored, planned and audited with the signed-in manager as actor,
and the browser is sent to the board of the day the file names. A file that cannot be loaded
is shown again with each located problem on its own line, and nothing changes. Viewers,
managers of other workshops and posts without the session's CSRF token are refused; a file
larger than the service's body limit is refused with a page that says how large it may be.
"""

from __future__ import annotations

import html
import logging
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from api import sessions
from scheduler.io import DayFileError, parse_day_text
from tests.api.helpers import add_key, bearer
from tests.pages.conftest import BOARD, CSRF, DATE, HTML, ROOT, SMALL_DAY, WORKSHOP, board_client

SMALL_SHOP = ROOT / "scenarios" / "small-shop.yaml"
EV_DEALER = ROOT / "scenarios" / "ev-dealer.yaml"
EV_CSV = ROOT / "scenarios" / "ev-dealer-bookings.csv"
HARWOOD = "harwood-garage"
SPREE = "spreeblick-emobility"
LOAD = f"/board/{HARWOOD}/load"
YAML_TYPE = "application/x-yaml"


@dataclass
class Shop:
    """The small day's app with API clients: ``boss`` manages every workshop, ``harwood`` and
    ``city`` one each, ``viewer`` may only read. ``api`` sends boss's key."""

    app: Any
    keys: dict[str, str]
    api: Any

    def browser(self, who: str | None = None) -> Any:
        """A new browser, signed in to the board with ``who``'s key when given."""
        client = board_client(self.app)
        if who is not None:
            answer = client.post(
                "/signin", data={"key": self.keys[who], "next": "/"}, follow_redirects=False
            )
            assert answer.status_code == 303, answer.text
        return client

    def workshops(self) -> dict[str, list[str]]:
        """Every stored workshop with its days."""
        answer = self.api.get("/workshops")
        assert answer.status_code == 200, answer.text
        return {w["id"]: w["days"] for w in answer.json()}

    def loads(self, workshop: str) -> list[dict[str, Any]]:
        """The workshop's ``workshop.load`` audit entries, newest first."""
        answer = self.api.get(f"/workshops/{workshop}/audit")
        if answer.status_code == 404:
            return []
        entries: list[dict[str, Any]] = answer.json()["entries"]
        return [e for e in entries if e["action"] == "workshop.load"]


@pytest.fixture
def shop(tmp_path: Path, clock: Any, small_day_db: Path) -> Iterator[Shop]:
    """The small day (City Motors) with four API clients configured (no local trial mode)."""
    from fastapi.testclient import TestClient

    from api.main import create_app
    from api.settings import Settings

    path = tmp_path / "load.db"
    shutil.copyfile(small_day_db, path)
    app = create_app(Settings(database_url=f"sqlite:///{path}", solver_processes=0), clock=clock)
    keys = {
        "boss": add_key(app, "boss", "manager"),
        "harwood": add_key(app, "harwood-boss", "manager", [HARWOOD]),
        "city": add_key(app, "city-boss", "manager", [WORKSHOP]),
        "viewer": add_key(app, "viewer", "viewer"),
    }
    with TestClient(app, raise_server_exceptions=False, headers=bearer(keys["boss"])) as api:
        yield Shop(app, keys, api)


def _upload(
    browser: Any,
    url: str,
    day_file: tuple[str, bytes] | None,
    csv: tuple[str, bytes] | None = None,
    *,
    csrf: bool = True,
    **choices: str,
) -> Any:
    """Post the board's upload form as a browser does (multipart, the session's token)."""
    files: dict[str, tuple[str, bytes, str]] = {
        "day_file": (*day_file, YAML_TYPE) if day_file else ("", b"", "application/octet-stream")
    }
    if csv is not None:
        files["bookings_csv"] = (*csv, "text/csv")
    data = dict(choices)
    if csrf:
        data["csrf_token"] = browser.csrf_token()
    return browser.post(
        url, data=data, files=files, csrf=False, headers=HTML, follow_redirects=False
    )


def _small_shop(text: str | None = None) -> tuple[str, bytes]:
    return ("small-shop.yaml", (text or SMALL_SHOP.read_text(encoding="utf-8")).encode())


def _problems(answer: Any) -> list[str]:
    """The located problems the page lists, as text."""
    found = re.search(r'<ul class="problems" id="load-problems">(.*?)</ul>', answer.text, re.S)
    assert found, answer.text[:2000]
    return [html.unescape(li).strip() for li in re.findall(r"<li>(.*?)</li>", found.group(1))]


def test_a_manager_uploads_small_shop_and_sees_its_board(shop: Shop) -> None:
    browser = shop.browser("harwood")
    index = browser.get("/", headers=HTML)
    # Harwood Garage is this manager's, not loaded yet: the index offers its first day file.
    assert index.status_code == 200 and f'href="{LOAD}"' in index.text
    assert "Not loaded yet" in index.text and WORKSHOP not in index.text
    form = browser.get(LOAD, headers=HTML)
    assert form.status_code == 200
    assert 'enctype="multipart/form-data"' in form.text and CSRF.search(form.text)

    answer = _upload(browser, LOAD, _small_shop())
    assert answer.status_code == 303, answer.text[:2000]
    assert answer.headers["location"] == f"/board/{HARWOOD}/{DATE.isoformat()}?loaded=1"
    board = browser.get(answer.headers["location"], headers=HTML)
    assert board.status_code == 200
    assert "Harwood Garage" in board.text and 'id="loaded"' in board.text
    assert "12 bookings" in board.text  # the file's twelve, each placed or listed unscheduled
    assert shop.workshops()[HARWOOD] == [DATE.isoformat()]
    plan = shop.api.get(f"/workshops/{HARWOOD}/plans/{DATE.isoformat()}").json()
    placed = {a["booking"] for a in plan["assignments"]}
    assert len(placed) + len(plan["unscheduled"]) == 12
    (entry,) = shop.loads(HARWOOD)  # one load, one entry, by the signed-in manager
    assert (entry["actor"], entry["target"]) == ("harwood-boss", DATE.isoformat())


def test_the_boards_own_form_loads_the_day_its_file_names(shop: Shop) -> None:
    browser = shop.browser("city")
    board = browser.get(BOARD, headers=HTML)
    assert 'id="load-day"' in board.text and f'action="/board/{WORKSHOP}/load"' in board.text
    later = "2026-11-27"  # tomorrow's file, loaded from today's board
    text = SMALL_DAY.read_text(encoding="utf-8").replace(f"day: {DATE}", f"day: {later}")
    text = text.replace("id: R10", "id: D10")  # booking ids are the workshop's, across days
    answer = _upload(browser, f"/board/{WORKSHOP}/load", ("tomorrow.yaml", text.encode()))
    assert answer.status_code == 303, answer.text[:2000]
    assert answer.headers["location"] == f"/board/{WORKSHOP}/{later}?loaded=1"
    assert browser.get(answer.headers["location"], headers=HTML).status_code == 200
    assert shop.workshops()[WORKSHOP] == [DATE.isoformat(), later]
    assert [e["actor"] for e in shop.loads(WORKSHOP)] == ["city-boss", "system"]  # the fixture's


def test_a_malformed_file_shows_its_located_problems_and_changes_nothing(shop: Shop) -> None:
    browser = shop.browser("harwood")
    good = SMALL_SHOP.read_text(encoding="utf-8")
    bad = good.replace('arrival: "08:00"', 'arrival: "25:00"', 1).replace(
        "skills: [general, tyre]", "skills: [general, tyre], height: 2", 1
    )
    assert bad.count("\n") == good.count("\n") and bad != good
    with pytest.raises(DayFileError) as info:
        parse_day_text(bad, source="small-shop.yaml")
    expected = [str(p) for p in info.value.problems]  # what the loader itself says
    assert len(expected) == 2 and all(re.match(r"small-shop\.yaml:\d+ ", p) for p in expected)

    answer = _upload(browser, LOAD, ("small-shop.yaml", bad.encode()))
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("text/html")
    assert _problems(answer) == expected
    assert "Traceback" not in answer.text and "nothing was changed" in answer.text
    not_yaml = _upload(browser, LOAD, ("small-shop.yaml", b"workshop: [unclosed\n"))
    (problem,) = _problems(not_yaml)
    assert problem.startswith("small-shop.yaml:2: not valid YAML")
    nothing = _upload(browser, LOAD, None)
    assert nothing.status_code == 422 and _problems(nothing) == ["choose a day file (YAML) to load"]
    assert HARWOOD not in shop.workshops() and shop.loads(HARWOOD) == []


def test_loading_over_a_day_needs_the_forms_choices(shop: Shop) -> None:
    browser = shop.browser("boss")
    assert _upload(browser, LOAD, _small_shop()).status_code == 303
    # The same file twice (a double click): the first answer, nothing stored twice.
    twice = _upload(browser, LOAD, _small_shop())
    assert twice.status_code == 303 and twice.headers["location"].endswith("?loaded=1")
    changed = SMALL_SHOP.read_text(encoding="utf-8").replace('"08:05"', '"08:10"', 1)
    again = _upload(browser, LOAD, _small_shop(changed))
    assert again.status_code == 409
    (problem,) = _problems(again)
    assert "use the choice 'Load over the day's bookings'" in problem and "--" not in problem
    replaced = _upload(browser, LOAD, _small_shop(), replace="on")
    assert replaced.status_code == 303 and replaced.headers["location"].endswith("?loaded=2")
    # A booking made online is not in the file: it goes only when the manager says so.
    offers = shop.api.get(
        f"/workshops/{HARWOOD}/slots",
        params={"services": "INTERIM", "from": f"{DATE}T08:00:00+00:00"},
    ).json()["slots"]
    hold = shop.api.post(f"/workshops/{HARWOOD}/holds", json={"slot": offers[0]["slot"]})
    booked = shop.api.post(f"/holds/{hold.json()['id']}/confirm", json={"customer": "Online"})
    assert booked.status_code == 201, booked.text
    kept = _upload(browser, LOAD, _small_shop(), replace="on")
    assert kept.status_code == 409
    assert "Also delete online bookings, walk-ins and events" in _problems(kept)[0]
    assert 'id="load-replace" checked' in kept.text  # the choices made are kept
    forced = _upload(browser, LOAD, _small_shop(), discard_online_bookings="on")
    assert forced.status_code == 303, forced.text[:2000]
    gone = shop.api.get(f"/workshops/{HARWOOD}/bookings/{booked.json()['booking']}")
    assert gone.status_code == 404
    assert [e["actor"] for e in shop.loads(HARWOOD)] == ["boss"] * 3


def test_viewers_and_managers_of_other_workshops_are_refused(shop: Shop) -> None:
    file = _small_shop()
    # A viewer's key cannot sign in to the board, and the board takes no API keys.
    viewer = shop.browser()
    signin = viewer.post("/signin", data={"key": shop.keys["viewer"]}, follow_redirects=False)
    assert signin.status_code == 401 and "cannot sign in" in signin.text
    assert _upload(viewer, LOAD, file).status_code == 401
    with_key = board_client(shop.app, headers=bearer(shop.keys["viewer"]))
    assert _upload(with_key, LOAD, file).status_code == 401
    # City Motors' manager: Harwood Garage is answered as a workshop that does not exist.
    city = shop.browser("city")
    for answer in (city.get(LOAD, headers=HTML), _upload(city, LOAD, file)):
        assert answer.status_code == 404 and f"no workshop &#39;{HARWOOD}&#39;" in answer.text
    unknown = _upload(city, "/board/no-such-workshop/load", file)
    assert unknown.status_code == 404 and "no workshop &#39;no-such-workshop&#39;" in unknown.text
    # Harwood's manager cannot load City Motors' day through Harwood's address either.
    harwood = shop.browser("harwood")
    city_file = ("small-day.yaml", SMALL_DAY.read_bytes())
    wrong = _upload(harwood, LOAD, city_file, replace="on")
    assert wrong.status_code == 422
    assert _problems(wrong) == [
        f"small-day.yaml: workshop.id is '{WORKSHOP}', but it was sent to workshop '{HARWOOD}'"
    ]
    assert HARWOOD not in shop.workshops() and shop.loads(HARWOOD) == []
    assert [e["actor"] for e in shop.loads(WORKSHOP)] == ["system"]  # the fixture's own load


def test_an_upload_without_the_sessions_csrf_token_is_refused(shop: Shop) -> None:
    browser = shop.browser("harwood")
    missing = _upload(browser, LOAD, _small_shop(), csrf=False)
    assert missing.status_code == 403 and "CSRF" in missing.text
    other = shop.browser("harwood")
    stolen = browser.post(
        LOAD,
        data={"csrf_token": other.csrf_token()},
        files={"day_file": (*_small_shop(), YAML_TYPE)},
        csrf=False,
        follow_redirects=False,
    )
    assert stolen.status_code == 403
    assert HARWOOD not in shop.workshops() and shop.loads(HARWOOD) == []
    # The same form with its token, or a script sending the token as a header, loads.
    header = {sessions.CSRF_HEADER: browser.csrf_token()}
    scripted = browser.post(
        LOAD,
        files={"day_file": (*_small_shop(), YAML_TYPE)},
        headers=header,
        csrf=False,
        follow_redirects=False,
    )
    assert scripted.status_code == 303


def test_a_file_over_the_body_limit_gets_a_clear_page(shop: Shop) -> None:
    browser = shop.browser("harwood")
    big = SMALL_SHOP.read_text(encoding="utf-8") + ("# " + "x" * 100 + "\n") * 700
    answer = _upload(browser, LOAD, ("small-shop.yaml", big.encode()))
    assert answer.status_code == 413
    assert answer.headers["content-type"].startswith("text/html")
    assert "content-security-policy" in answer.headers
    assert "too large" in answer.text and "at most 64 KB (65,536 bytes)" in answer.text
    assert "Traceback" not in answer.text
    # Programs still get problem+json.
    scripted = browser.post(LOAD, content=big.encode(), headers={"Content-Type": "text/plain"})
    assert scripted.status_code == 413
    assert scripted.headers["content-type"].startswith("application/problem+json")
    assert HARWOOD not in shop.workshops()
    form = browser.get(LOAD, headers=HTML).text  # the limit the form checks before sending
    assert 'data-max-bytes="65536"' in form and "up to 64 KB" in form


def test_an_upload_over_the_limit_without_a_declared_size_is_refused_quietly(
    shop: Shop, caplog: pytest.LogCaptureFixture
) -> None:
    """Sent in chunks, the size shows only as it is read: still a 413, and nothing logged as
    a failure of the service (any client could otherwise fill the logs)."""
    browser = shop.browser("harwood")

    def chunks() -> Iterator[bytes]:
        yield b'--edge\r\nContent-Disposition: form-data; name="day_file"; filename="d.yaml"'
        yield b"\r\n\r\n"
        for _ in range(100):
            yield b"#" * 1000 + b"\n"
        yield b"\r\n--edge--\r\n"

    with caplog.at_level(logging.ERROR):
        answer = browser.post(
            LOAD,
            content=chunks(),
            csrf=False,
            headers={**HTML, "Content-Type": "multipart/form-data; boundary=edge"},
        )
    assert answer.status_code == 413
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert HARWOOD not in shop.workshops()


def test_a_day_file_with_its_bookings_csv(shop: Shop) -> None:
    browser = shop.browser("boss")
    url = f"/board/{SPREE}/load"
    day = (EV_DEALER.name, EV_DEALER.read_bytes())
    csv = EV_CSV.read_text(encoding="utf-8")
    # Without the CSV it names, with another file, or with a broken row: located, nothing kept.
    alone = _upload(browser, url, day)
    assert alone.status_code == 422
    (problem,) = _problems(alone)
    assert re.match(
        r"ev-dealer\.yaml:\d+ bookings: names the bookings CSV 'ev-dealer-bookings\.csv'", problem
    ), problem
    other = _upload(browser, url, day, ("bookings.csv", csv.encode()))
    assert "but the CSV sent is 'bookings.csv'" in _problems(other)[0]
    lines = csv.splitlines(keepends=True)
    broken = lines[0] + re.sub(r",\d\d:\d\d,", ",9h15,", lines[1], count=1) + "".join(lines[2:])
    bad = _upload(browser, url, day, (EV_CSV.name, broken.encode()))
    assert bad.status_code == 422
    assert _problems(bad)[0].startswith("ev-dealer-bookings.csv row 1 (line 2) arrival:")
    inline = _upload(browser, LOAD, _small_shop(), (EV_CSV.name, csv.encode()))
    assert "would be ignored" in _problems(inline)[0]
    assert SPREE not in shop.workshops() and HARWOOD not in shop.workshops()
    # A spreadsheet's byte-order mark is fine.
    answer = _upload(browser, url, day, (EV_CSV.name, b"\xef\xbb\xbf" + csv.encode()))
    assert answer.status_code == 303, answer.text[:2000]
    board = browser.get(answer.headers["location"], headers=HTML)
    assert board.status_code == 200 and "150 bookings" in board.text
    assert len(shop.loads(SPREE)) == 1
