"""The manager's web pages: pick a day, read the day board, act on it, print, export, what-if.

Routes are thin, as the JSON API's are: parse the request, call a function of
``api.services.board`` (which calls the same service functions as the JSON API), render a
template. Actions are plain HTML forms that post and then redirect back to the board (so a
reload never posts twice); the board then highlights what the action changed. A day file is
uploaded the same way (a multipart form, read in memory) and loaded by the service function of
``PUT /workshops/{id}/days/{date}``; its problems are listed on the form's page. Unknown
workshops and days are 404 problem pages, HTML for browsers, never a traceback.

Pages are left out of the OpenAPI document: they are for people, the JSON API is for programs.
Who may open them is decided by ``api.access`` (a manager signed in at ``/signin`` with their
API key, or anyone on this machine in the local trial mode); every form carries the session's
CSRF token, which ``api.access`` checks before a form's route runs.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from api import forms, sessions
from api.access import PrincipalDep
from api.deps import ContextDep
from api.pages import charts
from api.pages.render import (
    ASSETS,
    asset_response,
    page,
    problem_page,
)
from api.schemas import DayEvent
from api.services import board, clients, workshops
from api.services.board import DayBoard
from api.services.clients import WORKSHOP_ID, Role
from api.services.context import now_utc
from api.services.errors import DayFileInvalid, Invalid, NotFound, ServiceError

router = APIRouter(include_in_schema=False)
log = logging.getLogger("workshop.pages")
MAX_FORM_BYTES = 64 * 1024
REPLAN_METHODS = {"dispatch": "Quick: dispatch rules", "cpsat": "Best: CP-SAT, 10 s"}


class PageSettings(BaseSettings):
    """Settings only the pages read (``WORKSHOP_<NAME>`` in the environment)."""

    model_config = SettingsConfigDict(env_prefix="WORKSHOP_", extra="ignore")
    whatif_dir: Path = Field(
        default_factory=lambda: board.default_whatif_dir(),
        description="Folder of what-if scenario files offered on the what-if page.",
    )


async def read_form(request: Request) -> dict[str, list[str]]:
    """An url-encoded form body as lists of values (small forms only)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    return parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)


FormDep = Annotated[dict[str, list[str]], Depends(read_form)]


def _one(form: dict[str, list[str]], name: str, default: str = "") -> str:
    values = form.get(name) or [default]
    return values[0].strip()


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise NotFound(f"no day {text!r}: days are written YYYY-MM-DD") from exc


def _base(workshop_id: str, date: dt.date) -> str:
    return f"/board/{quote(workshop_id, safe='')}/{date.isoformat()}"


def _problem(request: Request, exc: ServiceError) -> Response:
    return problem_page(request, exc.status, exc.type, exc.title, exc.detail)


def _board_page(
    request: Request,
    b: DayBoard,
    *,
    error: str | None = None,
    status: int = 200,
    loaded: bool = False,
) -> Response:
    return page(
        "board.html",
        request=request,
        status=status,
        b=b,
        base=_base(b.workshop_id, b.date),
        fig_bays=charts.gantt_figure(b, "bay"),
        fig_techs=charts.gantt_figure(b, "technician"),
        colours=charts.service_colours([s.value for s in b.services]),
        methods=REPLAN_METHODS,
        error=error,
        loaded=loaded,
        load=_load_form(request, b.workshop_id),
    )


@router.get("/")
def index(request: Request, ctx: ContextDep, principal: PrincipalDep) -> Response:
    """Pick a workshop and a day (of the workshops the signed-in manager may see)."""
    stored = workshops.list_workshops(ctx.db)
    shown = [w for w in stored if principal.sees(w.id)]
    # A manager's own workshops not loaded yet: the index offers to load their first day.
    scope = principal.workshops
    new = sorted(scope - {w.id for w in stored}) if scope is not None else []
    return page(
        "index.html",
        request=request,
        workshops=shown,
        new_workshops=new,
        any_workshop=scope is None,
    )


def _local_target(target: str) -> str:
    """Where to go after signing in: a path on this site, never another site."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/signin")
def signin(request: Request, target: Annotated[str, Query(alias="next")] = "/") -> Response:
    """The sign-in page: a manager pastes their API key."""
    return page("signin.html", request=request, target=_local_target(target[:2000]), error=None)


@router.post("/signin")
def signin_post(request: Request, ctx: ContextDep, form: FormDep) -> Response:
    """Check the key; a manager's starts a new session (a new id: no session fixation)."""
    target = _local_target(_one(form, "next", "/")[:2000])
    key = _one(form, "key")
    with ctx.db.read() as session:
        client = clients.authenticate(session, key)
    if client is None or client.role is not Role.MANAGER:
        error = (
            "That key is not valid (unknown, revoked or mistyped)."
            if client is None
            else f"A {client.role} key cannot sign in to the day board; use a manager's key."
        )
        return page("signin.html", request=request, target=target, error=error, status=401)
    settings = ctx.settings
    answer = RedirectResponse(target, status_code=303)
    answer.headers.append(
        "Set-Cookie",
        sessions.cookie(
            sessions.dump(sessions.Session.new(client.id), ctx.token_key),
            max_age=int(settings.session_hours * 3600),
            secure=_secure(request, settings.cookie_secure),
        ),
    )
    return answer


def _secure(request: Request, configured: bool | None) -> bool:
    return configured if configured is not None else request.url.scheme == "https"


@router.post("/signout")
def signout(request: Request, ctx: ContextDep) -> Response:
    """Forget the session (the cookie is deleted) and go to the sign-in page."""
    answer = RedirectResponse("/signin", status_code=303)
    answer.headers.append(
        "Set-Cookie",
        sessions.cookie("", max_age=0, secure=_secure(request, ctx.settings.cookie_secure)),
    )
    return answer


@router.get("/board")
def pick(request: Request, workshop: str = "", date: str = "", load: str = "") -> Response:
    """The picker's form target: go to the chosen day's board (or, with ``load``, to the
    page that loads a day file for the workshop)."""
    if workshop and load and WORKSHOP_ID.fullmatch(workshop):
        return RedirectResponse(_load_url(workshop), status_code=303)
    if not workshop or not date:
        return RedirectResponse("/", status_code=303)
    try:
        return RedirectResponse(_base(workshop, _date(date)), status_code=303)
    except ServiceError as exc:
        return _problem(request, exc)


# -- loading a day file -----------------------------------------------------------------------

BOARD_OPTIONS = (
    "the choice 'Load over the day's bookings'",
    "the choice 'Also delete online bookings, walk-ins and events'",
)
"""The replace and discard switches as the upload form names them (in Conflict's advice)."""
MAX_PROBLEMS_SHOWN = 50


@dataclass(frozen=True, slots=True)
class DayUpload:
    """What the day-file form sent: the day file, its bookings CSV and the two choices."""

    day_file: workshops.SentFile | None
    bookings_csv: workshops.SentFile | None
    replace: bool
    discard_online: bool


async def read_upload(request: Request) -> DayUpload:
    """The day-file form's multipart body, parsed in memory (the guard bounds its size)."""
    body = await request.body()
    try:
        parts = forms.parse_multipart(body, request.headers.get("content-type", ""))
    except forms.FormError as exc:
        raise Invalid(f"the form could not be read: {exc}") from exc

    def sent(name: str) -> workshops.SentFile | None:
        for part in parts:
            if part.name == name and part.filename:  # "": a file input left empty
                return workshops.SentFile(part.filename, part.data)
        return None

    ticked = {p.name for p in parts if p.filename is None and p.text in ("on", "true", "1")}
    return DayUpload(
        day_file=sent("day_file"),
        bookings_csv=sent("bookings_csv"),
        replace="replace" in ticked,
        discard_online="discard_online_bookings" in ticked,
    )


UploadDep = Annotated[DayUpload, Depends(read_upload)]


def _load_url(workshop_id: str) -> str:
    return f"/board/{quote(workshop_id, safe='')}/load"


def _load_form(
    request: Request, workshop_id: str, upload: DayUpload | None = None
) -> dict[str, Any]:
    """What the day-file form needs: where it posts, the choices ticked, the size limit."""
    limit: int = request.app.state.context.settings.max_body_bytes
    return {
        "action": _load_url(workshop_id),
        "workshop_id": workshop_id,
        "replace": bool(upload and upload.replace),
        "discard_online": bool(upload and upload.discard_online),
        "max_bytes": limit,
        "max_text": f"{limit / 1024:.0f} KB",
    }


def _load_page(
    request: Request,
    ctx: ContextDep,
    workshop_id: str,
    *,
    upload: DayUpload | None = None,
    problems: Sequence[str] = (),
    status: int = 200,
) -> Response:
    try:
        summary: workshops.WorkshopSummary | None = workshops.get_workshop(ctx.db, workshop_id)
    except NotFound:
        summary = None  # a workshop of the manager's not loaded yet: its first day file
    more = len(problems) - MAX_PROBLEMS_SHOWN
    return page(
        "load.html",
        request=request,
        status=status,
        workshop_id=workshop_id,
        summary=summary,
        problems=list(problems[:MAX_PROBLEMS_SHOWN]),
        more=max(0, more),
        sent=[f.name for f in (upload.day_file, upload.bookings_csv) if f] if upload else [],
        load=_load_form(request, workshop_id, upload),
    )


@router.get("/board/{workshop_id}/load")
def load_form(request: Request, ctx: ContextDep, workshop_id: str) -> Response:
    """The page that loads a day file for a workshop (a new one too, within the manager's)."""
    if not WORKSHOP_ID.fullmatch(workshop_id):
        return _problem(request, NotFound(f"no workshop {workshop_id!r}"))
    return _load_page(request, ctx, workshop_id)


@router.post("/board/{workshop_id}/load")
def load_day(
    request: Request,
    ctx: ContextDep,
    principal: PrincipalDep,
    workshop_id: str,
    upload: UploadDep,
) -> Response:
    """Load an uploaded day file (and its bookings CSV) through the same service function as
    ``PUT /workshops/{id}/days/{date}``, then show that day's board; problems are listed on
    the form's page and nothing is changed."""
    if upload.day_file is None:
        problems: Sequence[str] = ("choose a day file (YAML) to load",)
        return _load_page(request, ctx, workshop_id, upload=upload, problems=problems, status=422)
    try:
        result = workshops.load_sent_day(
            ctx.db,
            upload.day_file.data,
            "application/yaml",  # JSON is YAML too; browsers label .yaml files inconsistently
            workshop_id=workshop_id,
            date=None,  # the day the file names: tomorrow's file loads from today's board
            replace=upload.replace or upload.discard_online,
            discard_online=upload.discard_online,
            now=now_utc(ctx),
            actor=principal.actor,
            source=upload.day_file.name,
            bookings_csv=upload.bookings_csv,
            csv_allowed=True,
            options=BOARD_OPTIONS,
        )
    except ServiceError as exc:
        problems = exc.problems if isinstance(exc, DayFileInvalid) else (exc.detail,)
        return _load_page(
            request, ctx, workshop_id, upload=upload, problems=problems, status=exc.status
        )
    target = f"{_base(result.workshop, result.date)}?loaded={result.plan_version}"
    return RedirectResponse(target, status_code=303)


@router.get("/board/{workshop_id}/{date}")
def day_board(
    request: Request,
    ctx: ContextDep,
    workshop_id: str,
    date: str,
    changed: str | None = None,
    cause: str | None = None,
    loaded: str | None = None,
) -> Response:
    """The day board: chart by bay and technician, key figures, problems, actions
    (``loaded``: the plan version a day-file upload made, announced while it is current)."""
    version = int(changed) if changed and changed.isdigit() else None
    known = {"re-plan", *board.EVENT_KINDS}
    try:
        b = board.day_board(
            ctx,
            workshop_id,
            _date(date),
            changed=version,
            cause=cause if cause in known else "re-plan",
        )
    except ServiceError as exc:
        return _problem(request, exc)
    return _board_page(request, b, loaded=loaded == str(b.version))


def _act(
    request: Request,
    ctx: ContextDep,
    workshop_id: str,
    date: str,
    action: Callable[[dt.date, str], dict[str, Any]],
    cause: str,
) -> Response:
    """Run a form action on a known day, then redirect to the board showing what changed.

    An unknown workshop or day is a problem page; a refused action shows the board again with
    the reason on top.
    """
    try:
        day = _date(date)
        timezone = board.known_day(ctx, workshop_id, day).timezone
    except ServiceError as exc:
        return _problem(request, exc)
    try:
        result = action(day, timezone)
    except ServiceError as exc:
        return _board_page(
            request, board.day_board(ctx, workshop_id, day), error=exc.detail, status=exc.status
        )
    except (ValueError, ValidationError) as exc:
        message = _validation_message(exc)
        return _board_page(
            request, board.day_board(ctx, workshop_id, day), error=message, status=422
        )
    except RuntimeError as exc:  # the planner's plan failed the checker: nothing was stored
        log.exception("re-plan failed in %s", request.url.path)
        message = f"the re-plan failed and nothing was changed ({exc})"
        return _board_page(
            request, board.day_board(ctx, workshop_id, day), error=message, status=500
        )
    target = f"{_base(workshop_id, day)}?changed={int(result['version'])}&cause={quote(cause)}"
    return RedirectResponse(target, status_code=303)


def _validation_message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg"))
    return str(exc)


@router.post("/board/{workshop_id}/{date}/replan")
def replan(
    request: Request,
    ctx: ContextDep,
    principal: PrincipalDep,
    workshop_id: str,
    date: str,
    form: FormDep,
) -> Response:
    """Re-plan the day (the button on the board)."""
    method = _one(form, "method", "dispatch")
    if method not in REPLAN_METHODS:
        method = "dispatch"
    seconds = _one(form, "time_limit", "10")
    time_limit = min(60.0, max(1.0, float(seconds))) if seconds.isdigit() else 10.0

    def action(day: dt.date, _: str) -> dict[str, Any]:
        return board.replan(
            ctx, workshop_id, day, method=method, time_limit=time_limit, actor=principal.actor
        )

    return _act(request, ctx, workshop_id, date, action, "re-plan")


def event_from_form(form: dict[str, list[str]], day: dt.date, timezone: str) -> DayEvent:
    """The day event a board form describes, validated by the JSON API's own schema.

    Times in the form are ``HH:MM`` on the board's day in the workshop's time zone.
    """
    kind = _one(form, "kind")

    def when(name: str) -> dt.datetime | None:
        text = _one(form, name)
        if not text:
            return None
        try:
            return board.local_time(day, timezone, text)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from exc

    def number(name: str) -> int | None:
        text = _one(form, name)
        if not text:
            return None
        if not text.isdigit():
            raise ValueError(f"{name}: expected a whole number, got {text!r}")
        return int(text)

    fields: dict[str, Any] = {"kind": kind, "at": when("at")}
    if kind == "overrun":
        fields.update(booking=_one(form, "booking") or None, minutes=number("minutes"))
    elif kind == "absent":
        fields.update(technician=_one(form, "technician") or None, until=when("until"))
    elif kind == "part-late":
        fields.update(
            sku=_one(form, "sku") or None,
            arrives=when("arrives"),
            expected=when("expected"),
            quantity=number("quantity"),
        )
    elif kind == "walk-in":
        fields.update(
            services=[s for s in form.get("services", []) if s] or None,
            waiting=_one(form, "waiting") in {"on", "true", "1", "yes"},
            customer=_one(form, "customer")[:200],
            vehicle=_one(form, "vehicle")[:100],
        )
    return DayEvent(**fields)


@router.post("/board/{workshop_id}/{date}/events")
def post_event(
    request: Request,
    ctx: ContextDep,
    principal: PrincipalDep,
    workshop_id: str,
    date: str,
    form: FormDep,
) -> Response:
    """Post a day event (overrun, absence, late part, walk-in) and re-plan around it."""
    kind = _one(form, "kind")

    def action(day: dt.date, timezone: str) -> dict[str, Any]:
        event = event_from_form(form, day, timezone)
        return board.post_event(ctx, workshop_id, day, event.model_dump(), actor=principal.actor)

    cause = kind if kind in board.EVENT_KINDS else "re-plan"
    return _act(request, ctx, workshop_id, date, action, cause)


@router.get("/board/{workshop_id}/{date}/sheets")
def job_sheets(request: Request, ctx: ContextDep, workshop_id: str, date: str) -> Response:
    """Printable job sheets: one page per technician, jobs in order, parts to pick."""
    try:
        b = board.day_board(ctx, workshop_id, _date(date))
    except ServiceError as exc:
        return _problem(request, exc)
    return page(
        "sheets.html",
        request=request,
        b=b,
        base=_base(b.workshop_id, b.date),
        sheets=board.job_sheets(b, b.technicians),
    )


def _safe_cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula is written with a leading quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _filename(b: DayBoard, ext: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in b.workshop_id)
    return f"{safe}-{b.date.isoformat()}-plan.{ext}"


@router.get("/board/{workshop_id}/{date}/plan.csv")
def plan_csv(request: Request, ctx: ContextDep, workshop_id: str, date: str) -> Response:
    """The plan as CSV: one row per operation, then the unscheduled bookings."""
    try:
        b = board.day_board(ctx, workshop_id, _date(date))
    except ServiceError as exc:
        return _problem(request, exc)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=board.EXPORT_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in board.export_rows(b):
        writer.writerow({k: _safe_cell(v) for k, v in row.items()})
    # A byte-order mark lets spreadsheet programs read the UTF-8 names correctly.
    return Response(
        ("\ufeff" + out.getvalue()).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{_filename(b, "csv")}"'},
    )


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/board/{workshop_id}/{date}/plan.xlsx")
def plan_xlsx(request: Request, ctx: ContextDep, workshop_id: str, date: str) -> Response:
    """The plan as an Excel workbook: plan, unscheduled bookings and key figures."""
    from api.pages.export import workbook

    try:
        b = board.day_board(ctx, workshop_id, _date(date))
    except ServiceError as exc:
        return _problem(request, exc)
    return Response(
        workbook(b),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{_filename(b, "xlsx")}"'},
    )


def _whatif_runner(request: Request) -> board.WhatIfRunner:
    """The what-if runner: one set on the app (tests) or the simulation service's."""
    runner: board.WhatIfRunner | None = getattr(request.app.state, "whatif_runner", None)
    return runner or board.default_whatif_runner()


def _whatif_dir(request: Request) -> Path:
    directory: Path | None = getattr(request.app.state, "whatif_dir", None)
    return directory or PageSettings().whatif_dir


def _whatif_page(
    request: Request,
    *,
    result: board.WhatIfView | None = None,
    error: str | None = None,
    chosen: str = "",
    replications: int = 20,
    seed: int = 1,
    status: int = 200,
) -> Response:
    try:
        _whatif_runner(request)
        unavailable = None
    except board.WhatIfUnavailable as exc:
        unavailable = str(exc)
    directory = _whatif_dir(request)
    return page(
        "whatif.html",
        request=request,
        status=status,
        scenarios=board.whatif_scenarios(directory),
        directory=str(directory),
        unavailable=unavailable,
        result=result,
        figure=charts.whatif_figure(result.kpis, result.confidence) if result else None,
        is_share=charts.is_share,
        error=error,
        chosen=chosen,
        replications=replications,
        seed=seed,
    )


@router.get("/whatif")
def whatif(request: Request) -> Response:
    """Choose a what-if scenario to run."""
    return _whatif_page(request)


@router.post("/whatif")
def whatif_run(request: Request, form: FormDep) -> Response:
    """Run a what-if scenario and show each key figure's difference with its interval."""
    name = _one(form, "scenario")
    reps, seed_text = _one(form, "replications", "20"), _one(form, "seed", "1")
    replications = min(200, max(2, int(reps))) if reps.isdigit() else 20
    seed = int(seed_text) if seed_text.isdigit() else 1
    scenarios = {s.name: s for s in board.whatif_scenarios(_whatif_dir(request))}
    show = functools.partial(
        _whatif_page, request, chosen=name, replications=replications, seed=seed
    )
    if name not in scenarios:
        return show(error=f"no what-if scenario {name!r}", status=422)
    try:
        runner = _whatif_runner(request)
        result = runner(scenarios[name].path, replications, seed)
    except board.WhatIfUnavailable as exc:
        return show(error=str(exc), status=503)
    except ServiceError as exc:
        return show(error=exc.detail, status=exc.status)
    except (ValueError, OSError) as exc:
        return show(error=f"the scenario could not be run: {exc}", status=422)
    return show(result=result)


@router.get("/assets/{name}")
def assets(request: Request, name: str) -> Response:
    """Stylesheet, script and the bundled plotly.js: everything the pages load."""
    if name not in ASSETS:
        return problem_page(request, 404, "not-found", "Not found", f"no asset {name!r}")
    return asset_response(request, name)


@router.get("/board/{rest:path}")
def unknown_page(request: Request, rest: str) -> Response:
    """Any other address under /board is a 404 problem page."""
    return problem_page(request, 404, "not-found", "Not found", f"no page /board/{rest}")
