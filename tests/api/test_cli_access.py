"""The administrator's commands: API clients, the local trial mode of ``workshop serve``.

``workshop clients add`` prints a key once and stores only its hash; ``list`` shows clients
without keys; ``revoke`` stops a key at once. ``workshop serve`` with no clients serves this
machine only, without keys, and says so when it starts; asked to listen on another address
without clients it refuses to start with one clear line. The commands run in this process
(``api.cli.main``), with ``uvicorn.run`` replaced by a stub that keeps the app it was given, so
the app ``serve`` built is then called through a TestClient from chosen addresses; one slow
test starts the real command.
"""

from __future__ import annotations

import hashlib
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from api.cli import main
from api.db.models import ApiClientRow
from api.db.session import Database
from tests.api.conftest import SMALL_DAY
from tests.api.helpers import WORKSHOP, bearer, key_secret
from tests.api.servers import Server

LOOPBACK = ("127.0.0.1", 50000)
ELSEWHERE = ("203.0.113.9", 50000)  # TEST-NET-3: an address of another machine


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run the command line in this process: exit code, stdout, stderr."""
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _one_error_line(code: int, err: str, *words: str) -> None:
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0], err


def _add(db_url: str, capsys: pytest.CaptureFixture[str], name: str, *args: str) -> str:
    """``workshop clients add NAME ARGS``; the key it printed."""
    code, out, err = run(["clients", "add", name, *args, "--db", db_url], capsys)
    assert code == 0, err
    key = out.strip().splitlines()[-1]
    assert key.startswith("wsk_"), out
    return key


def _rows(db_url: str) -> list[ApiClientRow]:
    db = Database(db_url)
    try:
        with db.read() as session:
            return list(session.scalars(select(ApiClientRow).order_by(ApiClientRow.id)))
    finally:
        db.dispose()


@pytest.fixture
def loaded(db_url: str, capsys: pytest.CaptureFixture[str]) -> str:
    """The database URL, with the small day loaded by ``workshop load``."""
    code, _, err = run(["load", str(SMALL_DAY), "--db", db_url], capsys)
    assert code == 0, err
    return db_url


class Served:
    """What the stubbed ``uvicorn.run`` was given."""

    app: Any = None
    host: str = ""

    def client(self, address: tuple[str, int] = LOOPBACK, **kwargs: Any) -> Any:
        """A TestClient of the served app, calling from ``address``."""
        from fastapi.testclient import TestClient

        assert self.app is not None, "serve did not start the server"
        return TestClient(self.app, raise_server_exceptions=False, client=address, **kwargs)


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Served:
    """Replace ``uvicorn.run``: ``serve`` returns at once, and the app it built is kept."""
    import uvicorn

    found = Served()

    def fake_run(app: Any, *, host: str, **_: Any) -> None:
        found.app, found.host = app, host

    monkeypatch.setattr(uvicorn, "run", fake_run)
    return found


def test_add_prints_the_key_once_and_stores_only_its_hash(
    loaded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        [
            "clients",
            "add",
            "online-shop",
            "--role",
            "booking",
            "--workshop",
            WORKSHOP,
            "--db",
            loaded,
        ],
        capsys,
    )
    assert code == 0, err
    key = out.strip().splitlines()[-1]
    assert key.startswith("wsk_") and len(key) > 50
    assert "role booking" in out and WORKSHOP in out and "shown only now" in out
    (row,) = _rows(loaded)
    assert row.secret_hash == hashlib.sha256(key.encode()).hexdigest()
    secret = key_secret(key)
    stored = " ".join(str(getattr(row, c.key)) for c in ApiClientRow.__table__.columns)
    assert secret not in stored
    if loaded.startswith("sqlite"):  # nowhere in the file either (not in a stray column)
        assert secret.encode() not in Path(loaded.removeprefix("sqlite:///")).read_bytes()
    # The list never shows a key.
    code, out, _ = run(["clients", "list", "--db", loaded], capsys)
    assert code == 0 and "online-shop" in out and "booking" in out and "active" in out
    assert secret not in out and key[:16] not in out


def test_a_key_works_in_its_role_and_workshops_until_revoked(
    loaded: str, capsys: pytest.CaptureFixture[str], served: Served
) -> None:
    booking = _add(loaded, capsys, "online-shop", "--role", "booking", "--workshop", WORKSHOP)
    viewer = _add(loaded, capsys, "analyst", "--role", "viewer", "--workshop", "elsewhere")
    manager = _add(loaded, capsys, "boss", "--role", "manager")
    code, _, err = run(["serve", "--db", loaded, "--host", "0.0.0.0"], capsys)
    assert code == 0, err
    with served.client(ELSEWHERE) as client:
        plans = f"/workshops/{WORKSHOP}/plans/2026-11-26"
        assert client.get(plans, headers=bearer(manager)).status_code == 200
        assert client.get(plans, headers=bearer(booking)).status_code == 403
        assert client.get(f"/workshops/{WORKSHOP}", headers=bearer(booking)).status_code == 200
        assert client.get(f"/workshops/{WORKSHOP}", headers=bearer(viewer)).status_code == 404
        code, out, err = run(["clients", "revoke", "online-shop", "--db", loaded], capsys)
        assert code == 0 and "revoked" in out, err
        refused = client.get(f"/workshops/{WORKSHOP}", headers=bearer(booking))
        assert refused.status_code == 401
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert client.get(plans, headers=bearer(manager)).status_code == 200
    code, out, _ = run(["clients", "list", "--db", loaded], capsys)
    assert "revoked" in out and "boss" in out and "active" in out
    # The name is free again for a new client with a new key.
    assert _add(loaded, capsys, "online-shop", "--role", "booking") != booking


def test_client_changes_are_audited_with_the_person_at_the_command_line(
    loaded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _add(loaded, capsys, "online-shop", "--role", "booking")
    assert run(["clients", "revoke", "online-shop", "--db", loaded], capsys)[0] == 0
    code, out, _ = run(["audit", "--db", loaded, "--limit", "2"], capsys)
    assert code == 0 and "client.add" in out
    from api.services.audit import entries

    db = Database(loaded)
    try:
        found = entries(db, workshop_id=None, limit=2)
    finally:
        db.dispose()
    assert [(e["action"], e["target"]) for e in found] == [
        ("client.revoke", "online-shop"),
        ("client.add", "online-shop"),
    ]
    assert all(e["actor"].startswith("cli:") for e in found)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["clients", "add", "shop", "--role", "king"], ["role 'king'", "booking, manager, viewer"]),
        (["clients", "add", "bad name", "--role", "booking"], ["client name 'bad name'"]),
        (["clients", "add", "shop", "--role", "viewer", "--workshop", "../x"], ["workshop id"]),
        (["clients", "revoke", "nobody"], ["no active client named 'nobody'"]),
    ],
)
def test_mistakes_get_one_clear_line(
    db_url: str, capsys: pytest.CaptureFixture[str], args: list[str], words: list[str]
) -> None:
    code, _, err = run([*args, "--db", db_url], capsys)
    _one_error_line(code, err, *words)
    assert _rows(db_url) == []


def test_a_name_in_use_is_refused(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    _add(db_url, capsys, "shop", "--role", "booking")
    code, _, err = run(["clients", "add", "shop", "--role", "manager", "--db", db_url], capsys)
    _one_error_line(code, err, "'shop' exists")
    assert [r.role for r in _rows(db_url)] == ["booking"]


def test_without_clients_serve_refuses_any_address_but_this_machines(
    db_url: str, capsys: pytest.CaptureFixture[str], served: Served
) -> None:
    for host in ("0.0.0.0", "192.0.2.10", "::"):
        code, out, err = run(["serve", "--db", db_url, "--host", host], capsys)
        _one_error_line(code, err, "no API clients", host, "workshop clients add")
        assert served.app is None and out == ""


def test_without_clients_serve_on_loopback_is_the_local_trial_mode(
    loaded: str,
    capsys: pytest.CaptureFixture[str],
    served: Served,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="workshop.serve"):
        code, _, err = run(["serve", "--db", loaded], capsys)
    assert code == 0, err
    assert served.host == "127.0.0.1"
    said = " ".join(r.getMessage() for r in caplog.records if r.name == "workshop.serve")
    assert "LOCAL TRIAL MODE" in said and "without a key" in said
    with served.client(LOOPBACK) as client:
        assert client.get("/workshops").json()[0]["id"] == WORKSHOP  # no key needed
        assert client.get(f"/workshops/{WORKSHOP}/audit").status_code == 200  # as a manager
        assert client.get("/", headers={"Accept": "text/html"}).status_code == 200
        # Through a proxy, the request may come from anywhere: not this machine.
        proxied = client.get("/workshops", headers={"X-Forwarded-For": "198.51.100.7"})
        assert proxied.status_code == 401
    with served.client(ELSEWHERE) as client:
        assert client.get("/workshops").status_code == 401
    # The first client ends the trial mode at once, without a restart.
    key = _add(loaded, capsys, "boss", "--role", "manager")
    with served.client(LOOPBACK) as client:
        assert client.get("/workshops").status_code == 401
        assert client.get("/workshops", headers=bearer(key)).status_code == 200


def test_with_the_trial_mode_switched_off_serve_says_so_and_needs_keys(
    loaded: str,
    capsys: pytest.CaptureFixture[str],
    served: Served,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WORKSHOP_LOCAL_MODE", "false")
    with caplog.at_level(logging.INFO, logger="workshop.serve"):
        code, _, err = run(["serve", "--db", loaded], capsys)
    assert code == 0, err
    said = " ".join(r.getMessage() for r in caplog.records if r.name == "workshop.serve")
    assert "TRIAL MODE" not in said and "every request is refused" in said
    with served.client(LOOPBACK) as client:
        assert client.get("/workshops").status_code == 401


def test_with_clients_serve_listens_anywhere_and_never_falls_back_to_trial_mode(
    loaded: str,
    capsys: pytest.CaptureFixture[str],
    served: Served,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _add(loaded, capsys, "boss", "--role", "manager")
    with caplog.at_level(logging.INFO, logger="workshop.serve"):
        code, _, err = run(["serve", "--db", loaded, "--host", "0.0.0.0"], capsys)
    assert code == 0, err
    assert served.host == "0.0.0.0"
    said = " ".join(r.getMessage() for r in caplog.records if r.name == "workshop.serve")
    assert "1 API client(s) configured" in said and "TRIAL" not in said
    assert run(["clients", "revoke", "boss", "--db", loaded], capsys)[0] == 0
    with served.client(LOOPBACK) as client:  # every client revoked: still no trial mode
        assert client.get("/workshops").status_code == 401


@pytest.mark.slow
def test_the_real_command_serves_this_machine_and_refuses_others(tmp_path: Path) -> None:
    """``workshop serve`` as a process: the trial mode answers without a key and its log says
    so; ``--host 0.0.0.0`` without clients exits at once with one line and no traceback."""
    url = f"sqlite:///{tmp_path / 'trial.db'}"
    server = Server(url, tmp_path).start()
    try:
        answer = httpx.get(f"{server.url}/workshops", timeout=10)
        assert answer.status_code == 200 and answer.json() == []
    finally:
        server.stop()
    log = server.log_path.read_text(encoding="utf-8")
    assert "LOCAL TRIAL MODE" in log and "Traceback" not in log
    refused = subprocess.run(
        [sys.executable, "-m", "api.cli", "serve", "--db", url, "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2 and refused.stdout == ""
    _one_error_line(refused.returncode, refused.stderr, "no API clients", "0.0.0.0")


def test_the_readme_says_what_the_code_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], served: Served
) -> None:
    """The README's section on clients and the trial mode quotes the refusal and the log
    line, and gives the limits' real defaults."""
    from api.settings import Settings

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    text = " ".join(readme.split())
    db_url = f"sqlite:///{tmp_path / 'readme.db'}"
    _, _, err = run(["serve", "--db", db_url, "--host", "0.0.0.0"], capsys)
    quoted = err.strip().split("; add one first")[0]
    assert f"`{quoted}; add one first ...`" in text, quoted
    assert "`no API clients configured: LOCAL TRIAL MODE, ...`" in text
    s = Settings.model_construct()  # the defaults, whatever the environment says
    assert f"`WORKSHOP_MAX_BODY_BYTES` ({s.max_body_bytes // 1024} KiB" in text
    assert f"`WORKSHOP_SLOT_SEARCHES_PER_MINUTE` ({s.slot_searches_per_minute})" in text
    assert f"`WORKSHOP_HOLDS_PER_MINUTE` ({s.holds_per_minute})" in text
    assert f"`WORKSHOP_MAX_OPEN_HOLDS` ({s.max_open_holds})" in text
    assert f"`WORKSHOP_SESSION_HOURS` ({s.session_hours:g})" in text
    for command in ("clients add", "clients list", "clients revoke", "privacy purge", "audit"):
        assert f"workshop {command}" in text
