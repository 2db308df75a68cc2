"""Simulation services: the textbook queue and what-if scenarios. The CLI calls these.

They take plain arguments, call the simulation engine and hand back its results, turning
invalid input into :class:`api.services.errors.ServiceError` with one clear sentence. Where the
replications run is decided here: a Dask scheduler given with ``--cluster`` or the
``WORKSHOP_DASK_ADDRESS`` setting, else a local process pool.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.services.errors import ServiceError
from simulation.outcomes import KPI_LABELS
from simulation.scenario import load_scenario
from simulation.textbook import queue_report
from simulation.whatif import ProgressCallback, WhatIfResult, run_whatif


class SimulationSettings(BaseSettings):
    """Where simulation replications run, read from ``WORKSHOP_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="WORKSHOP_", extra="ignore")

    dask_address: str | None = Field(
        default=None,
        description="Address of a Dask scheduler (tcp://host:8786) to run replications on; "
        "unset runs them on a local process pool.",
    )


class SimulationInputError(ServiceError):
    """Simulation input the engine refused (a count, a rate, a key figure name)."""

    type = "invalid-simulation-input"
    title = "Invalid simulation input"


def cluster_address(option: str | None) -> str | None:
    """The Dask scheduler to use: ``option`` if given, else ``WORKSHOP_DASK_ADDRESS``, else
    ``None`` for the local process pool. An empty option means the local pool."""
    if option is not None:
        return option.strip() or None
    return SimulationSettings().dask_address or None


def parse_class_shares(text: str | None) -> list[float] | None:
    """``"0.3,0.7"`` as ``[0.3, 0.7]``; ``None`` stays ``None``.

    Raises
    ------
    SimulationInputError
        If a share is not a number.
    """
    if text is None:
        return None
    shares = []
    for part in text.split(","):
        try:
            value = float(part.strip())
        except ValueError:
            raise SimulationInputError(
                f"--class-shares must be numbers separated by commas, e.g. 0.3,0.7; got {text!r}",
                field="class_shares",
            ) from None
        shares.append(value)
    return shares


def textbook_queue(
    *,
    arrival_rate: float,
    service_rate: float,
    servers: int,
    service_cv: float = 1.0,
    class_shares: Sequence[float] | None = None,
    replications: int = 30,
    horizon: float | None = None,
    warmup: float | None = None,
    seed: int = 0,
    workers: int | None = None,
    cluster: str | None = None,
) -> dict[str, Any]:
    """Simulate a textbook queue and set it beside theory (``workshop queue``).

    Returns the DESIGN.md document ``{"analytic": {...}, "simulated": {...}}`` of
    :func:`simulation.textbook.queue_report`.

    Raises
    ------
    SimulationInputError
        For any invalid input or an unstable queue, with the engine's one-line reason.
    """
    try:
        return queue_report(
            arrival_rate,
            service_rate,
            servers,
            service_cv=service_cv,
            class_shares=class_shares,
            replications=replications,
            horizon=horizon,
            warmup=warmup,
            seed=seed,
            workers=workers,
            cluster=cluster,
        )
    except ValueError as exc:
        raise SimulationInputError(str(exc)) from exc


def whatif(
    scenario_path: Path,
    *,
    replications: int | None = None,
    seed: int | None = None,
    precision: float | None = None,
    precision_kpis: Sequence[str] = ("waiter_mean_wait",),
    max_replications: int = 1000,
    workers: int | None = None,
    cluster: str | None = None,
    on_progress: ProgressCallback | None = None,
) -> WhatIfResult:
    """Read a what-if scenario file and run it (``workshop whatif``).

    Parameters are those of :func:`simulation.whatif.run_whatif`.

    Raises
    ------
    simulation.scenario.ScenarioError
        For a malformed scenario file (each problem with file, line and field).
    scheduler.io.DayFileError
        For problems in its base day file.
    SimulationInputError
        For invalid counts, seeds, targets or key-figure names.
    """
    scenario = load_scenario(scenario_path)
    try:
        return run_whatif(
            scenario,
            replications=replications,
            seed=seed,
            precision=precision,
            precision_kpis=precision_kpis,
            max_replications=max_replications,
            workers=workers,
            cluster=cluster,
            on_progress=on_progress,
        )
    except ValueError as exc:
        raise SimulationInputError(str(exc)) from exc


def write_whatif_plot(result: WhatIfResult, path: Path) -> None:
    """Write a self-contained HTML chart of a what-if (plotly.js inlined, works offline).

    One row per key figure: on the left the base and the variant, each mean with its 95%
    interval; on the right their paired difference with its interval and a line at zero, in
    the figure's own unit.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    rows = len(result.comparisons)
    fig = make_subplots(
        rows=rows,
        cols=2,
        column_titles=["base and variant (95% interval)", "difference variant - base"],
        row_titles=[KPI_LABELS[c.kpi] for c in result.comparisons],
        horizontal_spacing=0.12,
        vertical_spacing=0.03,
    )
    for i, c in enumerate(result.comparisons, start=1):
        for side, interval, color in (
            ("base", c.base, "#7f7f7f"),
            ("variant", c.variant, "#1f77b4"),
        ):
            fig.add_trace(
                go.Scatter(
                    x=[interval.mean],
                    y=[side],
                    mode="markers",
                    marker={"color": color, "size": 9},
                    error_x={
                        "type": "data",
                        "symmetric": False,
                        "array": [interval.high - interval.mean],
                        "arrayminus": [interval.mean - interval.low],
                    },
                    name=side,
                    showlegend=False,
                    hovertemplate=f"{side}: %{{x:.4g}} [{interval.low:.4g}, {interval.high:.4g}]"
                    "<extra></extra>",
                ),
                row=i,
                col=1,
            )
        d = c.difference
        color = "#d62728" if c.significant else "#7f7f7f"
        fig.add_trace(
            go.Scatter(
                x=[d.mean],
                y=["difference"],
                mode="markers",
                marker={"color": color, "size": 10, "symbol": "diamond"},
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": [d.high - d.mean],
                    "arrayminus": [d.mean - d.low],
                },
                showlegend=False,
                hovertemplate=f"difference %{{x:.4g}} [{d.low:.4g}, {d.high:.4g}]"
                + (" (significant)" if c.significant else "")
                + "<extra></extra>",
            ),
            row=i,
            col=2,
        )
        fig.add_vline(x=0, line={"color": "black", "width": 1, "dash": "dot"}, row=i, col=2)
    s = result.scenario
    fig.update_layout(
        title=f"What if: {s.name} ({result.replications} paired replications, seed "
        f"{result.seed})<br><sup>{'; '.join(s.changes)}</sup>",
        height=140 * rows + 120,
        width=1000,
        template="plotly_white",
        margin={"l": 80, "r": 200},
    )
    fig.for_each_annotation(lambda a: a.update(textangle=0, xanchor="left", font={"size": 11}))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.write_html(path, include_plotlyjs=True, full_html=True)


def variance_reduction(result: WhatIfResult) -> float:
    """Geometric mean over the key figures of (unpaired / paired half-width) squared: how many
    times fewer replications common random numbers need for the same interval widths.
    Figures with no spread at all are left out; 1.0 when none is left."""
    gains = [
        c.variance_reduction
        for c in result.comparisons
        if c.difference.half_width > 0 and math.isfinite(c.variance_reduction)
    ]
    if not gains:
        return 1.0
    return math.exp(sum(math.log(g) for g in gains) / len(gains))
