"""Skill curves: each score against lead time, the model next to its baselines.

Panels come from :func:`gmgclim.metrics.iter_scores` (one per variable and metric, categorical
scores one line per threshold and scale); which values are better comes from the metric registry.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from gmgclim.conventions import LEAD_DIM
from gmgclim.errors import DataError
from gmgclim.metrics.alignment import lead_hours
from gmgclim.metrics.registry import resolve_metric
from gmgclim.metrics.score_tables import iter_scores


def plot_skill_curves(
    scores: xr.Dataset,
    path: str | Path,
    variables: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    level: int | None = None,
    dpi: int = 110,
) -> Path:
    """Plot every score against lead time, one panel per variable and metric.

    Parameters
    ----------
    scores : xr.Dataset
        From :func:`gmgclim.metrics.score_forecast` or ``score_with_baselines`` (with a ``model``
        dim: the first model is drawn solid, baselines dashed).
    path : str or Path
        Output image.
    variables, metrics : sequence of str, optional
        Subsets to plot (default all).
    level : int, optional
        Pressure level to plot when the scores have a ``level`` dim (default: one line per level).
    dpi : int
        Dots per inch of the saved figure.

    Returns
    -------
    Path
        The written image (``path``).
    """
    from gmgclim.plotting._pyplot import pyplot

    plt = pyplot()

    if level is not None and "level" in scores.dims:
        scores = scores.sel(level=level)
    panels = list(iter_scores(scores, variables, metrics))
    if not panels:
        raise DataError(
            f"nothing to plot: no scores for variables={variables} metrics={metrics} "
            f"(have {list(scores.data_vars)})"
        )
    hours = lead_hours(scores[LEAD_DIM].values)
    minutes = hours.max() <= 3
    x = hours * 60 if minutes else hours
    n = len(panels)
    ncols = min(3, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.4 * ncols, 3.3 * nrows), squeeze=False)
    models = [str(m) for m in scores["model"].values] if "model" in scores.dims else [None]
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (variable, metric, da) in zip(axes.ravel(), panels, strict=False):
        extra = [d for d in da.dims if d not in (LEAD_DIM, "model")]
        stacked = da.stack(_line=extra) if extra else da.expand_dims(_line=[0])
        lines = stacked["_line"].values
        for i, model in enumerate(models):
            sub = stacked if model is None else stacked.sel(model=model)
            for k, line in enumerate(lines):
                y = sub.isel(_line=k).transpose(LEAD_DIM).values
                parts = [] if model is None else [model]
                if extra:
                    values = line if isinstance(line, tuple) else (line,)
                    parts += [f"{d}={v:g}" for d, v in zip(extra, values, strict=True)]
                ax.plot(
                    x,
                    y,
                    marker="o",
                    markersize=3,
                    color=colours[(k if len(lines) > 1 else i) % len(colours)],
                    linestyle="-" if i == 0 else ("--", ":", "-.")[(i - 1) % 3],
                    label=", ".join(parts) or None,
                )
        units = str(da.attrs.get("units", "")).replace(")2", ")²")
        better = resolve_metric(metric, str(scores.attrs.get("convention", "wb2"))).better
        ax.set_title(
            f"{variable}: {metric}" + (f" ({better} is better)" if better != "zero" else ""),
            fontsize=10,
        )
        ax.set_xlabel("lead time [min]" if minutes else "lead time [h]")
        ax.set_ylabel(f"{metric} [{units}]" if units and units != "1" else metric)
        if better == "zero":
            ax.axhline(0.0, color="0.5", linewidth=0.8)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7 if len(lines) * len(models) <= 4 else 6, frameon=False)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
