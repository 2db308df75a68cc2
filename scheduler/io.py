"""Read day files: YAML with a workshop and a day of bookings (or a bookings CSV beside it).

A service manager writes these by hand or exports them from a dealer-management system, so the
reader is strict and patient: it collects every problem it finds, each with the file, the line,
the field and what was expected, and only then gives up. Times are read from the text exactly as
written, so an unquoted ``12:00`` is noon and never YAML 1.1's sexagesimal integer 720.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path, PurePath
from typing import Any, TypeVar

import pandas as pd
import yaml

from scheduler.clock import format_hhmm, parse_hhmm, zone
from scheduler.domain import (
    DEFAULT_WAITER_WEIGHT,
    Bay,
    Booking,
    Day,
    Operation,
    Part,
    Service,
    Technician,
    Window,
    Workshop,
)

T = TypeVar("T")
PathKey = tuple[str | int, ...]

BOOKING_COLUMNS = (
    "id",
    "customer",
    "vehicle",
    "services",
    "arrival",
    "waiting",
    "promised",
    "priority",
    "technician",
)
_REQUIRED_BOOKING_COLUMNS = ("id", "services", "arrival")


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input file: where it is and what was expected."""

    location: str  # "city.yaml:42 bookings[3].arrival" or "bookings.csv row 5 (line 6) arrival"
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class DayFileError(ValueError):
    """A day file could not be read; ``problems`` lists everything wrong with it."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        first = str(problems[0]) if problems else "invalid day file"
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        super().__init__(first + more)


class _DayFileLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """A safe loader that reads plain scalars as YAML 1.2 does, not as YAML 1.1.

    ``08:00`` stays the text "08:00" (YAML 1.1 reads the integer 480), ``2026-11-26`` stays
    text, and ``No``, ``on`` or ``yes`` stay words (a customer called No is not False), so the
    reader parses times, dates and booleans from the text exactly as written.
    """


_DayFileLoader.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in (
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("int", r"^[-+]?(?:0|[1-9][0-9_]*)$", "-+0123456789"),
    ("float", r"^[-+]?(?:[0-9][0-9_]*)?\.[0-9_]+(?:[eE][-+]?[0-9]+)?$", "-+0123456789."),
    ("null", r"^(?:~|null|Null|NULL)$", "~nN"),
):
    _DayFileLoader.add_implicit_resolver(
        f"tag:yaml.org,2002:{_tag}", re.compile(_pattern), list(_first)
    )
_DayFileLoader.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^$"), [""])


def _line_map(
    node: yaml.Node, path: PathKey, lines: dict[PathKey, int], duplicates: list[PathKey]
) -> None:
    """Record the 1-based line of every value in a composed YAML tree, keyed by its path, and
    the paths of keys written twice in one mapping (YAML loaders silently keep the last)."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                if key_node.value in seen:
                    duplicates.append((*path, key_node.value))
                seen.add(key_node.value)
                _line_map(value_node, (*path, key_node.value), lines, duplicates)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _line_map(item, (*path, index), lines, duplicates)


MAX_DEPTH = 32
"""Deepest nesting a day file may use (a real one nests five levels): the constructor and the
line map recurse, so a deeper tree would exhaust Python's stack instead of being reported."""


def _too_deep(root: yaml.Node) -> yaml.Node | None:
    """The first node nested deeper than ``MAX_DEPTH`` levels, if any (walked without
    recursion, so any depth libyaml composes is safe to look at)."""
    stack: list[tuple[yaml.Node, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return node
        if isinstance(node, yaml.MappingNode):
            stack.extend((n, depth + 1) for pair in node.value for n in pair)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((n, depth + 1) for n in node.value)
    return None


def _format_path(path: PathKey) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


class FieldReader:
    """Collects located problems while turning plain YAML (or CSV) data into domain objects.

    Each method reads one kind of field (text, whole number, exact decimal, time, window, ...)
    at a path, records a problem naming the file, line and field when it is wrong, and returns
    None so reading can go on and report everything at once.
    """

    def __init__(
        self, source: str, lines: Mapping[PathKey, int], csv_row: int | None = None
    ) -> None:
        self.source = source
        self.lines = lines
        self.csv_row = csv_row  # 0-based data row when reading a bookings CSV
        self.problems: list[Problem] = []

    def where(self, path: PathKey) -> str:
        if self.csv_row is not None:
            # Row 1 is the first booking; its line in the file is 2 (the header is line 1).
            field_name = f" {path[-1]}" if path else ""
            return f"{self.source} row {self.csv_row + 1} (line {self.csv_row + 2}){field_name}"
        probe = path
        while probe and probe not in self.lines:
            probe = probe[:-1]
        line = self.lines.get(probe)
        place = f"{self.source}:{line}" if line is not None else self.source
        return f"{place} {_format_path(path)}" if path else place

    def fail(self, path: PathKey, message: str) -> None:
        self.problems.append(Problem(self.where(path), message))

    def attempt(
        self, path: PathKey, build: Callable[..., T], *args: Any, **kwargs: Any
    ) -> T | None:
        """Run a domain constructor, turning its ValueError into a located problem."""
        try:
            return build(*args, **kwargs)
        except ValueError as exc:
            self.fail(path, str(exc))
            return None

    # -- shapes -------------------------------------------------------------------------------

    def mapping(
        self, value: Any, path: PathKey, required: tuple[str, ...], optional: tuple[str, ...]
    ) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.fail(path, f"expected a mapping with fields {', '.join(required)}")
            return None
        ok = True
        for key in value:
            if key not in required and key not in optional:
                allowed = ", ".join((*required, *optional))
                self.fail((*path, str(key)), f"unknown field {key!r}; expected one of {allowed}")
        for key in required:
            if key not in value or value[key] is None:
                self.fail((*path, key), f"missing required field {key!r}")
                ok = False
        return value if ok else None

    def sequence(self, value: Any, path: PathKey) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(path, "expected a list")
            return []
        return value

    def text(self, value: Any, path: PathKey) -> str | None:
        if isinstance(value, bool) or value is None or isinstance(value, dict | list):
            self.fail(path, f"expected text, got {value!r}")
            return None
        text = str(value).strip()
        if not text:
            self.fail(path, "expected text, got an empty value")
            return None
        return text

    def words(self, value: Any, path: PathKey) -> list[str]:
        items = self.sequence(value, path)
        out = [self.text(item, (*path, i)) for i, item in enumerate(items)]
        return [w for w in out if w is not None]

    def integer(self, value: Any, path: PathKey, minimum: int | None = None) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, f"expected a whole number, got {value!r}")
            return None
        if minimum is not None and value < minimum:
            self.fail(path, f"expected a whole number >= {minimum}, got {value}")
            return None
        return value

    def decimal(self, value: Any, path: PathKey, places: int | None = None) -> Fraction | None:
        """An exact positive decimal (read from its text, never through a binary float)."""
        if isinstance(value, bool) or value is None:
            self.fail(path, f"expected a positive number, got {value!r}")
            return None
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            self.fail(path, f"expected a positive number, got {value!r}")
            return None
        if not number.is_finite() or number <= 0:
            self.fail(path, f"expected a positive number, got {value!r}")
            return None
        exponent = number.as_tuple().exponent
        if places is not None and isinstance(exponent, int) and -exponent > places:
            self.fail(path, f"expected at most {places} decimals, got {value!r}")
            return None
        return Fraction(number)

    def boolean(self, value: Any, path: PathKey) -> bool | None:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        self.fail(path, f"expected true or false, got {value!r}")
        return None

    def time(self, value: Any, path: PathKey) -> int | None:
        if not isinstance(value, str):
            self.fail(path, f'expected a time "HH:MM" in quotes, got {value!r}')
            return None
        try:
            return parse_hhmm(value)
        except ValueError as exc:
            self.fail(path, str(exc))
            return None

    def window(self, value: Any, path: PathKey) -> Window | None:
        if not isinstance(value, list) or len(value) != 2:
            self.fail(path, f'expected a window ["HH:MM", "HH:MM"], got {value!r}')
            return None
        start, end = self.time(value[0], (*path, 0)), self.time(value[1], (*path, 1))
        if start is None or end is None:
            return None
        if end <= start:
            self.fail(path, f"window ends at {value[1]} before it starts at {value[0]}")
            return None
        return (start, end)

    def windows(self, value: Any, path: PathKey) -> tuple[Window, ...]:
        items = self.sequence(value, path)
        out = [self.window(item, (*path, i)) for i, item in enumerate(items)]
        return tuple(w for w in out if w is not None)

    def unique(self, ids: list[tuple[str, PathKey]], what: str) -> None:
        seen: set[str] = set()
        for ident, path in ids:
            if ident in seen:
                self.fail(path, f"duplicate {what} id {ident!r}")
            seen.add(ident)


def _read_workshop_header(r: FieldReader, raw: Any) -> dict[str, Any] | None:
    path: PathKey = ("workshop",)
    data = r.mapping(raw, path, ("id", "timezone", "open", "close"), ("name", "waiter_weight"))
    if data is None:
        return None
    out: dict[str, Any] = {
        "id": r.text(data["id"], (*path, "id")),
        "name": r.text(data.get("name") or data["id"], (*path, "name")),
        "open": r.time(data["open"], (*path, "open")),
        "close": r.time(data["close"], (*path, "close")),
        "waiter_weight": DEFAULT_WAITER_WEIGHT,
        "timezone": None,
    }
    tz_name = r.text(data["timezone"], (*path, "timezone"))
    if tz_name is not None:
        try:
            zone(tz_name)
            out["timezone"] = tz_name
        except ValueError as exc:
            r.fail((*path, "timezone"), str(exc))
    if data.get("waiter_weight") is not None:
        out["waiter_weight"] = r.decimal(data["waiter_weight"], (*path, "waiter_weight"))
    if out["open"] is not None and out["close"] is not None and out["close"] <= out["open"]:
        r.fail((*path, "close"), "the workshop closes before it opens")
    return out if all(v is not None for v in out.values()) else None


def _read_bays(r: FieldReader, raw: Any) -> list[Bay]:
    bays = []
    items = r.sequence(raw, ("bays",))
    for i, item in enumerate(items):
        path: PathKey = ("bays", i)
        data = r.mapping(item, path, ("id", "kinds"), ("unavailable",))
        if data is None:
            continue
        ident = r.text(data["id"], (*path, "id"))
        kinds = r.words(data["kinds"], (*path, "kinds"))
        if not kinds:
            r.fail((*path, "kinds"), "expected at least one bay kind, e.g. [lift]")
        unavailable = r.windows(data.get("unavailable"), (*path, "unavailable"))
        if ident and kinds:
            bay = r.attempt(path, Bay, ident, frozenset(kinds), unavailable)
            if bay is not None:
                bays.append(bay)
    r.unique([(b.id, ("bays", i, "id")) for i, b in enumerate(bays)], "bay")
    return bays


def _read_technicians(r: FieldReader, raw: Any) -> list[Technician]:
    techs = []
    for i, item in enumerate(r.sequence(raw, ("technicians",))):
        path: PathKey = ("technicians", i)
        data = r.mapping(
            item, path, ("id", "skills", "shift"), ("name", "breaks", "efficiency", "absent")
        )
        if data is None:
            continue
        ident = r.text(data["id"], (*path, "id"))
        name = r.text(data.get("name") or data["id"], (*path, "name"))
        skills = r.words(data["skills"], (*path, "skills"))
        if not skills:
            r.fail((*path, "skills"), "expected at least one skill, e.g. [general]")
        shift = r.window(data["shift"], (*path, "shift"))
        breaks = r.windows(data.get("breaks"), (*path, "breaks"))
        absent = r.windows(data.get("absent"), (*path, "absent"))
        efficiency: Fraction | None = Fraction(1)
        if data.get("efficiency") is not None:
            efficiency = r.decimal(data["efficiency"], (*path, "efficiency"), places=2)
        if ident and name and skills and shift and efficiency is not None:
            tech = r.attempt(
                path, Technician, ident, name, frozenset(skills), shift, breaks, efficiency, absent
            )
            if tech is not None:
                techs.append(tech)
    r.unique([(t.id, ("technicians", i, "id")) for i, t in enumerate(techs)], "technician")
    return techs


def _read_parts(r: FieldReader, raw: Any) -> dict[str, Part]:
    parts: dict[str, Part] = {}
    for i, item in enumerate(r.sequence(raw, ("parts",))):
        path: PathKey = ("parts", i)
        data = r.mapping(item, path, ("sku", "on_hand"), ("deliveries",))
        if data is None:
            continue
        sku = r.text(data["sku"], (*path, "sku"))
        on_hand = r.integer(data["on_hand"], (*path, "on_hand"), minimum=0)
        deliveries = []
        for j, d in enumerate(r.sequence(data.get("deliveries"), (*path, "deliveries"))):
            dpath: PathKey = (*path, "deliveries", j)
            if not isinstance(d, list) or len(d) != 2:
                r.fail(dpath, f'expected a delivery ["HH:MM", quantity], got {d!r}')
                continue
            at, qty = r.time(d[0], (*dpath, 0)), r.integer(d[1], (*dpath, 1), minimum=1)
            if at is not None and qty is not None:
                deliveries.append((at, qty))
        if sku is None or on_hand is None:
            continue
        if sku in parts:
            r.fail((*path, "sku"), f"duplicate part sku {sku!r}")
            continue
        part = r.attempt(path, Part, sku, on_hand, tuple(deliveries))
        if part is not None:
            parts[sku] = part
    return parts


def _read_services(
    r: FieldReader, raw: Any, skills: set[str], kinds: set[str], parts: Mapping[str, Part]
) -> dict[str, Service]:
    services: dict[str, Service] = {}
    for i, item in enumerate(r.sequence(raw, ("services",))):
        path: PathKey = ("services", i)
        data = r.mapping(item, path, ("code", "operations"), ("name",))
        if data is None:
            continue
        code = r.text(data["code"], (*path, "code"))
        name = r.text(data.get("name") or data["code"], (*path, "name"))
        ops = []
        op_items = r.sequence(data["operations"], (*path, "operations"))
        if not op_items:
            r.fail((*path, "operations"), "expected at least one operation")
        for j, op_item in enumerate(op_items):
            opath: PathKey = (*path, "operations", j)
            op = r.mapping(op_item, opath, ("skill", "bay", "minutes"), ("parts",))
            if op is None:
                continue
            skill = r.text(op["skill"], (*opath, "skill"))
            kind = r.text(op["bay"], (*opath, "bay"))
            minutes = r.integer(op["minutes"], (*opath, "minutes"), minimum=1)
            if skill is not None and skill not in skills:
                r.fail((*opath, "skill"), f"no technician has skill {skill!r}")
            if kind is not None and kind not in kinds:
                r.fail((*opath, "bay"), f"no bay is of kind {kind!r}")
            used: dict[str, int] = {}
            raw_parts = op.get("parts") or {}
            if not isinstance(raw_parts, dict):
                r.fail((*opath, "parts"), "expected a mapping {sku: quantity}")
                raw_parts = {}
            for sku, qty in raw_parts.items():
                ppath: PathKey = (*opath, "parts", str(sku))
                amount = r.integer(qty, ppath, minimum=1)
                if str(sku) not in parts:
                    r.fail(ppath, f"unknown part {sku!r}; list it under parts:")
                elif amount is not None:
                    used[str(sku)] = amount
            if skill and kind and minutes is not None:
                made = r.attempt(opath, Operation, skill, kind, minutes, used)
                if made is not None:
                    ops.append(made)
        if code is None or name is None or len(ops) != len(op_items) or not ops:
            continue
        if code in services:
            r.fail((*path, "code"), f"duplicate service code {code!r}")
            continue
        service = r.attempt(path, Service, code, name, tuple(ops))
        if service is not None:
            services[code] = service
    return services


@dataclass(frozen=True, slots=True)
class _BookingRow:
    """One booking as written, before it is checked against the workshop."""

    path: PathKey
    reader: FieldReader
    values: Mapping[str, Any]


def _booking(
    row: _BookingRow,
    header: dict[str, Any] | None,
    services: set[str],
    tech_ids: set[str],
    from_csv: bool,
) -> Booking | None:
    r, path, v = row.reader, row.path, row.values
    ident = r.text(v.get("id"), (*path, "id"))
    if from_csv:
        codes_text = r.text(v.get("services"), (*path, "services"))
        codes = [c.strip() for c in codes_text.split(";") if c.strip()] if codes_text else []
    else:
        codes = r.words(v.get("services"), (*path, "services"))
    if not codes:
        r.fail((*path, "services"), "expected at least one service code")
    for code in codes:
        if services and code not in services:  # no catalogue at all is reported once
            known = ", ".join(sorted(services)) or "none"
            r.fail((*path, "services"), f"unknown service code {code!r} (catalogue: {known})")
    if len(set(codes)) != len(codes):
        r.fail((*path, "services"), "a service code is listed more than once")
    arrival = r.time(v.get("arrival"), (*path, "arrival"))
    waiting: bool | None = False
    if v.get("waiting") is not None:
        waiting = r.boolean(v["waiting"], (*path, "waiting"))
    promised = None
    if v.get("promised") is not None:
        promised = r.time(v["promised"], (*path, "promised"))
        if promised is not None and arrival is not None and promised < arrival:
            r.fail((*path, "promised"), f"promised {v['promised']} is before arrival")
            promised = None
    priority: Fraction | None = Fraction(1)
    if v.get("priority") is not None:
        priority = r.decimal(v["priority"], (*path, "priority"))
    technician = None
    if v.get("technician") is not None:
        technician = r.text(v["technician"], (*path, "technician"))
        if technician is not None and tech_ids and technician not in tech_ids:
            r.fail((*path, "technician"), f"unknown technician {technician!r}")
    if header is not None and arrival is not None:
        opens, closes = header["open"], header["close"]
        if not opens <= arrival < closes:
            r.fail(
                (*path, "arrival"),
                f"arrival {v['arrival']} is outside opening hours "
                f"{format_hhmm(opens)}-{format_hhmm(closes)}",
            )
    customer = "" if v.get("customer") is None else str(v["customer"])
    vehicle = "" if v.get("vehicle") is None else str(v["vehicle"])
    if ident is None or arrival is None or waiting is None or priority is None or not codes:
        return None
    return r.attempt(
        path,
        Booking,
        ident,
        tuple(codes),
        arrival,
        waiting,
        promised,
        priority,
        technician,
        customer,
        vehicle,
    )


_BOOKING_FIELDS_REQUIRED = ("id", "services", "arrival")
_BOOKING_FIELDS_OPTIONAL = tuple(c for c in BOOKING_COLUMNS if c not in _BOOKING_FIELDS_REQUIRED)


def _yaml_booking_rows(r: FieldReader, raw: list[Any]) -> Iterator[_BookingRow]:
    for i, item in enumerate(raw):
        path: PathKey = ("bookings", i)
        data = r.mapping(item, path, _BOOKING_FIELDS_REQUIRED, _BOOKING_FIELDS_OPTIONAL)
        if data is not None:
            yield _BookingRow(path, r, data)


def _csv_booking_rows(
    csv_file: Path | io.StringIO, source: str, problems: list[Problem]
) -> list[_BookingRow]:
    """Read a bookings CSV exported from a dealer system (a file, or its text): one row per
    booking."""
    try:
        frame = pd.read_csv(csv_file, dtype=str, keep_default_na=False, skipinitialspace=True)
    except FileNotFoundError:
        problems.append(Problem(source, f"bookings file {csv_file} does not exist"))
        return []
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        problems.append(Problem(source, f"cannot read bookings CSV: {exc}"))
        return []
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in _REQUIRED_BOOKING_COLUMNS if c not in frame.columns]
    if missing:
        problems.append(
            Problem(
                source,
                f"missing column(s) {', '.join(missing)}; expected the columns "
                f"{', '.join(BOOKING_COLUMNS)}",
            )
        )
        return []
    unknown = [c for c in frame.columns if c not in BOOKING_COLUMNS]
    if unknown:
        problems.append(
            Problem(
                source,
                f"unknown column(s) {', '.join(unknown)}; expected the columns "
                f"{', '.join(BOOKING_COLUMNS)}",
            )
        )
        return []
    rows: list[_BookingRow] = []
    for index, record in enumerate(frame.to_dict(orient="records")):
        reader = FieldReader(source, {}, csv_row=index)
        values = {
            str(k): (None if str(val).strip() == "" else str(val).strip())
            for k, val in record.items()
        }
        rows.append(_BookingRow((), reader, values))
    return rows


def parse_day(
    data: Any,
    *,
    source: str = "<day file>",
    lines: Mapping[PathKey, int] | None = None,
    base_dir: Path | None = None,
    bookings_csv: str | None = None,
) -> Day:
    """Turn day-file data (already parsed YAML) into a ``Day``; DayFileError lists problems.

    A ``bookings:`` CSV file name is read from ``base_dir`` (the working folder by default),
    unless ``bookings_csv`` gives its text: a CSV sent with the day file over the network is
    never looked for on disk.
    """
    r = FieldReader(source, lines or {})
    top = r.mapping(
        data, (), ("workshop", "day", "bookings"), ("bays", "technicians", "services", "parts")
    )
    if top is None:
        raise DayFileError(r.problems)
    header = _read_workshop_header(r, top["workshop"])
    bays = _read_bays(r, top.get("bays"))
    if not bays:
        r.fail(("bays",), "expected at least one bay")
    techs = _read_technicians(r, top.get("technicians"))
    if not techs:
        r.fail(("technicians",), "expected at least one technician")
    parts = _read_parts(r, top.get("parts"))
    skills = {s for t in techs for s in t.skills}
    kinds = {k for b in bays for k in b.kinds}
    services = _read_services(r, top.get("services"), skills, kinds, parts)
    if not services and not top.get("services"):
        r.fail(("services",), "expected at least one service in the catalogue")

    date: dt.date | None = None
    try:
        date = dt.date.fromisoformat(str(top["day"]).strip())
    except ValueError:
        r.fail(("day",), f'expected a date "YYYY-MM-DD", got {top["day"]!r}')

    # Codes declared in the catalogue, even those whose entry has problems of its own, so a
    # broken service is reported once and not again on every booking that asks for it.
    declared = {
        str(s["code"]).strip()
        for s in r.sequence(top.get("services"), ("services",))
        if isinstance(s, dict) and s.get("code") is not None
    }
    raw_bookings = top["bookings"]
    tech_ids = {t.id for t in techs}
    rows: list[_BookingRow]
    from_csv = isinstance(raw_bookings, str)
    if from_csv and bookings_csv is not None:
        name = PurePath(raw_bookings).name
        rows = _csv_booking_rows(io.StringIO(bookings_csv), name, r.problems)
    elif from_csv:
        csv_path = (base_dir or Path.cwd()) / raw_bookings
        rows = _csv_booking_rows(csv_path, csv_path.name, r.problems)
    else:
        rows = list(_yaml_booking_rows(r, r.sequence(raw_bookings, ("bookings",))))
    bookings: list[Booking] = []
    for row in rows:
        booking = _booking(row, header, declared, tech_ids, from_csv)
        if booking is not None and booking.id in {b.id for b in bookings}:
            row.reader.fail((*row.path, "id"), f"duplicate booking id {booking.id!r}")
        elif booking is not None:
            bookings.append(booking)
        if row.reader is not r:
            r.problems.extend(row.reader.problems)

    if r.problems or header is None or date is None:
        if not r.problems:
            r.fail((), "invalid day file")
        raise DayFileError(r.problems)
    workshop = r.attempt(
        ("workshop",),
        Workshop,
        id=header["id"],
        name=header["name"],
        timezone=header["timezone"],
        open=header["open"],
        close=header["close"],
        bays=tuple(bays),
        technicians=tuple(techs),
        services=services,
        parts=parts,
        waiter_weight=header["waiter_weight"],
    )
    if workshop is None:
        raise DayFileError(r.problems)
    day = r.attempt((), Day, workshop, date, tuple(bookings))
    if day is None:
        raise DayFileError(r.problems)
    return day


def read_yaml(
    text: str, *, source: str, what: str = "a day file", error: type[DayFileError] = DayFileError
) -> tuple[Any, dict[PathKey, int]]:
    """Parse YAML text as written (YAML 1.2 scalars), with the line of every value by its path.

    Raises ``error`` (a DayFileError) naming the line for text that is not YAML, an empty
    document, a field given twice in one mapping, or values nested more than ``MAX_DEPTH``
    levels deep.
    """
    loader = _DayFileLoader(text)
    try:
        node = loader.get_single_node()
        deep = None if node is None else _too_deep(node)
        if deep is not None:
            where = f"{source}:{deep.start_mark.line + 1}"
            raise error(
                [Problem(where, f"nested more than {MAX_DEPTH} levels deep; expected {what}")]
            )
        data = None if node is None else loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc)
        raise error([Problem(where, f"not valid YAML: {problem}")]) from exc
    finally:
        loader.dispose()
    if data is None:
        raise error([Problem(source, f"the file is empty; expected {what}")])
    lines: dict[PathKey, int] = {}
    duplicates: list[PathKey] = []
    _line_map(node, (), lines, duplicates)
    if duplicates:
        reader = FieldReader(source, lines)
        for path in duplicates:
            reader.fail(path, f"field {path[-1]!r} is given twice; give it once")
        raise error(reader.problems)
    return data, lines


def parse_day_text(text: str, *, source: str = "<day file>", base_dir: Path | None = None) -> Day:
    """Parse the text of a YAML day file; DayFileError lists every problem with its line."""
    data, lines = read_yaml(text, source=source)
    return parse_day(data, source=source, lines=lines, base_dir=base_dir)


def load_day(path: str | Path) -> Day:
    """Read a day file from disk (a bookings CSV it names is read from beside it)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise DayFileError([Problem(str(path), "file not found")]) from exc
    except IsADirectoryError as exc:
        raise DayFileError([Problem(str(path), "is a folder, expected a day file")]) from exc
    except UnicodeDecodeError as exc:
        raise DayFileError([Problem(str(path), "is not UTF-8 text")]) from exc
    return parse_day_text(text, source=path.name, base_dir=path.parent)
