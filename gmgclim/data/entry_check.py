"""``gmgclim data check ENTRY``: what a recipe can use from a catalog entry, and what is wrong.

:func:`check_entry` opens the entry lazily, reads only a sample of frames (for the NaN share) and
reports channels, units, grid, time step, gaps and NaN share in a few lines, then each problem
found with its fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from gmgclim.errors import GmgclimError

if TYPE_CHECKING:
    from gmgclim.data.catalog_entry import CatalogEntry

__all__ = ["EntryCheck", "check_entry"]


@dataclass
class EntryCheck:
    """The result of :func:`check_entry`.

    Attributes
    ----------
    entry : str
        Entry name.
    lines : list of str
        What a recipe can use (channels, grid, time, NaN share), one fact per line.
    problems : list of (str, str)
        ``(what is wrong, how to fix it)``.
    """

    entry: str
    lines: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def format(self) -> str:
        """The report as text: the facts, then ``problem: ... / fix: ...`` pairs."""
        out = [f"{self.entry}:", *(f"  {line}" for line in self.lines)]
        if self.problems:
            out.append(f"  {len(self.problems)} problem(s):")
            for what, fix in self.problems:
                out.append(f"  - {what}")
                out.append(f"    fix: {fix}")
        else:
            out.append("  no problems found")
        return "\n".join(out)


def _grid_line(ds: xr.Dataset) -> str:
    from gmgclim.data.grid import grid_kind

    if grid_kind(ds) == "latlon":
        lat = np.asarray(ds["latitude"].values, np.float64)
        lon = np.asarray(ds["longitude"].values, np.float64)
        dlat = float(np.median(np.diff(lat))) if lat.size > 1 else float("nan")
        dlon = float(np.median(np.diff(lon))) if lon.size > 1 else float("nan")
        return (
            f"grid:      lat/lon {lat.size} x {lon.size}, spacing {dlat:g} x {dlon:g} deg, "
            f"latitude {lat.min():g}..{lat.max():g}, longitude {lon.min():g}..{lon.max():g}"
        )
    shape = f"{ds.sizes['y']} x {ds.sizes['x']}"
    spacing = ""
    if "x" in ds.coords and ds.sizes["x"] > 1 and ds.sizes["y"] > 1:
        dx = abs(float(np.median(np.diff(np.asarray(ds["x"].values, np.float64))))) / 1000.0
        dy = abs(float(np.median(np.diff(np.asarray(ds["y"].values, np.float64))))) / 1000.0
        spacing = f", spacing {dy:g} x {dx:g} km"
    mapping = ds["crs"].attrs.get("grid_mapping_name", "?") if "crs" in ds.variables else "none"
    return f"grid:      projected (y, x) {shape}{spacing}, grid mapping {mapping}"


def _time_lines(ds: xr.Dataset, declared: str | None, check: EntryCheck) -> None:
    if "time" not in ds.coords or ds.sizes.get("time", 0) == 0:
        check.problems.append(
            ("the data has no time axis", "a recipe needs a sequence of frames along 'time'")
        )
        return
    times = pd.to_datetime(np.asarray(ds["time"].values))
    if len(times) < 2:
        check.lines.append(f"time:      1 frame at {times[0]}")
        check.problems.append(
            ("only one frame", "a recipe needs input_steps + output_steps frames")
        )
        return
    diffs = np.diff(times.values).astype("timedelta64[ns]")
    step = pd.Timedelta(np.median(diffs.astype(np.int64)), "ns")
    gaps = diffs[diffs > step.to_timedelta64()]
    check.lines.append(
        f"time:      {len(times)} frames {times[0]} .. {times[-1]}, step {_step_text(step)}"
        + (f" ({len(gaps)} gaps, largest {pd.Timedelta(gaps.max())})" if gaps.size else ", no gaps")
    )
    if gaps.size:
        check.problems.append(
            (
                f"{len(gaps)} gaps in time (largest {pd.Timedelta(gaps.max())})",
                "windows that cross a gap are skipped; choose splits inside continuous periods",
            )
        )
    if declared:
        from gmgclim.config import parse_step

        try:
            declared_td = pd.Timedelta(parse_step(declared))
        except ValueError:
            declared_td = None
        if declared_td is not None and declared_td != step:
            check.problems.append(
                (
                    f"the catalog says time.step {declared} but the frames are "
                    f"{_step_text(step)} apart",
                    f"set time.step: {_step_text(step)} in the catalog (accumulation_to_rate uses "
                    "it as the accumulation period unless 'accumulation' is given)",
                )
            )
    check.lines.append(
        f"recipe:    data.step a multiple of {_step_text(step)}; splits within "
        f"{times[0]:%Y-%m-%dT%H:%M} .. {times[-1]:%Y-%m-%dT%H:%M}"
    )


def _step_text(step: pd.Timedelta) -> str:
    seconds = int(step.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _nan_share(ds: xr.Dataset, variable: str, sample_frames: int) -> float:
    da = ds[variable]
    if "time" in da.dims and da.sizes["time"] > sample_frames:
        index = np.unique(np.linspace(0, da.sizes["time"] - 1, sample_frames).round().astype(int))
        da = da.isel(time=index)
    values = np.asarray(da.values)
    return float((~np.isfinite(values)).mean()) if values.size else 1.0  # +-inf is no data too


def check_entry(
    name: str, catalogs: Sequence[str | Path] | None = None, sample_frames: int = 8
) -> EntryCheck:
    """Open an entry lazily and report what a recipe can use from it, and what is wrong.

    Parameters
    ----------
    name : str
        Catalog entry name.
    catalogs : sequence of path, optional
        Catalog files/directories instead of the search path.
    sample_frames : int
        Frames (evenly spaced) read to estimate the NaN share of each channel.

    Returns
    -------
    EntryCheck
        Never raises for data problems: they are listed with their fix. An unknown entry or a
        catalog that does not load raises (:class:`~gmgclim.errors.DataError`).
    """
    from gmgclim.data.catalog import get_entry, open_entry
    from gmgclim.data.channels import dataset_channel

    entry = get_entry(name, catalogs)
    check = EntryCheck(entry=name)
    check.lines.append(f"source:    {entry.driver} {entry.location}")
    try:
        ds = open_entry(name, catalogs=catalogs)
    except (GmgclimError, OSError, ValueError, KeyError, ImportError) as exc:
        text = str(exc).splitlines()[0]
        check.problems.append(
            (
                f"cannot open the data: {text}",
                getattr(exc, "hint", None)
                or f"fix the entry in {entry.catalog_file} (location, driver, options)",
            )
        )
        return check
    usable = []
    for spec in entry.channel_specs:
        try:
            channel = dataset_channel(ds, spec.name)
        except GmgclimError as exc:
            check.problems.append((f"channel {spec.name!r}: {exc}", "define it in the catalog"))
            continue
        if channel.variable not in ds.data_vars:
            check.problems.append(
                (
                    f"channel {spec.name!r} needs variable {channel.variable!r}, which the data "
                    f"lacks (it has {sorted(map(str, ds.data_vars))})",
                    f"map it in {entry.catalog_file}: channels: {{{spec.name}: {{source: NAME, "
                    "source_units: U, units: U}}",
                )
            )
            continue
        try:
            share = _nan_share(ds, channel.variable, sample_frames)
        except Exception as exc:  # a corrupt frame surfaces only when read
            check.problems.append(
                (f"channel {spec.name!r}: reading frames fails: {exc}", "check the files")
            )
            continue
        usable.append(spec.name)
        level = f" at {channel.level} hPa" if channel.level is not None else ""
        check.lines.append(
            f"channel:   {spec.name:<10} {channel.variable}{level} [{channel.units}] "
            f"{spec.describe_conversion()}; NaN/inf {100 * share:.1f}% "
            f"(of {min(sample_frames, ds.sizes.get('time', 1))} frames)"
        )
        if share >= 0.999:
            check.problems.append(
                (
                    f"channel {spec.name!r} is all NaN/inf in the sampled frames",
                    "check the source variable, its _FillValue and the time range",
                )
            )
        elif share > 0.5:
            check.problems.append(
                (
                    f"channel {spec.name!r} is {100 * share:.0f}% NaN/inf (outside coverage?)",
                    "crop the recipe's data.grid to the covered area (NaN/inf inputs are "
                    "filled with data.fill_nan, targets masked)",
                )
            )
    if not entry.channel_specs:
        check.problems.append(
            (
                "the entry names no channels",
                f"add channels to the entry in {entry.catalog_file} (lexicon names, or a "
                "mapping {NAME: {source: VAR, units: U}})",
            )
        )
    unmapped = [
        str(v)
        for v, da in ds.data_vars.items()
        if "gmgclim_channel" not in da.attrs
        and "grid_mapping_name" not in da.attrs
        and v not in {dataset_channel(ds, c).variable for c in usable}
        and da.ndim >= 2
    ]
    if unmapped:
        check.lines.append(f"unmapped:  {', '.join(unmapped)} (not served as channels)")
    check.lines.insert(1, f"channels:  {', '.join(usable) or '-'} (use in data.channels)")
    try:
        check.lines.insert(2, _grid_line(ds))
    except GmgclimError as exc:
        check.problems.append((str(exc), "see the catalog docs on grids"))
    _time_lines(ds, entry.time.get("step"), check)
    _static_lines(entry, check)
    return check


def _static_lines(entry: CatalogEntry, check: EntryCheck) -> None:
    """One line per static the entry declares, or the problem that reading it meets."""
    from gmgclim.data.catalog_statics import open_static

    for spec in entry.statics:
        try:
            field = open_static(entry, spec.name)
            values = np.asarray(field.values, np.float64)
        except (GmgclimError, OSError, ValueError, KeyError) as exc:
            check.problems.append(
                (
                    str(exc).splitlines()[0],  # names the catalog file, entry and static
                    getattr(exc, "hint", None)
                    or f"fix statics.{spec.name} in {entry.catalog_file} (location, variable)",
                )
            )
            continue
        finite = np.isfinite(values)
        span = f"{values[finite].min():g}..{values[finite].max():g}" if finite.any() else "all NaN"
        check.lines.append(
            f"static:    {spec.name:<10} {spec.variable} [{spec.units or '?'}] {span}; "
            f"NaN/inf {100 * (1 - finite.mean()):.1f}% (use in data.statics)"
        )
