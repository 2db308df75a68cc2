"""The day-file reader: every problem reported at once, each with its file, line and field."""

from __future__ import annotations

import datetime as dt
import shutil
from fractions import Fraction
from pathlib import Path

import pytest

from scheduler.clock import from_iso, to_iso, zone
from scheduler.domain import operation_duration
from scheduler.io import DayFileError, load_day, parse_day, parse_day_text, read_yaml
from tests.utils import DATA

BASE = (DATA / "day.yaml").read_text(encoding="utf-8")


def problems_of(text: str) -> list[str]:
    with pytest.raises(DayFileError) as info:
        parse_day_text(text, source="day.yaml")
    return [str(p) for p in info.value.problems]


def test_valid_day_file_reads_every_field() -> None:
    day = load_day(DATA / "day.yaml")
    ws = day.workshop
    assert (ws.id, ws.timezone, ws.open, ws.close) == ("city-motors", "Asia/Shanghai", 450, 1140)
    assert ws.waiter_weight == 2
    assert ws.bay("W1").unavailable == ((720, 780),)
    t2 = ws.technician("T02")
    assert t2.efficiency == Fraction(11, 10)
    assert t2.absent == ((780, 900),)
    assert ws.services["MINOR"].operations[0].parts == {"OIL-5W30": 5, "FLT-OIL": 1}
    assert ws.parts["OIL-5W30"].deliveries == ((630, 20),)
    r1002 = day.booking("R1002")
    assert r1002.services == ("MINOR", "EVCHECK")
    assert r1002.priority == Fraction(3, 2)
    assert r1002.technician == "T01"
    assert r1002.vehicle == "沪B67890"
    r1003 = day.booking("R1003")
    assert (r1003.waiting, r1003.promised, r1003.priority) == (False, None, 1)
    assert day.promised(r1003) == ws.close
    assert day.date == dt.date(2026, 11, 26)


def test_bookings_from_csv_beside_the_day_file() -> None:
    day = load_day(DATA / "day-csv.yaml")
    assert [b.id for b in day.bookings] == ["R1", "R2", "R3"]
    assert day.booking("R1").waiting is True
    assert day.booking("R1").technician == "T01"
    assert day.booking("R2").promised is None
    assert day.booking("R2").priority == Fraction(3, 2)
    assert day.booking("R3").customer == ""


def test_unquoted_times_are_read_as_written_not_as_sexagesimal() -> None:
    # YAML 1.1 would read 12:00 as 720 and 08:15 as 495; the reader must not misread them.
    text = BASE.replace('arrival: "10:00"', "arrival: 10:00").replace(
        'unavailable: [["12:00", "13:00"]]', "unavailable: [[12:00, 13:00]]"
    )
    day = parse_day_text(text)
    assert day.booking("R1003").arrival == 600
    assert day.workshop.bay("W1").unavailable == ((720, 780),)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("services: [EVCHECK]", "services: [EVX]"),
            "day.yaml:32 bookings[2].services: unknown service code 'EVX'",
        ),
        (
            ("{skill: ev, bay: ev, minutes: 45}", "{skill: ev, bay: ev, minutes: -45}"),
            "day.yaml:22 services[1].operations[0].minutes: expected a whole number >= 1, got -45",
        ),
        (
            ("{skill: ev, bay: ev, minutes: 45}", "{skill: hv, bay: ev, minutes: 45}"),
            "services[1].operations[0].skill: no technician has skill 'hv'",
        ),
        (
            ("{skill: ev, bay: ev, minutes: 45}", "{skill: ev, bay: hoist, minutes: 45}"),
            "services[1].operations[0].bay: no bay is of kind 'hoist'",
        ),
        (
            ('shift: ["09:00", "18:00"]', 'shift: ["18:00", "09:00"]'),
            "day.yaml:11 technicians[1].shift: window ends at 09:00 before it starts at 18:00",
        ),
        (("{id: W1,", "{id: L1,"), "day.yaml:7 bays[2].id: duplicate bay id 'L1'"),
        (("{id: R1003,", "{id: R1001,"), "bookings[2].id: duplicate booking id 'R1001'"),
        (
            ('arrival: "10:00"', 'arrival: "10:75"'),
            "day.yaml:32 bookings[2].arrival: expected a time \"HH:MM\", got '10:75'",
        ),
        (
            ('arrival: "10:00"', 'arrival: "20:00"'),
            "bookings[2].arrival: arrival 20:00 is outside opening hours 07:30-19:00",
        ),
        (
            ("timezone: Asia/Shanghai", "timezone: Mars/Olympus"),
            "workshop.timezone: unknown time zone 'Mars/Olympus'",
        ),
        (
            ("FLT-OIL: 1}", "FLT-AIR: 1}"),
            "services[0].operations[0].parts.FLT-AIR: unknown part 'FLT-AIR'",
        ),
        (
            ("technician: T01}", "technician: T99}"),
            "bookings[1].technician: unknown technician 'T99'",
        ),
        (
            ('promised: "09:30"', 'promised: "07:45"'),
            "bookings[0].promised: promised 07:45 is before arrival",
        ),
        (
            ("efficiency: 1.1,", "efficiency: 1.125,"),
            "technicians[1].efficiency: expected at most 2 decimals",
        ),
        (("priority: 1.5", "priority: high"), "bookings[1].priority: expected a positive number"),
        (("waiting: true", "waiting: maybe"), "bookings[0].waiting: expected true or false"),
        (
            ("services: [MINOR, EVCHECK]", "services: [MINOR, MINOR]"),
            "bookings[1].services: a service code is listed more than once",
        ),
        (("day: 2026-11-26", "day: 2026-13-40"), 'day: expected a date "YYYY-MM-DD"'),
        (
            (
                '{id: R1003, services: [EVCHECK], arrival: "10:00"}',
                '{id: R1003, services: [EVCHECK], arival: "10:00"}',
            ),
            "bookings[2].arival: unknown field 'arival'",
        ),
        (
            (
                '{id: R1003, services: [EVCHECK], arrival: "10:00"}',
                "{id: R1003, services: [EVCHECK]}",
            ),
            "bookings[2].arrival: missing required field 'arrival'",
        ),
        (("on_hand: 2,", "on_hand: -2,"), "parts[1].on_hand: expected a whole number >= 0"),
        (
            ('open: "07:30", close: "19:00"', 'open: "19:00", close: "07:30"'),
            "workshop.close: the workshop closes before it opens",
        ),
    ],
)
def test_each_problem_names_file_line_field_and_expectation(
    change: tuple[str, str], expected: str
) -> None:
    old, new = change
    assert old in BASE
    problems = problems_of(BASE.replace(old, new, 1))
    assert any(expected in p for p in problems), problems


def test_all_problems_are_collected_at_once() -> None:
    text = (
        BASE.replace('arrival: "10:00"', 'arrival: "25:00"')
        .replace("services: [MINOR, EVCHECK]", "services: [MINOR, TYRES]")
        .replace("{id: W1,", "{id: L1,")
    )
    problems = problems_of(text)
    assert len(problems) == 3, problems


def test_not_yaml_and_empty_file() -> None:
    assert "day.yaml:2" in problems_of("workshop: {id: x\nbays: [")[0]
    assert "empty" in problems_of("")[0]
    assert "expected a mapping" in problems_of("- just\n- a list\n")[0]


def test_values_nested_too_deep_are_a_located_problem_not_a_recursion_error() -> None:
    # 995 levels pass libyaml's own limit (1000) but would exhaust Python's stack in the
    # constructor; 32 levels are far beyond any day file (they nest six at most).
    deep = "bays: []\nworkshop:\n  x: " + "[" * 995 + "]" * 995
    assert problems_of(deep) == ["day.yaml:3: nested more than 32 levels deep; expected a day file"]
    assert "nested" not in " ".join(problems_of("workshop: " + "[" * 30 + "]" * 30))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DayFileError, match="file not found"):
        load_day(tmp_path / "nope.yaml")


def _csv_day(tmp_path: Path, csv_text: str) -> Path:
    shutil.copy(DATA / "day-csv.yaml", tmp_path / "day-csv.yaml")
    (tmp_path / "day-bookings.csv").write_text(csv_text, encoding="utf-8")
    return tmp_path / "day-csv.yaml"


def test_csv_missing_column(tmp_path: Path) -> None:
    path = _csv_day(tmp_path, "id,customer,vehicle,services,waiting\nR1,a,b,MINOR,true\n")
    with pytest.raises(DayFileError) as info:
        load_day(path)
    assert "day-bookings.csv: missing column(s) arrival" in str(info.value.problems[0])


def test_csv_row_problems_name_row_line_and_column(tmp_path: Path) -> None:
    text = (
        "id,customer,vehicle,services,arrival,waiting,promised,priority,technician\n"
        "R1,,,MINOR,08:00,true,,,\n"
        "R2,,,MINOR;BRAKES,8h30,perhaps,,,\n"
    )
    with pytest.raises(DayFileError) as info:
        load_day(_csv_day(tmp_path, text))
    messages = [str(p) for p in info.value.problems]
    assert any(
        m.startswith("day-bookings.csv row 2 (line 3) services: unknown service code 'BRAKES'")
        for m in messages
    ), messages
    assert any(m.startswith("day-bookings.csv row 2 (line 3) arrival:") for m in messages)
    assert any(m.startswith("day-bookings.csv row 2 (line 3) waiting:") for m in messages)


def test_csv_file_missing(tmp_path: Path) -> None:
    shutil.copy(DATA / "day-csv.yaml", tmp_path / "day-csv.yaml")
    with pytest.raises(DayFileError, match="does not exist"):
        load_day(tmp_path / "day-csv.yaml")


def test_a_bookings_csv_given_as_text_is_read_from_the_text_never_the_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A CSV sent with the day file over the network: a file of the same name in the working
    # folder (or beside the day file) must not be read instead.
    (tmp_path / "day-bookings.csv").write_text(
        "id,services,arrival\nFROM-DISK,MINOR,08:00\n", encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    data, lines = read_yaml((DATA / "day-csv.yaml").read_text(encoding="utf-8"), source="d")
    sent = (DATA / "day-bookings.csv").read_text(encoding="utf-8")
    day = parse_day(data, source="d", lines=lines, base_dir=tmp_path, bookings_csv=sent)
    assert [b.id for b in day.bookings] == ["R1", "R2", "R3"]
    bad = sent.replace("R2,Li Si,沪B67890,MINOR,08:30", "R2,Li Si,沪B67890,MINOR,8h30")
    with pytest.raises(DayFileError) as info:
        parse_day(data, source="d", lines=lines, bookings_csv=bad)
    assert str(info.value.problems[0]).startswith("day-bookings.csv row 2 (line 3) arrival:")


def test_durations_use_exact_decimal_arithmetic() -> None:
    # 50 min at 1.1 is 55, not 56 (binary floats give 55.000000000000007 -> ceil 56).
    assert operation_duration(50, Fraction(11, 10)) == 55
    assert operation_duration(45, Fraction(5, 4)) == 57  # 56.25 rounds up
    assert operation_duration(60, Fraction(9, 10)) == 54


def test_iso_times_carry_the_offset_in_force() -> None:
    berlin = zone("Europe/Berlin")
    summer, winter = dt.date(2026, 7, 1), dt.date(2026, 11, 26)
    assert to_iso(summer, berlin, 8 * 60 + 5) == "2026-07-01T08:05:00+02:00"
    assert to_iso(winter, berlin, 8 * 60 + 5) == "2026-11-26T08:05:00+01:00"
    assert from_iso(winter, berlin, "2026-11-26T07:05:00+00:00") == 8 * 60 + 5
    with pytest.raises(ValueError, match="no UTC offset"):
        from_iso(winter, berlin, "2026-11-26T08:05:00")


def test_yaml_words_are_not_booleans() -> None:
    # YAML 1.1 reads No/on/yes as booleans; a customer called No is not False.
    text = BASE.replace("customer: Li Si", "customer: No").replace(
        "vehicle: 沪B67890", "vehicle: On"
    )
    booking = parse_day_text(text).booking("R1002")
    assert (booking.customer, booking.vehicle) == ("No", "On")
    problems = problems_of(BASE.replace("waiting: true", "waiting: yes"))
    assert any("bookings[0].waiting: expected true or false" in p for p in problems)


def test_a_field_given_twice_is_an_error() -> None:
    text = BASE.replace(
        '{id: R1003, services: [EVCHECK], arrival: "10:00"}',
        '{id: R1003, services: [EVCHECK], arrival: "10:00", arrival: "11:00"}',
    )
    problems = problems_of(text)
    assert any("bookings[2].arrival: field 'arrival' is given twice" in p for p in problems)
