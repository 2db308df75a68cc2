"""`workshop plan` and `workshop check` end to end: exit codes, output, no tracebacks."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from api.cli import main
from tests.utils import DATA


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("method", ["fcfs", "dispatch"])
def test_plan_then_check(tmp_path: Path, capsys: pytest.CaptureFixture[str], method: str) -> None:
    out = tmp_path / "plan.json"
    code, stdout, stderr = run(
        ["plan", str(DATA / "day.yaml"), "--out", str(out), "--method", method], capsys
    )
    assert code == 0, stderr
    assert "bookings placed" in stdout and "Waiters" in stdout
    plan = json.loads(out.read_text(encoding="utf-8"))
    assert plan["workshop"] == "city-motors" and plan["status"] == "HEURISTIC"
    assert plan["assignments"][0]["start"].endswith("+08:00")
    assert set(plan["objective_parts"]) == {"weighted_wait", "unscheduled_penalty"}
    code, stdout, stderr = run(["check", str(DATA / "day.yaml"), str(out)], capsys)
    assert code == 0, stderr
    assert "plan is valid" in stdout


def test_check_lists_violations_and_exits_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "plan.json"
    assert run(["plan", str(DATA / "day.yaml"), "--out", str(out)], capsys)[0] == 0
    plan = json.loads(out.read_text(encoding="utf-8"))
    first = plan["assignments"][0]
    plan["assignments"].append(dict(first, booking=first["booking"]))  # the same op twice
    plan["objective"] = plan["objective"] + 1
    out.write_text(json.dumps(plan), encoding="utf-8")
    code, _, stderr = run(["check", str(DATA / "day.yaml"), str(out)], capsys)
    assert code == 1
    assert "[operation-twice]" in stderr
    assert "[technician-overlap]" in stderr
    assert "[objective]" in stderr
    assert "violation(s)" in stderr


def test_bad_day_file_gives_located_error_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "day.yaml"
    bad.write_text(
        (DATA / "day.yaml").read_text(encoding="utf-8").replace('"10:00"', '"10:77"'),
        encoding="utf-8",
    )
    code, _, stderr = run(["plan", str(bad), "--out", str(tmp_path / "p.json")], capsys)
    assert code == 2
    assert stderr.startswith("error: day.yaml:32 bookings[2].arrival:")
    assert "Traceback" not in stderr
    assert not (tmp_path / "p.json").exists()


def test_malformed_plan_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "plan.json").write_text('{"workshop": "city-motors"', encoding="utf-8")
    code, _, stderr = run(["check", str(DATA / "day.yaml"), str(tmp_path / "plan.json")], capsys)
    assert code == 2 and "not valid JSON" in stderr
    (tmp_path / "plan.json").write_text('{"workshop": "other"}', encoding="utf-8")
    code, _, stderr = run(["check", str(DATA / "day.yaml"), str(tmp_path / "plan.json")], capsys)
    assert code == 2 and "missing required field" in stderr


def test_unknown_method_and_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, stderr = run(["plan", str(DATA / "day.yaml"), "--method", "magic"], capsys)
    assert code == 2 and "--method must be one of" in stderr
    code, _, stderr = run(["plan", str(tmp_path / "none.yaml")], capsys)
    assert code == 2 and "file not found" in stderr


def test_console_script_runs_without_traceback(tmp_path: Path) -> None:
    """The installed `workshop` command, as a user runs it, with a CSV day beside the YAML."""
    for name in ("day-csv.yaml", "day-bookings.csv"):
        shutil.copy(DATA / name, tmp_path / name)
    exe = Path(sys.executable).with_name("workshop")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "api.cli"]
    done = subprocess.run(
        [*cmd, "plan", "day-csv.yaml", "--out", "plan.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    done = subprocess.run(
        [*cmd, "check", "day-csv.yaml", "plan.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    done = subprocess.run(
        [*cmd, "plan", "missing.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "error: missing.yaml: file not found"
