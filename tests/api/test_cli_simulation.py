"""`workshop queue` and `workshop whatif` end to end: exit codes, output, JSON, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from api.cli import main
from simulation.outcomes import KPIS
from tests.utils import SCENARIOS

BAY_DOWN = SCENARIOS / "whatif" / "bay-down.yaml"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_whatif_prints_the_comparison_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["whatif", str(BAY_DOWN), "--replications", "4", "--seed", "2"], capsys)
    assert code == 0, err
    assert "bay-down" in out and "4 paired replications, seed 2" in out
    for label in ("waiter", "drop-offs", "jobs left", "significant", "difference"):
        assert label in out
    assert "common random numbers" in out


def test_whatif_json_has_every_kpi_with_intervals(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["whatif", str(BAY_DOWN), "-r", "3", "--json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["scenario"] == "bay-down" and doc["replications"] == 3 and doc["seed"] == 0
    assert doc["variant"]["changes"] == ["close bay B1 08:00-13:00"]
    assert list(doc["kpis"]) == list(KPIS)
    wait = doc["kpis"]["waiter_mean_wait"]
    for side in ("base", "variant", "difference"):
        assert set(wait[side]) == {"mean", "ci95"}
        low, high = wait[side]["ci95"]
        assert low <= wait[side]["mean"] <= high
    assert isinstance(wait["significant"], bool)


def test_whatif_plot_writes_a_self_contained_chart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chart = tmp_path / "charts" / "bay-down.html"
    code, out, err = run(["whatif", str(BAY_DOWN), "-r", "3", "--plot", str(chart)], capsys)
    assert code == 0, err
    html = chart.read_text(encoding="utf-8")
    assert (
        html.lower().startswith("<!doctype html>") and "plotly" in html and 'src="http' not in html
    )
    assert "waiter mean wait" in html
    assert f"chart written to {chart}" in out


def test_whatif_with_precision(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        ["whatif", str(BAY_DOWN), "-r", "4", "--precision", "0.1", "--precision-kpi",
         "weighted_wait", "--json"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    assert doc["precision"]["reached"] is True and doc["precision"]["kpis"] == ["weighted_wait"]
    assert doc["replications"] >= 4


def test_malformed_scenario_names_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        f"base: {SCENARIOS / 'small-shop.yaml'}\nchanges:\n  - remove_technician: T99\n",
        encoding="utf-8",
    )
    code, out, err = run(["whatif", str(bad)], capsys)
    assert code == 2 and out == ""
    assert err == "error: bad.yaml:3 changes[0].remove_technician: unknown technician 'T99'\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["whatif", "nope.yaml"], "error: nope.yaml: file not found"),
        (["whatif", str(BAY_DOWN), "-r", "1"], "error: replications must be a whole number >= 2"),
        (
            ["whatif", str(BAY_DOWN), "--precision", "0.1", "--precision-kpi", "joy"],
            "error: precision key figures must be among",
        ),
        (
            ["queue", "--arrival-rate", "2", "--service-rate", "1", "--servers", "1"],
            "error: the queue with 1 server(s) is unstable",
        ),
        (
            ["queue", "--arrival-rate", "1", "--service-rate", "2", "--servers", "1",
             "--class-shares", "a,b"],
            "error: --class-shares must be numbers separated by commas",
        ),
    ],
)  # fmt: skip
def test_bad_input_is_one_error_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(argv, capsys)
    assert code == 2
    assert err.startswith(message)
    assert len(err.strip().splitlines()) == 1


def test_queue_json_is_the_design_shape(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        ["queue", "--arrival-rate", "0.5", "--service-rate", "1", "--servers", "2",
         "--class-shares", "0.4,0.6", "--replications", "3", "--horizon", "2000",
         "--warmup", "200", "--json"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc) == {"analytic", "simulated"}
    for m in ("Wq", "W", "Lq", "L"):
        assert isinstance(doc["analytic"][m], float)
        assert set(doc["simulated"][m]) == {"mean", "ci95"}
    assert len(doc["simulated"]["classes"]) == 2


def test_queue_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        ["queue", "--arrival-rate", "0.5", "--service-rate", "1", "--servers", "1",
         "--replications", "3", "--horizon", "2000", "--warmup", "200"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert "analytic" in out and "Wq" in out and "inside" in out


def test_unreachable_cluster_is_one_error_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT", "1s")
    monkeypatch.setenv("WORKSHOP_DASK_ADDRESS", "tcp://127.0.0.1:9")
    code, _, err = run(["whatif", str(BAY_DOWN), "-r", "2"], capsys)
    assert code == 1
    assert err.startswith("error: cannot connect to the Dask scheduler at 'tcp://127.0.0.1:9'")
    assert len(err.strip().splitlines()) == 1


def test_the_installed_command_runs_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = Path(sys.executable).parent / "workshop"
    done = subprocess.run(
        [str(script), "whatif", str(tmp_path / "missing.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error:") and "Traceback" not in done.stderr
    code, out, _ = run(["whatif", "--help"], capsys)
    assert code == 0 and "--replications" in out and "--cluster" in out
