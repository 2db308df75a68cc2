"""Wall-clock conversions: "HH:MM" and ISO 8601 at the doors, minutes since midnight inside.

Minutes are wall-clock minutes of the workshop's local day; an ISO time carries the UTC offset
in force at that instant in the workshop's IANA time zone.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_HHMM = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)$")


def parse_hhmm(text: str) -> int:
    """Parse ``"HH:MM"`` (00:00 to 24:00) into minutes since midnight; ValueError otherwise."""
    match = _HHMM.match(text.strip())
    if match is None:
        raise ValueError(f'expected a time "HH:MM", got {text!r}')
    hours, minutes = int(match.group(1)), int(match.group(2))
    if hours == 24 and minutes != 0:
        raise ValueError(f'expected a time "HH:MM" no later than 24:00, got {text!r}')
    return hours * 60 + minutes


def format_hhmm(minute: int) -> str:
    """Format minutes since midnight as ``"HH:MM"``."""
    return f"{minute // 60:02d}:{minute % 60:02d}"


def zone(name: str) -> ZoneInfo:
    """Return the IANA time zone ``name``; ValueError naming it when it is unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r} (expected an IANA name)") from exc


def to_datetime(date: dt.date, tz: ZoneInfo, minute: int) -> dt.datetime:
    """The aware local datetime ``minute`` minutes after midnight (wall clock) of ``date``."""
    days, rest = divmod(minute, 24 * 60)
    local = dt.datetime.combine(date + dt.timedelta(days=days), dt.time(rest // 60, rest % 60))
    return local.replace(tzinfo=tz)


def to_iso(date: dt.date, tz: ZoneInfo, minute: int) -> str:
    """ISO 8601 with the offset in force, e.g. ``2026-11-26T08:05:00+08:00``."""
    return to_datetime(date, tz, minute).isoformat()


def from_datetime(date: dt.date, tz: ZoneInfo, moment: dt.datetime) -> int:
    """Wall-clock minutes since midnight of ``date`` for an aware datetime.

    Raises ValueError if ``moment`` is naive or not on a whole minute.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"time {moment.isoformat()} has no UTC offset")
    local = moment.astimezone(tz)
    if local.second or local.microsecond:
        raise ValueError(f"time {moment.isoformat()} is not on a whole minute")
    days = (local.date() - date).days
    return days * 24 * 60 + local.hour * 60 + local.minute


def from_iso(date: dt.date, tz: ZoneInfo, text: str) -> int:
    """Parse an ISO 8601 time with offset into wall-clock minutes of ``date``."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"expected an ISO 8601 time with offset, got {text!r}") from exc
    return from_datetime(date, tz, moment)
