"""Animations of a forecast next to the truth, one frame per lead time (GIF or MP4)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from gmgclim.plotting._cartopy import check_resolution, configure_cartopy_offline
from gmgclim.plotting.maps import draw_field, field_label, forecast_frames, lead_label


def animate_forecast(
    forecast: xr.Dataset | xr.DataArray,
    truth: xr.Dataset | xr.DataArray,
    variable: str,
    init_time,
    path: str | Path,
    lead_times: Sequence | None = None,
    level: int | None = None,
    projection: str = "auto",
    resolution: str = "110m",
    cmap: str = "viridis",
    fps: float = 2.0,
    dpi: int = 90,
) -> Path:
    """Animate truth (left) and forecast (right) over the lead times of one init time.

    Parameters
    ----------
    forecast, truth, variable, init_time, lead_times, level, projection, resolution, cmap
        As in :func:`gmgclim.plotting.maps.plot_forecast_maps`.
    path : str or Path
        ``.gif`` (Pillow) or ``.mp4`` (needs ffmpeg on PATH).
    fps : float
        Frames (lead times) per second.
    dpi : int
        Frame resolution.

    Returns
    -------
    Path
        ``path``.
    """
    from gmgclim.plotting._pyplot import pyplot

    plt = pyplot()
    from matplotlib import animation

    configure_cartopy_offline()
    check_resolution(resolution)
    path = Path(path)
    suffix = path.suffix.lower()
    writer: animation.AbstractMovieWriter
    # matplotlib's stubs ask an int fps; the writers take any positive number (0.5 = 2 s a frame)
    if suffix == ".gif":
        writer = animation.PillowWriter(fps=fps)  # type: ignore[arg-type]
    elif suffix == ".mp4":
        if not animation.FFMpegWriter.isAvailable():
            raise RuntimeError("MP4 needs ffmpeg on PATH; write a .gif instead")
        writer = animation.FFMpegWriter(fps=fps)  # type: ignore[arg-type]
    else:
        raise ValueError(f"animation path must end in .gif or .mp4, got {path.name!r}")
    frames = forecast_frames(forecast, truth, variable, init_time, lead_times, level, projection)
    leads, fcs, fields, obs = frames.leads, frames.forecasts, frames.fields, frames.observed
    geometry, (vmin, vmax), dry = frames.geometry, frames.limits, frames.dry
    panel_w = 4.2
    panel_h = float(np.clip(panel_w * geometry.aspect, 1.8, 5.0))
    fig = plt.figure(figsize=(2 * panel_w + 0.4, panel_h + 1.4))
    height = fig.get_figheight()
    grid = fig.add_gridspec(
        2,
        2,
        height_ratios=[panel_h, 0.12],
        hspace=0.25,
        wspace=0.05,
        left=0.03,
        right=0.97,
        top=1 - 0.6 / height,
        bottom=0.6 / height,
    )
    ax_truth = fig.add_subplot(grid[0, 0], projection=geometry.projection)
    ax_fc = fig.add_subplot(grid[0, 1], projection=geometry.projection)
    cax = fig.add_subplot(grid[1, :])
    init = np.datetime64(pd.Timestamp(init_time), "ns")
    nan_field = np.full_like(fields[0], np.nan)
    style = {"cmap": cmap, "vmin": vmin, "vmax": vmax}
    first_truth = obs[0] if obs[0] is not None else nan_field
    mesh_truth = draw_field(ax_truth, geometry, first_truth, resolution, dry, **style)
    mesh_fc = draw_field(ax_fc, geometry, fields[0], resolution, dry, **style)
    label = field_label(fcs[0], variable)
    if dry is not None:
        label += f", transparent below {dry:g} (grey: covered, dry)"
    fig.colorbar(
        mesh_fc,
        cax=cax,
        orientation="horizontal",
        label=label,
        extend="max" if dry is not None else "both",
    )
    title = fig.suptitle("", fontsize=11)

    def _flat(values: np.ndarray) -> np.ndarray:
        if geometry.y_edges[0] > geometry.y_edges[-1]:
            values = values[::-1]
        if dry is not None:
            values = np.where(values >= dry, values, np.nan)
        return np.ma.masked_invalid(values).ravel()

    path.parent.mkdir(parents=True, exist_ok=True)
    with writer.saving(fig, str(path), dpi=dpi):
        for k, lead in enumerate(leads):
            observed = obs[k]
            mesh_truth.set_array(_flat(observed if observed is not None else nan_field))
            mesh_fc.set_array(_flat(fields[k]))
            valid = pd.Timestamp(init + lead).strftime("%Y-%m-%d %H:%M UTC")
            ax_truth.set_title("truth" if obs[k] is not None else "truth (missing)", fontsize=9)
            ax_fc.set_title(f"forecast {lead_label(lead)}", fontsize=9)
            title.set_text(f"{variable}: valid {valid}")
            writer.grab_frame()
    plt.close(fig)
    return path
