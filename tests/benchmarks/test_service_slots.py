"""The slot-search benchmark runs against the service as it is (keys, limits and all)."""

from __future__ import annotations

from benchmarks.service_slots import bench
from tests.utils import SCENARIOS


def test_slot_search_benchmark_answers_every_query_with_offers() -> None:
    row = bench(SCENARIOS / "small-shop.yaml", 30, None, 1, False)
    assert row["queries"] == 30
    assert float(str(row["offers/query"])) > 0
    assert 0 < float(str(row["p50 ms"])) <= float(str(row["max ms"]))
