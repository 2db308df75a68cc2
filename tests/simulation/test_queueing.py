"""The textbook formulas against published values and hand derivations."""

from __future__ import annotations

import math

import pytest

from simulation.queueing import (
    QueueMetrics,
    erlang_b,
    erlang_c,
    md1,
    mg1,
    mg1_priority,
    mm1,
    mmc,
    mmc_priority,
    textbook_formula,
)


def flat(m: QueueMetrics | None) -> list[float]:
    """All numbers of a result, overall then per class, for ``pytest.approx``."""
    assert m is not None
    return [m.Wq, m.W, m.Lq, m.L, *(x for c in m.classes for x in flat(c))]


def same(a: QueueMetrics | None, b: QueueMetrics | None) -> bool:
    """Equal to 1e-9 relative, structure included."""
    return len(flat(a)) == len(flat(b)) and flat(a) == pytest.approx(flat(b), rel=1e-9)


def approx_metrics(m: QueueMetrics, wq: float, w: float, lq: float, ell: float) -> None:
    assert (m.Wq, m.W, m.Lq, m.L) == pytest.approx((wq, w, lq, ell), rel=1e-12)


def test_erlang_c_published_value() -> None:
    # Two servers offered one erlang: P(wait) = 1/3 (Gross et al. 2008, sec. 2.3; any Erlang C
    # table). Erlang B for the same: (1/2) / (1 + 1 + 1/2) = 0.2.
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3, rel=1e-12)
    assert erlang_b(2, 1.0) == pytest.approx(0.2, rel=1e-12)
    # One server: the probability of waiting is rho.
    assert erlang_c(1, 0.7) == pytest.approx(0.7, rel=1e-12)


@pytest.mark.parametrize(("c", "a"), [(3, 2.1), (10, 8.0), (25, 20.0)])
def test_erlang_c_matches_the_textbook_sum(c: int, a: float) -> None:
    # C(c, a) = (a^c / c!) (c / (c - a)) / (sum_{k<c} a^k / k! + (a^c / c!) (c / (c - a)))
    top = a**c / math.factorial(c) * c / (c - a)
    expected = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
    assert erlang_c(c, a) == pytest.approx(expected, rel=1e-10)


def test_erlang_c_stays_finite_for_many_servers() -> None:
    p = erlang_c(500, 480.0)
    assert 0 < p < 1


def test_mm1() -> None:
    # lambda 0.8, mu 1: Wq = rho / (mu - lambda) = 4, W = 5, Lq = 3.2, L = 4.
    approx_metrics(mm1(0.8, 1.0), 4.0, 5.0, 3.2, 4.0)


def test_mmc_two_servers_at_half_load() -> None:
    # M/M/2, lambda = mu = 1: a = 1, C = 1/3, Wq = C / (2 - 1) = 1/3, and the closed form
    # L = 2 rho / (1 - rho^2) = 4/3 at rho = 1/2.
    approx_metrics(mmc(1.0, 1.0, 2), 1 / 3, 4 / 3, 1 / 3, 4 / 3)


def test_mmc_with_one_server_is_mm1() -> None:
    assert same(mmc(0.6, 1.5, 1), mm1(0.6, 1.5))


def test_pollaczek_khinchine_examples() -> None:
    # M/D/1 at rho = 1/2: Lq = rho^2 / (2 (1 - rho)) = 0.25, Wq = Lq / lambda = 0.5.
    approx_metrics(md1(0.5, 1.0), 0.5, 1.5, 0.25, 0.75)
    # P-K with cv = 1 is M/M/1; with cv = 2 the wait is (1 + 4) / 2 = 2.5 times the M/M/1 wait.
    assert same(mg1(0.8, 1.0, 1.0), mm1(0.8, 1.0))
    assert mg1(0.8, 1.0, 2.0).Wq == pytest.approx(2.5 * 4.0)
    # Service mean 2 minutes, cv 0.5, 0.3 arrivals per minute: rho = 0.6,
    # Wq = 0.6 * 1.25 / (2 * 0.4) * 2 = 1.875.
    assert mg1(0.3, 2.0, 0.5).Wq == pytest.approx(1.875)


def test_cobham_two_classes_equal_service() -> None:
    # lambda = (0.4, 0.4), exponential service of mean 1: W0 = sum lambda E[S^2] / 2 = 0.8;
    # Wq1 = 0.8 / (1 - 0.4) = 4/3, Wq2 = 0.8 / ((1 - 0.4)(1 - 0.8)) = 20/3. Their mean, 4, is the
    # M/M/1 wait: the order of service does not change the mean wait when services are alike.
    m = mg1_priority([0.4, 0.4], [1.0, 1.0], [2.0, 2.0])
    assert [c.Wq for c in m.classes] == pytest.approx([4 / 3, 20 / 3])
    assert m.Wq == pytest.approx(mm1(0.8, 1.0).Wq)
    assert m.Lq == pytest.approx(mm1(0.8, 1.0).Lq)


def test_cobham_two_classes_different_service() -> None:
    # Class 1: lambda 0.2, E[S] 1, E[S^2] 2; class 2: lambda 0.3, E[S] 2, E[S^2] 8 (both
    # exponential). W0 = (0.2 * 2 + 0.3 * 8) / 2 = 1.4; sigma = (0.2, 0.8);
    # Wq1 = 1.4 / 0.8 = 1.75, Wq2 = 1.4 / (0.8 * 0.2) = 8.75.
    m = mg1_priority([0.2, 0.3], [1.0, 2.0], [2.0, 8.0])
    assert [c.Wq for c in m.classes] == pytest.approx([1.75, 8.75])
    assert [c.W for c in m.classes] == pytest.approx([2.75, 10.75])
    assert [c.Lq for c in m.classes] == pytest.approx([0.35, 2.625])
    # Kleinrock's conservation law: sum rho_k Wq_k = rho W0 / (1 - rho) = 0.8 * 1.4 / 0.2.
    assert pytest.approx(0.8 * 1.4 / 0.2) == 0.2 * 1.75 + 0.6 * 8.75
    assert m.Wq == pytest.approx((0.2 * 1.75 + 0.3 * 8.75) / 0.5)


def test_mmc_priority() -> None:
    # One class is plain Erlang C.
    assert mmc_priority([3.0], 1.0, 4).Wq == pytest.approx(mmc(3.0, 1.0, 4).Wq)
    # Several classes with one service rate: the arrival-weighted mean wait is Erlang C's.
    m = mmc_priority([0.5, 1.0, 1.5], 1.0, 4)
    assert m.Wq == pytest.approx(mmc(3.0, 1.0, 4).Wq)
    waits = [c.Wq for c in m.classes]
    assert waits == sorted(waits)  # higher priority waits less
    # Hand value: c = 2, mu = 1, lambda = (0.5, 1.0): a = 1.5, rho = 0.75,
    # C(2, 1.5) = 0.642857..., W0 = C / 2; Wq1 = W0 / 0.75, Wq2 = W0 / (0.75 * 0.25).
    w0 = erlang_c(2, 1.5) / 2
    assert erlang_c(2, 1.5) == pytest.approx(9 / 14)
    m2 = mmc_priority([0.5, 1.0], 1.0, 2)
    assert [c.Wq for c in m2.classes] == pytest.approx([w0 / 0.75, w0 / (0.75 * 0.25)])
    # With one server it agrees with Cobham's formula for exponential service.
    assert same(mmc_priority([0.3, 0.4], 2.0, 1), mg1_priority([0.3, 0.4], [0.5] * 2, [0.5] * 2))


def test_textbook_formula_picks_the_right_formula() -> None:
    assert same(textbook_formula(0.8, 1.0, 1), mm1(0.8, 1.0))
    assert same(textbook_formula(0.8, 1.0, 1, 0.0), md1(0.8, 1.0))
    assert same(textbook_formula(3.2, 1.0, 4), mmc(3.2, 1.0, 4))
    assert textbook_formula(3.2, 1.0, 4, 0.5) is None  # M/G/c: no exact formula
    assert textbook_formula(1.6, 1.0, 2, 2.0, [0.5, 0.5]) is None
    # cv = 2 and mean 1: E[S^2] = (1 + cv^2) E[S]^2 = 5.
    prio = textbook_formula(0.8, 1.0, 1, 2.0, [0.25, 0.75])
    assert same(prio, mg1_priority([0.2, 0.6], [1.0, 1.0], [5.0, 5.0]))
    assert same(textbook_formula(1.6, 1.0, 2, 1.0, [0.5, 0.5]), mmc_priority([0.8, 0.8], 1.0, 2))


def test_to_json_shape() -> None:
    assert set(mm1(0.5, 1.0).to_json()) == {"Wq", "W", "Lq", "L"}
    doc = mg1_priority([0.4, 0.4], [1.0, 1.0], [2.0, 2.0]).to_json()
    assert set(doc) == {"Wq", "W", "Lq", "L", "classes"}
    assert [set(c) for c in doc["classes"]] == [{"Wq", "W", "Lq", "L"}] * 2


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: mm1(1.0, 1.0), r"unstable: utilisation rho = 1 >= 1"),
        (lambda: mmc(4.5, 1.0, 4), r"M/M/4 is unstable"),
        (lambda: mg1(0.5, 2.5, 1.0), r"M/G/1 is unstable"),
        (lambda: mg1_priority([0.5, 0.6], [1, 1], [2, 2]), r"priority queue is unstable"),
        (lambda: mm1(-1.0, 1.0), r"arrival_rate must be a finite positive number"),
        (lambda: mm1(0.5, math.nan), r"service_rate must be a finite positive number"),
        (lambda: mmc(0.5, 1.0, 0), r"servers must be a whole number >= 1"),
        (lambda: mmc(0.5, 1.0, 2.5), r"servers must be a whole number >= 1"),  # type: ignore[arg-type]
        (lambda: mmc(0.5, 1.0, True), r"servers must be a whole number >= 1"),
        (lambda: mm1("1", 2.0), r"arrival_rate must be a number"),  # type: ignore[arg-type]
        (lambda: mg1(0.5, 1.0, -0.1), r"service_cv must be a finite number >= 0"),
        (lambda: mg1_priority([0.1], [1, 1], [2, 2]), r"one value per class"),
        (lambda: mg1_priority([], [], []), r"non-empty sequence"),
        (lambda: mg1_priority([0.1], [1.0], [0.5]), r"below service_means\[0\]\^2"),
        (lambda: textbook_formula(0.5, 1, 1, 1, [0.5, 0.4]), r"class_shares must add up to 1"),
        (lambda: textbook_formula(0.5, 1, 1, 1, [1.0, 0.0]), r"class_shares\[1\] must be"),
        (lambda: erlang_c(2, 2.0), r"M/M/2 is unstable"),
    ],
)
def test_invalid_input_raises_a_clear_value_error(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]
