"""The ``workshop`` command line: plan a day, check a plan, and (later) simulate and serve.

Every command fails with one clear line per problem and a non-zero exit code, never with a
traceback: a service manager should see what is wrong with their file, not with our code.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import DBAPIError

from api.services.errors import ServiceError
from api.services.planning import check_plan_file, plan_day_file
from api.settings import Settings
from scheduler.clock import format_hhmm
from scheduler.domain import Day
from scheduler.io import DayFileError
from scheduler.kpis import dropoff_lateness, waiter_waits
from scheduler.plan import Plan, ready_times
from scheduler.planfile import PlanFileError
from scheduler.solve import METHODS, Progress
from simulation.outcomes import KPI_LABELS, KPIS

if TYPE_CHECKING:
    from simulation.whatif import WhatIfResult

app = typer.Typer(
    name="workshop",
    help="Plan a dealership service workshop's day so customers wait less.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
errors = Console(stderr=True)


class UserError(Exception):
    """A problem the user can fix; printed as lines starting with 'error:'."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__(lines[0] if lines else "error")
        self.lines = lines


def _fmt(value: float) -> str:
    return f"{value:g}" if float(value).is_integer() else f"{value:.2f}"


def print_plan_summary(day: Day, plan: Plan) -> None:
    """The summary a service manager reads after planning: totals, waiters, resources."""
    k = plan.kpis
    ws = day.workshop
    head = Table(title=f"{ws.name} - {day.date.isoformat()} - {plan.status.value}")
    head.add_column("figure")
    head.add_column("value", justify="right")
    head.add_row("bookings placed", f"{k['scheduled']} of {k['bookings']}")
    head.add_row("objective (weighted wait + penalty)", _fmt(float(plan.objective)))
    head.add_row("lower bound / gap", f"{_fmt(float(plan.lower_bound))} / {plan.gap:.1%}")
    head.add_row(
        "waiters: mean / p90 wait (min)",
        f"{k['waiter_mean_wait']:.0f} / {k['waiter_p90_wait']:.0f}",
    )
    head.add_row("drop-offs on time", f"{k['dropoff_on_time_share']:.0%} of {k['dropoffs']}")
    head.add_row("drop-offs mean lateness (min)", f"{k['dropoff_mean_lateness']:.0f}")
    head.add_row("technician utilization", f"{k['technician_utilization']:.0%}")
    head.add_row("bay utilization", f"{k['bay_utilization']:.0%}")
    head.add_row("unscheduled", str(k["unscheduled"]))
    console.print(head)

    ready = ready_times(plan.assignments)
    waits = waiter_waits(day, plan)
    if waits:
        table = Table(title="Waiters")
        for col in ("booking", "customer", "arrival", "ready", "wait (min)"):
            table.add_column(col, justify="right" if col == "wait (min)" else "left")
        for booking_id, wait in sorted(waits.items(), key=lambda kv: day.booking(kv[0]).arrival):
            b = day.booking(booking_id)
            table.add_row(
                b.id, b.customer, format_hhmm(b.arrival), format_hhmm(ready[b.id]), str(wait)
            )
        console.print(table)
    late = {bid: m for bid, m in dropoff_lateness(day, plan).items() if m > 0}
    if late:
        table = Table(title="Late drop-offs")
        for col in ("booking", "customer", "promised", "ready", "late (min)"):
            table.add_column(col)
        for booking_id, minutes in sorted(late.items()):
            b = day.booking(booking_id)
            table.add_row(
                b.id,
                b.customer,
                format_hhmm(day.promised(b)),
                format_hhmm(ready[b.id]),
                str(minutes),
            )
        console.print(table)
    util = Table(title="Utilization")
    util.add_column("technician")
    util.add_column("busy", justify="right")
    util.add_column("bay")
    util.add_column("busy", justify="right")
    techs = list(k["technician_utilization_by_id"].items())
    bays = list(k["bay_utilization_by_id"].items())
    for i in range(max(len(techs), len(bays))):
        tech_id, tech_share = techs[i] if i < len(techs) else ("", None)
        bay_id, bay_share = bays[i] if i < len(bays) else ("", None)
        util.add_row(
            tech_id,
            "" if tech_share is None else f"{tech_share:.0%}",
            bay_id,
            "" if bay_share is None else f"{bay_share:.0%}",
        )
    console.print(util)
    if plan.unscheduled:
        table = Table(title="Unscheduled bookings")
        table.add_column("booking")
        table.add_column("reason")
        for u in plan.unscheduled:
            table.add_row(u.booking, u.reason)
        console.print(table)


@app.command()
def plan(
    day_file: Annotated[Path, typer.Argument(help="Day file (YAML) to plan.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the plan file.")] = Path(
        "plan.json"
    ),
    method: Annotated[str, typer.Option(help=f"Planner: {' | '.join(METHODS)}.")] = "dispatch",
    time_limit: Annotated[
        float, typer.Option("--time-limit", min=0.1, help="Seconds CP-SAT may search.")
    ] = 10.0,
    workers: Annotated[int, typer.Option(min=1, help="CP-SAT search workers.")] = 2,
    seed: Annotated[int, typer.Option(help="Random seed for reproducible CP-SAT runs.")] = 0,
    html: Annotated[
        Path | None,
        typer.Option("--html", help="Also write a self-contained page with the chart (offline)."),
    ] = None,
) -> None:
    """Plan a day: print the KPI summary and write the plan file (and a web page with --html)."""
    if method not in METHODS:
        raise UserError([f"--method must be one of {', '.join(METHODS)}, got {method!r}"])

    def show(p: Progress) -> None:
        errors.print(f"[dim]{p.seconds:6.1f}s  objective {p.objective:g}  bound {p.bound:g}[/]")

    day, result = plan_day_file(
        day_file,
        method=method,
        time_limit=time_limit,
        workers=workers,
        seed=seed,
        out=out,
        on_progress=show if method == "cpsat" else None,
    )
    print_plan_summary(day, result)
    console.print(f"plan written to {out}")
    if html is not None:
        from api.pages.standalone import write_plan_page

        write_plan_page(day, result, html)
        console.print(f"plan page written to {html}")


@app.command()
def check(
    day_file: Annotated[Path, typer.Argument(help="Day file (YAML) the plan is for.")],
    plan_file: Annotated[Path, typer.Argument(help="Plan file (JSON) to verify.")],
) -> None:
    """Verify every hard rule of a plan and recompute its objective; exit 1 on violations."""
    _, result, violations = check_plan_file(day_file, plan_file)
    if violations:
        for v in violations:
            print(f"violation: {v}", file=sys.stderr)
        print(f"{len(violations)} violation(s): the plan is not valid", file=sys.stderr)
        raise typer.Exit(1)
    console.print(
        f"plan is valid: {len(result.assignments)} operations, "
        f"{len(result.unscheduled)} unscheduled, objective {_fmt(float(result.objective))}",
        markup=False,
        highlight=False,
    )


DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL (sqlite:///file.db or postgresql+psycopg://...); default "
        "WORKSHOP_DATABASE_URL, else workshop.db in the working folder.",
    ),
]


def _settings(db: str | None) -> Settings:
    """Settings from the environment, with ``--db`` taking precedence."""
    return Settings(database_url=db) if db else Settings()


@app.command()
def load(
    day_file: Annotated[Path, typer.Argument(help="Day file (YAML) to store.")],
    db: DbOption = None,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Replace the bookings already stored for the day, if they all came from a "
            "day file.",
        ),
    ] = False,
    discard_online: Annotated[
        bool,
        typer.Option(
            "--discard-online-bookings",
            help="Replace the day even if it has bookings made online or as walk-ins, or day "
            "events: they are deleted (implies --replace).",
        ),
    ] = False,
) -> None:
    """Store a workshop and its day of bookings, planned so slots can be offered around them."""
    from api.db.migrate import upgrade
    from api.db.session import Database
    from api.services.audit import cli_actor
    from api.services.workshops import load_day_file

    database = Database(_settings(db).database_url)
    try:
        upgrade(database)
        result = load_day_file(
            database,
            day_file,
            replace=replace or discard_online,
            discard_online=discard_online,
            now=_now(),
            actor=cli_actor(),
        )
    finally:
        database.dispose()
    print(
        f"loaded {result.workshop} {result.date.isoformat()}: {result.bookings} bookings, "
        f"{result.scheduled} placed, {result.unscheduled} unscheduled "
        f"(plan version {result.plan_version})"
    )


def is_loopback(host: str) -> bool:
    """Whether ``host`` is an address of this machine only (127.0.0.1, ::1, localhost)."""
    import ipaddress

    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@app.command()
def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
) -> None:
    """Start the HTTP service and the day board (migrating the database first).

    With no API clients configured it serves this machine only, without keys (local trial
    mode), and refuses to listen on any other address.
    """
    import logging

    import uvicorn

    from api.db.migrate import upgrade
    from api.db.session import Database
    from api.main import create_app
    from api.services.clients import list_clients

    settings = _settings(db)
    database = Database(settings.database_url)
    try:
        upgrade(database)
        active = [c for c in list_clients(database) if c.revoked_at is None]
    finally:
        database.dispose()
    local = is_loopback(host)
    if not active and not local:
        raise UserError(
            [
                f"no API clients are configured, so the service would answer anyone who can "
                f"reach {host} without a key; add one first (workshop clients add NAME --role "
                "manager) or listen on 127.0.0.1 only (local trial mode)"
            ]
        )
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    log = logging.getLogger("workshop.serve")
    if active:
        log.info(
            "%d API client(s) configured: every request needs its key "
            "(Authorization: Bearer), the day board a manager's sign-in",
            len(active),
        )
    elif not settings.local_mode:
        log.warning(
            "no API clients configured and WORKSHOP_LOCAL_MODE is off: every request is "
            "refused until a client is added with 'workshop clients add NAME --role manager'"
        )
    else:
        log.warning(
            "no API clients configured: LOCAL TRIAL MODE, requests from this machine are "
            "served without a key as the local manager; add a client with "
            "'workshop clients add NAME --role manager' to require keys"
        )
    # Off the loopback interface, no trial mode even if every client is revoked later.
    settings = settings.model_copy(update={"local_mode": settings.local_mode and local})
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level="info",
        server_header=False,
        proxy_headers=False,
    )


clients_app = typer.Typer(
    help="API clients: who may call the service, in which role, for which workshops.",
    no_args_is_help=True,
)
app.add_typer(clients_app, name="clients")


@clients_app.command("add")
def clients_add(
    name: Annotated[str, typer.Argument(help="A name for the client, e.g. online-shop.")],
    role: Annotated[
        str,
        typer.Option(
            "--role",
            help="booking (slots, its own holds and bookings), manager (everything, the day "
            "board) or viewer (reads, no customer data).",
        ),
    ],
    workshop: Annotated[
        list[str] | None,
        typer.Option("--workshop", help="A workshop it may use (repeatable; default: all)."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Add an API client and print its key, once: only its hash is stored."""
    from api.db.migrate import upgrade
    from api.db.session import Database
    from api.services.audit import cli_actor
    from api.services.clients import add_client

    database = Database(_settings(db).database_url)
    try:
        upgrade(database)
        made = add_client(
            database,
            name=name,
            role=role,
            workshops=workshop or [],
            now=_now(),
            actor=cli_actor(),
        )
    finally:
        database.dispose()
    scope = ", ".join(sorted(made.client.workshops or [])) or "all workshops"
    print(f"added client {made.client.name!r}: role {made.client.role}, {scope}")
    for missing in made.unknown_workshops:
        print(f"note: workshop {missing!r} is not loaded (yet)", file=sys.stderr)
    print("key (shown only now; keep it secret, send it as 'Authorization: Bearer <key>'):")
    print(made.key)


@clients_app.command("list")
def clients_list(db: DbOption = None) -> None:
    """List the API clients (never their keys)."""
    from api.db.migrate import upgrade
    from api.db.session import Database
    from api.services.clients import list_clients

    database = Database(_settings(db).database_url)
    try:
        upgrade(database)
        found = list_clients(database)
    finally:
        database.dispose()
    if not found:
        print("no API clients: the service runs in local trial mode (127.0.0.1 only)")
        return
    table = Table(title="API clients")
    for col in ("name", "role", "workshops", "added", "status"):
        table.add_column(col)
    for c in found:
        table.add_row(
            c.name,
            c.role.value,
            ", ".join(sorted(c.workshops)) if c.workshops is not None else "all",
            c.created_at.strftime("%Y-%m-%d %H:%M"),
            "active" if c.revoked_at is None else f"revoked {c.revoked_at:%Y-%m-%d %H:%M}",
        )
    console.print(table)


@clients_app.command("revoke")
def clients_revoke(
    name: Annotated[str, typer.Argument(help="The client to revoke.")],
    db: DbOption = None,
) -> None:
    """Revoke a client: its key and its day-board sign-ins stop working at once."""
    from api.db.migrate import upgrade
    from api.db.session import Database
    from api.services.audit import cli_actor
    from api.services.clients import revoke_client

    database = Database(_settings(db).database_url)
    try:
        upgrade(database)
        revoke_client(database, name=name, now=_now(), actor=cli_actor())
    finally:
        database.dispose()
    print(f"revoked client {name!r}")


privacy_app = typer.Typer(help="Personal data in stored bookings.", no_args_is_help=True)
app.add_typer(privacy_app, name="privacy")


@privacy_app.command("purge")
def privacy_purge(
    days: Annotated[
        int | None,
        typer.Option(
            "--days",
            min=1,
            help="Keep customers and vehicles this many days after the booking's day "
            "(default: WORKSHOP_RETENTION_DAYS).",
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Anonymise bookings older than the retention period (customer and vehicle blanked)."""
    from api.db.migrate import upgrade
    from api.db.session import Database
    from api.services.audit import cli_actor
    from api.services.privacy import purge

    settings = _settings(db)
    keep = days if days is not None else settings.retention_days
    if keep is None:
        raise UserError(["give --days N or set WORKSHOP_RETENTION_DAYS"])
    database = Database(settings.database_url)
    try:
        upgrade(database)
        result = purge(database, days=keep, now=_now(), actor=cli_actor())
    finally:
        database.dispose()
    print(
        f"anonymised {result.bookings} booking(s) of days before {result.before.isoformat()}; "
        f"deleted {result.idempotency_answers} stored answer(s)"
    )


@app.command()
def audit(
    workshop: Annotated[
        str | None, typer.Option("--workshop", help="Only this workshop's entries.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="Newest entries shown.")] = 50,
    db: DbOption = None,
) -> None:
    """Show the audit log (client changes and purges are listed without a workshop)."""
    from api.db.migrate import upgrade
    from api.db.session import Database
    from api.services.audit import entries

    database = Database(_settings(db).database_url)
    try:
        upgrade(database)
        found = entries(database, workshop_id=workshop, limit=limit)
    finally:
        database.dispose()
    table = Table(title="Audit log, newest first")
    for col in ("id", "at", "actor", "action", "workshop", "target", "detail"):
        table.add_column(col)
    for e in found:
        table.add_row(
            str(e["id"]),
            e["at"],
            e["actor"],
            e["action"],
            e["workshop"] or "",
            e["target"] or "",
            json.dumps(e["detail"], ensure_ascii=False),
        )
    console.print(table)


db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(db: DbOption = None) -> None:
    """Create the schema or migrate it to the newest revision."""
    from api.db.migrate import upgrade
    from api.db.session import Database

    database = Database(_settings(db).database_url)
    try:
        revision = upgrade(database)
    finally:
        database.dispose()
    print(f"database is at revision {revision}")


ClusterOption = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        help="Dask scheduler address (tcp://host:8786) to run replications on; default "
        "WORKSHOP_DASK_ADDRESS, else a local process pool.",
    ),
]
WorkersOption = Annotated[
    int | None,
    typer.Option("--workers", min=1, help="Local worker processes (default: all cores)."),
]


def _num(x: float, sign: bool = False) -> str:
    """A figure with as many decimals as its size deserves (145, 14.5, 1.45, 0.145)."""
    size = abs(x)
    places = 0 if size >= 100 else 1 if size >= 10 else 2 if size >= 1 else 3
    return f"{x:+.{places}f}" if sign else f"{x:.{places}f}"


def _interval_text(mean: float | None, low: float | None, high: float | None) -> str:
    if mean is None:
        return "n/a"
    if low is None or high is None or low == high:
        return f"{mean:.4g}"
    return f"{mean:.4g} [{low:.4g}, {high:.4g}]"


@app.command()
def queue(
    arrival_rate: Annotated[
        float, typer.Option("--arrival-rate", help="lambda: arrivals per unit time.")
    ],
    service_rate: Annotated[
        float, typer.Option("--service-rate", help="mu: services per unit time of one server.")
    ],
    servers: Annotated[int, typer.Option("--servers", help="c: number of servers.")],
    service_cv: Annotated[
        float,
        typer.Option(
            "--service-cv",
            help="Service-time coefficient of variation: 1 exponential, 0 constant.",
        ),
    ] = 1.0,
    class_shares: Annotated[
        str | None,
        typer.Option(
            "--class-shares",
            help="Shares of non-preemptive priority classes, highest first, e.g. 0.3,0.7.",
        ),
    ] = None,
    replications: Annotated[int, typer.Option(help="Independent replications.")] = 30,
    horizon: Annotated[
        float | None, typer.Option(help="End of each replication's observation window.")
    ] = None,
    warmup: Annotated[
        float | None, typer.Option(help="Warm-up time deleted from each replication.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Experiment seed (same seed, same answer).")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    cluster: ClusterOption = None,
    workers: WorkersOption = None,
) -> None:
    """Simulate a textbook queue and compare it with queueing theory."""
    from api.services.simulation import (
        SimulationInputError,
        cluster_address,
        parse_class_shares,
        textbook_queue,
    )

    try:
        shares = parse_class_shares(class_shares)
        with errors.status("simulating the queue...", spinner="dots"):
            doc = textbook_queue(
                arrival_rate=arrival_rate,
                service_rate=service_rate,
                servers=servers,
                service_cv=service_cv,
                class_shares=shares,
                replications=replications,
                horizon=horizon,
                warmup=warmup,
                seed=seed,
                workers=workers,
                cluster=cluster_address(cluster),
            )
    except SimulationInputError as exc:
        raise UserError([exc.detail]) from exc
    except RuntimeError as exc:  # the Dask cluster is missing or unreachable
        raise ServiceError(str(exc)) from exc
    if as_json:
        print(json.dumps(doc, indent=2))
        return
    groups = [("all", doc["analytic"], doc["simulated"])]
    for k, (exact, sim) in enumerate(
        zip(doc["analytic"].get("classes", []), doc["simulated"].get("classes", []), strict=False)
    ):
        groups.append((f"class {k + 1}", exact, sim))
    table = Table(
        title=f"M/{'M' if service_cv == 1 else 'G'}/{servers} queue, "
        f"{replications} replications, seed {seed}"
    )
    for col in ("class", "measure", "analytic", "simulated mean [95% interval]", "inside"):
        table.add_column(col, justify="left" if col in ("class", "measure") else "right")
    for label, exact, sim in groups:
        for m in ("Wq", "W", "Lq", "L"):
            value = exact.get(m)
            mean = sim[m]["mean"]
            low, high = sim[m]["ci95"]
            inside = (
                "" if value is None or low is None else ("yes" if low <= value <= high else "no")
            )
            table.add_row(
                label,
                m,
                "n/a" if value is None else f"{value:.4g}",
                _interval_text(mean, low, high),
                inside,
            )
    console.print(table)


@app.command()
def whatif(
    scenario_file: Annotated[Path, typer.Argument(help="What-if scenario (YAML).")],
    replications: Annotated[
        int | None,
        typer.Option(
            "--replications", "-r", help="Paired replications (default: the scenario's, else 30)."
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Experiment seed (default: the scenario's, else 0).")
    ] = None,
    precision: Annotated[
        float | None,
        typer.Option(
            help="Add replications until each watched difference's 95% half-width is at most "
            "this share of the base mean (0.05 = 5%)."
        ),
    ] = None,
    precision_kpi: Annotated[
        list[str] | None,
        typer.Option(
            "--precision-kpi",
            help=f"Key figure the precision target watches (repeatable): {', '.join(KPIS)}; "
            "default waiter_mean_wait.",
        ),
    ] = None,
    max_replications: Annotated[
        int, typer.Option("--max-replications", min=2, help="Limit with --precision.")
    ] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Write a chart to this HTML file.")
    ] = None,
    cluster: ClusterOption = None,
    workers: WorkersOption = None,
) -> None:
    """Run a what-if scenario against its base with common random numbers."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from api.services import simulation as service

    address = service.cluster_address(cluster)
    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
        disable=not errors.is_terminal,
    )
    task = progress.add_task("replications", total=None)

    def advance(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)

    try:
        with progress:
            result = service.whatif(
                scenario_file,
                replications=replications,
                seed=seed,
                precision=precision,
                precision_kpis=tuple(precision_kpi or ("waiter_mean_wait",)),
                max_replications=max_replications,
                workers=workers,
                cluster=address,
                on_progress=advance,
            )
    except service.SimulationInputError as exc:
        raise UserError([exc.detail]) from exc
    except RuntimeError as exc:  # the Dask cluster is missing or unreachable
        raise ServiceError(str(exc)) from exc
    if plot is not None:
        service.write_whatif_plot(result, plot)
    if as_json:
        print(json.dumps(result.to_json(), indent=2))
        if plot is not None:
            print(f"chart written to {plot}", file=sys.stderr)
        return
    _print_whatif(result, service.variance_reduction(result))
    if plot is not None:
        print(f"chart written to {plot}")


def _print_whatif(result: WhatIfResult, gain: float) -> None:
    """The what-if table: base, variant and paired difference of each key figure."""
    s = result.scenario
    console.print(
        f"[bold]{s.name}[/bold]: {s.description}" if s.description else f"[bold]{s.name}[/bold]"
    )
    console.print(
        f"base: {s.base.day.workshop.name}, {len(s.base.day.bookings)} bookings, "
        f"{s.base.policy.describe()}",
        markup=False,
        highlight=False,
    )
    for change in s.changes:
        console.print(f"variant: {change}", markup=False, highlight=False)
    table = Table(
        title=f"{result.replications} paired replications, seed {result.seed}, "
        f"{result.seconds:.1f} s"
    )
    table.add_column("key figure")
    for col in ("base ± 95%", "variant ± 95%", "difference [95% interval]", "significant"):
        table.add_column(col, justify="right")
    for c in result.comparisons:
        d = c.difference
        table.add_row(
            KPI_LABELS[c.kpi],
            f"{_num(c.base.mean)} ± {_num(c.base.half_width)}",
            f"{_num(c.variant.mean)} ± {_num(c.variant.half_width)}",
            f"{_num(d.mean, True)} [{_num(d.low, True)}, {_num(d.high, True)}]",
            "yes" if c.significant else "no",
        )
    console.print(table)
    if result.precision is not None:
        p = result.precision
        state = "reached" if p.reached else "NOT reached (replication limit)"
        console.print(
            f"precision target {p.target:g} of the base mean on {', '.join(p.kpis)}: {state}",
            markup=False,
            highlight=False,
        )
    console.print(
        f"common random numbers: these paired intervals would need about {gain:.1f}x the "
        "replications unpaired",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _error(line: str) -> None:
    print(f"error: {line}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; print problems as 'error:' lines, never a traceback."""
    try:
        # Standalone mode lets click report usage errors (exit 2) and --help itself.
        app(args=argv, standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except (DayFileError, PlanFileError) as exc:
        for problem in exc.problems:
            _error(str(problem))
        return 2
    except UserError as exc:
        for line in exc.lines:
            _error(line)
        return 2
    except ServiceError as exc:
        _error(exc.detail)
        return 1
    except DBAPIError as exc:
        first = (
            str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else type(exc).__name__
        )
        _error(f"database: {first}")
        return 1
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except Exception as exc:  # the last line of defence: a message, never a traceback
        _error(f"{type(exc).__name__}: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
