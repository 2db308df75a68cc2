"""What-if scenario files: a base day plus the changes a manager wants to try.

A scenario is a small YAML file beside the sample days::

    name: express-lane
    description: An express lane for jobs of 45 minutes or less.
    base: ../city-dealer.yaml          # a day file, relative to this file
    policy: fcfs                        # queue policy of the base (default fcfs)
    uncertainty: {duration_spread: 0.25, walk_ins_per_hour: 0.4}   # optional, both sides
    replications: 100                   # optional defaults for the command line
    seed: 1
    changes:
      - express_lane: {max_minutes: 45, technicians: [T07], bays: [L5]}

The *variant* is the base with the changes applied in order. Each change is a mapping with one
key (see :data:`CHANGES`):

- ``add_technician: {id, skills, shift, name?, breaks?, efficiency?, absent?}``, or
  ``{like: T03, id: T10}`` to copy a technician's skills, shift and breaks;
- ``remove_technician: T06``; ``add_bay: {id, kinds, unavailable?}`` (or ``{like: L1, id: L7}``);
  ``remove_bay: L6``; ``close_bay: {bay: L1, from: "08:00", to: "12:00"}``;
- ``express_lane: {max_minutes?, technicians, bays}``: the variant's queue policy becomes an
  express lane on those technicians and bays;
- ``rush: {bookings?, walk_ins?, spread?, seed?}``: more bookings (``1.3`` = 30% more, copies
  of the day's own bookings a little earlier or later) and a walk-in rate multiplied;
- ``scale_service: {services | kind, factor, spread?, seed?}``: the bookings for those services
  (or with any operation of that skill or bay kind, e.g. ``ev``) multiplied by ``factor``;
- ``policy: waiters-first`` or ``policy: {name: follow-plan, plan: cpsat, time_limit: 10,
  replan: rules, threshold: 30}``: the variant's queue policy;
- ``duration_spread: 0.4``; ``uncertainty: {...}``: the variant's randomness.

Bookings are only ever *added*, after the base day's own, so that every base booking keeps its
random draws in the variant (common random numbers, see :mod:`simulation.uncertainty`). Added
copies are placed by a generator seeded from the change's ``seed``: a scenario is one fixed
variant day, not a new one per replication.

The reader is strict in the way the day-file reader is (:mod:`scheduler.io`): every problem is
reported with the file, line and field and what was expected, as a :class:`ScenarioError`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from scheduler.clock import format_hhmm
from scheduler.domain import MINUTES_PER_DAY, Bay, Booking, Day, Technician, Workshop
from scheduler.io import (
    DayFileError,
    FieldReader,
    PathKey,
    Problem,
    load_day,
    read_yaml,
)
from scheduler.solve import METHODS as PLAN_METHODS
from scheduler.solve import Method
from simulation.policies import POLICY_NAMES
from simulation.replan import REPLAN_METHODS, ReplanMethod
from simulation.uncertainty import Uncertainty

CHANGES: tuple[str, ...] = (
    "add_technician",
    "remove_technician",
    "add_bay",
    "remove_bay",
    "close_bay",
    "express_lane",
    "rush",
    "scale_service",
    "policy",
    "duration_spread",
    "uncertainty",
)
"""Every kind of change a scenario may list."""

_TOP_REQUIRED = ("base", "changes")
_TOP_OPTIONAL = ("name", "description", "policy", "uncertainty", "replications", "seed")


class ScenarioError(DayFileError):
    """A scenario file could not be read; ``problems`` lists everything wrong with it.

    A kind of :class:`scheduler.io.DayFileError`, so every door that reports bad day files
    reports bad scenario files the same way.
    """


@dataclass(frozen=True, slots=True)
class PolicySpec:
    """A queue policy as a scenario names it (built per replication by the experiment).

    Parameters
    ----------
    name
        One of :data:`simulation.policies.POLICY_NAMES`.
    plan_method, plan_time_limit
        ``follow-plan``: how the plan is made before the day (``dispatch`` or ``cpsat``; the
        ``fcfs`` whiteboard is allowed too) and CP-SAT's seconds. A CP-SAT plan depends on how
        far the search got in its time, so the experiment is then not exactly repeatable.
    replan
        ``follow-plan``: how to re-plan when the day drifts, or ``None`` never to re-plan.
    replan_time_limit
        ``follow-plan``: seconds for a ``cpsat`` re-plan.
    threshold
        ``follow-plan``: drift in minutes that triggers a re-plan.
    max_minutes, technicians, bays
        ``express-lane``: the longest express car and the lane's technicians and bays.
    """

    name: str = "fcfs"
    plan_method: Method = "dispatch"
    plan_time_limit: float = 10.0
    replan: ReplanMethod | None = "rules"
    replan_time_limit: float = 1.0
    threshold: int = 30
    max_minutes: int = 45
    technicians: tuple[str, ...] = ()
    bays: tuple[str, ...] = ()

    def describe(self) -> str:
        """A short label: ``fcfs``, ``follow-plan (cpsat plan, rules re-plan > 30 min)``."""
        if self.name == "follow-plan":
            again = "no re-plan" if self.replan is None else f"{self.replan} re-plan"
            return f"follow-plan ({self.plan_method} plan, {again} > {self.threshold} min)"
        if self.name == "express-lane":
            return (
                f"express-lane (<= {self.max_minutes} min on {', '.join(self.technicians)} "
                f"in {', '.join(self.bays)})"
            )
        return self.name


@dataclass(frozen=True, slots=True)
class Side:
    """One side of a what-if: the day, its queue policy and its randomness."""

    day: Day
    policy: PolicySpec
    uncertainty: Uncertainty


@dataclass(frozen=True, slots=True)
class Scenario:
    """A what-if scenario: a base, a variant, and the changes between them.

    Parameters
    ----------
    name, description
        How the scenario is called and what it asks.
    source
        The scenario file.
    base, variant
        The two sides compared.
    changes
        One sentence per change, in order.
    replications, seed
        Defaults the file gives for the command line, if any.
    """

    name: str
    description: str
    source: Path
    base: Side
    variant: Side
    changes: tuple[str, ...]
    replications: int | None = None
    seed: int | None = None


# -- the reader --------------------------------------------------------------------------------


@dataclass(slots=True)
class _Draft:
    """The variant while changes are applied to it."""

    bays: list[Bay]
    technicians: list[Technician]
    bookings: list[Booking]
    policy: PolicySpec
    uncertainty: Uncertainty
    walk_in_factor: float = 1.0
    notes: list[str] = field(default_factory=list)


def _number(
    r: FieldReader,
    value: Any,
    path: PathKey,
    *,
    minimum: float = 0.0,
    maximum: float | None = None,
    strict: bool = False,
) -> float | None:
    """A finite number in ``[minimum, maximum]`` (``> minimum`` when ``strict``)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        r.fail(path, f"expected a number, got {value!r}")
        return None
    low_ok = value > minimum if strict else value >= minimum
    if not low_ok or (maximum is not None and value > maximum):
        bound = f"> {minimum:g}" if strict else f">= {minimum:g}"
        if maximum is not None:
            bound += f" and <= {maximum:g}"
        r.fail(path, f"expected a number {bound}, got {value!r}")
        return None
    return float(value)


def _one_of(r: FieldReader, value: Any, path: PathKey, options: Sequence[str]) -> str | None:
    text = r.text(value, path)
    if text is not None and text not in options:
        r.fail(path, f"expected one of {', '.join(options)}, got {text!r}")
        return None
    return text


def _read_uncertainty(
    r: FieldReader, raw: Any, path: PathKey, start: Uncertainty, day: Day
) -> Uncertainty:
    """Fields of :class:`Uncertainty` given in ``raw`` replace those of ``start``."""
    names = tuple(f.name for f in fields(Uncertainty))
    data = r.mapping(raw, path, (), names)
    if data is None:
        return start
    changes: dict[str, Any] = {}
    for key, value in data.items():
        if key not in names:
            continue  # reported by mapping()
        where = (*path, key)
        if key in ("no_show", "late_delivery", "walk_in_waiting"):
            if key == "walk_in_waiting" and value is None:
                changes[key] = None
                continue
            number = _number(r, value, where, maximum=1.0)
        elif key in ("max_early", "max_late", "no_show_after"):
            number = r.integer(value, where, minimum=0)
        elif key == "walk_in_rates":
            rates = _read_rates(r, value, where, day)
            if rates is not None:
                changes[key] = rates
            continue
        else:
            number = _number(r, value, where)
        if number is not None:
            changes[key] = number
    try:
        return replace(start, **changes)
    except ValueError as exc:
        r.fail(path, str(exc))
        return start


def _read_rates(
    r: FieldReader, value: Any, path: PathKey, day: Day
) -> tuple[tuple[int, float], ...] | None:
    """``[["07:30", 2.0], ["10:00", 1.0], ...]``: walk-ins per hour from each time on."""
    items = r.sequence(value, path)
    if not items:
        r.fail(path, 'expected a list of ["HH:MM", walk-ins per hour]')
        return None
    out = []
    for i, item in enumerate(items):
        where = (*path, i)
        if not isinstance(item, list) or len(item) != 2:
            r.fail(where, f'expected ["HH:MM", walk-ins per hour], got {item!r}')
            continue
        minute = r.time(item[0], (*where, 0))
        rate = _number(r, item[1], (*where, 1))
        if minute is not None and rate is not None:
            out.append((minute, rate))
    if len(out) != len(items):
        return None
    if [m for m, _ in out] != sorted({m for m, _ in out}):
        r.fail(path, "expected the times in increasing order, each once")
        return None
    return tuple(out)


def _read_policy(r: FieldReader, raw: Any, path: PathKey, ids: _Ids) -> PolicySpec | None:
    """``fcfs`` or ``{name: follow-plan, plan: cpsat, ...}``."""
    if not isinstance(raw, dict):
        name = _one_of(r, raw, path, POLICY_NAMES)
        if name is None:
            return None
        if name == "express-lane":
            r.fail(path, "an express lane needs its technicians and bays; use express_lane:")
            return None
        return PolicySpec(name)
    name = _one_of(r, raw.get("name"), (*path, "name"), POLICY_NAMES)
    if name is None:
        return None
    if name == "follow-plan":
        data = r.mapping(
            raw, path, ("name",), ("plan", "time_limit", "replan", "replan_time_limit", "threshold")
        )
        if data is None:
            return None
        spec = PolicySpec(name)
        if "plan" in data:
            method = _one_of(r, data["plan"], (*path, "plan"), PLAN_METHODS)
            if method is not None:
                spec = replace(spec, plan_method=method)  # type: ignore[arg-type]
        if "time_limit" in data:
            limit = _number(r, data["time_limit"], (*path, "time_limit"), strict=True)
            if limit is not None:
                spec = replace(spec, plan_time_limit=limit)
        if "replan" in data:
            how = _one_of(r, data["replan"], (*path, "replan"), (*REPLAN_METHODS, "never"))
            if how is not None:
                spec = replace(spec, replan=None if how == "never" else how)  # type: ignore[arg-type]
        if "replan_time_limit" in data:
            limit = _number(r, data["replan_time_limit"], (*path, "replan_time_limit"), strict=True)
            if limit is not None:
                spec = replace(spec, replan_time_limit=limit)
        if "threshold" in data:
            minutes = r.integer(data["threshold"], (*path, "threshold"), minimum=0)
            if minutes is not None:
                spec = replace(spec, threshold=minutes)
        return spec
    if name == "express-lane":
        return _read_express_lane(r, {k: v for k, v in raw.items() if k != "name"}, path, ids)
    if r.mapping(raw, path, ("name",), ()) is None:
        return None
    return PolicySpec(name)


@dataclass(slots=True)
class _Ids:
    """Ids of the variant's technicians and bays as the changes so far leave them."""

    technicians: set[str]
    bays: set[str]


def _read_express_lane(r: FieldReader, raw: Any, path: PathKey, ids: _Ids) -> PolicySpec | None:
    data = r.mapping(raw, path, ("technicians", "bays"), ("max_minutes",))
    if data is None:
        return None
    techs = r.words(data["technicians"], (*path, "technicians"))
    bays = r.words(data["bays"], (*path, "bays"))
    ok = bool(techs) and bool(bays)
    if not techs:
        r.fail((*path, "technicians"), "expected at least one technician id for the lane")
    if not bays:
        r.fail((*path, "bays"), "expected at least one bay id for the lane")
    for i, ident in enumerate(techs):
        if ident not in ids.technicians:
            r.fail((*path, "technicians", i), f"unknown technician {ident!r}")
            ok = False
    for i, ident in enumerate(bays):
        if ident not in ids.bays:
            r.fail((*path, "bays", i), f"unknown bay {ident!r}")
            ok = False
    max_minutes = 45
    if "max_minutes" in data:
        minutes = r.integer(data["max_minutes"], (*path, "max_minutes"), minimum=1)
        ok = ok and minutes is not None
        max_minutes = minutes if minutes is not None else max_minutes
    if not ok:
        return None
    return PolicySpec(
        "express-lane", max_minutes=max_minutes, technicians=tuple(techs), bays=tuple(bays)
    )


def _read_technician(r: FieldReader, raw: Any, path: PathKey, draft: _Draft) -> Technician | None:
    like = raw.get("like") if isinstance(raw, dict) else None
    required = ("id",) if like is not None else ("id", "skills", "shift")
    data = r.mapping(
        raw, path, required, ("like", "name", "skills", "shift", "breaks", "efficiency", "absent")
    )
    if data is None:
        return None
    template: Technician | None = None
    if like is not None:
        like_id = r.text(like, (*path, "like"))
        template = next((t for t in draft.technicians if t.id == like_id), None)
        if template is None:
            if like_id is not None:
                r.fail((*path, "like"), f"unknown technician {like_id!r}")
            return None
    ident = r.text(data["id"], (*path, "id"))
    if ident is not None and any(t.id == ident for t in draft.technicians):
        r.fail((*path, "id"), f"technician {ident!r} already exists")
        return None
    name = r.text(data.get("name") or data["id"], (*path, "name"))
    skills = (
        frozenset(r.words(data["skills"], (*path, "skills")))
        if "skills" in data
        else (template.skills if template else frozenset())
    )
    if not skills:
        r.fail((*path, "skills"), "expected at least one skill, e.g. [general]")
    shift = (
        r.window(data["shift"], (*path, "shift"))
        if "shift" in data
        else (template.shift if template else None)
    )
    breaks = (
        r.windows(data["breaks"], (*path, "breaks"))
        if "breaks" in data
        else (template.breaks if template else ())
    )
    absent = r.windows(data.get("absent"), (*path, "absent"))
    efficiency: Fraction | None = template.efficiency if template else Fraction(1)
    if data.get("efficiency") is not None:
        efficiency = r.decimal(data["efficiency"], (*path, "efficiency"), places=2)
    if not (ident and name and skills and shift and efficiency is not None):
        return None
    return r.attempt(path, Technician, ident, name, skills, shift, breaks, efficiency, absent)


def _read_bay(r: FieldReader, raw: Any, path: PathKey, draft: _Draft) -> Bay | None:
    like = raw.get("like") if isinstance(raw, dict) else None
    required = ("id",) if like is not None else ("id", "kinds")
    data = r.mapping(raw, path, required, ("like", "kinds", "unavailable"))
    if data is None:
        return None
    template: Bay | None = None
    if like is not None:
        like_id = r.text(like, (*path, "like"))
        template = next((b for b in draft.bays if b.id == like_id), None)
        if template is None:
            if like_id is not None:
                r.fail((*path, "like"), f"unknown bay {like_id!r}")
            return None
    ident = r.text(data["id"], (*path, "id"))
    if ident is not None and any(b.id == ident for b in draft.bays):
        r.fail((*path, "id"), f"bay {ident!r} already exists")
        return None
    kinds = (
        frozenset(r.words(data["kinds"], (*path, "kinds")))
        if "kinds" in data
        else (template.kinds if template else frozenset())
    )
    if not kinds:
        r.fail((*path, "kinds"), "expected at least one bay kind, e.g. [lift]")
    unavailable = r.windows(data.get("unavailable"), (*path, "unavailable"))
    if not (ident and kinds):
        return None
    return r.attempt(path, Bay, ident, kinds, unavailable)


def _copies(
    day_ws: Workshop,
    bookings: list[Booking],
    chosen: Sequence[Booking],
    factor: float,
    spread: int,
    seed: int,
    tag: str,
) -> list[Booking]:
    """``round(len(chosen) * (factor - 1))`` copies of ``chosen`` bookings, each moved by up to
    ``spread`` minutes (promise moved alike), within opening hours; ids ``<id>-<tag><k>``."""
    extra = round(len(chosen) * (factor - 1.0))
    if extra <= 0 or not chosen:
        return []
    rng = np.random.default_rng(seed)
    whole, rest = divmod(extra, len(chosen))
    picks = [b for _ in range(whole) for b in chosen]
    if rest:
        picks += [chosen[i] for i in sorted(rng.choice(len(chosen), size=rest, replace=False))]
    taken = {b.id for b in bookings}
    out = []
    for k, b in enumerate(picks, start=1):
        offset = int(rng.integers(-spread, spread + 1)) if spread else 0
        arrival = min(day_ws.close - 1, max(day_ws.open, b.arrival + offset))
        promised = None if b.promised is None else max(arrival, b.promised + arrival - b.arrival)
        ident = f"{b.id}-{tag}{k}"
        while ident in taken:
            ident += "x"
        taken.add(ident)
        out.append(
            replace(
                b,
                id=ident,
                arrival=arrival,
                promised=min(MINUTES_PER_DAY, promised) if promised is not None else None,
            )
        )
    return out


def _read_copy_options(
    r: FieldReader, data: Mapping[str, Any], path: PathKey
) -> tuple[int, int] | None:
    spread, seed = 60, 0
    ok = True
    if "spread" in data:
        value = r.integer(data["spread"], (*path, "spread"), minimum=0)
        ok = ok and value is not None
        spread = value if value is not None else spread
    if "seed" in data:
        value = r.integer(data["seed"], (*path, "seed"), minimum=0)
        ok = ok and value is not None
        seed = value if value is not None else seed
    return (spread, seed) if ok else None


def _apply_change(
    r: FieldReader, raw: Any, path: PathKey, draft: _Draft, base: Day, ids: _Ids
) -> None:
    """Apply one change to the draft, or report why it cannot be."""
    if not isinstance(raw, dict) or len(raw) != 1:
        r.fail(path, f"expected a mapping with exactly one change, one of {', '.join(CHANGES)}")
        return
    ((kind, value),) = raw.items()
    where: PathKey = (*path, str(kind))
    ws = base.workshop
    if kind == "add_technician":
        tech = _read_technician(r, value, where, draft)
        if tech is not None:
            draft.technicians.append(tech)
            ids.technicians.add(tech.id)
            draft.notes.append(f"add technician {tech.id} ({', '.join(sorted(tech.skills))})")
    elif kind == "remove_technician":
        ident = r.text(value, where)
        if ident is not None and ident not in ids.technicians:
            r.fail(where, f"unknown technician {ident!r}")
        elif ident is not None:
            draft.technicians = [t for t in draft.technicians if t.id != ident]
            ids.technicians.discard(ident)
            draft.bookings = [
                replace(b, technician=None) if b.technician == ident else b for b in draft.bookings
            ]
            draft.notes.append(f"remove technician {ident}")
    elif kind == "add_bay":
        bay = _read_bay(r, value, where, draft)
        if bay is not None:
            draft.bays.append(bay)
            ids.bays.add(bay.id)
            draft.notes.append(f"add bay {bay.id} ({', '.join(sorted(bay.kinds))})")
    elif kind == "remove_bay":
        ident = r.text(value, where)
        if ident is not None and ident not in ids.bays:
            r.fail(where, f"unknown bay {ident!r}")
        elif ident is not None:
            draft.bays = [b for b in draft.bays if b.id != ident]
            ids.bays.discard(ident)
            draft.notes.append(f"remove bay {ident}")
    elif kind == "close_bay":
        data = r.mapping(value, where, ("bay",), ("from", "to"))
        if data is None:
            return
        ident = r.text(data["bay"], (*where, "bay"))
        start = r.time(data["from"], (*where, "from")) if "from" in data else 0
        end = r.time(data["to"], (*where, "to")) if "to" in data else MINUTES_PER_DAY
        if ident is not None and ident not in ids.bays:
            r.fail((*where, "bay"), f"unknown bay {ident!r}")
            return
        if ident is None or start is None or end is None:
            return
        if end <= start:
            r.fail((*where, "to"), "the bay must reopen after it closes")
            return
        draft.bays = [
            replace(b, unavailable=(*b.unavailable, (start, end))) if b.id == ident else b
            for b in draft.bays
        ]
        draft.notes.append(f"close bay {ident} {format_hhmm(start)}-{format_hhmm(end)}")
    elif kind == "express_lane":
        spec = _read_express_lane(r, value, where, ids)
        if spec is not None:
            draft.policy = spec
            draft.notes.append(f"queue policy {spec.describe()}")
    elif kind == "rush":
        data = r.mapping(value, where, (), ("bookings", "walk_ins", "spread", "seed"))
        if data is None:
            return
        if "bookings" not in data and "walk_ins" not in data:
            r.fail(where, "expected bookings (a factor >= 1) or walk_ins (a factor >= 0)")
            return
        options = _read_copy_options(r, data, where)
        factor = (
            _number(r, data["bookings"], (*where, "bookings"), minimum=1.0)
            if "bookings" in data
            else 1.0
        )
        walk = _number(r, data["walk_ins"], (*where, "walk_ins")) if "walk_ins" in data else 1.0
        if options is None or factor is None or walk is None:
            return
        originals = draft.bookings[: len(base.bookings)]
        added = _copies(ws, draft.bookings, originals, factor, options[0], options[1], "R")
        draft.bookings.extend(added)
        draft.walk_in_factor *= walk
        draft.notes.append(f"rush: {len(added)} more bookings, walk-ins x{walk:g}")
    elif kind == "scale_service":
        data = r.mapping(value, where, ("factor",), ("services", "kind", "spread", "seed"))
        if data is None:
            return
        if ("services" in data) == ("kind" in data):
            r.fail(
                where, "expected either services (a list of codes) or kind (a skill or bay kind)"
            )
            return
        factor = _number(r, data["factor"], (*where, "factor"), minimum=1.0)
        options = _read_copy_options(r, data, where)
        if factor is None or options is None:
            return
        if "services" in data:
            codes = r.words(data["services"], (*where, "services"))
            if not codes:
                r.fail((*where, "services"), "expected at least one service code")
                return
            unknown = [c for c in codes if c not in ws.services]
            for code in unknown:
                r.fail((*where, "services"), f"unknown service code {code!r}")
            if unknown:
                return

            def matches(b: Booking) -> bool:
                return any(code in codes for code in b.services)

            what = ", ".join(codes)
        else:
            kind_name = r.text(data["kind"], (*where, "kind"))
            if kind_name is None:
                return
            used = {op.skill for s in ws.services.values() for op in s.operations}
            used |= {op.bay for s in ws.services.values() for op in s.operations}
            if kind_name not in used:
                r.fail((*where, "kind"), f"no service needs skill or bay kind {kind_name!r}")
                return

            def matches(b: Booking) -> bool:
                return any(kind_name in (op.skill, op.bay) for _, _, op in base.operations(b))

            what = f"{kind_name} work"
        chosen = [b for b in draft.bookings[: len(base.bookings)] if matches(b)]
        if not chosen:
            r.fail(where, f"no booking of the base day asks for {what}")
            return
        added = _copies(ws, draft.bookings, chosen, factor, options[0], options[1], "S")
        draft.bookings.extend(added)
        draft.notes.append(f"{what} x{factor:g}: {len(added)} more bookings")
    elif kind == "policy":
        spec = _read_policy(r, value, where, ids)
        if spec is not None:
            draft.policy = spec
            draft.notes.append(f"queue policy {spec.describe()}")
    elif kind == "duration_spread":
        spread = _number(r, value, where)
        if spread is not None:
            draft.uncertainty = replace(draft.uncertainty, duration_spread=spread)
            draft.notes.append(f"duration spread {spread:g}")
    elif kind == "uncertainty":
        before = draft.uncertainty
        draft.uncertainty = _read_uncertainty(r, value, where, before, base)
        if draft.uncertainty != before:
            draft.notes.append("randomness: " + ", ".join(sorted(value)))
    else:
        r.fail(path, f"unknown change {kind!r}; expected one of {', '.join(CHANGES)}")


def _scaled_walk_ins(u: Uncertainty, factor: float, day: Day) -> Uncertainty:
    """``u`` with the walk-in rate multiplied by ``factor`` at every time of day."""
    if factor == 1.0:
        return u
    rates = tuple((m, rate * factor) for m, rate in u.rates(day))
    return replace(u, walk_in_rates=rates)


def parse_scenario(
    data: Any,
    *,
    source: str,
    base_dir: Path,
    lines: Mapping[PathKey, int] | None = None,
    load: Callable[[Path], Day] = load_day,
) -> Scenario:
    """Turn scenario data (parsed YAML) into a :class:`Scenario`.

    Parameters
    ----------
    data
        The parsed YAML document.
    source
        The file name used in problems.
    base_dir
        The folder the ``base`` day file is relative to.
    lines
        Line of each value, by path, for located problems.
    load
        Reads the base day file (``scheduler.io.load_day``).

    Raises
    ------
    ScenarioError
        Listing every problem found; problems of the base day file itself are reported as
        that file's :class:`scheduler.io.DayFileError`.
    """
    r = FieldReader(source, lines or {})
    top = r.mapping(data, (), _TOP_REQUIRED, _TOP_OPTIONAL)
    if top is None:
        raise ScenarioError(r.problems)
    base_name = r.text(top["base"], ("base",))
    if base_name is None:
        raise ScenarioError(r.problems)
    base_path = base_dir / base_name
    if not base_path.is_file():
        r.fail(("base",), f"day file {base_name} not found (looked for {base_path})")
        raise ScenarioError(r.problems)
    base_day = load(base_path)

    name = r.text(top.get("name") or Path(source).stem, ("name",)) or Path(source).stem
    description = "" if top.get("description") is None else str(top["description"]).strip()
    ids = _Ids(
        {t.id for t in base_day.workshop.technicians}, {b.id for b in base_day.workshop.bays}
    )
    policy = PolicySpec()
    if top.get("policy") is not None:
        policy = _read_policy(r, top["policy"], ("policy",), ids) or policy
    uncertainty = Uncertainty()
    if top.get("uncertainty") is not None:
        uncertainty = _read_uncertainty(
            r, top["uncertainty"], ("uncertainty",), uncertainty, base_day
        )
    replications = None
    if top.get("replications") is not None:
        replications = r.integer(top["replications"], ("replications",), minimum=2)
    seed = None
    if top.get("seed") is not None:
        seed = r.integer(top["seed"], ("seed",), minimum=0)

    ws = base_day.workshop
    draft = _Draft(
        list(ws.bays), list(ws.technicians), list(base_day.bookings), policy, uncertainty
    )
    changes = r.sequence(top["changes"], ("changes",))
    if not changes and not r.problems:
        r.fail(("changes",), f"expected at least one change, one of {', '.join(CHANGES)}")
    for i, raw in enumerate(changes):
        _apply_change(r, raw, ("changes", i), draft, base_day, ids)
    for spec, where in ((policy, ("policy",)), (draft.policy, ("changes",))):
        for ident in spec.technicians:
            if ident not in ids.technicians:
                r.fail(where, f"the express lane's technician {ident!r} was removed")
        for ident in spec.bays:
            if ident not in ids.bays:
                r.fail(where, f"the express lane's bay {ident!r} was removed")
    if r.problems:
        raise ScenarioError(r.problems)

    workshop = r.attempt(
        ("changes",), replace, ws, bays=tuple(draft.bays), technicians=tuple(draft.technicians)
    )
    variant_day = (
        r.attempt(("changes",), Day, workshop, base_day.date, tuple(draft.bookings))
        if workshop is not None
        else None
    )
    if variant_day is None or r.problems:
        raise ScenarioError(r.problems)
    variant_u = _scaled_walk_ins(draft.uncertainty, draft.walk_in_factor, base_day)
    return Scenario(
        name=name,
        description=description,
        source=base_dir / source,
        base=Side(base_day, policy, uncertainty),
        variant=Side(variant_day, draft.policy, variant_u),
        changes=tuple(draft.notes),
        replications=replications,
        seed=seed,
    )


def parse_scenario_text(text: str, *, source: str, base_dir: Path) -> Scenario:
    """Parse the text of a scenario file; :class:`ScenarioError` lists every problem."""
    data, lines = read_yaml(text, source=source, what="a what-if scenario", error=ScenarioError)
    return parse_scenario(data, source=source, base_dir=base_dir, lines=lines)


def load_scenario(path: str | Path) -> Scenario:
    """Read a what-if scenario file (its base day file is read from beside it).

    Raises
    ------
    ScenarioError
        For a missing, unreadable or malformed scenario, each problem with file, line and field.
    scheduler.io.DayFileError
        For problems in the base day file itself.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ScenarioError([Problem(str(path), "file not found")]) from exc
    except IsADirectoryError as exc:
        raise ScenarioError([Problem(str(path), "is a folder, expected a scenario file")]) from exc
    except UnicodeDecodeError as exc:
        raise ScenarioError([Problem(str(path), "is not UTF-8 text")]) from exc
    return parse_scenario_text(text, source=path.name, base_dir=path.parent)
