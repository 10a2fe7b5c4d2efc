"""The `gmgclim data` commands."""

import urllib.error

import pytest

from gmgclim.cli import main
from gmgclim.data import weatherbench


def test_list(capsys):
    main(["data", "list"])
    out = capsys.readouterr().out
    for name in ("era5-uk-t2m", "era5-global-tz", "knmi-radar", "fmi-radar", "wb2-era5-64x32"):
        assert name in out


def test_describe_opens_sample(capsys):
    main(["data", "describe", "era5-uk-t2m"])
    out = capsys.readouterr().out
    assert "dims:      time=744, latitude=33, longitude=49" in out
    assert "2019-03-01 00:00:00 .. 2019-03-31 23:00:00 (744 steps" in out


def test_describe_unknown(capsys):
    with pytest.raises(SystemExit) as info:
        main(["data", "describe", "nope"])
    assert info.value.code == 2
    assert "no catalog entry 'nope'" in capsys.readouterr().err


def test_download_without_network_is_clear(tmp_path, monkeypatch, capsys):
    def no_network(url, timeout):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(weatherbench.urllib.request, "urlopen", no_network)
    with pytest.raises(SystemExit) as info:
        main(
            [
                "data",
                "download",
                "weatherbench",
                "--variable",
                "temperature_850",
                "--years",
                "1979-2018",
                "--to",
                str(tmp_path),
            ]
        )
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "cannot download WeatherBench 1 'temperature_850'" in err and "internet access" in err


def test_download_bad_years(capsys, tmp_path):
    with pytest.raises(SystemExit):
        main(
            [
                "data",
                "download",
                "weatherbench",
                "--variable",
                "t",
                "--years",
                "2018-1979",
                "--to",
                str(tmp_path),
            ]
        )
    assert "--years '2018-1979'" in capsys.readouterr().err
