"""Offline cartopy: the Natural Earth files shipped in gmgclim, never a download.

cartopy fetches Natural Earth shapefiles on first use. :func:`configure_cartopy_offline` points its
``pre_existing_data_dir`` at ``gmgclim/sample_data/natural_earth`` (cartopy's own layout), moves its
``data_dir`` to a user cache folder, and replaces the Natural Earth downloader by one that raises a
clear error instead of opening a connection for a file that is not shipped.
"""

from __future__ import annotations

import os
import tempfile
from importlib import resources
from pathlib import Path

from gmgclim.errors import GmgclimError

RESOLUTIONS = ("110m", "50m")


def natural_earth_dir() -> Path:
    """Folder holding ``shapefiles/natural_earth/...`` inside the installed gmgclim package."""
    return Path(str(resources.files("gmgclim") / "sample_data" / "natural_earth"))


def _import_cartopy():
    try:
        import cartopy
    except ImportError as err:  # pragma: no cover - cartopy is a dependency
        raise GmgclimError(
            "maps need cartopy", hint="install it with: pip install 'cartopy>=0.23'"
        ) from err
    return cartopy


def configure_cartopy_offline() -> None:
    """Make cartopy read the shipped Natural Earth files and never download.

    Idempotent. After it, ``ax.coastlines("110m")``, ``cfeature.BORDERS.with_scale("50m")``, ... work
    without a network; asking for a file that is not shipped raises :class:`GmgclimError`.
    """
    cartopy = _import_cartopy()
    from cartopy.io import Downloader
    from cartopy.io.shapereader import NEShpDownloader

    cartopy.config["pre_existing_data_dir"] = str(natural_earth_dir())
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path(tempfile.gettempdir()))) / "gmgclim-cartopy"
    cartopy.config["data_dir"] = str(cache)

    class _NoDownload(NEShpDownloader):
        def acquire_resource(self, target_path, format_dict):
            raise GmgclimError(
                f"Natural Earth file {Path(target_path).name} is not shipped with gmgclim and "
                "downloads are disabled",
                hint=f"use resolution {' or '.join(RESOLUTIONS)} (shipped in {natural_earth_dir()})",
            )

    template = NEShpDownloader.default_downloader()
    cartopy.config["downloaders"][("shapefiles", "natural_earth")] = _NoDownload(
        target_path_template=template.target_path_template,
        pre_downloaded_path_template=template.pre_downloaded_path_template,
    )
    # Anything else (GSHHS, raster tiles) must not fetch either.
    for key, downloader in list(cartopy.config["downloaders"].items()):
        if key != ("shapefiles", "natural_earth") and isinstance(downloader, Downloader):
            cartopy.config["downloaders"].pop(key)


def check_resolution(resolution: str) -> str:
    """Return ``resolution`` if it is shipped ("110m" or "50m"), else raise ValueError."""
    if resolution not in RESOLUTIONS:
        raise ValueError(
            f"resolution must be one of {RESOLUTIONS} (shipped offline), got {resolution!r}"
        )
    return resolution
