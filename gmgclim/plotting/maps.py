"""Cartopy maps of a forecast: truth / forecast / error panels per lead time.

The projection follows the domain: Robinson for a global latitude/longitude grid, PlateCarree
cropped to the data for a regional one, and the data's own projection (from its CF
``grid_mapping`` variable, e.g. polar stereographic radar composites) for y/x grids. Coastlines and
borders come from the Natural Earth files shipped with gmgclim; nothing is downloaded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from gmgclim.errors import DataError
from gmgclim.metrics.alignment import lead_hours
from gmgclim.plotting._cartopy import check_resolution, configure_cartopy_offline
from gmgclim.plotting._pyplot import pyplot

PROJECTIONS = ("auto", "robinson", "platecarree")


def _pyplot():
    return pyplot()


def select_field(
    data: xr.Dataset | xr.DataArray, variable: str, level: int | None = None
) -> xr.DataArray:
    """One variable (at one level) of a Dataset or DataArray, with a clear error if absent."""
    if isinstance(data, xr.Dataset):
        if variable not in data.data_vars:
            raise DataError(f"no variable '{variable}' to plot; have {list(data.data_vars)}")
        da = data[variable]
    else:
        da = data
    if "level" in da.dims:
        if level is None:
            if da.sizes["level"] > 1:
                raise ValueError(
                    f"'{variable}' has levels {da['level'].values.tolist()}: pass level="
                )
            return da.isel(level=0)
        if level not in da["level"].values:
            raise DataError(
                f"'{variable}' has no level {level}; it has {da['level'].values.tolist()}"
            )
        return da.sel(level=level)
    return da


def grid_mapping_crs(data: xr.Dataset | xr.DataArray, field: xr.DataArray):
    """cartopy CRS of a projected field from its CF ``grid_mapping`` variable.

    Supports ``polar_stereographic`` (CF attributes ``straight_vertical_longitude_from_pole``,
    ``latitude_of_projection_origin``, ``standard_parallel`` or ``scale_factor_at_projection_origin``,
    ``false_easting``/``false_northing`` and ``semi_major_axis``/``semi_minor_axis`` or
    ``earth_radius``).

    Returns
    -------
    cartopy.crs.Projection
    """
    import cartopy.crs as ccrs

    name = field.attrs.get("grid_mapping") or field.encoding.get("grid_mapping")
    if name is None:
        raise DataError(f"'{field.name}' has y/x dims but no 'grid_mapping' attribute to map it")
    if isinstance(data, xr.Dataset) and name in data.variables:
        attrs = data[name].attrs
    elif name in field.coords:
        attrs = field[name].attrs
    else:
        raise DataError(f"grid mapping variable '{name}' of '{field.name}' is missing")
    kind = attrs.get("grid_mapping_name")
    if "semi_major_axis" in attrs:
        globe = ccrs.Globe(
            semimajor_axis=float(attrs["semi_major_axis"]),
            semiminor_axis=float(attrs.get("semi_minor_axis", attrs["semi_major_axis"])),
            ellipse=None,
        )
    elif "earth_radius" in attrs:
        radius = float(attrs["earth_radius"])
        globe = ccrs.Globe(semimajor_axis=radius, semiminor_axis=radius, ellipse=None)
    else:
        globe = None
    if kind == "polar_stereographic":
        kwargs = {
            "central_latitude": float(attrs.get("latitude_of_projection_origin", 90.0)),
            "central_longitude": float(
                attrs.get(
                    "straight_vertical_longitude_from_pole",
                    attrs.get("longitude_of_projection_origin", 0.0),
                )
            ),
            "false_easting": float(attrs.get("false_easting", 0.0)),
            "false_northing": float(attrs.get("false_northing", 0.0)),
            "globe": globe,
        }
        if "standard_parallel" in attrs:
            kwargs["true_scale_latitude"] = float(np.atleast_1d(attrs["standard_parallel"])[0])
        elif "scale_factor_at_projection_origin" in attrs:
            kwargs["scale_factor"] = float(attrs["scale_factor_at_projection_origin"])
        return ccrs.Stereographic(**kwargs)
    raise DataError(
        f"grid mapping '{kind}' of '{field.name}' is not supported for maps",
        hint="supported: polar_stereographic, or regrid to latitude/longitude",
    )


def grid_source(
    forecast: xr.Dataset | xr.DataArray, truth: xr.Dataset | xr.DataArray, field: xr.DataArray
) -> xr.Dataset | xr.DataArray:
    """The object holding ``field``'s grid mapping variable: the forecast, else the truth."""
    name = field.attrs.get("grid_mapping")
    for candidate in (forecast, truth):
        if isinstance(candidate, xr.Dataset) and name in candidate.variables:
            return candidate
    return forecast


def _metres(coord: xr.DataArray) -> np.ndarray:
    values = np.asarray(coord.values, dtype=np.float64)
    units = str(coord.attrs.get("units", "m")).strip().lower()
    factors = {"m": 1.0, "metre": 1.0, "meter": 1.0, "km": 1000.0, "kilometre": 1000.0}
    if units not in factors:
        raise DataError(f"projection coordinate '{coord.name}' has units {units!r}, not m or km")
    return values * factors[units]


def _edges(centres: np.ndarray) -> np.ndarray:
    mid = (centres[1:] + centres[:-1]) / 2
    if centres.size == 1:
        return np.array([centres[0] - 0.5, centres[0] + 0.5])
    return np.concatenate([[2 * centres[0] - mid[0]], mid, [2 * centres[-1] - mid[-1]]])


@dataclasses.dataclass
class MapGeometry:
    """Where and how to draw a field: the map projection, the data CRS and cell edges."""

    projection: object
    data_crs: object
    x_edges: np.ndarray
    y_edges: np.ndarray
    extent: tuple[float, float, float, float] | None
    global_map: bool
    order: np.ndarray | None  # longitude permutation for regional grids crossing 0 deg E
    aspect: float  # height / width of one panel

    def values(self, field: xr.DataArray) -> np.ndarray:
        """Field values (ny, nx) in drawing order."""
        values = np.asarray(field.values, dtype=np.float64)
        return values if self.order is None else values[:, self.order]


def map_geometry(
    data: xr.Dataset | xr.DataArray, field: xr.DataArray, projection: str = "auto"
) -> MapGeometry:
    """Choose projection, extent and cell edges for a 2-D field (latitude/longitude or y/x)."""
    import cartopy.crs as ccrs

    if projection not in PROJECTIONS:
        raise ValueError(f"projection must be one of {PROJECTIONS}, got {projection!r}")
    if {"y", "x"} <= set(field.dims):
        crs = grid_mapping_crs(data, field)
        x, y = _metres(field["x"]), _metres(field["y"])
        xe, ye = _edges(x), _edges(y)
        extent = (xe.min(), xe.max(), ye.min(), ye.max())
        aspect = (extent[3] - extent[2]) / (extent[1] - extent[0])
        return MapGeometry(crs, crs, xe, ye, extent, False, None, aspect)
    if not {"latitude", "longitude"} <= set(field.dims):
        raise DataError(f"cannot map dims {field.dims}: need (latitude, longitude) or (y, x)")
    lat = np.asarray(field["latitude"].values, dtype=np.float64)
    lon = np.asarray(field["longitude"].values, dtype=np.float64) % 360.0
    ye = np.clip(_edges(lat), -90, 90)
    dlon = np.median(np.diff(np.sort(lon))) if lon.size > 1 else 1.0
    is_global = lon.size * dlon >= 359.0 and np.ptp(ye) >= 150.0
    if is_global:
        order = np.argsort(lon)
        xe = _edges(lon[order])
        use_robinson = projection in ("auto", "robinson")
        proj = ccrs.Robinson() if use_robinson else ccrs.PlateCarree()
        return MapGeometry(proj, ccrs.PlateCarree(), xe, ye, None, True, order, 0.5)
    # Regional: longitudes in -180..180 when that makes the domain contiguous (e.g. the UK).
    signed = np.where(lon >= 180.0, lon - 360.0, lon)
    use = signed if np.ptp(signed) < np.ptp(lon) else lon
    order = np.argsort(use)
    xe = _edges(use[order])
    extent = (xe.min(), xe.max(), ye.min(), ye.max())
    aspect = (extent[3] - extent[2]) / (extent[1] - extent[0])  # PlateCarree: equal degrees
    proj = ccrs.PlateCarree()
    return MapGeometry(proj, ccrs.PlateCarree(), xe, ye, extent, False, order, float(aspect))


# Units of precipitation-like fields: "no rain" is drawn transparent over a grey coverage area.
_RAIN_THRESHOLDS = {"mm h-1": 0.1, "mm/h": 0.1, "mm": 0.1, "kg m-2": 0.1, "dbz": 10.0}


def dry_threshold(field: xr.DataArray) -> float | None:
    """Value below which a precipitation/reflectivity field counts as dry (None otherwise)."""
    return _RAIN_THRESHOLDS.get(str(field.attrs.get("units", "")).strip().lower())


def draw_field(
    ax,
    geometry: MapGeometry,
    values: np.ndarray,
    resolution: str,
    dry_below: float | None = None,
    **kwargs,
):
    """pcolormesh of ``values`` (ny, nx) on a GeoAxes, with coastlines and borders.

    With ``dry_below``, values under it are transparent and the covered (finite) area is grey.
    """
    import cartopy.feature as cfeature

    y_edges = geometry.y_edges
    if y_edges[0] > y_edges[-1]:  # north-up rows (radar): flip so edges increase
        values = values[::-1]
        y_edges = y_edges[::-1]
    if dry_below is not None:
        covered = np.where(np.isfinite(values), 1.0, np.nan)
        ax.pcolormesh(
            geometry.x_edges,
            y_edges,
            np.ma.masked_invalid(covered),
            transform=geometry.data_crs,
            cmap="Greys",
            vmin=0.0,
            vmax=8.0,
            rasterized=True,
        )
        values = np.where(values >= dry_below, values, np.nan)
    mesh = ax.pcolormesh(
        geometry.x_edges,
        y_edges,
        np.ma.masked_invalid(values),
        transform=geometry.data_crs,
        rasterized=True,
        **kwargs,
    )
    if geometry.extent is not None:
        ax.set_extent(geometry.extent, crs=geometry.data_crs)
    else:
        ax.set_global()
    ax.coastlines(resolution=resolution, linewidth=0.6, color="0.15")
    borders = cfeature.NaturalEarthFeature(
        "cultural", "admin_0_boundary_lines_land", resolution, facecolor="none"
    )
    ax.add_feature(borders, linewidth=0.4, edgecolor="0.3")
    return mesh


def field_label(field: xr.DataArray, variable: str) -> str:
    """``long name [units]`` for colour bars."""
    name = field.attrs.get("long_name") or variable
    units = field.attrs.get("units")
    return f"{name} [{units}]" if units else str(name)


def robust_limits(arrays: Sequence[np.ndarray], symmetric: bool = False) -> tuple[float, float]:
    """2nd-98th percentile colour limits over finite values (symmetric about 0 for errors)."""
    finite = np.concatenate([a[np.isfinite(a)].ravel() for a in arrays] or [np.zeros(1)])
    if finite.size == 0:
        return (-1.0, 1.0) if symmetric else (0.0, 1.0)
    if symmetric:
        vmax = float(np.percentile(np.abs(finite), 98)) or 1.0
        return -vmax, vmax
    lo, hi = (float(v) for v in np.percentile(finite, [2, 98]))
    if hi <= lo:
        hi = lo + 1.0
    return lo, hi


def lead_label(lead: np.timedelta64) -> str:
    """ "+6 h" or "+15 min"."""
    hours = float(lead_hours(np.array([lead]))[0])
    if hours < 3 and hours != int(hours):
        return f"+{hours * 60:g} min"
    return f"+{hours:g} h"


def _time_label(value) -> str:
    return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M UTC")


@dataclasses.dataclass(frozen=True)
class ForecastFrames:
    """One init time's forecast and truth, lead by lead, ready to draw with shared colours.

    Attributes
    ----------
    leads : list of np.timedelta64
        Lead times, in the order drawn.
    forecasts : list of xr.DataArray
        The forecast field at each lead time (its attributes name units and variable).
    fields, observed : list of np.ndarray
        Forecast and truth values (ny, nx) in drawing order (:meth:`MapGeometry.values`);
        ``observed`` holds None where the truth lacks the valid time.
    geometry : MapGeometry
        Projection and cell edges.
    limits : (float, float)
        Colour range of fields and truth (from the dry threshold up, for precipitation).
    dry : float or None
        Values below it are drawn transparent (:func:`dry_threshold`).
    """

    leads: list[np.timedelta64]
    forecasts: list[xr.DataArray]
    fields: list[np.ndarray]
    observed: list[np.ndarray | None]
    geometry: MapGeometry
    limits: tuple[float, float]
    dry: float | None


def forecast_frames(
    forecast: xr.Dataset | xr.DataArray,
    truth: xr.Dataset | xr.DataArray,
    variable: str,
    init_time,
    lead_times: Sequence | None,
    level: int | None,
    projection: str,
) -> ForecastFrames:
    """The forecast at one init time and the truth at its valid times, per lead time, on a map.

    Parameters are those of :func:`plot_forecast_maps`; a missing init or lead time raises
    :class:`~gmgclim.errors.DataError`.
    """
    fc = select_field(forecast, variable, level)
    tr = select_field(truth, variable, level)
    init = np.datetime64(pd.Timestamp(init_time), "ns")
    times = fc["time"].values.astype("datetime64[ns]")
    if init not in times:
        raise DataError(f"init time {init} is not in the forecast ({times.min()} to {times.max()})")
    fc = fc.sel(time=init)
    available = fc["prediction_timedelta"].values.astype("timedelta64[ns]")
    leads = available if lead_times is None else np.asarray(lead_times).astype("timedelta64[ns]")
    missing = np.setdiff1d(leads, available)
    if missing.size:
        raise DataError(
            f"lead times {[lead_label(m) for m in missing]} are not in the forecast "
            f"(it has {[lead_label(a) for a in available]})"
        )
    truth_times = pd.DatetimeIndex(tr["time"].values)
    truths, fcs = [], []
    for lead in leads:
        fcs.append(fc.sel(prediction_timedelta=lead))
        valid = pd.Timestamp(init + lead)
        truths.append(tr.sel(time=valid) if valid in truth_times else None)
    geometry = map_geometry(grid_source(forecast, truth, fcs[0]), fcs[0], projection)
    fields = [geometry.values(f) for f in fcs]
    observed = [None if t is None else geometry.values(t) for t in truths]
    vmin, vmax = robust_limits([*fields, *(o for o in observed if o is not None)])
    dry = dry_threshold(fcs[0])
    if dry is not None:
        vmin, vmax = dry, max(vmax, 2 * dry)
    return ForecastFrames(list(leads), fcs, fields, observed, geometry, (vmin, vmax), dry)


def plot_forecast_maps(
    forecast: xr.Dataset | xr.DataArray,
    truth: xr.Dataset | xr.DataArray,
    variable: str,
    init_time,
    lead_times: Sequence | None,
    path: str | Path,
    level: int | None = None,
    projection: str = "auto",
    resolution: str = "110m",
    cmap: str = "viridis",
    error_cmap: str = "RdBu_r",
    dpi: int = 110,
) -> Path:
    """Truth, forecast and forecast-minus-truth maps, one row per lead time.

    Parameters
    ----------
    forecast : xr.Dataset or xr.DataArray
        dims (time=init, prediction_timedelta, [level], latitude/longitude or y/x); radar data
        carry a CF ``grid_mapping`` variable.
    truth : xr.Dataset or xr.DataArray
        dims (time=valid, [level], spatial...); a missing valid time leaves its panels empty.
    variable : str
        Variable to plot.
    init_time : str or datetime64
        Initialisation time, one of the forecast's.
    lead_times : sequence of timedelta64 or None
        Lead times to show (rows); None shows all.
    path : str or Path
        Output image (.png, .pdf, .svg).
    level : int, optional
        Pressure level (hPa) when the variable has several.
    projection : {"auto", "robinson", "platecarree"}
        Map projection for global latitude/longitude grids (regional grids use PlateCarree, y/x
        grids their own projection).
    resolution : {"110m", "50m"}
        Natural Earth coastline/border resolution (both shipped).
    cmap, error_cmap : str
        Colour maps of the fields and of the error (centred on 0).
    dpi : int
        Image resolution.

    Returns
    -------
    Path
        ``path``.
    """
    plt = _pyplot()
    configure_cartopy_offline()
    check_resolution(resolution)
    frames = forecast_frames(forecast, truth, variable, init_time, lead_times, level, projection)
    leads, fcs, fields, obs = frames.leads, frames.forecasts, frames.fields, frames.observed
    geometry, (vmin, vmax), dry = frames.geometry, frames.limits, frames.dry
    errors = [None if o is None else f - o for f, o in zip(fields, obs, strict=True)]
    elim = robust_limits([e for e in errors if e is not None] or [np.zeros(1)], symmetric=True)

    n_rows = len(leads)
    panel_w = 3.6
    panel_h = float(np.clip(panel_w * geometry.aspect, 1.6, 4.5))
    fig = plt.figure(figsize=(3 * panel_w + 0.4, n_rows * (panel_h + 0.45) + 1.3))
    grid = fig.add_gridspec(
        n_rows + 1,
        3,
        height_ratios=[*([panel_h] * n_rows), 0.12],
        hspace=0.25,
        wspace=0.06,
        left=0.02,
        right=0.98,
        top=1 - 0.7 / fig.get_figheight(),
        bottom=0.06,
    )
    label = field_label(fcs[0], variable)
    mesh_field = mesh_error = None
    for row, lead in enumerate(leads):
        valid = _time_label(np.datetime64(pd.Timestamp(init_time), "ns") + lead)
        panels = [
            (obs[row], f"truth, valid {valid}", cmap, (vmin, vmax)),
            (fields[row], f"forecast {lead_label(lead)}", cmap, (vmin, vmax)),
            (errors[row], "forecast − truth", error_cmap, elim),
        ]
        for col, (values, title, cm, (lo, hi)) in enumerate(panels):
            ax = fig.add_subplot(grid[row, col], projection=geometry.projection)
            if values is None:
                ax.set_global() if geometry.extent is None else ax.set_extent(
                    geometry.extent, crs=geometry.data_crs
                )
                ax.coastlines(resolution=resolution, linewidth=0.6, color="0.15")
                ax.text(
                    0.5,
                    0.5,
                    "no truth at this valid time",
                    transform=ax.transAxes,
                    ha="center",
                    va="center",
                    fontsize=9,
                )
            else:
                mesh = draw_field(
                    ax,
                    geometry,
                    values,
                    resolution,
                    dry if col < 2 else None,
                    cmap=cm,
                    vmin=lo,
                    vmax=hi,
                )
                if col == 2:
                    mesh_error = mesh
                elif mesh_field is None or col == 1:
                    mesh_field = mesh
            ax.set_title(title, fontsize=9)
    if mesh_field is not None:
        cax = fig.add_subplot(grid[n_rows, 0:2])
        extend = "max" if dry is not None else "both"
        if dry is not None:
            label += f", transparent below {dry:g} (grey: covered, dry)"
        fig.colorbar(mesh_field, cax=cax, orientation="horizontal", label=label, extend=extend)
    if mesh_error is not None:
        cax = fig.add_subplot(grid[n_rows, 2])
        units = fcs[0].attrs.get("units")
        fig.colorbar(
            mesh_error,
            cax=cax,
            orientation="horizontal",
            extend="both",
            label=f"error [{units}]" if units else "error",
        )
    level_text = f" at {level} hPa" if level is not None else ""
    fig.suptitle(f"{variable}{level_text}: forecast from {_time_label(init_time)}", fontsize=11)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
