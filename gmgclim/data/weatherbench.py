"""WeatherBench 1 (netCDF directories) and WeatherBench 2 (zarr) readers, and the WB1 downloader.

WeatherBench 1 layout (Rasp et al. 2020), one directory per variable and one netCDF file per year::

    ROOT/2m_temperature/2m_temperature_1979_5.625deg.nc          t2m(time, lat, lon)
    ROOT/temperature_850/temperature_850hPa_1979_5.625deg.nc     t(time, lat, lon), level=850
    ROOT/temperature/temperature_1979_5.625deg.nc                t(time, level, lat, lon)
    ROOT/constants/constants_5.625deg.nc                         orography, lsm, ... (lat, lon)

:func:`open_weatherbench1` opens the directories that a list of channels needs (``t850`` reads
``temperature_850`` or, failing that, level 850 of ``temperature``), lazily (dask chunks of 168 time
steps), and returns the canonical convention (``lat``/``lon`` -> ``latitude``/``longitude``, ``t`` ->
``temperature`` with a ``level`` dim ...).
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from gmgclim.conventions import canonicalize
from gmgclim.data.gridded import open_netcdf_files, open_zarr, select_variables
from gmgclim.errors import DataError
from gmgclim.lexicon import resolve_channel

__all__ = [
    "WEATHERBENCH1_URL",
    "download_weatherbench1",
    "open_weatherbench1",
    "open_weatherbench2",
    "weatherbench1_directories",
    "weatherbench1_missing",
    "weatherbench1_missing_error",
]

#: Public WeatherBench 1 server (TUM mediaTUM data server; one zip per variable and resolution).
WEATHERBENCH1_URL = "https://dataserv.ub.tum.de/s/m1524895/download?path=%2F{resolution}deg%2F{variable}&files={variable}_{resolution}deg.zip"

_YEAR = re.compile(r"_(\d{4})_")
# WB1 source variable name in each directory family (canonical variable -> file variable).
_WB1_FILE_VARIABLE = {
    "temperature": "t",
    "geopotential": "z",
    "u_component_of_wind": "u",
    "v_component_of_wind": "v",
    "specific_humidity": "q",
    "relative_humidity": "r",
    "potential_vorticity": "pv",
    "vorticity": "vo",
    "2m_temperature": "t2m",
    "10m_u_component_of_wind": "u10",
    "10m_v_component_of_wind": "v10",
    "total_precipitation": "tp",
    "total_cloud_cover": "tcc",
    "toa_incident_solar_radiation": "tisr",
}


def weatherbench1_directories(root: str | Path) -> list[str]:
    """Names of the variable directories present under a WeatherBench 1 root."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"WeatherBench 1 directory not found: {root}")
    return sorted(p.name for p in root.iterdir() if p.is_dir())


def _channel_directories(name: str) -> list[str]:
    """WB1 directories that can hold a channel, preferred first (``t850``: temperature_850,
    temperature)."""
    ch = resolve_channel(name)
    return [f"{ch.variable}_{ch.level}", ch.variable] if ch.level is not None else [ch.variable]


def weatherbench1_missing(
    root: str | Path,
    channels: Sequence[str] | None = None,
    directories: Sequence[str] | None = None,
) -> list[str]:
    """The directories that ``channels`` (or ``directories``) need and that hold no netCDF file.

    Parameters
    ----------
    root : str or Path
        The WeatherBench 1 root (one directory per variable).
    channels, directories : sequence of str, optional
        What is to be opened, as for :func:`open_weatherbench1`; neither: any directory.

    Returns
    -------
    list of str
        The preferred directory of each channel (or each directory) without ``*.nc`` files; empty
        when everything is there. Neither channels nor directories: ``[]`` when any directory
        holds files, else ``["<variable>"]``.
    """
    root = Path(root).expanduser()

    def has_files(directory: str) -> bool:
        return (root / directory).is_dir() and any((root / directory).glob("*.nc"))

    if directories:
        return [d for d in directories if not has_files(d)]
    if channels:
        wanted = [_channel_directories(name) for name in channels]
        return [c[0] for c in wanted if not any(has_files(d) for d in c)]
    return [] if root.is_dir() and any(root.glob("*/*.nc")) else ["<variable>"]


def weatherbench1_missing_error(
    root: str | Path, missing: Sequence[str], shown_root: str | None = None, what: str = ""
) -> DataError:
    """One line naming the WB1 root searched, the layout expected there and the download command.

    Parameters
    ----------
    root : str or Path
        The root searched (expanded).
    missing : sequence of str
        Directories without netCDF files (:func:`weatherbench1_missing`).
    shown_root : str, optional
        The root as the user wrote it (``${GMGCLIM_DATA}/weatherbench1/5.625deg``) for the layout.
    what : str
        A prefix naming the caller, e.g. ``"catalog entry 'weatherbench1-t850': "``.
    """
    root = Path(root).expanduser()
    shown = (shown_root or str(root)).rstrip("/")
    if not root.is_dir():
        state = "directory not found"
    else:
        state = "has no " + ", ".join(f"{d}/*.nc" for d in missing)
    layout = ", ".join(f"{shown}/{d}/*.nc" for d in missing)
    match = re.search(r"(\d+(?:\.\d+)?)deg", root.name)
    resolution = f" --resolution {match.group(1)}" if match and match.group(1) != "5.625" else ""
    variables = " ".join(f"--variable {d}" for d in missing if not d.startswith("<"))
    variables = variables or "--variable temperature_850"
    command = f"gmgclim data download weatherbench {variables}{resolution} --to {root}"
    return DataError(
        f"{what}no WeatherBench 1 data: searched {root} ({state}); expected {layout} "
        f"(one netCDF file per year); get it with `{command}`",
        hint="if the data is elsewhere, point the path (or GMGCLIM_DATA) at the folder that "
        "holds it; `gmgclim data download --help` lists the options",
    )


def _year_files(directory: Path, years: Iterable[int] | None) -> list[Path]:
    files = sorted(directory.glob("*.nc"))
    if years is not None:
        wanted = set(years)
        files = [f for f in files if (m := _YEAR.search(f.name)) and int(m.group(1)) in wanted]
    if not files:
        which = f" for years {sorted(set(years))[:3]}..." if years is not None else ""
        raise DataError(f"no netCDF files in {directory}{which}", hint="check GMGCLIM_DATA / --to")
    return files


def _open_directory(directory: Path, years, chunks, level: int | None) -> xr.Dataset:
    files = _year_files(directory, years)
    ds = open_netcdf_files(files, chunks=chunks, source="weatherbench1")
    if "level" in ds.coords and ds["level"].ndim == 0:
        ds = ds.expand_dims(level=[int(ds["level"].values)])
    elif "level" not in ds.coords and level is not None:
        ds = ds.expand_dims(level=[level])
    for name in ds.data_vars:
        if "level" in ds[name].dims and ds[name].dims[0] == "level":
            ds[name] = ds[name].transpose("time", "level", ...)
    if level is not None:
        available = [int(v) for v in np.atleast_1d(ds["level"].values)]
        if level not in available:
            raise DataError(f"{directory}: no level {level} hPa; levels present: {available}")
        ds = ds.sel(level=[level])
    return ds


def _pad_levels(part: xr.Dataset, levels: list[int]) -> xr.Dataset:
    """Give ``part`` exactly ``levels`` (ascending), NaN where it has no data, lazily."""
    present = [int(v) for v in part["level"].values]
    if present == levels:
        return part
    import dask.array as dsa

    pieces = []
    for level in levels:
        if level in present:
            i = present.index(level)
            pieces.append(part.isel(level=slice(i, i + 1)))
        else:
            template = part.isel(level=slice(0, 1))
            filler = template.copy(
                data={
                    name: dsa.full(da.shape, np.nan, dtype=da.dtype, chunks=da.data.chunksize)
                    if hasattr(da.data, "chunksize")
                    else np.full(da.shape, np.nan, dtype=da.dtype)
                    for name, da in template.data_vars.items()
                }
            )
            pieces.append(filler.assign_coords(level=[level]))
    return xr.concat(pieces, dim="level", data_vars="all", coords="minimal", join="exact")


def open_weatherbench1(
    root: str | Path,
    channels: Sequence[str] | None = None,
    directories: Sequence[str] | None = None,
    years: Iterable[int] | None = None,
    chunks: dict | None = None,
    constants: bool = False,
) -> xr.Dataset:
    """Open a WeatherBench 1 directory tree lazily in the canonical convention.

    Parameters
    ----------
    root : str or Path
        Directory holding one sub-directory per variable.
    channels : sequence of str, optional
        Lexicon short names (``t850``, ``z500``, ``t2m``, ``tp`` ...); each picks
        ``<variable>_<level>`` or the all-levels ``<variable>`` directory.
    directories : sequence of str, optional
        Directory names to open instead of ``channels`` (default: all except ``constants``).
    years : iterable of int, optional
        Only files whose name holds one of these years.
    chunks : dict, optional
        dask chunks per file; default ``{"time": 168}`` (one week of hourly data, 2.6 MB per chunk at
        32 x 64): dask reads whole chunks, so one chunk per yearly file would read 72 MB per window.
    constants : bool
        Also merge ``constants/`` (orography, land-sea mask, soil type), which has no time dim.

    Returns
    -------
    xr.Dataset
        dims ``time``, ``level`` (pressure-level variables only), ``latitude``, ``longitude``.

    Raises
    ------
    DataError
        For a missing directory, variable or level, and every file-level problem of
        :func:`gmgclim.data.gridded.open_netcdf_files`.
    """
    root = Path(root).expanduser()
    if chunks is None:
        chunks = {"time": 168}
    if not root.is_dir() or not any(root.glob("*/*.nc")):  # an empty or missing data root
        raise weatherbench1_missing_error(root, weatherbench1_missing(root, channels, directories))
    present = weatherbench1_directories(root)
    plan: list[tuple[str, int | None]] = []
    if channels is not None:
        for name in channels:
            ch = resolve_channel(name)
            candidates = (
                [f"{ch.variable}_{ch.level}", ch.variable]
                if ch.level is not None
                else [ch.variable]
            )
            found = next((c for c in candidates if c in present), None)
            if found is None:
                raise DataError(
                    f"WeatherBench 1 root {root} has no directory for channel {name!r} "
                    f"(looked for {candidates}; present: {present})"
                )
            plan.append((found, ch.level if found == ch.variable else None))
    else:
        chosen = list(directories) if directories is not None else present
        for d in chosen:
            if d not in present:
                raise DataError(f"no directory {d!r} under {root}; present: {present}")
            if d != "constants":
                plan.append((d, None))
    by_variable: dict[str, list[xr.Dataset]] = {}
    for directory, level in plan:
        part = _open_directory(root / directory, years, chunks, level)
        for var in part.data_vars:
            by_variable.setdefault(str(var), []).append(part[[var]])
    merged = []
    for name, parts in by_variable.items():
        if len(parts) == 1:
            merged.append(parts[0])
            continue
        if not all("level" in p.dims for p in parts):
            raise DataError(
                f"variable {name!r} found in several single-level directories of {root}"
            )
        combined = xr.concat(parts, dim="level", join="exact").sortby("level")
        levels = combined["level"].values
        if np.unique(levels).size != levels.size:
            combined = combined.isel(level=np.unique(levels, return_index=True)[1])
        merged.append(combined)
    # Variables read from single-level directories hold different levels (t at 850, z at 500):
    # they share one ``level`` dim, the missing (variable, level) pairs being NaN. The union is
    # built with concat (slices of the data and lazy NaN blocks), not reindex: dask can push a
    # later time slice through concat into the file reads, but not through reindex's take/where.
    all_levels = sorted({int(v) for p in merged if "level" in p.dims for v in p["level"].values})
    if all_levels:
        merged = [_pad_levels(p, all_levels) if "level" in p.dims else p for p in merged]
    try:
        ds = xr.merge(merged, join="exact", compat="override", combine_attrs="drop_conflicts")
    except ValueError as exc:
        raise DataError(
            f"WeatherBench 1 directories under {root} disagree on time or grid: {exc}"
        ) from exc
    if constants or (directories is not None and "constants" in directories):
        const = open_netcdf_files(
            _year_files(root / "constants", None), chunks=chunks, source="weatherbench1"
        )
        const = const.drop_vars([v for v in ("lat2d", "lon2d") if v in const.variables])
        ds = xr.merge([ds, const], join="exact", compat="override")
    ds.attrs["source"] = f"WeatherBench 1 directory {root}"
    return ds


def open_weatherbench2(
    location: str,
    variables: Sequence[str] | None = None,
    storage_options: dict | None = None,
    chunks: dict | None = None,
) -> xr.Dataset:
    """Open a WeatherBench 2 zarr store (e.g. ``gs://weatherbench2/datasets/era5/...zarr``) lazily.

    Parameters
    ----------
    location : str
        Local path or fsspec URL.
    variables : sequence of str, optional
        Canonical variable names to keep.
    storage_options : dict, optional
        fsspec options (``{"token": "anon"}`` for the public bucket).
    chunks : dict, optional
        dask chunks (default the store's).

    Returns
    -------
    xr.Dataset
    """
    ds = open_zarr(location, storage_options=storage_options, chunks=chunks)
    if variables is not None:
        ds = select_variables(ds, variables, location)
    return canonicalize(ds)


def download_weatherbench1(
    variable: str,
    years: Iterable[int],
    to: str | Path,
    resolution: str = "5.625",
    timeout: float = 10.0,
    url_template: str = WEATHERBENCH1_URL,
    progress: bool = False,
) -> list[Path]:
    """Download a WeatherBench 1 variable from the public TUM server and unpack the wanted years.

    The server serves one zip per variable and resolution (all years); it is fetched to
    ``TO/<variable>_<resolution>deg.zip`` and the files of ``years`` are extracted into
    ``TO/<variable>/``.

    Parameters
    ----------
    variable : str
        WeatherBench 1 directory name, e.g. ``temperature_850``, ``geopotential_500``,
        ``2m_temperature``, ``total_precipitation``, ``constants``.
    years : iterable of int
        Years to keep, e.g. ``range(1979, 2019)``.
    to : str or Path
        Destination root (the WeatherBench 1 root afterwards).
    resolution : str
        ``"5.625"``, ``"2.8125"`` or ``"1.40625"``.
    timeout : float
        Seconds before a connection attempt is abandoned.
    url_template : str
        URL with ``{variable}`` and ``{resolution}`` fields.
    progress : bool
        Show a progress bar over the downloaded bytes.

    Returns
    -------
    list of Path
        The extracted netCDF files.

    Raises
    ------
    DataError
        When the server cannot be reached (no network) or the archive lacks the years.
    """
    import zipfile

    from gmgclim.progress import ByteProgress

    to = Path(to).expanduser()
    url = url_template.format(variable=variable, resolution=resolution)
    archive = to / f"{variable}_{resolution}deg.zip"
    to.mkdir(parents=True, exist_ok=True)
    partial = archive.with_suffix(".zip.part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
            size = int(response.headers.get("Content-Length") or 0) or None
            with ByteProgress(archive.name, size, progress) as bar:
                while chunk := response.read(1 << 20):
                    out.write(chunk)
                    bar.advance(len(chunk))
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        partial.unlink(missing_ok=True)
        raise DataError(
            f"cannot download WeatherBench 1 {variable!r} from {url}: {exc}",
            hint="this needs internet access to dataserv.ub.tum.de; or copy the files by hand",
        ) from exc
    partial.rename(archive)
    wanted = set(years)
    extracted = []
    target = to / variable
    try:
        with zipfile.ZipFile(archive) as zf:
            for member in zf.namelist():
                name = Path(member).name
                m = _YEAR.search(name)
                if name.endswith(".nc") and (
                    variable == "constants" or (m and int(m.group(1)) in wanted)
                ):
                    target.mkdir(parents=True, exist_ok=True)
                    dest = target / name
                    with zf.open(member) as src, open(dest, "wb") as out:
                        while chunk := src.read(1 << 20):
                            out.write(chunk)
                    extracted.append(dest)
    except zipfile.BadZipFile as exc:
        raise DataError(f"downloaded archive {archive} is not a zip file: {exc}") from exc
    if not extracted:
        raise DataError(f"{archive} holds no netCDF files for years {sorted(wanted)}")
    return sorted(extracted)
