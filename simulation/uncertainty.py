"""How a real workshop day differs from the booked one, and the random draws that make it so.

The booked day is what the planner sees the evening before. The real day is different: some
customers never come, the others arrive a little early or late, customers walk in without a
booking (more in the morning than in the afternoon), a job takes longer or shorter than the
standard minutes in the catalogue, and the parts van is sometimes late. :class:`Uncertainty`
says how much of each; :func:`draw_day` realises one such day for one replication.

Common random numbers
---------------------
Every source of randomness has its own numpy ``Generator`` for each replication,
:func:`simulation.experiments.stream` of ``(seed, replication, source)``, so drawing more or
fewer numbers from one source never shifts another. Inside a source, numbers are drawn in
fixed-size blocks by *position*: booking ``i`` of the day always gets row ``i`` of the
no-show, punctuality and duration blocks, whatever else the day contains. A what-if change only
ever *appends* bookings (a rush, EV work doubled), so the base day's bookings keep their luck in
the variant: the same car is a no-show in both, the same job overruns in both, scaled only by
who does it. Walk-ins come from a unit-rate Poisson process mapped through the cumulative walk-in
rate, so doubling the rate compresses the same points rather than drawing new ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from scheduler.domain import MINUTES_PER_DAY, Booking, Day
from simulation.experiments import stream

FloatArray = npt.NDArray[np.float64]

MAX_OPERATIONS = 16
"""Duration draws kept per booking (columns of the duration block); more are drawn on demand."""

MAX_DELIVERIES = 16
"""Delay draws kept per part (columns of the delivery block)."""

_BLOCK = 64  # walk-ins drawn per block; more blocks are drawn as the day needs them

SOURCES = (
    "no-shows",
    "punctuality",
    "durations",
    "walk-ins",
    "walk-in-mix",
    "walk-in-durations",
    "deliveries",
)
"""The sources of randomness, each with its own stream per replication."""

WalkInRates = tuple[tuple[int, float], ...]
"""A step function of the walk-in rate: ``(from minute, walk-ins per hour)``, sorted by minute.
Each rate holds until the next step; the last one until closing time."""


def default_walk_in_shape(open_: int, close: int) -> tuple[tuple[int, float], ...]:
    """The usual shape of walk-ins over opening hours, as multipliers averaging 1.

    Walk-ins bunch in the first quarter of the day (people on the way to work), stay steady
    until mid-afternoon and tail off towards closing: multipliers 1.6, 1.0, 0.8 and 0.6 over
    the four quarters of the opening hours.
    """
    quarter = (close - open_) / 4
    return tuple(
        (open_ + round(k * quarter), factor) for k, factor in enumerate((1.6, 1.0, 0.8, 0.6))
    )


@dataclass(frozen=True, slots=True)
class Uncertainty:
    """How much the real day may differ from the booked one.

    Parameters
    ----------
    duration_spread
        Coefficient of variation of an operation's duration around its standard minutes times
        the technician's efficiency (lognormal with mean 1); 0 makes durations exactly the
        planner's ``ceil(minutes * efficiency)``. Default 0.25.
    no_show
        Probability that a booked car never comes. Default 0.05.
    punctuality
        Standard deviation, in minutes, of a booked car's arrival around its booked time
        (normal, rounded to whole minutes). Default 10.
    max_early, max_late
        Arrival offsets are clipped to ``[-max_early, max_late]`` minutes. Defaults 30 and 45.
    walk_ins_per_hour
        Mean walk-in rate over opening hours; 0 for none. Default 0.4. The rate varies over
        the day by ``walk_in_shape`` unless ``walk_in_rates`` is given.
    walk_in_rates
        An explicit step function of walk-ins per hour, overriding the two fields above.
    walk_in_waiting
        Share of walk-ins who wait for their car; ``None`` (default) takes the share of
        waiters among the day's bookings.
    late_delivery
        Probability that a parts delivery is late. Default 0.2.
    delivery_delay
        Mean lateness, in minutes, of a late delivery (exponential). Default 30.
    no_show_after
        Minutes after the booked arrival at which the service desk gives up on a car that has
        not come (used by policies that follow a plan). Default 60.
    """

    duration_spread: float = 0.25
    no_show: float = 0.05
    punctuality: float = 10.0
    max_early: int = 30
    max_late: int = 45
    walk_ins_per_hour: float = 0.4
    walk_in_rates: WalkInRates | None = None
    walk_in_waiting: float | None = None
    late_delivery: float = 0.2
    delivery_delay: float = 30.0
    no_show_after: int = 60

    def __post_init__(self) -> None:
        for name in ("duration_spread", "punctuality", "walk_ins_per_hour", "delivery_delay"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")
        for name in ("no_show", "late_delivery"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must be a probability between 0 and 1, got {value!r}")
        if self.walk_in_waiting is not None and not 0 <= self.walk_in_waiting <= 1:
            raise ValueError(
                f"walk_in_waiting must be a share between 0 and 1, got {self.walk_in_waiting!r}"
            )
        for name in ("max_early", "max_late", "no_show_after"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a whole number of minutes >= 0, got {value!r}")
        if self.walk_in_rates is not None:
            minutes = [m for m, _ in self.walk_in_rates]
            if minutes != sorted(minutes) or len(set(minutes)) != len(minutes):
                raise ValueError("walk_in_rates must be sorted by time, each time once")
            for minute, rate in self.walk_in_rates:
                if not 0 <= minute <= MINUTES_PER_DAY:
                    raise ValueError(f"walk-in rate time {minute} is outside the day")
                if not (math.isfinite(rate) and rate >= 0):
                    raise ValueError(f"walk-in rate must be a number >= 0, got {rate!r}")

    @classmethod
    def none(cls) -> Uncertainty:
        """The booked day exactly: standard durations, everyone punctual, no walk-ins."""
        return cls(
            duration_spread=0.0,
            no_show=0.0,
            punctuality=0.0,
            walk_ins_per_hour=0.0,
            late_delivery=0.0,
        )

    def with_changes(self, **changes: Any) -> Uncertainty:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def rates(self, day: Day) -> WalkInRates:
        """The walk-in rate step function for ``day``'s opening hours, in walk-ins per hour."""
        if self.walk_in_rates is not None:
            return self.walk_in_rates
        ws = day.workshop
        if self.walk_ins_per_hour == 0:
            return ((ws.open, 0.0),)
        shape = default_walk_in_shape(ws.open, ws.close)
        return tuple((minute, self.walk_ins_per_hour * factor) for minute, factor in shape)


@dataclass(frozen=True, slots=True)
class WalkIn:
    """A customer who comes without a booking: when, for what, and whether they wait."""

    index: int
    arrival: int
    service: str
    waiting: bool


@dataclass(frozen=True, slots=True)
class DayDraws:
    """One replication's luck: everything random about the day, drawn before it starts.

    Parameters
    ----------
    arrivals
        Actual arrival minute of each booking, by position in the day; ``None`` for a no-show.
    duration_normals
        Standard normal draws, one row per booking, one column per operation in order.
    walk_ins
        The walk-ins of the day, in arrival order.
    walk_in_normals
        Standard normal draws for the walk-ins' operations, one row per walk-in.
    deliveries
        Actual minute of each parts delivery: ``deliveries[sku][j]`` for the ``j``-th delivery.
    """

    arrivals: tuple[int | None, ...]
    duration_normals: FloatArray
    walk_ins: tuple[WalkIn, ...]
    walk_in_normals: FloatArray
    deliveries: dict[str, tuple[int, ...]] = field(default_factory=dict)


def _walk_in_times(rates: WalkInRates, close: int, unit_points: FloatArray) -> list[int]:
    """Map points of a unit-rate Poisson process through the inverse cumulative rate.

    ``Lambda(t)`` is the expected number of walk-ins by minute ``t``; a point ``e`` of the unit
    process becomes the arrival ``Lambda^-1(e)``. Points past ``Lambda(close)`` are dropped.
    """
    steps = [(m, r / 60.0) for m, r in rates if m < close]
    times: list[int] = []
    k = 0
    cumulative = 0.0
    for i, (start, per_minute) in enumerate(steps):
        end = min(steps[i + 1][0], close) if i + 1 < len(steps) else close
        mass = per_minute * (end - start)
        while k < len(unit_points) and unit_points[k] < cumulative + mass:
            offset = (unit_points[k] - cumulative) / per_minute
            times.append(min(end - 1, start + math.floor(offset)))
            k += 1
        cumulative += mass
    return times


def _walk_in_mix(day: Day) -> tuple[list[str], FloatArray, float]:
    """Services walk-ins ask for (by how often the day's bookings ask for them) and the
    share of waiters among the day's bookings."""
    counts: dict[str, int] = {}
    for booking in day.bookings:
        for code in booking.services:
            counts[code] = counts.get(code, 0) + 1
    if not counts:  # an empty day: every service alike
        counts = dict.fromkeys(day.workshop.services, 1)
    codes = sorted(counts)
    weights = np.array([counts[c] for c in codes], dtype=float)
    cumulative = np.cumsum(weights) / weights.sum()
    waiters = sum(1 for b in day.bookings if b.waiting)
    share = waiters / len(day.bookings) if day.bookings else 0.0
    return codes, cumulative, share


def _block(rng: np.random.Generator, rows: int, columns: int) -> FloatArray:
    """``rows`` rows of ``columns`` standard normals; a prefix of rows never depends on
    ``rows`` (numpy fills row by row)."""
    return rng.standard_normal((rows, columns))


def draw_day(day: Day, uncertainty: Uncertainty, seed: int, replication: int) -> DayDraws:
    """Draw everything random about one replication of ``day``.

    Parameters
    ----------
    day
        The booked day (after any what-if changes).
    uncertainty
        How much the real day may differ from the booked one.
    seed, replication
        Select the random-number streams (see :func:`simulation.experiments.stream`).

    Returns
    -------
    DayDraws
        Arrivals, duration draws, walk-ins and delivery times of this replication.
    """
    n = len(day.bookings)
    u = uncertainty

    shows = stream(seed, replication, "no-shows").random(n) >= u.no_show
    offsets = stream(seed, replication, "punctuality").standard_normal(n) * u.punctuality
    arrivals: list[int | None] = []
    for booking, show, offset in zip(day.bookings, shows, offsets, strict=True):
        if not show:
            arrivals.append(None)
            continue
        shift = min(u.max_late, max(-u.max_early, round(float(offset))))
        arrivals.append(min(MINUTES_PER_DAY - 1, max(0, booking.arrival + shift)))

    widest = max((len(day.operations(b)) for b in day.bookings), default=1)
    durations = stream(seed, replication, "durations")
    normals = _block(durations, n, MAX_OPERATIONS)
    if widest > MAX_OPERATIONS:  # rare: extra columns, drawn after the standard block
        normals = np.hstack([normals, _block(durations, n, widest - MAX_OPERATIONS)])

    walk_ins = _draw_walk_ins(day, u, seed, replication)
    walk_normals = _block(
        stream(seed, replication, "walk-in-durations"),
        max(len(walk_ins), 1),
        MAX_OPERATIONS,
    )

    deliveries: dict[str, tuple[int, ...]] = {}
    rng = stream(seed, replication, "deliveries")
    skus = sorted(day.workshop.parts)
    late = rng.random((len(skus), MAX_DELIVERIES))
    delay = rng.standard_exponential((len(skus), MAX_DELIVERIES)) * u.delivery_delay
    for i, sku in enumerate(skus):
        times = []
        for j, (at, _qty) in enumerate(day.workshop.parts[sku].deliveries):
            extra = 0
            if j < MAX_DELIVERIES and late[i, j] < u.late_delivery:
                extra = max(1, round(float(delay[i, j])))
            times.append(min(MINUTES_PER_DAY - 1, at + extra))
        deliveries[sku] = tuple(times)
    return DayDraws(tuple(arrivals), normals, walk_ins, walk_normals, deliveries)


def _draw_walk_ins(day: Day, u: Uncertainty, seed: int, replication: int) -> tuple[WalkIn, ...]:
    """The day's walk-ins: times from the rate function, then a service and waiting flag each."""
    rates = u.rates(day)
    ws = day.workshop
    expected = expected_walk_ins(day, u)
    if expected <= 0:
        return ()
    gaps = stream(seed, replication, "walk-ins")
    points = np.cumsum(gaps.standard_exponential(_BLOCK))
    while points[-1] < expected:
        more = np.cumsum(gaps.standard_exponential(_BLOCK)) + points[-1]
        points = np.concatenate([points, more])
    times = _walk_in_times(rates, ws.close, points)
    codes, cumulative, day_share = _walk_in_mix(day)
    share = day_share if u.walk_in_waiting is None else u.walk_in_waiting
    mix = stream(seed, replication, "walk-in-mix")
    draws = mix.random((max(len(times), 1), 2))
    out = []
    for k, minute in enumerate(times):
        pick = int(np.searchsorted(cumulative, draws[k, 0], side="right"))
        out.append(WalkIn(k, minute, codes[min(pick, len(codes) - 1)], bool(draws[k, 1] < share)))
    return tuple(out)


def walk_in_booking(day: Day, walk_in: WalkIn) -> Booking:
    """The booking the service desk writes for a walk-in when the car arrives.

    A drop-off is promised for closing time (no promise is given), a waiter simply waits.
    Its id, ``WALKIN-001`` and so on, never clashes with a booked id.
    """
    taken = {b.id for b in day.bookings}
    ident = f"WALKIN-{walk_in.index + 1:03d}"
    while ident in taken:
        ident = f"{ident}-W"
    return Booking(
        ident,
        (walk_in.service,),
        walk_in.arrival,
        waiting=walk_in.waiting,
        customer="walk-in",
    )


def lognormal_factor(normal: float, spread: float) -> float:
    """``exp(sigma z - sigma^2 / 2)``: a lognormal multiplier with mean 1 and CV ``spread``."""
    if spread == 0:
        return 1.0
    sigma2 = math.log1p(spread * spread)
    return math.exp(math.sqrt(sigma2) * normal - sigma2 / 2.0)


def actual_minutes(standard: int, normal: float, spread: float) -> int:
    """Whole minutes an operation really takes: its planned duration ``standard`` (already
    scaled by efficiency) times a lognormal factor, at least one minute; exactly ``standard``
    when ``spread`` is 0."""
    if spread == 0:
        return standard
    return max(1, round(standard * lognormal_factor(normal, spread)))


def expected_walk_ins(day: Day, uncertainty: Uncertainty) -> float:
    """Expected number of walk-ins over the opening hours."""
    rates = uncertainty.rates(day)
    close = day.workshop.close
    total = 0.0
    for i, (minute, rate) in enumerate(rates):
        end = rates[i + 1][0] if i + 1 < len(rates) else close
        total += rate / 60.0 * max(0, min(end, close) - minute)
    return total
