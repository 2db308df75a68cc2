"""Who may call what: every route x role x workshop scope, from a table written here.

The table below is the specification, written independently of ``api.access.PERMISSIONS``:
for each route, the roles that may call it. Each route is called by seven principals: no key,
and a booking, manager and viewer client each scoped to the workshop in the path (``in``) or
to another workshop only (``out``). An allowed call succeeds; a call without credentials is
401, one by a role not listed 403, and one outside the client's workshops 404 with exactly the
answer an unknown id gets (so no answer tells whether an id exists). Every answer refused is
problem+json. The test fails when the app has a route the table does not list: adding a route
means writing down who may call it.

Page routes (the day board) are called with a session: the managers sign in with their keys
on the sign-in page; booking and viewer keys cannot sign in, so the board treats them as
strangers (401).
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from api.clock import ManualClock
from api.services import booking
from api.services.audit import Actor
from api.services.board import WhatIfView, whatif_from_json
from tests.api.conftest import MORNING, SMALL_DAY
from tests.api.helpers import DATE, WORKSHOP, add_key, bearer

ROOT = Path(__file__).resolve().parents[2]
OTHER_DAY = ROOT / "scenarios" / "small-shop.yaml"
OTHER = "harwood-garage"
UNKNOWN_WORKSHOP = "no-such-workshop"
UNKNOWN_HOLD = "H" + "0" * 20
UNKNOWN_BOOKING = "B000000000000"
HTML = {"Accept": "text/html"}
LOAD_DATE = "2026-12-01"  # the day a manager loads over HTTP: the small day, moved
LOAD_FILE = (
    SMALL_DAY.read_text(encoding="utf-8")
    .replace("day: 2026-11-26", f"day: {LOAD_DATE}")
    .replace("id: R10", "id: D10")
)
DAYS = {"from": "2026-11-26T07:30:00+08:00", "to": "2026-11-28T19:00:00+08:00"}
PRINCIPALS = (
    "none",
    "booking-in",
    "booking-out",
    "manager-in",
    "manager-out",
    "viewer-in",
    "viewer-out",
)
B, M, V = "booking", "manager", "viewer"
ANYONE: frozenset[str] = frozenset()  # public: no key needed

# (method, path) -> the roles that may call it (empty: public). The specification.
TABLE: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/healthz"): ANYONE,
    ("GET", "/readyz"): ANYONE,
    ("GET", "/openapi.json"): ANYONE,
    ("GET", "/docs"): ANYONE,
    ("GET", "/docs/oauth2-redirect"): ANYONE,
    ("GET", "/redoc"): ANYONE,
    ("GET", "/workshops"): frozenset({B, M, V}),
    ("GET", "/workshops/{workshop_id}"): frozenset({B, M, V}),
    ("GET", "/workshops/{workshop_id}/slots"): frozenset({B, M, V}),
    ("POST", "/workshops/{workshop_id}/holds"): frozenset({B, M}),
    ("GET", "/holds/{hold_id}"): frozenset({B, M, V}),
    ("DELETE", "/holds/{hold_id}"): frozenset({B, M}),
    ("POST", "/holds/{hold_id}/confirm"): frozenset({B, M}),
    ("GET", "/workshops/{workshop_id}/bookings"): frozenset({B, M, V}),
    ("GET", "/workshops/{workshop_id}/bookings/{booking_id}"): frozenset({B, M, V}),
    ("DELETE", "/workshops/{workshop_id}/bookings/{booking_id}"): frozenset({B, M}),
    ("GET", "/workshops/{workshop_id}/plans/{date}"): frozenset({M, V}),
    ("GET", "/workshops/{workshop_id}/plans/{date}/versions/{version}"): frozenset({M, V}),
    ("POST", "/workshops/{workshop_id}/plans/{date}"): frozenset({M}),
    ("POST", "/workshops/{workshop_id}/days/{date}/events"): frozenset({M}),
    ("GET", "/workshops/{workshop_id}/audit"): frozenset({M}),
    ("PUT", "/workshops/{workshop_id}/days/{date}"): frozenset({M}),
    # pages: a signed-in manager only
    ("GET", "/signin"): ANYONE,
    ("POST", "/signin"): ANYONE,
    ("POST", "/signout"): ANYONE,
    ("GET", "/assets/{name}"): ANYONE,
    ("GET", "/"): frozenset({M}),
    ("GET", "/board"): frozenset({M}),
    ("GET", "/board/{workshop_id}/{date}"): frozenset({M}),
    ("POST", "/board/{workshop_id}/{date}/replan"): frozenset({M}),
    ("POST", "/board/{workshop_id}/{date}/events"): frozenset({M}),
    ("GET", "/board/{workshop_id}/load"): frozenset({M}),
    ("POST", "/board/{workshop_id}/load"): frozenset({M}),
    ("GET", "/board/{workshop_id}/{date}/sheets"): frozenset({M}),
    ("GET", "/board/{workshop_id}/{date}/plan.csv"): frozenset({M}),
    ("GET", "/board/{workshop_id}/{date}/plan.xlsx"): frozenset({M}),
    ("GET", "/board/{rest:path}"): frozenset({M}),
    ("GET", "/whatif"): frozenset({M}),
    ("POST", "/whatif"): frozenset({M}),
}
PAGES = {
    "/signin",
    "/signout",
    "/assets/{name}",
    "/",
    "/board",
    "/whatif",
} | {path for _, path in TABLE if path.startswith("/board/")}
# Routes whose ids are checked against the principal's scope (the rest have no workshop id).
SCOPED = {key for key in TABLE if "{workshop_id}" in key[1] or "{hold_id}" in key[1]}


@dataclass
class World:
    """The app, one client per principal (and ``admin``: a manager of every workshop), and a
    way to make holds and bookings."""

    app: Any
    clients: dict[str, Any]
    keys: dict[str, str]
    actors: dict[str, Actor]

    def token(self) -> str:
        """The first slot offered now for a tyre change on the small day or the two after."""
        offers = booking.find_slots(
            ctx=self.app.state.context,
            workshop_id=WORKSHOP,
            services=["TYRE"],
            waiting=False,
            start=dt.datetime.fromisoformat(DAYS["from"]),
            end=dt.datetime.fromisoformat(DAYS["to"]),
        )
        assert offers, "the test days are full"
        return offers[0].slot

    def hold(self, owner: str) -> str:
        """A fresh hold on the small day, made by ``owner`` (a principal name)."""
        ctx = self.app.state.context
        answer = booking.create_hold(
            ctx=ctx, workshop_id=WORKSHOP, slot=self.token(), key=None, actor=self.actors[owner]
        )
        return str(answer.body["id"])

    def release_all(self) -> None:
        """Let every open hold go, so the days do not fill up with the table's holds."""
        from sqlalchemy import select

        from api.db.models import HELD, HoldRow

        ctx = self.app.state.context
        with ctx.db.read() as session:
            held = session.scalars(select(HoldRow.id).where(HoldRow.status == HELD)).all()
        for hold_id in held:
            booking.release_hold(ctx=ctx, hold_id=hold_id, actor=Actor("cleanup"))

    def booking(self, owner: str) -> str:
        """A fresh booking on the small day, made by ``owner``."""
        ctx = self.app.state.context
        answer = booking.confirm_hold(
            ctx=ctx,
            hold_id=self.hold(owner),
            customer="Table Test",
            vehicle="TT-1",
            key=None,
            actor=self.actors[owner],
        )
        return str(answer.body["booking"])


def _stub_whatif(path: Path, replications: int, seed: int) -> WhatIfView:
    figures = {"base": {"mean": 1, "ci95": [0, 2]}, "variant": {"mean": 1, "ci95": [0, 2]}}
    kpis = {"waiter_mean_wait": {**figures, "difference": {"mean": 0, "ci95": [-1, 1]}}}
    return whatif_from_json(
        {"replications": replications, "seed": seed, "kpis": kpis},
        scenario=path.stem,
        title="Stub",
        replications=replications,
        seed=seed,
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, small_day_sqlite: Path) -> Iterator[World]:
    """The small day (city-motors) and a second workshop, seven principals' clients."""
    from fastapi.testclient import TestClient

    from api.main import create_app
    from api.services.workshops import load_day_file
    from api.settings import Settings

    folder = tmp_path_factory.mktemp("access")
    path = folder / "access.db"
    shutil.copyfile(small_day_sqlite, path)
    clock = ManualClock(MORNING)
    settings = Settings(
        database_url=f"sqlite:///{path}",
        solver_processes=0,
        max_open_holds=1000,
        holds_per_minute=10_000,
        slot_searches_per_minute=10_000,
    )
    app = create_app(settings, clock=clock)
    load_day_file(app.state.context.db, OTHER_DAY, replace=False, now=clock.now())
    scenarios = folder / "whatif"
    scenarios.mkdir()
    (scenarios / "stub.yaml").write_text("name: stub\n", encoding="utf-8")
    app.state.whatif_dir = scenarios
    app.state.whatif_runner = _stub_whatif
    keys = {
        f"{role}-{scope}": add_key(
            app, f"{role}-{scope}", role, [WORKSHOP if scope == "in" else OTHER]
        )
        for role in (B, M, V)
        for scope in ("in", "out")
    }
    keys["admin"] = add_key(app, "admin", M)
    clients: dict[str, Any] = {"none": TestClient(app, raise_server_exceptions=False)}
    for name, key in keys.items():
        client = TestClient(app, raise_server_exceptions=False, headers=bearer(key))
        if name.startswith(("manager", "admin")):
            _sign_in(client, key)
        clients[name] = client
    from api.services.clients import list_clients

    actors = {c.name: Actor(c.name, c.id) for c in list_clients(app.state.context.db)}
    with clients["none"]:
        yield World(app, clients, keys, actors)


@pytest.fixture(autouse=True)
def _released(world: World) -> Iterator[None]:
    """Each case starts with no open holds."""
    yield
    world.release_all()


def _csrf(client: Any) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/signin").text)
    assert found
    return found.group(1)


def _sign_in(client: Any, key: str) -> None:
    answer = client.post(
        "/signin", data={"key": key, "csrf_token": _csrf(client)}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text


def _request(world: World, method: str, path: str, who: str) -> tuple[str, str, dict[str, Any]]:
    """A request to the route that succeeds for an allowed principal: ids, bodies, tokens."""
    owner = who if who == "booking-in" else "booking-in"
    ids: dict[str, str] = {"workshop_id": WORKSHOP, "date": DATE.isoformat(), "version": "1"}
    kwargs: dict[str, Any] = {}
    if "{hold_id}" in path:
        ids["hold_id"] = world.hold(owner)
    if "{booking_id}" in path:
        ids["booking_id"] = world.booking(owner)
    if path == "/assets/{name}":
        ids["name"] = "board.css"
    if path == "/board/{rest:path}":
        ids["rest"] = f"{WORKSHOP}/{DATE.isoformat()}/nowhere"
    if path == "/workshops/{workshop_id}/slots":
        kwargs["params"] = {"services": "TYRE", **DAYS}
    if path == "/workshops/{workshop_id}/holds":
        kwargs["json"] = {"slot": world.token()}
    if path == "/holds/{hold_id}/confirm":
        kwargs["json"] = {"customer": "Table Test"}
    if path == "/workshops/{workshop_id}/plans/{date}" and method == "POST":
        kwargs["json"] = {"method": "dispatch"}
    if path == "/workshops/{workshop_id}/days/{date}/events":
        kwargs["json"] = {
            "kind": "walk-in",
            "services": ["TYRE"],
            "method": "dispatch",
            "at": "2026-11-26T09:00:00+08:00",
        }
    if path == "/workshops/{workshop_id}/days/{date}":
        ids["date"] = LOAD_DATE
        kwargs["content"] = LOAD_FILE
        kwargs["headers"] = {"Content-Type": "application/yaml"}
        kwargs["params"] = {"replace": "true"}  # the table loads it more than once
    if path == "/board":
        kwargs["params"] = {"workshop": WORKSHOP, "date": DATE.isoformat()}
    if path.startswith("/board/") and method == "POST":
        form = {"method": "dispatch"} if path.endswith("/replan") else {"kind": "walk-in"}
        kwargs["data"] = {**form, "services": "TYRE", "at": "09:00"}
    if path == "/board/{workshop_id}/load" and method == "POST":
        kwargs["data"] = {"replace": "on"}  # the table loads it more than once
        kwargs["files"] = {"day_file": ("later.yaml", LOAD_FILE.encode(), "application/x-yaml")}
    if path == "/whatif" and method == "POST":
        kwargs["data"] = {"scenario": "stub", "replications": "2"}
    if path == "/signin" and method == "POST":
        kwargs["data"] = {"key": "not-a-key"}
    if path in PAGES and method == "POST":
        client = world.clients[who]
        kwargs["data"] = {**kwargs.get("data", {}), "csrf_token": _csrf(client)}
    url = path
    for name, value in ids.items():
        url = url.replace("{" + name + "}", value).replace("{rest:path}", ids.get("rest", ""))
    return method, url, kwargs


def _route_keys(app: Any) -> set[tuple[str, str]]:
    """Every (method, path) the app answers, walking app.routes (and included routers)."""
    from api.access import app_routes

    keys = set(app_routes(app))
    assert len(keys) >= 30, keys  # the walk found the included routers' routes
    return keys


def test_the_table_lists_every_route_of_the_app(world: World) -> None:
    """A new route without an entry here fails this test (and the app refuses to start
    without a rule for it in api.access.PERMISSIONS)."""
    assert _route_keys(world.app) == set(TABLE)


def _problem(answer: Any) -> dict[str, Any]:
    assert answer.headers["content-type"].startswith("application/problem+json"), answer.text
    body: dict[str, Any] = answer.json()
    assert {"type", "title", "status", "detail"} <= set(body)
    return body


def _unknown_twin(url: str, path: str) -> tuple[str, Callable[[str], str]]:
    """The same request for an id that does not exist, and how to write its detail for the
    real id (so the two answers can be compared word for word)."""
    if "{hold_id}" in path:
        hold = url.split("/")[2]
        return url.replace(hold, UNKNOWN_HOLD), lambda d: d.replace(UNKNOWN_HOLD, hold)
    if "{workshop_id}" in path:
        twin = url.replace(f"/{WORKSHOP}", f"/{UNKNOWN_WORKSHOP}", 1)
        return twin, lambda d: d.replace(UNKNOWN_WORKSHOP, WORKSHOP)
    raise AssertionError(f"no unknown twin for {path}")


@pytest.mark.parametrize("who", PRINCIPALS)
@pytest.mark.parametrize(("method", "path"), sorted(TABLE))
def test_route_by_role_and_scope(world: World, method: str, path: str, who: str) -> None:
    allowed = TABLE[(method, path)]
    role, _, scope = who.partition("-")
    client = world.clients[who]
    method, url, kwargs = _request(world, method, path, who)
    page = path in PAGES
    answer = client.request(method, url, follow_redirects=False, **kwargs)
    if path == "/signout" and role == M:
        _sign_in(client, world.keys[who])
    if not allowed:  # public
        assert answer.status_code < 400 or (path == "/signin" and answer.status_code == 401), (
            answer.text
        )
        return
    if who == "none" or (page and role != M):
        assert answer.status_code == 401, (who, answer.text)
        assert _problem(answer)["type"] == "/problems/unauthorized"
        if not page:
            assert answer.headers["www-authenticate"].startswith("Bearer")
        return
    if role not in allowed:
        assert answer.status_code == 403, (who, answer.text)
        assert _problem(answer)["type"] == "/problems/forbidden"
        return
    if scope == "out" and (method, path) in SCOPED and path != "/board/{rest:path}":
        assert answer.status_code == 404, (who, answer.text)
        body = _problem(answer)
        # The same request by a manager of every workshop, for an id that does not exist
        # (loading a day there would create the workshop: the same client, then).
        twin_url, reword = _unknown_twin(url, path)
        asker = who if method == "PUT" or path.endswith("/load") else "admin"
        twin_kwargs = kwargs if asker == who else _twin_kwargs(world, kwargs)
        twin = world.clients[asker].request(method, twin_url, follow_redirects=False, **twin_kwargs)
        assert twin.status_code == 404, twin.text
        twin_body = _problem(twin)
        assert body == {**twin_body, "detail": reword(twin_body["detail"])}
        return
    if path == "/board/{rest:path}":  # no such page, for anyone allowed in
        assert answer.status_code == 404 and "no page" in _problem(answer)["detail"]
        return
    assert answer.status_code < 400, (who, method, url, answer.text[:500])
    if path == "/workshops":
        assert [w["id"] for w in answer.json()] == [WORKSHOP if scope == "in" else OTHER]


def _twin_kwargs(world: World, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The twin request's body (a page form needs the admin's own CSRF token)."""
    if "data" in kwargs:
        return {**kwargs, "data": {**kwargs["data"], "csrf_token": _csrf(world.clients["admin"])}}
    return kwargs
