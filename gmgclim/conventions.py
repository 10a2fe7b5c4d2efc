"""The canonical dataset convention of gmgclim (WeatherBench 2 names) and how to reach it.

Gridded analyses
    dims ``time``, optional ``level`` (hPa, int, ascending), ``latitude`` (degrees north,
    ascending), ``longitude`` (degrees east in [0, 360), ascending); one float32 data variable per physical field
    with CF ``units``, ``long_name`` and ``standard_name`` (where one exists).
Radar composites
    dims ``time``, ``y``, ``x`` in the native projection, a CF ``grid_mapping`` variable, 2-D
    ``latitude``/``longitude`` auxiliary coordinates where derivable, NaN for no-data.
Forecasts
    dims ``time`` (initialisation), ``prediction_timedelta``, optional ``level``, spatial dims.

:func:`canonicalize` renames source names (WeatherBench 1 ``t``/``z``/``lat``/``lon``, ERA5 ``t2m``,
cfgrib ``isobaricInhPa``, KNMI ``precip_5min``, FMI ``dbz`` ...) to canonical ones, converts units
where the canonical variable asks for it (KNMI 5-minute accumulations -> mm/h), flips descending
latitudes, wraps longitudes to [0, 360) and sorts them. Everything stays lazy on dask-backed input.
:func:`validate` raises ``ValueError`` describing the first departure from the convention.

This module imports nothing from gmgclim but the leaf table :mod:`gmgclim.variables`
(:data:`CANONICAL_VARIABLES`, re-exported here).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from gmgclim.errors import DataError
from gmgclim.variables import CANONICAL_VARIABLES

__all__ = [
    "CANONICAL_VARIABLES",
    "FORECAST_DIMS",
    "GRIDDED_DIMS",
    "INIT_DIM",
    "LEAD_DIM",
    "RADAR_DIMS",
    "SOURCE_ALIASES",
    "Alias",
    "canonicalize",
    "is_radar",
    "spatial_dims",
    "validate",
    "variable_attrs",
]

GRIDDED_DIMS = ("time", "level", "latitude", "longitude")
RADAR_DIMS = ("time", "y", "x")
#: Forecast dims: initialisation time and lead time (WeatherBench 2 names). Import these rather than
#: spelling the strings out again.
INIT_DIM = "time"
LEAD_DIM = "prediction_timedelta"
FORECAST_DIMS = (INIT_DIM, LEAD_DIM)
# Dims that may sit beside the canonical ones: ensemble members, forecast lead, bounds.
_EXTRA_DIMS = ("number", "member", "prediction_timedelta", "nv", "bnds", "channel")


@dataclass(frozen=True)
class Alias:
    """How a source variable maps to a canonical one.

    Parameters
    ----------
    variable : str
        Canonical variable name.
    scale : float
        Multiply the source values by this to get canonical units (e.g. 12 for a 5-minute
        accumulation in mm -> a rate in mm/h).
    source_units : tuple of str
        Units the source is expected to carry (empty: any); a source whose ``units`` attribute is
        set and not one of these is not converted, and :func:`canonicalize` raises.
    """

    variable: str
    scale: float = 1.0
    source_units: tuple[str, ...] = ()


_COMMON = {
    "t": Alias("temperature", source_units=("K",)),
    "z": Alias("geopotential", source_units=("m2 s-2", "m**2 s**-2")),
    "u": Alias("u_component_of_wind"),
    "v": Alias("v_component_of_wind"),
    "q": Alias("specific_humidity"),
    "r": Alias("relative_humidity"),
    "pv": Alias("potential_vorticity"),
    "vo": Alias("vorticity"),
    "t2m": Alias("2m_temperature", source_units=("K",)),
    "2t": Alias("2m_temperature", source_units=("K",)),
    "u10": Alias("10m_u_component_of_wind"),
    "v10": Alias("10m_v_component_of_wind"),
    "msl": Alias("mean_sea_level_pressure"),
    "tp": Alias("total_precipitation", source_units=("m",)),
    "tcc": Alias("total_cloud_cover"),
    "tisr": Alias("toa_incident_solar_radiation"),
    "orography": Alias("orography"),
    "lsm": Alias("land_sea_mask"),
    "slt": Alias("soil_type"),
}

#: Source -> {source variable name: :class:`Alias`}. ``canonicalize(ds, source=None)`` uses the
#: union (the names do not clash); naming a source restricts the look-up to its own table.
SOURCE_ALIASES: dict[str, dict[str, Alias]] = {
    "weatherbench1": dict(_COMMON),
    "weatherbench2": {},
    "era5": dict(_COMMON),
    "knmi": {
        # RAD_NL25_RAP_5min: accumulation over 5 minutes in mm (kg m-2) -> rate in mm/h.
        "precip_5min": Alias("precipitation_rate", scale=12.0, source_units=("kg m-2", "mm")),
    },
    "fmi": {"dbz": Alias("reflectivity", source_units=("dBZ",))},
    "odim": {
        "DBZH": Alias("reflectivity", source_units=("dBZ",)),
        "RATE": Alias("precipitation_rate", source_units=("mm h-1", "mm/h")),
    },
}

_DIM_ALIASES = {
    "lat": "latitude",
    "lon": "longitude",
    "isobaricInhPa": "level",
    "plev": "level",
    "pressure_level": "level",
    "lev": "level",
}


def variable_attrs(variable: str) -> dict[str, str]:
    """CF attributes of a canonical variable.

    Parameters
    ----------
    variable : str
        Canonical variable name (key of :data:`CANONICAL_VARIABLES`).

    Returns
    -------
    dict
        ``units``, ``long_name`` and (where one exists) ``standard_name``.
    """
    if variable not in CANONICAL_VARIABLES:
        raise ValueError(
            f"unknown canonical variable {variable!r}; known: {sorted(CANONICAL_VARIABLES)}"
        )
    units, long_name, standard_name = CANONICAL_VARIABLES[variable]
    attrs = {"units": units, "long_name": long_name}
    if standard_name:
        attrs["standard_name"] = standard_name
    return attrs


def _norm_units(units: str) -> str:
    return str(units).replace("**", "").replace("^", "").strip()


def _alias_table(source: str | None) -> dict[str, Alias]:
    if source is None:
        table: dict[str, Alias] = {}
        for aliases in SOURCE_ALIASES.values():
            table.update(aliases)
        return table
    if source not in SOURCE_ALIASES:
        raise ValueError(f"unknown source {source!r}; known sources: {sorted(SOURCE_ALIASES)}")
    return SOURCE_ALIASES[source]


def is_radar(ds: xr.Dataset) -> bool:
    """True when the dataset is on a projected ``y``/``x`` grid (radar convention)."""
    return "y" in ds.dims and "x" in ds.dims


def _rename_dims(ds: xr.Dataset) -> xr.Dataset:
    names = set(ds.dims) | set(ds.variables)
    rename = {}
    for old, new in _DIM_ALIASES.items():
        if old in names and new not in names:
            rename[old] = new
    if "time" not in names and "valid_time" in ds.dims:
        rename["valid_time"] = "time"
    if rename:
        ds = ds.rename(rename)
    if "level" in ds.coords:
        level = ds["level"]
        values = np.asarray(level.values, dtype=float)
        if _norm_units(level.attrs.get("units", "hPa")) == "Pa":
            values = values / 100.0
        if not np.allclose(values, np.round(values)):
            raise ValueError(f"pressure levels must be whole hPa, got {values.tolist()}")
        attrs = {"units": "hPa", "long_name": "pressure level", "standard_name": "air_pressure"}
        levels = np.round(values).astype(np.int64)
        ds = ds.assign_coords(level=(level.dims, levels.reshape(level.shape), attrs))
        if "level" in ds.dims and levels.size > 1 and not np.all(np.diff(levels) > 0):
            if np.unique(levels).size != levels.size:
                raise ValueError(f"duplicate pressure levels {levels.tolist()}")
            ds = ds.isel(level=np.argsort(levels, kind="stable"))
    return ds


def _rename_variables(ds: xr.Dataset, source: str | None) -> xr.Dataset:
    table = _alias_table(source)
    spatial = {"latitude", "longitude", "y", "x"}
    for name in list(ds.data_vars):
        da = ds[name]
        alias = table.get(str(name))
        if alias is None:
            if name in CANONICAL_VARIABLES:
                alias = Alias(str(name))
            else:
                continue
        target = alias.variable
        if target != name and target in ds.variables:
            raise ValueError(
                f"cannot rename {name!r} to {target!r}: the dataset already has a {target!r}"
            )
        src_units = da.attrs.get("units")
        if (
            src_units is not None
            and alias.source_units
            and _norm_units(src_units) not in {_norm_units(u) for u in alias.source_units}
        ):
            raise ValueError(
                f"variable {name!r} has units {src_units!r}; expected one of "
                f"{list(alias.source_units)} to map it to {target!r}"
            )
        if target == name and alias.scale == 1.0 and src_units is not None:
            canon_units = CANONICAL_VARIABLES[target][0]
            if _norm_units(src_units) != _norm_units(canon_units):
                raise ValueError(
                    f"variable {name!r} has units {src_units!r}, expected {canon_units!r}"
                )
        attrs = {
            k: v for k, v in da.attrs.items() if k not in ("units", "long_name", "standard_name")
        }
        encoding = dict(da.encoding)
        if alias.scale != 1.0:
            da = da * np.float32(alias.scale)
            attrs["conversion"] = f"{name} ({src_units}) x {alias.scale:g}"
            for key in ("scale_factor", "add_offset", "_FillValue", "missing_value", "dtype"):
                encoding.pop(key, None)
        if spatial & set(da.dims) and da.dtype != np.float32:
            da = da.astype(np.float32)
        da.attrs = {**attrs, **variable_attrs(target)}
        da.encoding = encoding
        if target != name:
            da.attrs["source_name"] = str(name)
            ds = ds.drop_vars([name])
        ds[target] = da
    return ds


def _order_latitude(ds: xr.Dataset) -> xr.Dataset:
    if "latitude" not in ds.dims:
        return ds
    lat = np.asarray(ds["latitude"].values)
    if lat.size < 2:
        return ds
    diff = np.diff(lat)
    if np.all(diff > 0):
        return ds
    if np.all(diff < 0):
        return ds.isel(latitude=slice(None, None, -1))
    if np.any(diff == 0):
        raise ValueError("latitude has duplicate values")
    return ds.isel(latitude=np.argsort(lat, kind="stable"))


def _order_longitude(ds: xr.Dataset) -> xr.Dataset:
    if "longitude" not in ds.dims:
        return ds
    lon = np.asarray(ds["longitude"].values, dtype=np.float64)
    wrapped = np.mod(lon, 360.0)
    # mod of tiny negative numbers can give exactly 360.0 in floating point
    wrapped[wrapped >= 360.0] = 0.0
    if not np.array_equal(wrapped, lon):
        attrs = dict(ds["longitude"].attrs)
        ds = ds.assign_coords(longitude=("longitude", wrapped, attrs))
    if wrapped.size > 1 and not np.all(np.diff(wrapped) > 0):
        order = np.argsort(wrapped, kind="stable")
        if np.any(np.diff(wrapped[order]) == 0):
            raise ValueError("longitude has duplicate values after wrapping to [0, 360)")
        ds = ds.isel(longitude=order)
    return ds


def canonicalize(ds: xr.Dataset, source: str | None = None) -> xr.Dataset:
    """Bring a dataset to the canonical convention, lazily.

    Parameters
    ----------
    ds : xr.Dataset
        Gridded (``lat``/``lon`` or ``latitude``/``longitude``) or radar (``y``/``x``) data, numpy- or
        dask-backed. Variables with unknown names are kept unchanged and listed in the attribute
        ``gmgclim_unmapped_variables``.
    source : str, optional
        Restrict variable aliases to one source's table (``"weatherbench1"``, ``"era5"``, ``"knmi"``,
        ``"fmi"``, ``"odim"``, ``"weatherbench2"``); by default the union of all tables is used.

    Returns
    -------
    xr.Dataset
        Canonical names, float32 fields with CF attributes, ascending latitude, longitude in
        [0, 360) ascending, ``level`` as int hPa. Radar grids keep their native ``y``/``x`` order.

    Raises
    ------
    ValueError
        When a rename would clash, units do not match the alias, or coordinates are duplicated.
    """
    ds = _rename_dims(ds)
    ds = _rename_variables(ds, source)
    ds = _order_latitude(ds)
    ds = _order_longitude(ds)
    if "latitude" in ds.coords and ds["latitude"].ndim == 1:
        ds["latitude"].attrs.update({"units": "degrees_north", "standard_name": "latitude"})
    if "longitude" in ds.coords and ds["longitude"].ndim == 1:
        ds["longitude"].attrs.update({"units": "degrees_east", "standard_name": "longitude"})
    unmapped = [
        str(v)
        for v in ds.data_vars
        if v not in CANONICAL_VARIABLES
        and not ds[v].attrs.get("grid_mapping_name")
        and not str(v).endswith(("_bnds", "_bounds"))
    ]
    if unmapped:
        ds.attrs["gmgclim_unmapped_variables"] = ", ".join(unmapped)
    else:
        ds.attrs.pop("gmgclim_unmapped_variables", None)
    return ds


def validate(ds: xr.Dataset, allow_extra_dims: bool = False) -> None:
    """Check that a dataset follows the canonical convention.

    Parameters
    ----------
    ds : xr.Dataset
        Dataset to check.
    allow_extra_dims : bool
        Accept dims such as ``number`` (ensemble member) beside the canonical ones.

    Raises
    ------
    ValueError
        Naming the first problem found: unknown dims, descending or duplicate latitude, longitude
        outside [0, 360) or unsorted, non-integer levels, non-increasing times, non-float32 fields,
        missing units, or a radar ``grid_mapping`` that points at no variable.
    """
    radar = is_radar(ds)
    allowed = set(RADAR_DIMS if radar else GRIDDED_DIMS) | {"prediction_timedelta"}
    for name, da in ds.data_vars.items():
        if da.attrs.get("grid_mapping_name") or str(name).endswith(("_bnds", "_bounds")):
            continue
        unknown = [d for d in da.dims if d not in allowed]
        if unknown and not (allow_extra_dims and set(unknown) <= set(_EXTRA_DIMS)):
            raise ValueError(
                f"variable {name!r} has dims {da.dims}; unknown dims {unknown} "
                f"(expected a subset of {sorted(allowed)})"
            )
        if da.dtype != np.float32:
            raise ValueError(f"variable {name!r} is {da.dtype}, expected float32")
        if "units" not in da.attrs:
            raise ValueError(f"variable {name!r} has no 'units' attribute")
        if radar:
            gm = da.attrs.get("grid_mapping")
            if gm is not None and gm not in ds.variables:
                raise ValueError(
                    f"variable {name!r} names grid_mapping {gm!r}, which is not in the dataset"
                )
    if "time" in ds.coords:
        times = np.asarray(ds["time"].values)
        if times.size > 1 and not np.all(np.diff(times) > np.timedelta64(0, "ns")):
            raise ValueError("time is not strictly increasing (duplicate or unsorted times)")
    if "latitude" in ds.dims:
        lat = np.asarray(ds["latitude"].values)
        if lat.size > 1 and not np.all(np.diff(lat) > 0):
            raise ValueError("latitude must be strictly ascending")
        if np.any(np.abs(lat) > 90):
            raise ValueError("latitude values outside [-90, 90]")
    if "longitude" in ds.dims:
        lon = np.asarray(ds["longitude"].values)
        if np.any(lon < 0) or np.any(lon >= 360):
            raise ValueError("longitude values must lie in [0, 360)")
        if lon.size > 1 and not np.all(np.diff(lon) > 0):
            raise ValueError("longitude must be strictly ascending")
    if "level" in ds.dims and not np.issubdtype(ds["level"].dtype, np.integer):
        raise ValueError(f"level must be integer hPa, got dtype {ds['level'].dtype}")


def spatial_dims(ds: xr.Dataset | xr.DataArray) -> tuple[str, str]:
    """``("latitude", "longitude")`` for gridded data, ``("y", "x")`` for radar data.

    Raises
    ------
    DataError
        Neither pair is among the dims (named in the message).
    """
    dims = set(ds.dims)
    if {"latitude", "longitude"} <= dims:
        return ("latitude", "longitude")
    if {"y", "x"} <= dims:
        return ("y", "x")
    raise DataError(f"no spatial dims (latitude/longitude or y/x) in dims {sorted(map(str, dims))}")
