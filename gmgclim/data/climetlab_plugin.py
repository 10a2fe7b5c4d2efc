"""climetlab integration: offline settings, gmgclim samples as climetlab datasets, a catalog driver.

- :func:`configure_climetlab_offline` empties climetlab's ``datasets-catalogs-urls`` setting in memory
  so that ``climetlab.load_dataset`` never looks names up on its remote catalogue (which hangs
  without a network). climetlab 0.24 saves every ``settings.set`` to ``~/.climetlab/settings.yaml``;
  this function changes the live settings object only and writes nothing. (Importing climetlab
  itself still creates ``~/.climetlab/`` with its defaults; that is climetlab's behaviour.)
- The bundled samples are registered as climetlab datasets through the ``climetlab.datasets`` entry
  point (``pyproject.toml``): ``climetlab.load_dataset("gmgclim-era5-uk-t2m").to_xarray()`` returns
  the canonical lazy dataset of catalog entry ``era5-uk-t2m``. The dataset classes are built on first
  access, so importing this module does not import climetlab.
- :func:`load_climetlab_dataset` backs the ``climetlab`` catalog driver. A dataset that is not one
  of gmgclim's bundled samples downloads; before climetlab starts (its downloader retries up to
  500 times, 120 s apart), a 3 s connection to the data's host is tried, and without a network (or
  with ``GMGCLIM_OFFLINE=1``) a one-line :class:`~gmgclim.errors.DataError` is raised at once.
"""

from __future__ import annotations

import os
import socket
from typing import Any

import xarray as xr

from gmgclim.errors import DataError

__all__ = [
    "CLIMETLAB_DATASETS",
    "configure_climetlab_offline",
    "load_climetlab_dataset",
]

#: climetlab class name -> (climetlab dataset name, gmgclim catalog entry).
CLIMETLAB_DATASETS: dict[str, tuple[str, str]] = {
    "Era5UkT2m": ("gmgclim-era5-uk-t2m", "era5-uk-t2m"),
    "Era5GlobalTz": ("gmgclim-era5-global-tz", "era5-global-tz"),
    "KnmiRadar": ("gmgclim-knmi-radar", "knmi-radar"),
    "FmiRadar": ("gmgclim-fmi-radar", "fmi-radar"),
}

_CLASSES: dict[str, type] = {}

#: Host each downloading climetlab dataset fetches from (probed before a download starts).
DOWNLOAD_HOSTS: dict[str, str] = {"weather-bench": "dataserv.ub.tum.de"}
#: Host probed for climetlab datasets not in DOWNLOAD_HOSTS (climetlab's own data server).
DEFAULT_DOWNLOAD_HOST = "get.ecmwf.int"
#: Environment variable: set to 1 to refuse every download without probing the network.
OFFLINE_ENV = "GMGCLIM_OFFLINE"


def _is_local_dataset(name: str) -> bool:
    return any(name == dataset for dataset, _ in CLIMETLAB_DATASETS.values())


def require_network(name: str, timeout_seconds: float = 3.0) -> None:
    """Fail at once when the host a climetlab dataset downloads from cannot be reached.

    Parameters
    ----------
    name : str
        climetlab dataset name (``"weather-bench"``).
    timeout_seconds : float
        How long one TCP connection to the host (port 443) may take.

    Raises
    ------
    DataError
        ``GMGCLIM_OFFLINE=1`` is set, or the host cannot be reached: one line naming the dataset
        and the host, instead of climetlab's downloader retrying for hours.
    """
    host = DOWNLOAD_HOSTS.get(name, DEFAULT_DOWNLOAD_HOST)
    hint = "connect to a network, or use a local copy (gmgclim data download / a zarr entry)"
    if os.environ.get(OFFLINE_ENV, "") not in ("", "0"):
        raise DataError(
            f"climetlab dataset {name!r} downloads from {host}, but {OFFLINE_ENV} is set "
            "(no network at run time)",
            hint=hint,
        )
    try:
        socket.create_connection((host, 443), timeout=timeout_seconds).close()
    except OSError as exc:
        raise DataError(
            f"climetlab dataset {name!r} downloads from {host}, which cannot be reached "
            f"({type(exc).__name__}: {exc}); refusing to start a download that retries offline",
            hint=hint,
        ) from None


def configure_climetlab_offline() -> None:
    """Stop climetlab from fetching its remote dataset catalogue (idempotent, writes no file).

    Raises
    ------
    ImportError
        When climetlab is not installed (``pip install climetlab``).
    """
    try:
        from climetlab.core.settings import SETTINGS
    except ImportError as exc:  # pragma: no cover - climetlab is a declared dependency
        raise ImportError("climetlab is needed here: pip install 'climetlab==0.24.*'") from exc
    if SETTINGS.get("datasets-catalogs-urls") != []:
        # Settings.set() would also save ~/.climetlab/settings.yaml; change the live value only.
        SETTINGS._settings["datasets-catalogs-urls"] = []
        SETTINGS._notify()


def _make_class(class_name: str) -> type:
    configure_climetlab_offline()
    from climetlab import Dataset

    from gmgclim.data.catalog import get_entry

    dataset_name, entry_name = CLIMETLAB_DATASETS[class_name]
    entry = get_entry(entry_name)

    def __init__(self, **kwargs: Any) -> None:
        self._open_kwargs = kwargs

    def to_xarray(self, **kwargs: Any) -> xr.Dataset:
        from gmgclim.data.catalog import open_entry

        return open_entry(entry_name, **{**self._open_kwargs, **kwargs})

    def __repr__(self) -> str:
        return f"{class_name}(gmgclim catalog entry {entry_name!r})"

    return type(
        class_name,
        (Dataset,),
        {
            "__init__": __init__,
            "to_xarray": to_xarray,
            "__repr__": __repr__,
            "__doc__": f"gmgclim sample {entry_name!r}: {entry.description}",
            "name": dataset_name,
            "home_page": "https://github.com/gmgclim/gmgclim",
            "licence": entry.license,
            "citation": entry.citation,
            "terms_of_use": None,
            "gmgclim_entry": entry_name,
        },
    )


def __getattr__(name: str) -> type:
    """Build the climetlab dataset classes lazily (climetlab's entry-point loader asks by name)."""
    if name in CLIMETLAB_DATASETS:
        if name not in _CLASSES:
            _CLASSES[name] = _make_class(name)
        return _CLASSES[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load_climetlab_dataset(name: str, **kwargs: Any) -> xr.Dataset:
    """Open a climetlab dataset (plugin installed locally) as xarray, never consulting the network
    catalogue.

    Parameters
    ----------
    name : str
        climetlab dataset name, e.g. ``"weatherbench"`` (plugin ``climetlab-weatherbench``) or
        ``"gmgclim-era5-uk-t2m"``.
    **kwargs
        Passed to ``climetlab.load_dataset``.

    Returns
    -------
    xr.Dataset
        The dataset's ``to_xarray()``, with the names the plugin gives it.

    Raises
    ------
    DataError
        When the dataset is unknown (plugin not installed), needs a network that is not there
        (raised before any download starts), or cannot be loaded.
    """
    configure_climetlab_offline()
    import climetlab
    from climetlab.datasets import get_dataset

    try:
        get_dataset.lookup(name)  # local: the installed plugins, never the remote catalogue
    except NameError as exc:
        raise DataError(
            f"climetlab dataset {name!r} is not installed: {exc}",
            hint=f"install its plugin (e.g. pip install climetlab-{name}) or use another driver",
        ) from None
    if not _is_local_dataset(name):
        require_network(name)
    try:
        return climetlab.load_dataset(name, **kwargs).to_xarray()
    except Exception as exc:
        raise DataError(f"climetlab dataset {name!r} could not be loaded: {exc}") from exc
