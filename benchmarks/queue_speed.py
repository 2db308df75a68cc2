"""Simulated customers per second: our SimPy textbook queue against Ciw, on the same M/M/c.

Run:  .venv/bin/python benchmarks/queue_speed.py [--servers 4] [--rho 0.8] [--horizon 20000]
      [--runs 5]

Needs Ciw (``pip install -e '.[bench]'``). Every engine runs in this one process, one after the
other, on the same M/M/c (service rate 1, arrival rate ``rho * c``) up to the same simulated
time; the rate is the number of customers that completed service divided by the wall time of the
whole run, input sampling included, per wall-clock second and per CPU second of this process
(immune to other load on the machine). The median over ``--runs`` runs is reported. Three engines:

- ``ours``: :func:`simulation.textbook.simulate_queue`, the engine behind ``workshop queue``;
- ``simpy, process per car``: the same SimPy resource driven by one generator process per car
  (the ``with servers.request() as req: yield req`` form of STYLE.md rule 10), to show what the
  callback design of ``simulation/textbook.py`` buys;
- ``ciw``: Ciw's ``Simulation.simulate_until_max_time``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import simpy

from simulation.experiments import stream
from simulation.textbook import TextbookQueue, simulate_queue

Engine = Callable[[float, int, float, int], int]
"""``engine(arrival_rate, servers, horizon, seed) -> customers served``."""


def ours(arrival_rate: float, servers: int, horizon: float, seed: int) -> int:
    """Cars served by the ``workshop queue`` engine in one run."""
    queue = TextbookQueue(arrival_rate, 1.0, servers)
    return simulate_queue(queue, horizon=horizon, seed=seed).served


def simpy_process_per_car(arrival_rate: float, servers: int, horizon: float, seed: int) -> int:
    """Cars served by the textbook SimPy form: one generator process per car."""
    n = int(arrival_rate * horizon * 1.1) + 100
    gaps = stream(seed, 0, "arrivals").exponential(1.0 / arrival_rate, n).tolist()
    service = stream(seed, 0, "service").exponential(1.0, n).tolist()
    env = simpy.Environment()
    lifts = simpy.PriorityResource(env, capacity=servers)
    # The same record row per car as the callback engine keeps, so the comparison is fair.
    arrival = [np.nan] * n
    service_start = [np.nan] * n
    departure = [np.nan] * n
    served = 0

    def car_is_serviced(car: int) -> Generator[simpy.Event, Any, None]:
        nonlocal served
        arrival[car] = env.now
        with lifts.request(priority=0) as lift:
            yield lift
            service_start[car] = env.now
            yield env.timeout(service[car])
        departure[car] = env.now
        served += 1

    def cars_arrive() -> Generator[simpy.Event, Any, None]:
        for car in range(n):
            yield env.timeout(gaps[car])
            env.process(car_is_serviced(car))

    env.process(cars_arrive())
    env.run(until=horizon)
    return served


def ciw_engine(arrival_rate: float, servers: int, horizon: float, seed: int) -> int:
    """Cars served by Ciw in one run."""
    import ciw

    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(arrival_rate)],
        service_distributions=[ciw.dists.Exponential(1.0)],
        number_of_servers=[servers],
    )
    ciw.seed(seed)  # Ciw draws from a global generator; we cannot pass one in
    sim = ciw.Simulation(network)
    sim.simulate_until_max_time(horizon)
    return len(sim.get_all_records())


def measure(
    engines: list[tuple[str, Engine]],
    arrival_rate: float,
    servers: int,
    horizon: float,
    runs: int,
) -> dict[str, tuple[float, float, int]]:
    """Median customers per wall second and per CPU second, and customers per run, by engine.

    The engines take turns run by run, so a change in the machine's load (other processes)
    affects them alike; CPU seconds are immune to it, wall seconds are what a user waits.
    """
    wall: dict[str, list[float]] = {name: [] for name, _ in engines}
    cpu: dict[str, list[float]] = {name: [] for name, _ in engines}
    counts: dict[str, list[int]] = {name: [] for name, _ in engines}
    for seed in range(runs):
        for name, engine in engines:
            start, start_cpu = time.perf_counter(), time.process_time()
            count = engine(arrival_rate, servers, horizon, seed)
            wall[name].append(count / (time.perf_counter() - start))
            cpu[name].append(count / max(time.process_time() - start_cpu, 1e-9))
            counts[name].append(count)
    return {
        name: (
            statistics.median(wall[name]),
            statistics.median(cpu[name]),
            int(statistics.median(counts[name])),
        )
        for name, _ in engines
    }


def main(argv: list[str] | None = None) -> int:
    """Print customers per second of each engine and the ratio to Ciw."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=4)
    parser.add_argument("--rho", type=float, default=0.8)
    parser.add_argument("--horizon", type=float, default=20_000.0)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    try:
        import ciw
    except ImportError:
        print("Ciw is not installed: pip install -e '.[bench]'", file=sys.stderr)
        return 1
    rate = args.rho * args.servers
    print(
        f"M/M/{args.servers}, rho = {args.rho}, service rate 1, horizon {args.horizon:g}, "
        f"median of {args.runs} runs, one process (numpy {np.__version__}, "
        f"simpy {simpy.__version__}, ciw {ciw.__version__})"
    )
    engines: list[tuple[str, Engine]] = [
        ("ours (workshop queue)", ours),
        ("simpy, process per car", simpy_process_per_car),
        ("ciw", ciw_engine),
    ]
    results = measure(engines, rate, args.servers, args.horizon, args.runs)
    ciw_wall, ciw_cpu, _ = results["ciw"]
    print(
        f"{'engine':<24}{'customers/run':>15}{'per wall s':>12}{'per CPU s':>12}"
        f"{'vs ciw (wall)':>15}{'vs ciw (CPU)':>14}"
    )
    for name, (per_wall, per_cpu, count) in results.items():
        print(
            f"{name:<24}{count:>15,}{per_wall:>12,.0f}{per_cpu:>12,.0f}"
            f"{per_wall / ciw_wall:>14.2f}x{per_cpu / ciw_cpu:>13.2f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
