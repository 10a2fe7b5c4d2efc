import numpy as np
import pytest
from PIL import Image

from gmgclim.errors import DataError, GmgclimError
from gmgclim.metrics import compute_climatology, score_with_baselines
from gmgclim.plotting import (
    animate_forecast,
    configure_cartopy_offline,
    natural_earth_dir,
    plot_forecast_maps,
    plot_skill_curves,
)
from gmgclim.plotting.maps import grid_mapping_crs, map_geometry


def _check_image(path, min_size=(400, 250)):
    assert path.exists() and path.stat().st_size > 20_000
    with Image.open(path) as im:
        assert im.size[0] >= min_size[0] and im.size[1] >= min_size[1]
        pixels = np.asarray(im.convert("RGB"), dtype=np.float64)
    # Not a blank canvas: many distinct colours from the fields and colour bars.
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 200


def test_shipped_natural_earth_layout():
    base = natural_earth_dir() / "shapefiles" / "natural_earth"
    for res in ("110m", "50m"):
        assert (base / "physical" / f"ne_{res}_coastline.shp").exists()
        assert (base / "cultural" / f"ne_{res}_admin_0_boundary_lines_land.shp").exists()
    assert (natural_earth_dir() / "README.md").exists()


def test_unshipped_resolution_raises_instead_of_downloading():
    import cartopy.io.shapereader as shpreader

    configure_cartopy_offline()
    path = shpreader.natural_earth("110m", "physical", "coastline")
    assert str(path).startswith(str(natural_earth_dir()))
    with pytest.raises(GmgclimError, match="not shipped"):
        shpreader.natural_earth("10m", "physical", "coastline")


def test_global_maps(tmp_path, global_case):
    fc, truth = global_case
    out = plot_forecast_maps(fc, truth, "t2m", fc.time.values[1], None, tmp_path / "g.png")
    _check_image(out, (1000, 700))
    out = plot_forecast_maps(
        fc,
        truth,
        "t2m",
        fc.time.values[0],
        fc.prediction_timedelta.values[:1],
        tmp_path / "pc.png",
        projection="platecarree",
    )
    _check_image(out)


def test_regional_maps_cross_greenwich(tmp_path, uk_case):
    fc, truth = uk_case
    geometry = map_geometry(fc, fc["t2m"].isel(time=0, prediction_timedelta=0))
    west, east, south, north = geometry.extent
    assert west == pytest.approx(-10.125) and east == pytest.approx(2.125)
    assert (south, north) == (pytest.approx(49.875), pytest.approx(58.125))
    out = plot_forecast_maps(
        fc, truth, "t2m", "2019-03-01T02", None, tmp_path / "uk.png", resolution="50m"
    )
    _check_image(out)


def test_radar_maps_use_the_data_projection(tmp_path, radar_case):
    import cartopy.crs as ccrs

    fc, truth = radar_case
    crs = grid_mapping_crs(truth, truth["precipitation_rate"])
    assert isinstance(crs, ccrs.Stereographic)
    # The KNMI grid's first pixel centre (0.5 km, -3650.5 km) lies over the North Sea near 0 E, 55.97 N
    # (the product's upper-left corner in the HDF5 metadata is 0.0 E, 55.974 N).
    lon, lat = ccrs.PlateCarree().transform_point(500.0, -3650500.0, crs)
    assert lon == pytest.approx(0.0, abs=0.05) and lat == pytest.approx(55.97, abs=0.05)
    out = plot_forecast_maps(
        fc,
        truth,
        "precipitation_rate",
        fc.time.values[0],
        None,
        tmp_path / "radar.png",
        resolution="50m",
    )
    _check_image(out)


def test_missing_init_and_lead_raise(tmp_path, global_case):
    fc, truth = global_case
    with pytest.raises(DataError, match="init time"):
        plot_forecast_maps(fc, truth, "t2m", "1999-01-01", None, tmp_path / "x.png")
    with pytest.raises(DataError, match=r"\+7 h"):
        plot_forecast_maps(
            fc, truth, "t2m", fc.time.values[0], [np.timedelta64(7, "h")], tmp_path / "x.png"
        )
    with pytest.raises(DataError, match="no variable 'z500'"):
        plot_forecast_maps(fc, truth, "z500", fc.time.values[0], None, tmp_path / "x.png")
    with pytest.raises(ValueError, match="resolution"):
        plot_forecast_maps(
            fc, truth, "t2m", fc.time.values[0], None, tmp_path / "x.png", resolution="10m"
        )


def test_skill_curves(tmp_path, global_case, radar_case):
    fc, truth = global_case
    clim = compute_climatology(truth, hour_of_day=False)
    scores = score_with_baselines(fc, truth, climatology=clim, metrics=["rmse", "bias", "acc"])
    _check_image(plot_skill_curves(scores, tmp_path / "skill.png"))
    fc, truth = radar_case
    scores = score_with_baselines(
        fc,
        truth,
        baselines=["persistence"],
        metrics=["mae", "csi", "fss"],
        thresholds=[0.5, 2.0],
        scales=[1, 5],
        skipna=True,
    )
    _check_image(plot_skill_curves(scores, tmp_path / "radar_skill.png"))
    with pytest.raises(DataError, match="nothing to plot"):
        plot_skill_curves(scores, tmp_path / "none.png", metrics=["acc"])


def test_animations(tmp_path, radar_case, global_case):
    fc, truth = radar_case
    out = animate_forecast(
        fc, truth, "precipitation_rate", fc.time.values[0], tmp_path / "r.gif", resolution="50m"
    )
    with Image.open(out) as im:
        assert im.n_frames == 3
        frames = []
        for k in range(im.n_frames):
            im.seek(k)
            frames.append(np.asarray(im.convert("RGB"), dtype=np.int16))
    # The rain moves between frames.
    assert np.abs(frames[0] - frames[2]).sum() > 0
    fc, truth = global_case
    out = animate_forecast(fc, truth, "t2m", fc.time.values[0], tmp_path / "g.gif")
    assert out.stat().st_size > 20_000
    with pytest.raises(ValueError, match=r"\.gif or \.mp4"):
        animate_forecast(fc, truth, "t2m", fc.time.values[0], tmp_path / "g.avi")
