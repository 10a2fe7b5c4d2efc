"""Statics a catalog entry names (``statics:``): read, put on the task's grid, standardised, fed.

The data is the synthetic NCEP-style ``slp`` of :func:`gmgclim.testing.write_mock_slp_netcdf`
(16 x 24, 2.5 deg, latitude descending in the file); the orography is written beside it in the
same file order, ``z[i, j] = 100 i + j`` metres, so that every value on the model's grid can be
worked out by hand. Bad statics give one line naming the catalog file, the entry and the static.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyproj  # noqa: F401  (load PROJ before any netCDF file is opened: the two wheels clash)
import pytest
import xarray as xr
import yaml

from gmgclim.data.catalog import load_catalogs
from gmgclim.data.catalog_statics import open_static, task_static_fields
from gmgclim.data.context import ContextFields
from gmgclim.data.statics import standardise
from gmgclim.data.task import GridSpec, Task, open_task_data
from gmgclim.errors import DataError
from gmgclim.testing import write_mock_slp_netcdf

LAT = np.arange(70.0, 30.0, -2.5)  # 16, descending as in the data file
LON = np.arange(280.0, 340.0, 2.5)  # 24

CATALOG = """\
entries:
  slp-oro:
    driver: netcdf
    location: {data}
    variables: [slp]
    channels:
      msl: {{source: slp, source_units: Pa, units: hPa, scale: 0.01}}
    time: {{step: 1d}}
    statics:
      orography: {{location: oro.nc, variable: z, units: m, description: synthetic}}
  slp-other:
    driver: netcdf
    location: {data}
    variables: [slp]
    channels:
      msl: {{source: slp, source_units: Pa, units: hPa, scale: 0.01}}
    time: {{step: 1d}}
    statics:
      orography: {{location: "${{STATICS_DIR}}/other_oro.nc", variable: height}}
  slp-bare:
    driver: netcdf
    location: {data}
    variables: [slp]
    channels:
      msl: {{source: slp, source_units: Pa, units: hPa, scale: 0.01}}
    time: {{step: 1d}}
"""


def _orography(lat: np.ndarray = LAT, lon: np.ndarray = LON, times: int = 0) -> xr.Dataset:
    """``z[i, j] = 100 i + j`` m in file order; with ``times`` > 0 a leading time dim."""
    values = (100.0 * np.arange(lat.size)[:, None] + np.arange(lon.size)[None]).astype(np.float32)
    dims: tuple[str, ...] = ("lat", "lon")
    coords: dict = {"lat": ("lat", lat), "lon": ("lon", lon)}
    if times:
        values = np.repeat(values[None], times, axis=0)
        dims = ("time", *dims)
        coords["time"] = np.arange(times).astype("datetime64[D]").astype("datetime64[ns]")
    return xr.Dataset({"z": (dims, values, {"units": "m"})}, coords=coords)


@pytest.fixture
def catalog(tmp_path: Path, monkeypatch) -> Path:
    data = write_mock_slp_netcdf(tmp_path / "slp.day.nc")
    _orography().to_netcdf(tmp_path / "oro.nc")
    other = tmp_path / "statics"
    other.mkdir()
    # the other entry's orography is upside down: 100 (15 - i) + j
    flipped = _orography()
    flipped["z"].values[:] = flipped["z"].values[::-1]
    flipped.rename({"z": "height"}).to_netcdf(other / "other_oro.nc")
    path = tmp_path / "catalog.yaml"
    path.write_text(CATALOG.format(data=data))
    monkeypatch.setenv("GMGCLIM_CATALOGS", str(path))
    monkeypatch.setenv("STATICS_DIR", str(other))
    return path


def _task(entry: str = "slp-oro", **changes) -> Task:
    values = dict(
        entry=entry,
        channels=("msl",),
        step="1d",
        input_steps=2,
        output_steps=2,
        splits={"train": ("2001-01-01", "2001-02-05")},
        statics=("orography",),
    )
    return Task(**{**values, **changes})


def test_catalog_declares_statics(catalog):
    entry = load_catalogs()["slp-oro"]
    (spec,) = entry.statics
    assert (spec.name, spec.variable, spec.units, spec.location) == (
        "orography",
        "z",
        "m",
        "oro.nc",
    )
    assert entry.static_names == ("orography",) and load_catalogs()["slp-bare"].statics == ()


def test_static_lands_on_the_cropped_coarsened_grid(catalog):
    grid = GridSpec(crop=(("latitude", 2, 10),), coarsen=(("latitude", 2), ("longitude", 2)))
    field = open_static("slp-oro", "orography", grid)
    # canonical latitude ascends, so canonical row r is file row 15 - r: z = 100 (15 - r) + c.
    # Rows 2..9 cropped, then 2 x 2 block means: block (R, C) covers rows 2 + 2R, 3 + 2R and
    # columns 2C, 2C + 1, so z = 100 (15 - 2.5 - 2R) + 2C + 0.5 = 1250.5 - 200 R + 2 C.
    rows, cols = np.meshgrid(np.arange(4), np.arange(12), indexing="ij")
    expected = 1250.5 - 200.0 * rows + 2.0 * cols
    assert field.dims == ("latitude", "longitude") and field.shape == (4, 12)
    np.testing.assert_allclose(field.values, expected, rtol=1e-6)
    assert float(field.values[0, 0]) == pytest.approx(1250.5)
    np.testing.assert_allclose(field["latitude"].values, [38.75, 43.75, 48.75, 53.75])
    assert field.attrs["units"] == "m"

    # standardised over the 48 cells: mean 1250.5 - 200 * 1.5 + 2 * 5.5 = 961.5; variance
    # 200^2 var(R) + 2^2 var(C) = 40000 * 1.25 + 4 * 143 / 12 = 50047.67 (R, C independent)
    (standard,) = task_static_fields(_task(grid=grid)).values()
    np.testing.assert_allclose(
        standard, (expected - 961.5) / np.sqrt(50047.0 + 2.0 / 3.0), rtol=1e-5
    )
    assert standard.dtype == np.float32


def test_standardise_fills_nan_with_zero():
    # finite cells 1, 3, 5: mean 3, population std sqrt(8 / 3) = 1.63299
    out = standardise(np.array([[1.0, 3.0], [np.nan, 5.0]]))
    np.testing.assert_allclose(out, [[-1.2247449, 0.0], [0.0, 1.2247449]], rtol=1e-6)
    assert not standardise(np.full((2, 2), 7.0)).any()  # a constant field is all 0


def test_time_dim_of_length_one_is_dropped(catalog, tmp_path):
    _orography(times=1).to_netcdf(tmp_path / "oro.nc")
    field = open_static("slp-oro", "orography")
    assert field.dims == ("latitude", "longitude")
    assert float(field.values[0, 0]) == 1500.0  # canonical row 0 = file row 15


def test_context_tensor_has_the_channel(catalog):
    task = _task(statics=("sin_latitude", "orography"), forcings=("utc_hour_sin",))
    ds = open_task_data(task, time=slice("2001-01-01", "2001-01-03"))
    context = ContextFields.for_task(task.with_grid(ds), ds)
    assert context is not None
    frames = context.fields(ds["time"].values)
    assert frames.shape == (3, 3, 16, 24)  # (T, forcings + statics, H, W)
    orography = frames[:, 2]
    np.testing.assert_allclose(orography[0], orography[2])  # constant in time
    # the file's last row (z = 1500 + j) is canonical row 0: the lowest land, standardised
    raw = 100.0 * (15 - np.arange(16))[:, None] + np.arange(24)[None]
    np.testing.assert_allclose(orography[0], standardise(raw), rtol=1e-5)
    np.testing.assert_allclose(frames[0, 1, :, 0], np.sin(np.deg2rad(LAT[::-1])), rtol=1e-5)


def _one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text, text
    return text


def _entry_with_static(tmp_path: Path, static: str) -> None:
    path = Path(load_catalogs()["slp-oro"].catalog_file)  # type: ignore[arg-type]
    raw = yaml.safe_load(path.read_text())
    raw["entries"]["slp-oro"]["statics"] = yaml.safe_load(static)
    path.write_text(yaml.safe_dump(raw))


OPEN_CASES = [
    (  # a file that is not there
        "{orography: {location: missing_oro.nc, variable: z}}",
        None,
        ["no netCDF files match", "missing_oro.nc", "does not exist"],
    ),
    (  # a glob that matches nothing
        "{orography: {location: 'oro_*.nc', variable: z}}",
        None,
        ["no netCDF files match", "oro_*.nc", "holds no match"],
    ),
    (  # the variable is not in the file: what it has is listed
        "{orography: {location: oro.nc, variable: orog}}",
        None,
        ["has no variable 'orog'", "['z']"],
    ),
    (  # a field with 3 time steps is not 2-D
        "{orography: {location: oro.nc, variable: z}}",
        _orography(times=3),
        [
            "dims ('time', 'latitude', 'longitude')",
            "expected a 2-D field",
            "('latitude', 'longitude')",
        ],
    ),
    (  # shifted longitudes
        "{orography: {location: oro.nc, variable: z}}",
        _orography(lon=LON + 1.0),
        ["grid does not match the entry's", "longitude:", "281", "280"],
    ),
    (  # fewer latitudes
        "{orography: {location: oro.nc, variable: z}}",
        _orography(lat=LAT[:12]),
        ["grid does not match the entry's", "'latitude' has 12 cells", "16"],
    ),
]


@pytest.mark.parametrize(("static", "file", "expected"), OPEN_CASES)
def test_bad_static_files_give_one_line(catalog, tmp_path, static, file, expected):
    _entry_with_static(tmp_path, static)
    if file is not None:
        file.to_netcdf(tmp_path / "oro.nc")
    with pytest.raises(DataError) as exc:
        task_static_fields(_task())
    text = _one_line(exc)
    for part in [str(catalog), "entry 'slp-oro'", "static 'orography'", *expected]:
        assert part in text, (part, text)


LOAD_CASES = [
    (  # a key the static mapping does not know
        "{orography: {location: oro.nc, variable: z, unit: m}}",
        [
            "statics.orography",
            "unknown key(s) ['unit']",
            "allowed: ['description', 'location', 'units', 'variable']",
        ],
    ),
    (  # the variable is required
        "{orography: {location: oro.nc}}",
        ["statics.orography", "lacks required key(s) ['variable']"],
    ),
    (  # a built-in name cannot be redefined
        "{land_sea_mask: {location: oro.nc, variable: z}}",
        ["statics.land_sea_mask", "built-in static"],
    ),
    (  # a list instead of a mapping
        "[orography]",
        ["key 'statics' must be a mapping"],
    ),
]


@pytest.mark.parametrize(("static", "expected"), LOAD_CASES)
def test_bad_static_mappings_give_one_line(catalog, tmp_path, static, expected):
    _entry_with_static(tmp_path, static)
    with pytest.raises(DataError) as exc:
        load_catalogs()
    text = _one_line(exc)
    for part in [str(catalog), "entry 'slp-oro'", *expected]:
        assert part in text, (part, text)


def test_undeclared_static_lists_built_in_and_entry_names(catalog):
    with pytest.raises(DataError) as exc:
        _task(statics=("orography", "land_cover"))
    text = _one_line(exc)
    for part in ["unknown statics ['land_cover']", "'land_sea_mask'", "'sin_latitude'"]:
        assert part in text
    assert "entry 'slp-oro'" in text and "declares ['orography']" in text
    with pytest.raises(DataError, match=r"entry 'slp-bare' .* declares none"):
        _task("slp-bare")


def _recipe(path: Path, run: Path) -> Path:
    recipe = {
        "data": {
            "entry": "slp-oro",
            "channels": ["msl"],
            "step": "1d",
            "input_steps": 2,
            "output_steps": 2,
            "splits": {
                "train": {"start": "2001-01-01", "end": "2001-02-05"},
                "valid": {"start": "2001-02-06", "end": "2001-02-17"},
                "test": {"start": "2001-02-18", "end": "2001-03-01"},
            },
            "grid": {"crop": {"latitude": [0, 12]}},
            "statics": ["orography", "land_sea_mask"],
        },
        "model": {
            "name": "gmg",
            "config": {
                "patch_size": 4,
                "num_hidden": [8],
                "filter_size": 3,
                "att_hidden": 4,
                "multiscale_kernels": [1, 3],
            },
        },
        "training": {
            "max_steps": 2,
            "batch_size": 2,
            "lr": 1.0e-3,
            "warmup_steps": 0,
            "validate_every": 2,
            "validate_batches": 1,
            "checkpoint_every": 2,
            "log_every": 1,
            "seed": 0,
            "device": "cpu",
            "threads_per_process": 1,
        },
        "output": {"dir": str(run), "tensorboard": False},
    }
    path.write_text(yaml.safe_dump(recipe))
    return path


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    from gmgclim.cli import main

    capsys.readouterr()
    code = 0
    try:
        main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_train_and_forecast_with_a_catalog_static(catalog, tmp_path, capsys):
    from gmgclim.inference.loading import load_forecaster
    from gmgclim.inference.plan import plan_forecast

    run = tmp_path / "run"
    code, _, err = _cli(capsys, "train", str(_recipe(tmp_path / "r.yaml", run)), "--no-progress")
    assert code == 0, err
    store = tmp_path / "fc.zarr"
    code, _, err = _cli(
        capsys, "forecast", str(run), "--split", "test", "-o", str(store), "--no-progress"
    )
    assert code == 0, err
    fc = xr.open_zarr(store)
    assert fc.sizes["latitude"] == 12 and np.isfinite(fc["mean_sea_level_pressure"].values).all()

    # another entry that declares the static: its own orography is read, on its own grid
    other = tmp_path / "other.zarr"
    code, _, err = _cli(
        capsys, "forecast", str(run), "--dataset", "slp-other", "--split", "test",
        "-o", str(other), "--no-progress",
    )  # fmt: skip
    assert code == 0, err
    assert xr.open_zarr(other).sizes["latitude"] == 16
    forecaster = load_forecaster(run).for_data(entry="slp-other")
    plan = plan_forecast(forecaster, "slp-other", split="test")
    assert plan.context is not None
    frames = plan.context.fields(plan.fields["time"].values[:1])
    # other_oro.nc is upside down, so its canonical row r holds 100 r + c
    expected = standardise(100.0 * np.arange(16)[:, None] + np.arange(24)[None])
    assert frames.shape[1] == 2  # orography, land_sea_mask
    np.testing.assert_allclose(frames[0, 0], expected, rtol=1e-5)

    # an entry without it: one line naming the entry and the static
    code, _, err = _cli(
        capsys, "forecast", str(run), "--dataset", "slp-bare", "--split", "test",
        "-o", str(tmp_path / "bare.zarr"), "--no-progress",
    )  # fmt: skip
    assert code == 2
    line = next(x for x in err.splitlines() if x.startswith("error:"))
    assert "'slp-bare'" in line and "'orography'" in line, err


def test_data_check_reports_statics(catalog, tmp_path):
    from gmgclim.data.entry_check import check_entry

    report = check_entry("slp-oro")
    line = next(x for x in report.lines if x.startswith("static:"))
    assert "orography" in line and "[m]" in line and "0..1523" in line  # 100 * 15 + 23
    _entry_with_static(tmp_path, "{orography: {location: oro.nc, variable: orog}}")
    problems = [what for what, _ in check_entry("slp-oro").problems]
    assert any("static 'orography'" in p and "has no variable 'orog'" in p for p in problems)


def test_projected_static_follows_the_entry_options(tmp_path, monkeypatch):
    from gmgclim.data.catalog import describe_entry, get_entry
    from gmgclim.testing import write_mock_albers_radar_netcdf

    radar = xr.open_dataset(write_mock_albers_radar_netcdf(tmp_path / "radar.nc"))
    height = np.arange(32 * 32, dtype=np.float64).reshape(32, 32)  # 32 i + j, file order
    # on the entry's y/x, without repeating its grid mapping
    xr.Dataset({"h": (("y", "x"), height)}, coords={"y": radar["y"], "x": radar["x"]}).to_netcdf(
        tmp_path / "height.nc"
    )
    catalog = tmp_path / "radar.yaml"
    catalog.write_text(
        f"entries:\n  radar:\n    driver: netcdf\n    location: {tmp_path / 'radar.nc'}\n"
        "    variables: [precipitation]\n    channels:\n"
        "      precip: {source: precipitation, source_units: mm, units: mm h-1, "
        "conversion: accumulation_to_rate}\n    time: {step: 10min}\n    options: {coarsen: 2}\n"
        "    statics:\n      height: {location: height.nc, variable: h, units: m}\n"
    )
    monkeypatch.setenv("GMGCLIM_CATALOGS", str(catalog))
    assert "static:    height = h [m] in height.nc" in describe_entry(get_entry("radar"), False)
    field = open_static("radar", "height", GridSpec(crop=(("y", 2, 10),)))
    # the entry's 2 x 2 block means, then rows 2..9: block (0, 0) covers rows 4, 5 and columns
    # 0, 1, so (32 * 4 + 0 + 32 * 4 + 1 + 32 * 5 + 0 + 32 * 5 + 1) / 4 = 144.5
    assert field.dims == ("y", "x") and field.shape == (8, 16)
    assert float(field.values[0, 0]) == 144.5 and float(field.values[1, 0]) == 208.5
    assert field["latitude"].dims == ("y", "x")  # the entry's coordinates come along
