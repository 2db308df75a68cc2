"""Seeded generator of workshop day files of any size, for tests and benchmarks.

A generated day looks like a real dealership's: lifts, EV bays, a tyre bay, an alignment rig and
a wash; technicians on early, day and late shifts with lunch breaks, the odd absence (sometimes
across lunch, sometimes all day) and efficiencies from a master's 0.9 to an apprentice's 1.25; a
parts store whose stock partly arrives during the day (and is now and then too short for every
booking); and a morning drop-off peak plus waiters booked through the day with promised times
that fit the work. Sizes run from ``tiny`` (hand-checkable) to ``xl`` (300 bookings).

The generator is deterministic for a seed: all randomness comes from one ``random.Random(seed)``
passed down explicitly. ``load`` sets the technician load, the sum of the standard minutes of all
booked operations divided by the technicians' working minutes (shift minus breaks and absences).

Command line::

    python benchmarks/generate.py --size xl --seed 3 [--rush] [--load 0.9] --out day.yaml
"""

from __future__ import annotations

import argparse
import math
import random
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scheduler.clock import format_hhmm
from scheduler.domain import Day, Window, merge_windows
from scheduler.io import parse_day

# --- the service catalogue -------------------------------------------------------------------

OperationSpec = tuple[str, str, int, dict[str, int]]  # (skill, bay kind, minutes, parts)

CATALOGUE: dict[str, tuple[str, tuple[OperationSpec, ...]]] = {
    "MINOR": (
        "Minor service: oil and oil filter",
        (("general", "lift", 60, {"OIL-5W30": 5, "FLT-OIL": 1}),),
    ),
    "MAJOR": (
        "Major service with complimentary wash",
        (
            (
                "general",
                "lift",
                150,
                {"OIL-5W30": 5, "FLT-OIL": 1, "FLT-AIR": 1, "FLT-CABIN": 1, "PLUG-SET": 1},
            ),
            ("valet", "wash", 20, {}),
        ),
    ),
    "BRAKES": (
        "Front brake pads and brake fluid",
        (("general", "lift", 90, {"BRK-PAD-F": 1, "BRK-FLUID": 1}),),
    ),
    "TYRES": (
        "Four new tyres, fitted and balanced",
        (("tyre", "tyre", 60, {"TYRE-225-45R17": 4, "VALVE-TPMS": 4}),),
    ),
    "SWAP": ("Seasonal wheel swap from storage", (("tyre", "tyre", 30, {}),)),
    "ALIGN": ("Four-wheel alignment", (("alignment", "alignment", 45, {}),)),
    "EVCHK": ("EV high-voltage battery health check", (("ev", "ev", 40, {}),)),
    "EVSVC": (
        "EV annual service with complimentary wash",
        (
            ("ev", "ev", 75, {"FLT-CABIN": 1, "BRK-FLUID": 1}),
            ("valet", "wash", 20, {}),
        ),
    ),
    "DIAG": ("Fault diagnosis", (("diagnostics", "lift", 45, {}),)),
    "AC": ("Air-conditioning service", (("aircon", "lift", 45, {"REFRIG-R1234YF": 1}),)),
    "WASH": ("Exterior wash", (("valet", "wash", 20, {}),)),
    "VALET": ("Full valet inside and out", (("valet", "wash", 60, {}),)),
}
"""Service code -> (name, operations). Minutes are standard minutes at efficiency 1.0."""

# Booked combinations with their base frequency; EV work is scaled by the locale's EV share.
_MIX: tuple[tuple[tuple[str, ...], float], ...] = (
    (("MINOR",), 14),
    (("MINOR", "WASH"), 8),
    (("MAJOR",), 7),
    (("BRAKES",), 6),
    (("MINOR", "BRAKES"), 3),
    (("DIAG",), 6),
    (("DIAG", "BRAKES"), 2),
    (("TYRES",), 5),
    (("TYRES", "ALIGN"), 4),
    (("ALIGN",), 3),
    (("SWAP",), 6),
    (("SWAP", "WASH"), 2),
    (("AC",), 4),
    (("MINOR", "AC"), 2),
    (("WASH",), 5),
    (("VALET",), 3),
    (("EVCHK",), 5),
    (("EVSVC",), 6),
    (("EVCHK", "SWAP"), 2),
    (("EVSVC", "TYRES"), 1),
    (("EVCHK", "ALIGN"), 1),
)
_EV_CODES = frozenset({"EVCHK", "EVSVC"})
_ICE_CODES = frozenset({"MINOR", "MAJOR"})
_WASH_CODES = ("WASH", "VALET")
# Moves that make a booking longer or shorter, used to land on the requested load.
_ADD_ONS = ("WASH", "ALIGN", "AC", "BRAKES", "VALET", "DIAG")
_UPGRADES = (("MINOR", "MAJOR"), ("WASH", "VALET"), ("EVCHK", "EVSVC"), ("SWAP", "TYRES"))

# --- sizes and locales -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SizeProfile:
    """How big a generated workshop day is."""

    bookings: int
    bays: int
    technicians: int


SIZES: dict[str, SizeProfile] = {
    "tiny": SizeProfile(bookings=4, bays=2, technicians=2),
    "small": SizeProfile(bookings=12, bays=5, technicians=3),
    "medium": SizeProfile(bookings=40, bays=12, technicians=10),
    "large": SizeProfile(bookings=120, bays=30, technicians=26),
    "xl": SizeProfile(bookings=300, bays=40, technicians=35),
}

DEFAULT_LOAD = 0.75
RUSH_LOAD = 0.97
DEFAULT_WAITER_SHARE = 0.35
RUSH_WAITER_SHARE = 0.6
WEEKDAY = "2026-11-26"  # a Thursday
SATURDAY = "2026-11-28"

_SHANGHAI_LETTERS = "ABCDEFGHJKLMN"
_UK_LETTERS = "ABCDEFGHJKLMNOPRSTUVWXY"  # no I, Q or Z


def _cn_plate(rng: random.Random, ev: bool) -> str:
    """A Shanghai plate: green new-energy plates carry D (battery) and six characters."""
    city = rng.choice(_SHANGHAI_LETTERS)
    if ev:
        return f"沪{city}D{rng.randint(10000, 99999)}"
    tail = f"{rng.randint(0, 99999):05d}"
    if rng.random() < 0.4:
        pos = rng.randrange(5)
        tail = tail[:pos] + rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") + tail[pos + 1 :]
    return f"沪{city}{tail}"


def _de_plate(rng: random.Random, ev: bool) -> str:
    """A Berlin-area plate; electric cars carry the E suffix."""
    district = rng.choice(("B", "B", "B", "B", "P", "TF", "LDS", "BAR", "MOL", "OHV"))
    letters = "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(rng.randint(1, 2)))
    digits = rng.randint(1, 999 if ev else 9999)
    return f"{district}-{letters} {digits}{'E' if ev else ''}"


def _uk_plate(rng: random.Random, ev: bool) -> str:
    """A current-style UK plate, e.g. LD73 XKR."""
    area = rng.choice(("LA", "LB", "LD", "LF", "LG", "LK", "LN", "LR", "LT", "YA", "EA", "KP"))
    age = rng.choice(("19", "69", "20", "70", "21", "71", "22", "72", "23", "73", "24", "74"))
    return f"{area}{age} {''.join(rng.choice(_UK_LETTERS) for _ in range(3))}"


def _words(text: str) -> tuple[str, ...]:
    """Names from a space-separated list."""
    return tuple(text.split())


def _items(text: str) -> tuple[str, ...]:
    """Car models from a comma-separated list."""
    return tuple(item.strip() for item in text.split(","))


@dataclass(frozen=True, slots=True)
class Locale:
    """Where the workshop is: time zone, opening hours, people, cars and number plates."""

    timezone: str
    workshops: tuple[tuple[str, str], ...]
    open: int
    close: int
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    surname_first: bool
    ev_models: tuple[str, ...]
    ice_models: tuple[str, ...]
    plate: Callable[[random.Random, bool], str]
    booking_prefix: str
    ev_share: float  # share of cars that are electric
    breaks: tuple[tuple[int, int], ...]  # (offset from shift start, minutes) of each break
    season: dict[str, float] = field(default_factory=dict)  # weight multipliers by code

    def person(self, rng: random.Random, taken: set[str]) -> str:
        """A plausible full name in the locale's usual order, unlike those in ``taken``."""
        for _ in range(50):  # xl days use most of the name combinations
            first, last = rng.choice(self.first_names), rng.choice(self.last_names)
            name = f"{last} {first}" if self.surname_first else f"{first} {last}"
            if name not in taken:
                break
        taken.add(name)
        return name


LOCALES: dict[str, Locale] = {
    "cn": Locale(
        timezone="Asia/Shanghai",
        workshops=(
            ("pudong-auto", "Pudong Auto 4S Service Centre"),
            ("minhang-motors", "Minhang Motors After-Sales"),
            ("hongqiao-4s", "Hongqiao 4S Store Service"),
        ),
        open=8 * 60,
        close=18 * 60 + 30,
        first_names=_words(
            "Wei Fang Na Min Jing Lei Yang Jie Qiang Jun Yan Tao Ming Chao Xiuying Hao Yu Xin Hui"
            " Ling Bo Peng"
        ),
        last_names=_words(
            "Wang Li Zhang Liu Chen Yang Zhao Huang Zhou Wu Xu Sun Hu Zhu Gao Lin He Guo Ma Luo"
        ),
        surname_first=True,
        ev_models=_items(
            "BYD Han EV, BYD Seal, NIO ET5, XPeng P7, Tesla Model 3, Aion S, Zeekr 001, Xiaomi SU7"
        ),
        ice_models=_items(
            "VW Lavida, Toyota Camry, Honda Accord, Buick GL8, Audi A6L, BMW 530Li,"
            " Mercedes-Benz C 260L, Nissan Sylphy"
        ),
        plate=_cn_plate,
        booking_prefix="R",
        ev_share=0.4,
        breaks=((240, 60),),
    ),
    "de": Locale(
        timezone="Europe/Berlin",
        workshops=(
            ("autohaus-brandt", "Autohaus Brandt Service"),
            ("autohaus-keller-spandau", "Autohaus Keller Spandau"),
            ("werkstatt-am-tempelhofer-damm", "Werkstatt am Tempelhofer Damm"),
        ),
        open=7 * 60,
        close=18 * 60,
        first_names=_words(
            "Lukas Leon Anna Lena Marie Jonas Felix Sophie Paul Emma Thomas Sabine Andreas Stefan"
            " Claudia Michael Julia Katrin Jürgen Monika Tobias Mehmet Ayşe Piotr"
        ),
        last_names=_words(
            "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Koch"
            " Richter Klein Wolf Neumann Schwarz Zimmermann Braun Krüger Hartmann Lange Krause"
            " Yilmaz Kowalski"
        ),
        surname_first=False,
        ev_models=_items(
            "VW ID.3, VW ID.4, Tesla Model Y, Skoda Enyaq, BMW i4, Hyundai Ioniq 5, Kia EV6,"
            " Audi Q4 e-tron, Mercedes EQA, Cupra Born"
        ),
        ice_models=_items(
            "VW Golf, VW Passat, Opel Astra, BMW 320d, Audi A4, Mercedes C 220 d, Skoda Octavia,"
            " Ford Focus, Seat Leon"
        ),
        plate=_de_plate,
        booking_prefix="A",
        ev_share=0.35,
        breaks=((120, 15), (300, 30)),  # Frühstückspause and lunch
        season={"SWAP": 2.5, "TYRES": 1.3},  # late November: winter tyres
    ),
    "uk": Locale(
        timezone="Europe/London",
        workshops=(
            ("harwood-motors", "Harwood Motors Service Centre"),
            ("kingsway-auto", "Kingsway Auto Service"),
            ("riverside-dealer-service", "Riverside Dealer Service Department"),
        ),
        open=7 * 60 + 30,
        close=18 * 60,
        first_names=_words(
            "Oliver George Harry Amelia Olivia Isla Jack Charlie Emily Sophie James Sarah David"
            " Priya Mohammed Chloe Daniel Hannah Tom Lucy"
        ),
        last_names=_words(
            "Smith Jones Taylor Brown Williams Wilson Johnson Davies Patel Robinson Wright"
            " Thompson Evans Walker White Roberts Green Hall Khan Clarke"
        ),
        surname_first=False,
        ev_models=_items("Nissan Leaf, Tesla Model 3, MG4, Kia Niro EV, VW ID.3, Polestar 2"),
        ice_models=_items(
            "Ford Fiesta, Vauxhall Corsa, Ford Focus, VW Golf, Nissan Qashqai, BMW 320i,"
            " Toyota Corolla"
        ),
        plate=_uk_plate,
        booking_prefix="J",
        ev_share=0.25,
        breaks=((255, 45),),
    ),
}


# --- working data while a day is generated ---------------------------------------------------


@dataclass(slots=True)
class _Tech:
    """A technician being generated (mutable until written out)."""

    id: str
    name: str
    shift: Window
    breaks: list[Window]
    absent: list[Window] = field(default_factory=list)
    role: str = "technician"  # master, technician, apprentice or valeter
    efficiency: float = 1.0
    skills: set[str] = field(default_factory=set)

    def capacity(self) -> int:
        """Working minutes: the shift minus breaks and absences (they may overlap)."""
        start, end = self.shift
        busy = sum(
            min(e, end) - max(s, start)
            for s, e in merge_windows((*self.breaks, *self.absent))
            if min(e, end) > max(s, start)
        )
        return end - start - busy


@dataclass(slots=True)
class _Booking:
    """A booking being generated: its services first, the rest once the staff is known."""

    codes: list[str]
    waiting: bool = False
    arrival: int = 0


def _minutes(codes: Sequence[str]) -> int:
    """Standard minutes of all operations of these services."""
    return sum(op[2] for code in codes for op in CATALOGUE[code][1])


def _round_up(minute: float, step: int) -> int:
    """Round ``minute`` up to a multiple of ``step`` (appointments fall on round times)."""
    return int(math.ceil(minute / step) * step)


# --- the generator ---------------------------------------------------------------------------


def generate_day(
    size: str = "medium",
    seed: int = 0,
    *,
    load: float | None = None,
    waiter_share: float | None = None,
    rush: bool = False,
) -> dict[str, Any]:
    """Generate one workshop day as plain day-file data, ready for ``yaml.safe_dump``.

    Parameters
    ----------
    size
        ``tiny`` (4 bookings, 2 bays, 2 technicians, a six-hour day), ``small`` (12),
        ``medium`` (40), ``large`` (120) or ``xl`` (300 bookings, 40 bays, 35 technicians).
    seed
        Seed of the one ``random.Random`` everything is drawn from; same seed, same day.
    load
        Target technician load: standard minutes booked / technician working minutes.
        Default 0.75, or 0.97 on a rush day. Reached to within about one percent (tiny days
        are coarser: one wash is several percent of their capacity).
    waiter_share
        Share of bookings whose customer waits on site. Default 0.35, or 0.6 on a rush day.
    rush
        A Saturday-morning peak: short Saturday shifts, arrivals bunched in the first three
        hours, load 0.97 and 60% waiters unless ``load`` or ``waiter_share`` say otherwise.

    Returns
    -------
    dict
        The day file's data: ``workshop``, ``bays``, ``technicians``, ``services``, ``parts``,
        ``day`` and ``bookings``, with times as ``"HH:MM"`` strings.
    """
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; expected one of {', '.join(SIZES)}")
    target_load = (RUSH_LOAD if rush else DEFAULT_LOAD) if load is None else load
    if not 0 < target_load <= 2:
        raise ValueError(f"load must lie in (0, 2], got {target_load}")
    share = waiter_share
    if share is None:
        share = RUSH_WAITER_SHARE if rush else DEFAULT_WAITER_SHARE
    if not 0 <= share <= 1:
        raise ValueError(f"waiter_share must lie in [0, 1], got {share}")
    profile = SIZES[size]
    rng = random.Random(seed)
    locale = LOCALES[rng.choice(sorted(LOCALES))]
    ws_id, ws_name = rng.choice(locale.workshops)
    opens, closes = _opening_hours(locale, size, rush)

    kinds = _bay_kinds_present(size)
    codes = [code for code, (_, ops) in CATALOGUE.items() if all(op[1] in kinds for op in ops)]
    techs = _technicians(rng, locale, profile.technicians, opens, closes, size, rush)
    capacity = sum(t.capacity() for t in techs)
    bookings = _booked_services(rng, locale, codes, profile.bookings, target_load * capacity)
    _assign_roles_and_skills(rng, techs, bookings, codes)
    bays = _bays(rng, size, profile.bays, bookings, techs)
    _choose_waiters(rng, bookings, share)
    _arrivals(rng, bookings, opens, closes, rush=rush, tiny=size == "tiny")
    bookings.sort(key=lambda b: (b.arrival, not b.waiting))
    parts = _parts(rng, bookings, codes, opens, size)

    return {
        "workshop": {
            "id": ws_id,
            "name": ws_name,
            "timezone": locale.timezone,
            "open": format_hhmm(opens),
            "close": format_hhmm(closes),
            "waiter_weight": 2,
        },
        "bays": bays,
        "technicians": [_technician_data(t) for t in techs],
        "services": [_service_data(code) for code in codes],
        "parts": parts,
        "day": SATURDAY if rush else WEEKDAY,
        "bookings": _booking_data(rng, locale, bookings, techs, closes),
    }


def generate_day_object(
    size: str = "medium",
    seed: int = 0,
    *,
    load: float | None = None,
    waiter_share: float | None = None,
    rush: bool = False,
) -> Day:
    """Generate a day (see ``generate_day``) and read it through the day-file reader."""
    data = generate_day(size, seed, load=load, waiter_share=waiter_share, rush=rush)
    return parse_day(data, source=f"<generated {size} seed {seed}{' rush' if rush else ''}>")


def _opening_hours(locale: Locale, size: str, rush: bool) -> Window:
    """Weekday hours of the locale; a Saturday closes early; ``tiny`` is six hours long."""
    if size == "tiny":
        return locale.open, locale.open + 360
    if rush:
        return locale.open, locale.open + 480
    return locale.open, locale.close


def _bay_kinds_present(size: str) -> set[str]:
    """Tiny shops have two lifts sharing the tyre machine, one EV-capable, one with alignment
    gauges, and no wash; every other size has all five bay kinds."""
    if size == "tiny":
        return {"lift", "ev", "tyre", "alignment"}
    return {"lift", "ev", "tyre", "alignment", "wash"}


def _technicians(
    rng: random.Random,
    locale: Locale,
    count: int,
    opens: int,
    closes: int,
    size: str,
    rush: bool,
) -> list[_Tech]:
    """Staff on shift: early, day and late shifts with breaks, plus the odd absence."""
    if size == "tiny":
        patterns = [(opens, closes)]
        breaks = [(180, 15)]
    elif rush:
        patterns = [(opens, opens + 420), (opens + 60, closes)]
        breaks = [(210, 30)]
    else:
        # Nine-hour shifts: one from opening, one an hour later, one until closing.
        middle = opens + max(0, min(60, closes - opens - 540))
        patterns = [(opens, opens + 540), (middle, middle + 540), (closes - 540, closes)]
        breaks = list(locale.breaks)
    names: set[str] = set()
    techs: list[_Tech] = []
    for index in range(count):
        # Every pattern is staffed before any is doubled, so early and late are both covered.
        shift = patterns[index % len(patterns)] if index < len(patterns) else rng.choice(patterns)
        stagger = 15 * rng.randrange(3) if len(breaks) == 1 and count > 2 else 0
        tech_breaks = [
            (shift[0] + offset + stagger, shift[0] + offset + stagger + minutes)
            for offset, minutes in breaks
        ]
        if size == "tiny":  # the two of them take turns at tea
            tech_breaks = [(s + 15 * index, e + 15 * index) for s, e in tech_breaks]
        techs.append(_Tech(f"T{index + 1:02d}", locale.person(rng, names), shift, tech_breaks))
    _absences(rng, techs, size)
    return techs


def _absences(rng: random.Random, techs: list[_Tech], size: str) -> None:
    """A doctor's visit across lunch, a training hour, leaving early or, rarely, a sick day.

    At least one absence per day overlaps a break, so planners meet overlapping windows.
    """
    for tech in techs:
        # A tiny day cannot lose half its hours: it only gets the short absence below.
        if rng.random() >= 0.12 or size == "tiny":
            continue
        start, end = tech.shift
        lunch = max(tech.breaks, key=lambda w: w[1] - w[0])
        kind = rng.choice(("across-lunch", "training", "early-leave", "sick"))
        if kind == "sick" and len(techs) >= 8:
            tech.absent.append((start, end))
        elif kind == "training":
            at = start + 60 * rng.randint(1, 3)
            tech.absent.append((at, at + 60))
        elif kind == "early-leave":
            tech.absent.append((end - 90 - 30 * rng.randrange(3), end))
        else:
            tech.absent.append((lunch[0] - 30 * rng.randint(2, 4), lunch[0] + 15))
    overlapping = any(
        a[0] < b[1] and b[0] < a[1] for t in techs for a in t.absent for b in t.breaks
    )
    if not overlapping:
        tech = rng.choice(techs)
        lunch = max(tech.breaks, key=lambda w: w[1] - w[0])
        before = 30 if size == "tiny" else 90
        tech.absent.append((max(tech.shift[0], lunch[0] - before), lunch[0] + 10))


def _booked_services(
    rng: random.Random, locale: Locale, codes: list[str], count: int, target: float
) -> list[_Booking]:
    """Draw each booking's services so that their standard minutes add up to ``target``."""
    allowed = set(codes)
    mix = [
        (combo, weight * _combo_factor(combo, locale))
        for combo, weight in _MIX
        if set(combo) <= allowed
    ]
    combos = [combo for combo, _ in mix]
    weights = [weight for _, weight in mix]
    bookings: list[_Booking] = []
    used = 0
    for index in range(count):
        # Of a few draws from the usual mix, prefer those near the average still needed: the
        # day keeps a realistic mix yet drifts towards the requested load.
        wanted = (target - used) / (count - index)
        draws = rng.choices(combos, weights, k=4)
        closeness = [math.exp(-abs(_minutes(c) - wanted) / 30) for c in draws]
        best = rng.choices(draws, closeness)[0]
        bookings.append(_Booking(list(best)))
        used += _minutes(best)
    _adjust_to_target(rng, bookings, allowed, combos, target)
    return bookings


def _combo_factor(combo: tuple[str, ...], locale: Locale) -> float:
    """Seasonal and EV-share weighting of a combination of services."""
    factor = 1.0
    for code in combo:
        factor *= locale.season.get(code, 1.0)
    if _EV_CODES & set(combo):
        factor *= locale.ev_share / 0.3
    if _ICE_CODES & set(combo):
        factor *= (1 - locale.ev_share) / 0.7
    return factor


def _adjust_to_target(
    rng: random.Random,
    bookings: list[_Booking],
    allowed: set[str],
    combos: list[tuple[str, ...]],
    target: float,
) -> None:
    """Add, drop, upgrade or downgrade services until the total is within 1% of ``target``.

    Where no such change of one booking brings the total closer, the booking is rebooked as
    another combination of the usual mix (many single-service days need this to shrink).
    """
    tolerance = max(10.0, 0.005 * target)
    total = sum(_minutes(b.codes) for b in bookings)
    for _ in range(40 * len(bookings)):
        gap = target - total
        if abs(gap) <= tolerance:
            return
        booking = rng.choice(bookings)
        moves = _moves(booking.codes, allowed, grow=gap > 0)
        fitting = [
            m for m in moves if abs(gap - (_minutes(m) - _minutes(booking.codes))) < abs(gap)
        ]
        if not fitting:
            fitting = [
                list(c)
                for c in combos
                if abs(gap - (_minutes(c) - _minutes(booking.codes))) < abs(gap)
            ]
        if not fitting:
            continue
        new = rng.choice(fitting)
        total += _minutes(new) - _minutes(booking.codes)
        booking.codes = new


def _moves(codes: list[str], allowed: set[str], *, grow: bool) -> list[list[str]]:
    """Plausible longer (``grow``) or shorter versions of one booking's list of services."""
    out: list[list[str]] = []
    pairs = _UPGRADES if grow else tuple((big, small) for small, big in _UPGRADES)
    for old, new in pairs:
        if old in codes and new not in codes and new in allowed:
            out.append([new if c == old else c for c in codes])
    if grow:
        for code in _ADD_ONS:
            if code in codes or code not in allowed:
                continue
            if code in _WASH_CODES and any(c in _WASH_CODES for c in codes):
                continue
            # Workshop jobs come first, the wash last.
            tail = [c for c in codes if c in _WASH_CODES]
            head = [c for c in codes if c not in _WASH_CODES]
            out.append([*head, code, *tail] if code not in _WASH_CODES else [*codes, code])
    elif len(codes) > 1:
        out.extend([c for c in codes if c != drop] for drop in codes[1:])
    return out


def _demand(bookings: list[_Booking], index: int) -> dict[str, int]:
    """Standard minutes booked per skill (``index`` 0) or per bay kind (``index`` 1)."""
    out: dict[str, int] = {}
    for booking in bookings:
        for code in booking.codes:
            for op in CATALOGUE[code][1]:
                key = str(op[index])
                out[key] = out.get(key, 0) + op[2]
    return out


def _assign_roles_and_skills(
    rng: random.Random, techs: list[_Tech], bookings: list[_Booking], codes: list[str]
) -> None:
    """Give the staff roles, efficiencies and skills so each skill's booked work can be covered.

    Large shops employ dedicated valeters in proportion to the wash work; masters know every
    specialist skill, apprentices also wash. Each skill's work (plus a margin) is then allotted
    to the free working minutes of its holders, busiest skill first; where the holders run out
    of time the skill is taught to more technicians. Checking skills one by one is not enough:
    the same masters would be counted for EV, diagnosis and alignment at once.
    """
    demand = _demand(bookings, 0)
    total = sum(demand.values()) or 1
    needed = {op[0] for code in codes for op in CATALOGUE[code][1]}
    n = len(techs)
    order = list(techs)
    rng.shuffle(order)
    valeters = round(n * demand.get("valet", 0) / total) if n >= 5 and "valet" in needed else 0
    masters = max(1, round(0.15 * n))
    apprentices = round(0.15 * n) if n >= 4 else 0
    for i, tech in enumerate(order):
        if i < valeters:
            tech.role, tech.skills = "valeter", {"valet"}
            tech.efficiency = rng.choice((0.95, 1.0, 1.0, 1.1))
        elif i < valeters + masters:
            tech.role, tech.skills = "master", set(needed - {"valet"}) | {"general"}
            tech.efficiency = rng.choice((0.85, 0.9, 0.9, 0.95))
        elif i < valeters + masters + apprentices:
            tech.role, tech.skills = "apprentice", {"general", "tyre", "valet"}
            tech.efficiency = rng.choice((1.2, 1.25, 1.25, 1.3))
        else:
            tech.role, tech.skills = "technician", {"general"}
            tech.efficiency = rng.choice((0.95, 1.0, 1.0, 1.05, 1.1, 1.15))
    free = {t.id: float(t.capacity()) for t in techs}
    minimum = min(n, 2)
    for skill in sorted(needed - {"general"}, key=lambda s: (-demand.get(s, 0), s)):
        want = 1.5 * demand.get(skill, 0)
        holders = [t for t in order if skill in t.skills and t.capacity() > 0]
        for tech in sorted(holders, key=lambda t: -free[t.id]):
            take = min(free[tech.id], want)
            free[tech.id] -= take
            want -= take
        # Teach the skill to whoever has most time left; valeters only wash.
        learners = [t for t in order if skill not in t.skills and t.role != "valeter"]
        learners.sort(key=lambda t: (t.role == "apprentice", -free[t.id]))
        for tech in learners:
            if want <= 0 and len(holders) >= minimum:
                break
            tech.skills.add(skill)
            if tech.capacity() > 0:
                holders.append(tech)
            take = min(free[tech.id], want)
            free[tech.id] -= take
            want -= take
    for tech in techs:
        tech.skills &= needed
        if not tech.skills:  # a valeter where nothing needs washing
            tech.skills = {"general"} & needed or set(needed)


def _bays(
    rng: random.Random, size: str, count: int, bookings: list[_Booking], techs: list[_Tech]
) -> list[dict[str, Any]]:
    """Lifts plus EV, tyre, alignment and wash bays in proportion to the work booked for each."""
    first = min(t.shift[0] for t in techs)
    last = max(t.shift[1] for t in techs)
    if size == "tiny":
        bays: list[dict[str, Any]] = [
            {"id": "L1", "kinds": ["lift", "ev", "tyre"]},
            {"id": "L2", "kinds": ["lift", "tyre", "alignment"]},
        ]
    else:
        demand = _demand(bookings, 1)
        usable = 0.6 * (last - first)
        special = {
            kind: max(1, math.ceil(demand.get(kind, 0) / usable))
            for kind in ("ev", "tyre", "alignment", "wash")
        }
        while sum(special.values()) > count - 1:
            biggest = max(special, key=lambda k: (special[k], k))
            special[biggest] -= 1
        bays = [
            {"id": f"L{i + 1:02d}", "kinds": ["lift"]} for i in range(count - sum(special.values()))
        ]
        prefixes = {"ev": "EV", "tyre": "TY", "alignment": "AL", "wash": "W"}
        for kind in ("ev", "alignment", "tyre", "wash"):
            # EV bays and the alignment rig are lifts too; tyre and wash bays are not.
            kinds = ["lift", kind] if kind in ("ev", "alignment") else [kind]
            bays.extend(
                {"id": f"{prefixes[kind]}{i + 1}", "kinds": kinds} for i in range(special[kind])
            )
    # Lift inspections, rig calibration, wash-plant maintenance: one window per eight bays.
    for bay in rng.sample(bays, max(1, len(bays) // 8)):
        length = rng.choice((30, 45) if size == "tiny" else (30, 60, 90, 120))
        start = first + 30 * rng.randrange(max(1, (last - first - length) // 30))
        bay["unavailable"] = [[format_hhmm(start), format_hhmm(start + length)]]
    return bays


def _choose_waiters(rng: random.Random, bookings: list[_Booking], share: float) -> None:
    """Mark ``share`` of the bookings as waiters, mostly the shorter jobs, as in real lounges."""
    count = round(share * len(bookings))
    if 0 < share < 1 and len(bookings) >= 2:
        count = min(max(count, 1), len(bookings) - 1)  # at least one of each kind
    ranked = sorted(bookings, key=lambda b: _minutes(b.codes) + rng.uniform(0, 120))
    for booking in ranked[:count]:
        booking.waiting = True


def _arrivals(
    rng: random.Random,
    bookings: list[_Booking],
    opens: int,
    closes: int,
    *,
    rush: bool,
    tiny: bool,
) -> None:
    """Drop-offs peak in the first two hours; waiters take appointments through the day."""
    for booking in bookings:
        work = _minutes(booking.codes)
        if tiny:
            arrival = opens + 5 * rng.randrange(10)  # everyone is in within 45 minutes
        elif rush:
            latest = opens + (120 if not booking.waiting else 180)
            arrival = opens + 5 * rng.randrange((latest - opens) // 5 + 1)
        elif booking.waiting:
            # Lounge appointments stop mid-afternoon, when the early shift goes home.
            latest = max(opens, min(closes - 180, closes - work - 60))
            arrival = opens + 15 * rng.randrange((latest - opens) // 15 + 1)
        elif rng.random() < 0.8:
            arrival = opens + 5 * rng.randrange(25)  # the morning peak
        else:
            arrival = opens + 120 + 5 * rng.randrange(37)
        # Nobody is booked in so late that the work cannot be done by closing time.
        booking.arrival = min(arrival, max(opens, closes - work - 30))


def _parts(
    rng: random.Random, bookings: list[_Booking], codes: list[str], opens: int, size: str
) -> list[dict[str, Any]]:
    """Stock each part against the day's demand: plenty, partly due later, or too few.

    At least one part is partly due in a delivery during the day, so some jobs wait for it;
    on about half the days (not tiny ones) one part is short even after its deliveries.
    """
    demand: dict[str, int] = {}
    for code in codes:
        for op in CATALOGUE[code][1]:
            for sku in op[3]:
                demand.setdefault(sku, 0)
    for booking in bookings:
        for code in booking.codes:
            for op in CATALOGUE[code][1]:
                for sku, qty in op[3].items():
                    demand[sku] += qty
    used = sorted(sku for sku, qty in demand.items() if qty > 0)
    delayed = rng.choice(used) if used else None
    short = rng.choice(used) if used and size != "tiny" and rng.random() < 0.5 else None
    parts: list[dict[str, Any]] = []
    for sku in sorted(demand):
        need = demand[sku]
        unit = max(1, need // 10)
        delivery_at = opens + 30 * rng.randint(2, 5 if size == "tiny" else 10)
        situation = rng.choices(("plenty", "delivery"), (0.8, 0.2))[0]
        if sku == short:
            situation = "short"
        elif sku == delayed:
            situation = "delivery"
        part: dict[str, Any] = {"sku": sku}
        if need == 0 or situation == "plenty":
            part["on_hand"] = need + unit * rng.randint(1, 4) + rng.randint(0, 3)
        elif situation == "delivery":
            # Most of it is on the shelf; a top-up comes with the van in the morning.
            on_hand = min(need - 1, round(need * rng.uniform(0.4, 0.85)))
            part["on_hand"] = on_hand
            part["deliveries"] = [[format_hhmm(delivery_at), need - on_hand + rng.randint(0, unit)]]
        else:
            total = need - max(1, round(0.15 * need))
            on_hand = total // 2
            part["on_hand"] = on_hand
            if total > on_hand:
                part["deliveries"] = [[format_hhmm(delivery_at), total - on_hand]]
        parts.append(part)
    return parts


def _technician_data(tech: _Tech) -> dict[str, Any]:
    """A technician as a day-file mapping."""
    data: dict[str, Any] = {
        "id": tech.id,
        "name": tech.name,
        "skills": sorted(tech.skills, key=_SKILL_ORDER.index),
        "shift": [format_hhmm(tech.shift[0]), format_hhmm(tech.shift[1])],
        "breaks": [[format_hhmm(s), format_hhmm(e)] for s, e in tech.breaks],
        "efficiency": tech.efficiency,
    }
    if tech.absent:
        data["absent"] = [[format_hhmm(s), format_hhmm(e)] for s, e in tech.absent]
    return data


_SKILL_ORDER = ("general", "tyre", "ev", "diagnostics", "alignment", "aircon", "valet")


def _service_data(code: str) -> dict[str, Any]:
    """A catalogue entry as a day-file mapping."""
    name, ops = CATALOGUE[code]
    operations = []
    for skill, kind, minutes, parts in ops:
        op: dict[str, Any] = {"skill": skill, "bay": kind, "minutes": minutes}
        if parts:
            op["parts"] = dict(parts)
        operations.append(op)
    return {"code": code, "name": name, "operations": operations}


def _booking_data(
    rng: random.Random,
    locale: Locale,
    bookings: list[_Booking],
    techs: list[_Tech],
    closes: int,
) -> list[dict[str, Any]]:
    """Customers, cars, promised times, priorities and preferences for the drawn bookings."""
    base = rng.randrange(10, 90) * 1000
    out: list[dict[str, Any]] = []
    forced_priority = rng.randrange(len(bookings))
    forced_preference = rng.randrange(len(bookings))
    names = {t.name for t in techs}
    for index, booking in enumerate(bookings):
        work = _minutes(booking.codes)
        ev = bool(_EV_CODES & set(booking.codes)) or (
            not _ICE_CODES & set(booking.codes) and rng.random() < locale.ev_share
        )
        model = rng.choice(locale.ev_models if ev else locale.ice_models)
        data: dict[str, Any] = {
            "id": f"{locale.booking_prefix}{base + index + 1}",
            "customer": locale.person(rng, names),
            "vehicle": f"{model} {locale.plate(rng, ev)}",
            "services": list(booking.codes),
            "arrival": format_hhmm(booking.arrival),
            "waiting": booking.waiting,
        }
        if booking.waiting:
            # What the service adviser says at the desk: the work, a margin, a round time.
            promised = _round_up(booking.arrival + work + 15 + 0.1 * work, 5)
            data["promised"] = format_hhmm(min(promised, 24 * 60))
        elif rng.random() < 0.7:
            afternoon = closes - 30 * rng.randrange(1, 9)
            promised = _round_up(max(afternoon, booking.arrival + work + 90), 30)
            data["promised"] = format_hhmm(min(promised, 24 * 60))
        roll = rng.random()
        if index == forced_priority or roll < 0.08:
            data["priority"] = 1.5
        elif roll < 0.11:
            data["priority"] = 2.0
        first_skill = CATALOGUE[booking.codes[0]][1][0][0]
        able = [t for t in techs if first_skill in t.skills and t.capacity() > 0]
        if able and (index == forced_preference or rng.random() < 0.1):
            data["technician"] = rng.choice(able).id
        out.append(data)
    return out


# --- YAML output -----------------------------------------------------------------------------

_TIME_OR_DATE = re.compile(r"^(\d{2}:\d{2}|\d{4}-\d{2}-\d{2})$")
_WIDTH = 100


_BaseDumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _DayDumper(_BaseDumper):  # type: ignore[valid-type,misc]
    """SafeDumper (libyaml's when present) that always quotes times and never writes anchors."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    # "08:00" would be written bare (YAML 1.1 reads it as a string, but "12:00" as 720):
    # the day-file contract wants every time quoted.
    if _TIME_OR_DATE.match(value):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    return dumper.represent_str(value)


_DayDumper.add_representer(str, _represent_str)


def _flow(value: Any) -> str:
    """One value in YAML flow style on a single line."""
    text = yaml.dump(
        [value],
        Dumper=_DayDumper,
        default_flow_style=True,
        allow_unicode=True,
        sort_keys=False,
        width=1_000_000,
    )
    return text.strip()[1:-1]


def _top_level_pieces(text: str) -> list[str]:
    """Split a flow mapping's text at its own commas (not those in nested lists or quotes)."""
    pieces, depth, quote, start = [], 0, "", 0
    for i, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 1:
            pieces.append(text[start : i + 1])
            start = i + 2
    pieces.append(text[start:])
    return pieces


def _item(value: Any, prefix: str, indent: str) -> list[str]:
    """A list item or key written as one flow line, wrapped at its own commas past 100 chars."""
    lines = [prefix]
    for piece in _top_level_pieces(_flow(value)):
        if lines[-1] not in (prefix, indent) and len(lines[-1]) + 1 + len(piece) > _WIDTH:
            lines.append(indent)
        lines[-1] += piece if lines[-1] in (prefix, indent) else " " + piece
    return lines


def to_yaml(data: dict[str, Any]) -> str:
    """Write day-file data as YAML the way people write it: one bay, technician, part or booking
    a line (wrapped past 100 characters), every time and date quoted.
    """
    lines: list[str] = []
    for key, value in data.items():
        if key in ("bays", "technicians", "parts", "bookings") and isinstance(value, list):
            lines.append(f"{key}:")
            for item in value:
                lines.extend(_item(item, "  - ", "    "))
        elif key == "services" and isinstance(value, list):
            lines.append("services:")
            for service in value:
                lines.append(f"  - code: {_flow(service['code'])}")
                if "name" in service:
                    lines.append(f"    name: {_flow(service['name'])}")
                lines.append("    operations:")
                for op in service["operations"]:
                    lines.extend(_item(op, "      - ", "        "))
        else:
            lines.extend(
                _item(value, f"{key}: ", "  ")
                if isinstance(value, dict)
                else [f"{key}: {_flow(value)}"]
            )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: write one generated day file."""
    parser = argparse.ArgumentParser(description="Generate a workshop day file (YAML).")
    parser.add_argument(
        "--size",
        choices=sorted(SIZES, key=lambda s: SIZES[s].bookings),
        default="medium",
        help="how big a day (default: medium)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--rush", action="store_true", help="a Saturday-morning peak day")
    parser.add_argument(
        "--load",
        type=float,
        default=None,
        help="technician load to aim for (default 0.75, rush 0.97)",
    )
    parser.add_argument(
        "--waiter-share",
        type=float,
        default=None,
        help="share of waiting customers (default 0.35, rush 0.6)",
    )
    parser.add_argument("--out", type=Path, default=None, help="output file (default: stdout)")
    args = parser.parse_args(argv)
    try:
        data = generate_day(
            args.size, args.seed, load=args.load, waiter_share=args.waiter_share, rush=args.rush
        )
    except ValueError as exc:
        parser.error(str(exc))
    flags = " --rush" if args.rush else ""
    flags += f" --load {args.load}" if args.load is not None else ""
    flags += f" --waiter-share {args.waiter_share}" if args.waiter_share is not None else ""
    text = f"# generated: benchmarks/generate.py --size {args.size} --seed {args.seed}{flags}\n"
    text += to_yaml(data)
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
