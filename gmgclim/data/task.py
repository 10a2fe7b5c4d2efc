"""The typed task: what a model forecasts, from which data, on which grid.

A :class:`Task` is the data half of a trained model (the architecture config is the other half); both
travel in every checkpoint and in the attributes of every forecast store, so a checkpoint can be used
without the recipe that made it. It is frozen and holds only plain values, so ``to_dict`` gives JSON.

Fields
------
entry, channels, step, input_steps, output_steps
    Catalog entry, lexicon short names in tensor channel order, time between frames (``"6h"``),
    frames in and out.
grid
    :class:`GridSpec`: crop / coarsen / regrid applied to the entry after reading.
splits
    ``{name: (start, end)}`` as written in the recipe (inclusive labels, ``"2019"`` covers the year).
spatial_dims, height, width, latitude, longitude
    Filled in once the data is opened (:meth:`Task.with_grid`): the model's grid.
fill_nan
    Normalised value that replaces NaN in inputs.
forcings, statics
    Names of known-in-advance input channels (time of day, insolation ...) and per-pixel constant
    inputs (land-sea mask, latitude ...): read by the model, never predicted.
crop
    (h, w) of the random training crops, or None (provenance; forecasts use the whole grid).
residual, transform
    Target baseline (``"none"``, ``"persistence"``, ``"daily_persistence"``, ``"diurnal"``:
    persistence plus the train split's mean diurnal change, :mod:`gmgclim.data.diurnal`, or
    ``"extrapolation"``) and target transform name (``"none"``, ``"log1p"`` ...): what the network
    predicts relative to, and in which space.
diurnal_scaling
    ``"insolation"``: the mean day of ``residual: diurnal`` scaled by the season's sunshine;
    ``"inputs"``: by the swing of each window's input frames.
probability_matching
    ``"cdf"``: each forecast frame's precipitation takes the last input frame's values in the
    forecast's rank order (:mod:`gmgclim.inference.probability_matching`); ``"none"``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from gmgclim.config import parse_step
from gmgclim.errors import DataError

if TYPE_CHECKING:
    from gmgclim.data.diurnal import InsolationScale

__all__ = ["PROBABILITY_MATCHINGS", "RESIDUALS", "GridSpec", "Task", "open_task_data"]

#: What a model's forecast frames are the change from (``data.residual``).
RESIDUALS = ("none", "persistence", "daily_persistence", "diurnal", "extrapolation")
#: What a forecast's precipitation values are matched to (``data.probability_matching``):
#: ``"cdf"``, the last input frame's distribution (:mod:`gmgclim.inference.probability_matching`).
PROBABILITY_MATCHINGS = ("none", "cdf")


@dataclass(frozen=True)
class GridSpec:
    """Grid operations applied to an entry after reading, in this order: regrid, crop, coarsen.

    Attributes
    ----------
    target_grid : tuple of int or None
        ``(n_latitude, n_longitude)`` of a regular global grid to interpolate to.
    crop : tuple of (dim, start, stop)
        Index ranges (stop exclusive).
    coarsen : tuple of (dim, factor)
        Block means (NaN ignored, a remainder trimmed).
    """

    target_grid: tuple[int, int] | None = None
    crop: tuple[tuple[str, int, int], ...] = ()
    coarsen: tuple[tuple[str, int], ...] = ()

    @classmethod
    def from_dict(cls, grid: Mapping[str, Any] | None) -> GridSpec:
        """From a recipe's ``data.grid`` (``{"crop": {dim: [a, b]}, "coarsen": {dim: f}}``)."""
        grid = dict(grid or {})
        unknown = set(grid) - {"target_grid", "crop", "coarsen"}
        if unknown:
            raise DataError(
                f"grid has unknown keys {sorted(unknown)}; expected target_grid, crop, coarsen"
            )
        target = grid.get("target_grid")
        return cls(
            target_grid=None if not target else (int(target[0]), int(target[1])),
            crop=tuple((str(d), int(a), int(b)) for d, (a, b) in (grid.get("crop") or {}).items()),
            coarsen=tuple((str(d), int(f)) for d, f in (grid.get("coarsen") or {}).items()),
        )

    @classmethod
    def parse(cls, crop: str | None = None, coarsen: str | None = None) -> GridSpec:
        """From command-line text: ``crop="y=0:512,x=100:612"``, ``coarsen="y=4,x=4"``.

        Raises
        ------
        DataError
            Text that is not ``dim=start:stop`` / ``dim=factor`` pairs, naming the option.
        """

        def pairs(text: str | None, option: str) -> list[tuple[str, str]]:
            out = []
            for item in (text or "").split(","):
                if not item.strip():
                    continue
                dim, sep, value = item.partition("=")
                if not sep or not dim.strip():
                    raise DataError(f"{option} {text!r}: expected dim=value pairs, e.g. y=0:512")
                out.append((dim.strip(), value.strip()))
            return out

        try:
            crop_ops = tuple(
                (d, int(v.split(":")[0]), int(v.split(":")[1])) for d, v in pairs(crop, "--crop")
            )
            coarsen_ops = tuple((d, int(v)) for d, v in pairs(coarsen, "--coarsen"))
        except (ValueError, IndexError):
            raise DataError(
                f"--crop {crop!r} / --coarsen {coarsen!r}: expected y=START:STOP and y=FACTOR "
                "with integers"
            ) from None
        return cls(crop=crop_ops, coarsen=coarsen_ops)

    def entry_options(self) -> dict[str, Any]:
        """The catalog entry options that read an entry for this grid: ``regrid`` to ``target_grid``.

        Passed to :func:`gmgclim.data.catalog.open_entry` / ``open_native`` before
        :func:`gmgclim.data.grid.apply_grid` does the crop and coarsen.
        """
        if self.target_grid is None:
            return {}
        return {"regrid": {"shape": self.target_grid}}

    def to_dict(self) -> dict[str, Any]:
        """The recipe form (JSON-able); empty operations are ``None``."""
        return {
            "target_grid": None if self.target_grid is None else list(self.target_grid),
            "crop": {d: [a, b] for d, a, b in self.crop} or None,
            "coarsen": {d: f for d, f in self.coarsen} or None,
        }


def _tuple_or_none(values: Sequence[Any] | None, kind: type) -> tuple[Any, ...] | None:
    return None if values is None else tuple(kind(v) for v in values)


@dataclass(frozen=True)
class Task:
    """What a model forecasts; see the module docstring for the fields."""

    entry: str
    channels: tuple[str, ...]
    step: str
    input_steps: int
    output_steps: int
    grid: GridSpec = field(default_factory=GridSpec)
    splits: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    fill_nan: float = 0.0
    spatial_dims: tuple[str, str] | None = None
    height: int | None = None
    width: int | None = None
    latitude: tuple[float, ...] | None = None
    longitude: tuple[float, ...] | None = None
    forcings: tuple[str, ...] = ()
    statics: tuple[str, ...] = ()
    residual: str = "none"
    transform: str = "none"
    crop: tuple[int, int] | None = None
    diurnal_scaling: str = "none"
    probability_matching: str = "none"

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(str(c) for c in self.channels))
        object.__setattr__(self, "forcings", tuple(str(c) for c in self.forcings))
        object.__setattr__(self, "statics", tuple(str(c) for c in self.statics))
        if not self.channels:
            raise DataError("a task needs at least one channel")
        if self.input_steps < 1 or self.output_steps < 1:
            raise DataError(
                f"input_steps and output_steps must be >= 1, got {self.input_steps}, {self.output_steps}"
            )
        parse_step(self.step, "task step")
        from gmgclim.data.forcings import check_forcing_names
        from gmgclim.data.statics import check_static_names
        from gmgclim.data.transforms import check_transform

        check_forcing_names(self.forcings)
        check_static_names(self.statics, entry=self.entry)
        check_transform(self.transform)
        if self.residual not in RESIDUALS:
            raise DataError(f"data.residual must be one of {RESIDUALS}, got {self.residual!r}")
        if self.residual == "daily_persistence":
            self._check_daily_lag()
        if self.residual == "diurnal":
            from gmgclim.data.diurnal import check_diurnal_step

            check_diurnal_step(parse_step(self.step, "task step"), self.step)
        from gmgclim.data.diurnal import DIURNAL_SCALINGS

        if self.diurnal_scaling not in DIURNAL_SCALINGS:
            raise DataError(
                f"data.diurnal_scaling must be one of {DIURNAL_SCALINGS}, got {self.diurnal_scaling!r}"
            )
        if self.diurnal_scaling != "none" and self.residual != "diurnal":
            raise DataError(
                f"data.diurnal_scaling: {self.diurnal_scaling} needs residual: diurnal, got "
                f"{self.residual!r}"
            )
        self._check_probability_matching()
        if self.crop is not None:
            object.__setattr__(self, "crop", (int(self.crop[0]), int(self.crop[1])))

    # -- derived ------------------------------------------------------------------------------

    @property
    def step_timedelta(self) -> np.timedelta64:
        """Time between frames, ``timedelta64[ns]``."""
        return parse_step(self.step, "task step")

    @property
    def lead_times(self) -> np.ndarray:
        """``step * 1 .. step * output_steps``, ``timedelta64[ns]``, shape (T_out,)."""
        return (np.arange(1, self.output_steps + 1) * self.step_timedelta).astype("timedelta64[ns]")

    @property
    def is_latlon(self) -> bool:
        """True on a latitude/longitude grid (latitude weights apply)."""
        return self.spatial_dims == ("latitude", "longitude")

    def _check_daily_lag(self) -> None:
        day, step = np.timedelta64(1, "D"), parse_step(self.step)
        if day % step or day // step > self.input_steps:
            raise DataError(
                f"data.residual: daily_persistence needs a step that divides one day and "
                f"input_steps covering a day; got step {self.step} and {self.input_steps} input "
                "steps",
                hint=f"use input_steps >= {day // step} or residual: persistence"
                if not day % step
                else "use residual: persistence",
            )

    def _check_probability_matching(self) -> None:
        if self.probability_matching not in PROBABILITY_MATCHINGS:
            raise DataError(
                f"data.probability_matching must be one of {PROBABILITY_MATCHINGS}, got "
                f"{self.probability_matching!r}"
            )
        if self.probability_matching != "none" and not self.precipitation_channels:
            raise DataError(
                f"data.probability_matching: {self.probability_matching} matches precipitation "
                f"forecasts to the last observed field, but channels {list(self.channels)} hold "
                "no precipitation",
                hint="use probability_matching: none",
            )

    @property
    def precipitation_channels(self) -> list[int]:
        """Positions of the precipitation channels (never negative; probability matched)."""
        from gmgclim.data.channels import is_precipitation_channel

        return [i for i, name in enumerate(self.channels) if is_precipitation_channel(name)]

    def diurnal_scale(self) -> InsolationScale | None:
        """The :class:`gmgclim.data.diurnal.InsolationScale` of ``diurnal_scaling: insolation``
        on this grid's rows, or None.

        Raises
        ------
        DataError
            The grid has no latitude rows (a radar grid), or the task no train split.
        """
        if self.diurnal_scaling != "insolation":  # none, or inputs: a factor per window
            return None
        from gmgclim.data.diurnal import InsolationScale as _Scale

        if self.latitude is None or "train" not in self.splits:
            raise DataError(
                f"data.diurnal_scaling: {self.diurnal_scaling} needs a latitude/longitude grid "
                f"and a train split; this task has spatial dims {self.spatial_dims} and splits "
                f"{sorted(self.splits)}",
                hint="use diurnal_scaling: none on projected (radar) grids",
            )
        start, end = self.split_bounds("train")
        return _Scale(self.latitude, start, end)

    @property
    def residual_lag(self) -> int:
        """Frames between a forecast frame and its residual reference (1: persistence)."""
        if self.residual == "daily_persistence":
            return int(np.timedelta64(1, "D") // parse_step(self.step))
        return 1

    @property
    def context_channels(self) -> int:
        """K, the forcings and statics a model of this task reads besides its channels."""
        return len(self.forcings) + len(self.statics)

    @property
    def shape(self) -> tuple[int, int] | None:
        """``(height, width)`` once known."""
        return None if self.height is None or self.width is None else (self.height, self.width)

    def split_bounds(self, name: str) -> tuple[str, str]:
        """``(start, end)`` of a named split.

        Raises
        ------
        DataError
            The task has no such split.
        """
        if name not in self.splits:
            raise DataError(
                f"split {name!r} is not in the task of entry {self.entry!r} "
                f"(splits: {sorted(self.splits)})",
                hint="pass --init-times, or a split the recipe defines",
            )
        return self.splits[name]

    def time_range(self) -> tuple[str, str]:
        """The earliest start and latest end over all splits (labels as written)."""
        from gmgclim.data.windows import Split

        if not self.splits:
            raise DataError(f"the task of entry {self.entry!r} has no splits")
        bounds = list(self.splits.values())
        ranges = [Split(start, end).bounds() for start, end in bounds]
        starts = np.array([lo for lo, _ in ranges], dtype="datetime64[ns]")
        ends = np.array([hi for _, hi in ranges], dtype="datetime64[ns]")
        first, last = bounds[int(starts.argmin())][0], bounds[int(ends.argmax())][1]
        return first, last

    # -- copies -------------------------------------------------------------------------------

    def replace(self, **changes: Any) -> Task:
        """A copy with some fields changed (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)

    def with_grid(self, ds: Any) -> Task:
        """A copy with the spatial dims, shape and coordinates of an opened dataset.

        Parameters
        ----------
        ds : xr.Dataset
            The task's data on its grid (dims ``latitude, longitude`` or ``y, x``).
        """
        from gmgclim.data.channels import spatial_dims

        dims = spatial_dims(ds)
        height, width = (int(ds.sizes[d]) for d in dims)
        lat = lon = None
        if dims == ("latitude", "longitude"):
            lat = tuple(float(v) for v in ds["latitude"].values)
            lon = tuple(float(v) for v in ds["longitude"].values)
        return self.replace(
            spatial_dims=dims, height=height, width=width, latitude=lat, longitude=lon
        )

    # -- serialisation ------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-able dict (what checkpoints and forecast attributes hold)."""
        return {
            "entry": self.entry,
            "channels": list(self.channels),
            "step": self.step,
            "input_steps": self.input_steps,
            "output_steps": self.output_steps,
            "grid": self.grid.to_dict(),
            "splits": {k: {"start": s, "end": e} for k, (s, e) in self.splits.items()},
            "fill_nan": self.fill_nan,
            "spatial_dims": None if self.spatial_dims is None else list(self.spatial_dims),
            "height": self.height,
            "width": self.width,
            "latitude": None if self.latitude is None else list(self.latitude),
            "longitude": None if self.longitude is None else list(self.longitude),
            "forcings": list(self.forcings),
            "statics": list(self.statics),
            "residual": self.residual,
            "transform": self.transform,
            "crop": None if self.crop is None else list(self.crop),
            "diurnal_scaling": self.diurnal_scaling,
            "probability_matching": self.probability_matching,
        }

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], source: str = "task") -> Task:
        """Inverse of :meth:`to_dict`; also reads the task dicts of gmgclim 0.1 checkpoints.

        Parameters
        ----------
        values : mapping
        source : str
            Where the dict came from (a checkpoint path), for error messages.

        Raises
        ------
        DataError
            A required key is missing or a key is unknown.
        """
        values = dict(values)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise DataError(
                f"{source}: unknown task keys {unknown}; expected some of {sorted(names)}"
            )
        missing = [
            k
            for k in ("entry", "channels", "step", "input_steps", "output_steps")
            if k not in values
        ]
        if missing:
            raise DataError(f"{source}: task lacks {missing} (has {sorted(values)})")
        splits = {
            str(k): (str(v["start"]), str(v["end"]))
            for k, v in (values.get("splits") or {}).items()
            if v is not None
        }
        dims = values.get("spatial_dims")
        return cls(
            entry=str(values["entry"]),
            channels=tuple(values["channels"]),
            step=str(values["step"]),
            input_steps=int(values["input_steps"]),
            output_steps=int(values["output_steps"]),
            grid=GridSpec.from_dict(values.get("grid")),
            splits=splits,
            fill_nan=float(values.get("fill_nan") or 0.0),
            spatial_dims=None if dims is None else (str(dims[0]), str(dims[1])),
            height=None if values.get("height") is None else int(values["height"]),
            width=None if values.get("width") is None else int(values["width"]),
            latitude=_tuple_or_none(values.get("latitude"), float),
            longitude=_tuple_or_none(values.get("longitude"), float),
            forcings=tuple(values.get("forcings") or ()),
            statics=tuple(values.get("statics") or ()),
            residual=str(values.get("residual") or "none"),
            transform=str(values.get("transform") or "none"),
            crop=None if values.get("crop") is None else tuple(values["crop"]),
            diurnal_scaling=str(values.get("diurnal_scaling") or "none"),
            probability_matching=str(values.get("probability_matching") or "none"),
        )

    @classmethod
    def from_recipe(cls, recipe: Any) -> Task:
        """The task of a validated recipe (``gmgclim.config.Recipe``), before the data is opened."""
        d = recipe.data
        splits = {
            name: (str(split.start), str(split.end))
            for name in ("train", "valid", "test")
            if (split := getattr(d.splits, name)) is not None
        }
        extra = {
            key: getattr(d, key)
            for key in (
                "forcings",
                "statics",
                "residual",
                "transform",
                "crop",
                "diurnal_scaling",
                "probability_matching",
            )
            if getattr(d, key, None) is not None
        }
        return cls(
            entry=d.entry,
            channels=tuple(d.channels),
            step=d.step,
            input_steps=d.input_steps,
            output_steps=d.output_steps,
            grid=GridSpec.from_dict(d.grid.model_dump(mode="json")),
            splits=splits,
            fill_nan=float(d.fill_nan),
            **extra,
        )


def open_task_data(task: Task, time: slice | None = None) -> Any:
    """Open a task's catalog entry with its channels, lazily, on the task's grid.

    Parameters
    ----------
    task : Task
    time : slice, optional
        Time range to keep (inclusive labels).

    Returns
    -------
    xr.Dataset
        Canonical dataset with only the variables of the task's channels, after the task's
        regrid, crop and coarsen (:func:`gmgclim.data.grid.apply_grid`).
    """
    from gmgclim.data.catalog import open_entry
    from gmgclim.data.grid import apply_grid

    ds = open_entry(
        task.entry, channels=list(task.channels), time=time, **task.grid.entry_options()
    )
    return apply_grid(ds, task.grid)
