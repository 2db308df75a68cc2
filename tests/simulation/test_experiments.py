"""Random-number streams, the replication runner and sequential precision."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from simulation.experiments import (
    ReplicationRunner,
    run_replications,
    run_until_precise,
    stream,
)
from simulation.textbook import QueueReplication, TextbookQueue


def noisy_measure(index: int) -> dict[str, float]:
    """A stand-in experiment: mean 10, standard deviation 2 per replication."""
    rng = stream(123, index, "noise")
    return {"x": float(rng.normal(10.0, 2.0)), "index": float(index)}


def test_streams_are_fixed_by_seed_replication_and_source() -> None:
    a = stream(1, 0, "arrivals").random(5)
    assert np.array_equal(a, stream(1, 0, "arrivals").random(5))
    others = [stream(2, 0, "arrivals"), stream(1, 1, "arrivals"), stream(1, 0, "service")]
    for other in others:
        assert not np.array_equal(a, other.random(5))


def test_stream_rejects_negative_seed() -> None:
    with pytest.raises(ValueError, match="seed must be a whole number >= 0"):
        stream(-1, 0, "arrivals")
    with pytest.raises(ValueError, match="replication must be a whole number >= 0"):
        stream(0, -2, "arrivals")


def test_runner_keeps_index_order_in_process() -> None:
    seen: list[int] = []
    rows = run_replications(noisy_measure, 5, workers=1)
    with ReplicationRunner(noisy_measure, workers=1) as runner:
        again = runner.run([4, 0, 2], on_result=lambda i, _: seen.append(i))
    assert [r["index"] for r in rows] == [0, 1, 2, 3, 4]
    assert seen == [4, 0, 2]
    assert [r["x"] for r in again] == [rows[4]["x"], rows[0]["x"], rows[2]["x"]]


def test_process_pool_gives_the_same_answers_as_in_process() -> None:
    queue = TextbookQueue(1.6, 1.0, 2)
    replicate = QueueReplication(queue, horizon=300.0, warmup=30.0, seed=5)
    here = run_replications(replicate, 4, workers=1)
    # in_process_below=0 forces the pool even for this tiny job.
    with ReplicationRunner(replicate, workers=2, in_process_below=0.0) as runner:
        pooled = runner.run(range(4))
        assert runner._owned is not None  # the pool really ran
    assert pooled == here


def test_missing_dask_gives_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    with pytest.raises(RuntimeError, match=r"needs Dask distributed.*pip install"):
        run_replications(noisy_measure, 3, cluster="tcp://127.0.0.1:1")


def test_run_until_precise_adds_replications_until_the_target() -> None:
    # Half-width ~ 1.96 * 2 / sqrt(n) <= 0.5 needs about n = 62.
    out = run_until_precise(noisy_measure, ["x"], 0.5, relative=False, initial=10, workers=1)
    assert out.reached
    assert out.intervals["x"].half_width <= 0.5
    assert 40 <= out.replications <= 120
    assert [r["index"] for r in out.rows] == list(range(out.replications))
    # Relative target: 0.5 / 10 = 5%.
    rel = run_until_precise(noisy_measure, ["x"], 0.05, initial=10, workers=1)
    assert rel.reached and rel.intervals["x"].relative_half_width <= 0.05


def test_run_until_precise_stops_at_the_maximum() -> None:
    out = run_until_precise(noisy_measure, ["x"], 0.01, relative=False, max_replications=25)
    assert not out.reached
    assert out.replications == 25


def test_run_until_precise_rejects_bad_targets() -> None:
    with pytest.raises(ValueError, match="target half-width must be a positive number"):
        run_until_precise(noisy_measure, ["x"], 0.0)
    with pytest.raises(ValueError, match="at least one measure"):
        run_until_precise(noisy_measure, [], 0.1)


@pytest.mark.slow
def test_dask_cluster_gives_the_same_answers() -> None:
    distributed = pytest.importorskip("distributed")
    queue = TextbookQueue(1.6, 1.0, 2)
    replicate = QueueReplication(queue, horizon=300.0, warmup=30.0, seed=5)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster:
        remote = run_replications(replicate, 4, cluster=cluster.scheduler_address)
    assert remote == run_replications(replicate, 4, workers=1)
