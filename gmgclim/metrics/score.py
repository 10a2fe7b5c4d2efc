"""Score a forecast against a truth: all metrics of all variables in one lazy pass.

:func:`score_forecast` returns an xr.Dataset laid out for files and plots. Metrics are a dim, never
part of a variable name; the data variables of each forecast variable ``<var>`` are:

- ``<var>``: deterministic scores, dims (metric, prediction_timedelta, [level]);
- ``<var>_categorical`` (when csi, pod, far, ets or fss are asked for): dims (metric, threshold,
  [scale], prediction_timedelta, [level]). ``scale`` (window width in pixels) is there when fss is
  asked for; the contingency scores (csi, pod, far, ets) are pixel-by-pixel scores, stored at
  ``scale = 1`` and NaN at the other scales;
- ``<var>_n_verified``: init times verified per lead time.

Every data variable carries the attributes ``variable`` (the forecast variable) and ``score_kind``
(``deterministic``, ``categorical`` or ``n_verified``). One ``metric`` coordinate serves all of them
(an xarray Dataset shares a dim's coordinate), so ``<var>`` is NaN at the categorical metrics and
``<var>_categorical`` at the deterministic ones: read single scores with :func:`select_score` or
:func:`iter_scores`, which drop that padding. The coordinate ``lead_time_hours`` is on
``prediction_timedelta``; attributes name the convention, the weighting and, per deterministic
metric, the averaging order (``averaging_<metric>``, ``weighting_<metric>``).

Metrics are looked up in :data:`gmgclim.metrics.registry.METRICS`. :func:`score_with_baselines`
adds a ``model`` dim (the model, persistence, climatology). The Dataset is put together in
:mod:`gmgclim.metrics.assembly`; :mod:`gmgclim.metrics.score_tables` reads it
(:func:`~gmgclim.metrics.score_tables.select_score`, ``iter_scores``) and flattens it into a long
pandas table (``scores_to_table``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import numpy as np
import xarray as xr

from gmgclim.conventions import INIT_DIM, LEAD_DIM, spatial_dims
from gmgclim.errors import DataError
from gmgclim.metrics.alignment import (
    AlignedPair,
    align_forecast_truth,
    select_lead_times,
    truth_positions,
)
from gmgclim.metrics.assembly import (
    SPEC_DEFAULTS,
    Accumulator,
    ScoreSpec,
    accumulate,
    climatologies,
    finalise,
    finish_variable,
    score_spec,
)
from gmgclim.metrics.background import OrderedBackground
from gmgclim.metrics.baselines import climatology_forecast, persistence_forecast
from gmgclim.metrics.blocks import (
    CoveredBox,
    TruthFrames,
    bytes_per_init,
    init_blocks,
    unverified_like,
)
from gmgclim.metrics.observed_fractions import ObservedFractions


def _as_dataset(obj: xr.DataArray | xr.Dataset, role: str) -> xr.Dataset:
    if isinstance(obj, xr.Dataset):
        return obj
    if obj.name is None:
        raise DataError(f"the {role} DataArray has no name; name it after its variable")
    return obj.to_dataset()


#: A forecast to score: a Dataset, or a function of the init times giving one (made per block).
Candidate = xr.Dataset | Callable[[np.ndarray], xr.Dataset]
Progress = Callable[[int, int], None]


def _score_candidates(
    candidates: Mapping[str, Candidate],
    truth: xr.Dataset,
    init_times: np.ndarray,
    lead_times: np.ndarray,
    spec: ScoreSpec,
    require_full_coverage: bool,
    compute: bool,
    block_bytes: int | None = None,
    progress: Progress | None = None,
) -> list[xr.Dataset]:
    """Score every candidate in one pass over init-time blocks (or lazily when not computing).

    Returns one scores Dataset per candidate (the :func:`score_forecast` layout, coordinates
    ``lead_time_hours`` and attrs not yet set).
    """
    names = spec.names
    accs = {label: {n: Accumulator() for n in names} for label in candidates}
    climates = climatologies(spec, truth, streamed=compute)
    templates: dict[str, xr.DataArray] = {}
    pre_aligned = any(LEAD_DIM in truth[n].dims for n in names)  # truth on (init, lead)
    n_init = init_times.size
    if not compute:
        # one lazy block: the dask graph reads the data when the result is computed
        for label, candidate in candidates.items():
            fc = candidate(init_times) if callable(candidate) else candidate
            for name in names:
                templates.setdefault(name, fc[name])
                pair = align_forecast_truth(
                    fc[name], truth[name], require_full_coverage=require_full_coverage
                )
                accumulate(accs[label][name], pair, name, spec, climates[name])
    else:
        positions = None
        if not pre_aligned:
            positions = truth_positions(
                truth[INIT_DIM].values, init_times, lead_times, require_full_coverage
            )
        frames = TruthFrames(truth[names])
        observed = {name: ObservedFractions() for name in names}
        covered = CoveredBox(spatial_dims(truth[names])) if spec.skipna else None
        first = next(iter(candidates.values()))
        sample = first if isinstance(first, xr.Dataset) else first(init_times[:1])
        blocks = init_blocks(n_init, bytes_per_init(sample[names]) * len(candidates), block_bytes)
        # the categorical statistics of a block (2 jobs per candidate and variable) run in the
        # background while the next candidate or block is read and its deterministic statistics
        # formed: at most one block's jobs wait there
        stream = _BlockStream(
            candidates, accs, templates, climates, spec, require_full_coverage, observed
        )
        with OrderedBackground(max_pending=2 * len(candidates) * len(names)) as background:
            for block in blocks:
                if positions is not None:
                    needed = positions[block]
                    block_truth = frames.get(np.unique(needed[needed >= 0]))
                else:
                    block_truth = truth[names].sel({INIT_DIM: init_times[block]}).load()
                box = covered.update(block_truth) if covered is not None else None
                stream.score(block, init_times[block], block_truth, box, background)
                del block_truth  # the frames the next block needs stay in ``frames``
                if progress is not None:
                    progress(block.stop, n_init)
    results = []
    for label in candidates:
        out = xr.Dataset()
        for name in names:
            for key, da in finish_variable(accs[label][name], templates[name], name, spec).items():
                out[key] = da
        results.append(out)
    return results


class _BlockStream:
    """Scores the candidates of one init-time block after another into their accumulators.

    One method call per block, so that the block's forecasts, aligned truth and temporaries are
    released when it returns, before the next block is read (the memory of a long scoring run
    stays that of one block, plus the categorical jobs waiting in the background).
    """

    def __init__(
        self, candidates, accs, templates, climates, spec, require_full_coverage, observed
    ):
        self.candidates = candidates
        self.accs = accs
        self.templates = templates
        self.climates = climates
        self.spec = spec
        self.require_full_coverage = require_full_coverage
        self.observed = observed

    def score(
        self,
        block: slice,
        inits: np.ndarray,
        block_truth: xr.Dataset,
        box: dict[str, slice] | None,
        background: OrderedBackground,
    ) -> None:
        """Add the statistics of every candidate and variable of ``block`` (init positions)."""
        names = self.spec.names
        if box is not None:  # NaN-aware scores: only the covered cells count
            block_truth = block_truth.isel(box)
        aligned: dict[str, AlignedPair] = {}  # the truth of each variable, aligned once
        for label, candidate in self.candidates.items():
            fc = candidate(inits) if callable(candidate) else candidate.isel({INIT_DIM: block})
            fc = (fc[names] if box is None else fc[names].isel(box)).load()
            for name in names:
                if name not in self.templates:
                    self.templates[name] = fc[name].isel({INIT_DIM: slice(0, 0)})
                pair = self._pair(fc[name], block_truth, name, aligned)
                accumulate(
                    self.accs[label][name],
                    pair,
                    name,
                    self.spec,
                    self.climates[name],
                    self.observed[name],
                    background,
                )
                del pair
            del fc  # before the next candidate is read

    def _pair(
        self,
        forecast: xr.DataArray,
        block_truth: xr.Dataset,
        name: str,
        aligned: dict[str, AlignedPair],
    ) -> AlignedPair:
        """The forecast of one variable with its truth, aligned once per block and layout."""
        if block_truth.sizes[INIT_DIM] == 0:
            return _unverified_pair(forecast)
        shared = aligned.get(name)
        if shared is not None and _same_layout(forecast, cast(xr.DataArray, shared.forecast)):
            return AlignedPair(
                forecast.assign_coords(shared.forecast.coords), shared.truth, shared.verified
            )
        pair = aligned[name] = align_forecast_truth(
            forecast,
            block_truth[name],
            require_full_coverage=self.require_full_coverage,
            check_units=False,
        )
        return pair


def _same_layout(forecast: xr.DataArray, aligned: xr.DataArray) -> bool:
    """``forecast`` has the dims and coordinate values of an already aligned forecast, so the
    truth aligned for that one serves it too."""
    if forecast.dims != aligned.dims or forecast.shape != aligned.shape:
        return False
    return all(
        np.array_equal(forecast[d].values, aligned[d].values)
        for d in forecast.dims
        if d in forecast.coords and d in aligned.coords
    )


def _unverified_pair(forecast: xr.DataArray) -> AlignedPair:
    """A block none of whose valid times the truth covers: it adds nothing to any score."""
    verified = xr.zeros_like(
        forecast.isel({d: 0 for d in forecast.dims if d not in (INIT_DIM, LEAD_DIM)}, drop=True),
        dtype=bool,
    )
    return AlignedPair(forecast, unverified_like(forecast), verified)


def _checked_pair_inputs(fc_ds: xr.Dataset, tr_ds: xr.Dataset, names: list[str]) -> xr.Dataset:
    """Checks of the whole forecast and truth made once (per block only the grids are compared)."""
    from gmgclim.metrics.alignment import _check_time_dim, _check_units

    _check_time_dim(fc_ds, "forecast")
    _check_time_dim(tr_ds, "truth")
    _check_units(fc_ds[names], tr_ds)
    return tr_ds[names]


def _prepare(
    forecast: xr.Dataset | xr.DataArray,
    truth: xr.Dataset | xr.DataArray,
    lead_times: Sequence | np.ndarray | None,
    options: Mapping[str, Any],
) -> tuple[ScoreSpec, xr.Dataset, xr.Dataset]:
    """What to score (``options``: the keys of :data:`SPEC_DEFAULTS`), the forecast at the lead
    times scored and the truth of its variables, checked once."""
    fc_ds = _as_dataset(forecast, "forecast")
    tr_ds = _as_dataset(truth, "truth")
    spec = score_spec(fc_ds, tr_ds, **options)
    fc_ds = select_lead_times(fc_ds[spec.names], lead_times)
    return spec, fc_ds, _checked_pair_inputs(fc_ds, tr_ds, spec.names)


def score_forecast(
    forecast: xr.Dataset | xr.DataArray,
    truth: xr.Dataset | xr.DataArray,
    variables: Sequence[str] | None = None,
    metrics: Sequence[str] = ("rmse", "mae", "bias", "acc"),
    climatology: xr.Dataset | None = None,
    convention: str = "wb2",
    thresholds: Sequence[float] | Mapping[str, Sequence[float]] | None = None,
    scales: Sequence[int] | None = None,
    lead_times: Sequence | np.ndarray | None = None,
    skipna: bool = False,
    require_full_coverage: bool = False,
    compute: bool = True,
    categorical_weights: str | xr.DataArray | None = None,
    block_bytes: int | None = None,
    progress: Progress | None = None,
) -> xr.Dataset:
    """Score a forecast per lead time, variable and level, in one pass over init-time blocks.

    With ``compute=True`` (the default) the forecast is read a block of init times at a time
    (:mod:`gmgclim.metrics.blocks`): per-init spatial means, contingency counts and FSS sums of
    each block are kept or added up and the scores formed at the end, so memory does not grow
    with the number of init times and every verifying truth frame is read once.

    Parameters
    ----------
    forecast : xr.Dataset or xr.DataArray
        dims (time=init, prediction_timedelta, [level], spatial...).
    truth : xr.Dataset or xr.DataArray
        dims (time=valid, [level], spatial...), same grid, variables and units.
    variables : sequence of str, optional
        Variables to score (default: every forecast variable).
    metrics : sequence of str
        Names in :data:`~gmgclim.metrics.registry.METRICS`, or rmse/acc (the convention's RMSE
        and ACC): rmse_wb1, rmse_wb2, rmse_sqrt_before_time_mean, mse, mae, bias, acc, csi, pod,
        far, ets, fss, ...
    climatology : xr.Dataset, optional
        From :func:`~gmgclim.metrics.baselines.compute_climatology`; needed for ``acc`` with the
        wb2 convention (wb1 falls back to the truth's time mean, as WeatherBench 1 does).
    convention : {"wb2", "wb1"}
        Weights (cell area or cos latitude), the meaning of ``rmse`` and ``acc``. Cell areas come
        from the forecast's CF latitude bounds when it has them (see
        :mod:`gmgclim.metrics.weights`).
    thresholds : sequence of float or mapping variable -> sequence, optional
        Event thresholds for csi/pod/far/ets/fss, in the variable's units.
    scales : sequence of int, optional
        FSS window widths in pixels (default 1, 3, 9).
    lead_times : sequence of timedelta64, optional
        Lead times to score.
    skipna : bool
        Leave NaN pixels out of deterministic means (categorical scores always do).
    require_full_coverage : bool
        Raise if the truth misses some valid times instead of scoring the verified ones.
    compute : bool
        Compute now, block by block; False returns the lazy dataset (one dask graph).
    categorical_weights : {"wb2", "wb1", "uniform"}, xr.DataArray or None
        Area weighting of csi/pod/far/ets/fss on latitude/longitude grids (default None: every
        pixel counts 1, as before); radar y/x grids are always counted uniformly.
    block_bytes : int, optional
        Forecast bytes read per block (default :data:`gmgclim.metrics.blocks.BLOCK_BYTES`).
    progress : callable, optional
        Called as ``progress(init_times_done, init_times_total)`` after each block.

    Returns
    -------
    xr.Dataset
        Layout described in the module docstring.

    Raises
    ------
    DataError
        Grids, units or calendars differ, lead times or variables are missing, no valid time is
        covered, or a metric needs a climatology or thresholds that were not given.
    """
    options = {
        "variables": variables,
        "metrics": metrics,
        "climatology": climatology,
        "convention": convention,
        "thresholds": thresholds,
        "scales": scales,
        "skipna": skipna,
        "categorical_weights": categorical_weights,
    }
    spec, fc_ds, tr_ds = _prepare(forecast, truth, lead_times, options)
    (out,) = _score_candidates(
        {"model": fc_ds},
        tr_ds,
        fc_ds[INIT_DIM].values.astype("datetime64[ns]"),
        fc_ds[LEAD_DIM].values.astype("timedelta64[ns]"),
        spec,
        require_full_coverage,
        compute,
        block_bytes,
        progress,
    )
    return finalise(out, spec.attrs)


def score_with_baselines(
    forecast: xr.Dataset | xr.DataArray,
    truth: xr.Dataset | xr.DataArray,
    baselines: Sequence[str] = ("persistence", "climatology"),
    climatology: xr.Dataset | None = None,
    model_name: str = "model",
    extra: Mapping[str, Candidate] | None = None,
    **kwargs,
) -> xr.Dataset:
    """Score a forecast and baseline forecasts the same way, stacked along a ``model`` dim.

    All of them are scored in the same pass over init-time blocks, so each verifying truth frame
    is read once (the persistence forecast reads the frames at its init times on its own).

    Parameters
    ----------
    forecast, truth : xr.Dataset or xr.DataArray
        As in :func:`score_forecast`.
    baselines : sequence of {"persistence", "climatology"}
        Reference forecasts for the forecast's init and lead times.
    climatology : xr.Dataset, optional
        Needed for the climatology baseline and for ``acc``.
    model_name : str
        Label of the forecast on the ``model`` dim.
    extra : mapping label -> Dataset or callable, optional
        More reference forecasts, labelled; a callable is given the init times of a block and
        returns their forecast (lead times as the forecast's).
    **kwargs
        Passed to :func:`score_forecast` (metrics, convention, thresholds, progress, ...).

    Returns
    -------
    xr.Dataset
        The :func:`score_forecast` layout with a leading ``model`` dim.
    """
    compute = kwargs.pop("compute", True)
    block_bytes = kwargs.pop("block_bytes", None)
    progress = kwargs.pop("progress", None)
    lead_times = kwargs.pop("lead_times", None)
    require_full_coverage = kwargs.pop("require_full_coverage", False)
    options = {name: kwargs.pop(name, default) for name, default in SPEC_DEFAULTS.items()}
    options["climatology"] = climatology
    if kwargs:
        raise TypeError(f"score_with_baselines got unexpected arguments {sorted(kwargs)}")
    spec, fc_ds, tr_ds = _prepare(forecast, truth, lead_times, options)
    inits = fc_ds[INIT_DIM].values.astype("datetime64[ns]")
    leads = fc_ds[LEAD_DIM].values.astype("timedelta64[ns]")
    candidates: dict[str, Candidate] = {model_name: fc_ds}
    for name in baselines:
        if name == "persistence":
            candidates[name] = persistence_forecast(tr_ds, inits, leads)
        elif name == "climatology":
            if climatology is None:
                raise DataError(
                    "the climatology baseline needs a climatology",
                    hint="pass climatology=compute_climatology(truth, years=<training years>)",
                )
            clim = climatology[spec.names]
            candidates[name] = climatology_forecast(clim, inits, leads)
        else:
            raise ValueError(f"unknown baseline {name!r}; choose persistence or climatology")
    candidates.update(extra or {})
    scored = _score_candidates(
        candidates, tr_ds, inits, leads, spec, require_full_coverage, compute, block_bytes, progress
    )
    labels = xr.DataArray(np.array(list(candidates), dtype=str), dims=("model",), name="model")
    out = xr.concat(scored, dim=labels, combine_attrs="override")
    return finalise(out, spec.attrs)
