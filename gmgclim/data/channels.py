"""Stack canonical variables into one ``(time, channel, spatial...)`` array by lexicon channel names.

This module has no torch import, so training, inference and notebooks can use it alike;
:mod:`gmgclim.data.torch_dataset` re-exports :func:`select_channels`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from gmgclim.conventions import spatial_dims
from gmgclim.errors import DataError
from gmgclim.lexicon import Channel, resolve_channel

__all__ = ["channel_field", "dataset_channel", "select_channels", "spatial_dims"]


def dataset_channel(ds: xr.Dataset, name: str) -> Channel:
    """The :class:`~gmgclim.lexicon.Channel` called ``name`` as this dataset serves it.

    A variable whose ``gmgclim_channel`` attribute is ``name`` (a channel mapped or defined by a
    catalog entry, see :mod:`gmgclim.data.channel_map`) wins over the lexicon, with its own units
    and CF attributes; otherwise the lexicon decides.

    Parameters
    ----------
    ds : xr.Dataset
        Canonical dataset.
    name : str
        Channel short name.

    Returns
    -------
    Channel

    Raises
    ------
    DataError
        Neither the dataset nor the lexicon knows the name.
    """
    for var, da in ds.data_vars.items():
        if da.attrs.get("gmgclim_channel") == name:
            return Channel(
                name=name,
                variable=str(var),
                level=None,
                units=str(da.attrs.get("units", "")),
                long_name=str(da.attrs.get("long_name", name)),
                standard_name=da.attrs.get("standard_name"),
            )
    try:
        return resolve_channel(name)
    except ValueError as exc:
        mapped = sorted(
            str(da.attrs["gmgclim_channel"])
            for da in ds.data_vars.values()
            if "gmgclim_channel" in da.attrs
        )
        raise DataError(
            f"{exc}" + (f"; the data's catalog defines {mapped}" if mapped else ""),
            hint="define the channel in the catalog entry: channels: {NAME: {source: VAR, units: U}}",
        ) from exc


def channel_field(ds: xr.Dataset, name: str) -> xr.DataArray:
    """The lazy ``(time, H, W)`` field of one channel, e.g. ``"t850"`` -> temperature at 850 hPa.

    Channels mapped or defined by a catalog entry are found by their ``gmgclim_channel``
    attribute (:func:`dataset_channel`), the others through the lexicon.

    Raises
    ------
    DataError
        When the variable or level is missing, naming both.
    """
    ch = dataset_channel(ds, name)
    if ch.variable not in ds.data_vars:
        raise DataError(
            f"channel {name!r} needs variable {ch.variable!r}; dataset has "
            f"{sorted(map(str, ds.data_vars))}"
        )
    da = ds[ch.variable]
    if ch.level is not None:
        if "level" not in da.dims:
            raise DataError(
                f"channel {name!r} needs level {ch.level} hPa; {ch.variable!r} has no level dim"
            )
        levels = [int(v) for v in da["level"].values]
        if ch.level not in levels:
            raise DataError(
                f"channel {name!r}: no level {ch.level} hPa in {ch.variable!r}; levels: {levels}"
            )
        da = da.sel(level=ch.level, drop=True)
    elif "level" in da.dims:
        raise DataError(f"channel {name!r} is single-level but {ch.variable!r} has a level dim")
    extra = [d for d in da.dims if d not in ("time", *spatial_dims(da))]
    if extra:
        raise DataError(
            f"channel {name!r}: unexpected dims {extra} in {ch.variable!r}; select them first"
        )
    return da.transpose("time", *spatial_dims(da))


def select_channels(ds: xr.Dataset, channels: Sequence[str]) -> xr.DataArray:
    """Stack channels in the given order.

    Parameters
    ----------
    ds : xr.Dataset
        Canonical dataset (gridded or radar).
    channels : sequence of str
        Lexicon short names; their order is the tensor channel order.

    Returns
    -------
    xr.DataArray
        ``(time, channel, H, W)`` float32, lazy when ``ds`` is, with a ``channel`` coordinate of
        short names and ``units`` per channel in ``attrs["channel_units"]``.
    """
    if not channels:
        raise DataError("no channels given")
    fields = []
    units = []
    for name in channels:
        da = channel_field(ds, name)
        keep = set(da.dims) | {c for c in da.coords if set(da[c].dims) <= set(spatial_dims(da))}
        da = da.drop_vars([c for c in da.coords if c not in keep])
        fields.append(da.astype(np.float32, copy=False).assign_attrs({}))
        units.append(str(ds[dataset_channel(ds, name).variable].attrs.get("units", "")))
    stacked = xr.concat(fields, dim="channel", coords="minimal", compat="override", join="exact")
    stacked = stacked.assign_coords(channel=list(channels)).transpose("time", "channel", ...)
    stacked.attrs = {"channel_units": units}
    stacked.name = "fields"
    return stacked


def is_precipitation_channel(name: str) -> bool:
    """True for channels of precipitation rates or amounts (never negative; dB for the motion)."""
    try:
        return "precipitation" in resolve_channel(name).variable
    except ValueError:  # a catalog-defined channel: judged by its name
        return "precip" in name or "rain" in name
