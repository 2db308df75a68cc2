"""Student-t intervals over replications."""

from __future__ import annotations

import json
import math

import pytest

from simulation.stats import Interval, paired_difference, summarise, t_interval


def test_t_interval_known_value() -> None:
    # 1..5: mean 3, s = sqrt(2.5), t_{4, 0.975} = 2.776445105, half-width = t s / sqrt(5).
    iv = t_interval([1, 2, 3, 4, 5])
    half = 2.776445105197793 * math.sqrt(2.5) / math.sqrt(5)
    assert iv.mean == pytest.approx(3.0)
    assert (iv.low, iv.high) == pytest.approx((3 - half, 3 + half), rel=1e-9)
    assert iv.half_width == pytest.approx(half)
    assert iv.relative_half_width == pytest.approx(half / 3)
    assert iv.n == 5
    assert iv.contains(3 + half * 0.99) and not iv.contains(3 + half * 1.01)


def test_t_interval_other_level_and_no_spread() -> None:
    # 90%: t_{2, 0.95} = 2.919985580
    iv = t_interval([0.0, 1.0, 2.0], confidence=0.90)
    assert iv.half_width == pytest.approx(2.919985580 * 1.0 / math.sqrt(3), rel=1e-8)
    assert iv.to_json() == {"mean": 1.0, "ci90": [iv.low, iv.high]}
    flat = t_interval([2.0, 2.0, 2.0])
    assert (flat.low, flat.mean, flat.high) == (2.0, 2.0, 2.0)


def test_nan_propagates_and_serialises_as_null() -> None:
    iv = t_interval([1.0, math.nan, 2.0])
    assert math.isnan(iv.mean)
    assert json.dumps(iv.to_json()) == '{"mean": null, "ci95": [null, null]}'


def test_paired_difference_removes_shared_noise() -> None:
    base = [10.0, 20.0, 30.0, 40.0]
    variant = [9.0, 19.2, 28.9, 39.1]
    paired = paired_difference(variant, base)
    assert paired.mean == pytest.approx(-0.95)
    # The unpaired spread is dominated by the replication-to-replication noise.
    assert paired.half_width < 0.05 * t_interval(base).half_width
    assert paired.to_json()["ci95"][1] < 0  # significant


def test_summarise() -> None:
    rows = [{"Wq": 1.0, "L": 2.0}, {"Wq": 3.0, "L": 2.0}]
    out = summarise(rows)
    assert list(out) == ["Wq", "L"]
    assert out["Wq"].mean == 2.0
    assert isinstance(out["L"], Interval)
    assert list(summarise(rows, ["L"])) == ["L"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: t_interval([1.0]), "at least 2 replications, got 1"),
        (lambda: t_interval([1.0, 2.0], confidence=1.0), "confidence must be between 0 and 1"),
        (lambda: paired_difference([1, 2, 3], [1, 2]), "must match one to one"),
        (lambda: summarise([]), "at least 2 replications, got 0"),
        (lambda: summarise([{"a": 1.0}, {"b": 1.0}], ["a"]), r"'a' is missing from replication"),
    ],
)
def test_invalid_input(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]
