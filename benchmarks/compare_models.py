"""GMG against the recurrent baselines and the reference forecasts, on equal terms.

Trains each model (``gmg``, ``convlstm``, ``predrnn``, ``motionrnn``) on each bundled sample with
the same budget (the same ``training.max_steps``; the steps and the wall time are printed),
forecasts the test split to zarr (:func:`gmgclim.inference.write_forecast_zarr`), scores it with
:mod:`gmgclim.metrics` and prints tables of scores per lead time.

Datasets
--------
- ``quickstart``: recipes/quickstart.yaml (GMG) and recipes/quickstart_<model>.yaml (the baselines,
  same data and training, a model of comparable size): ERA5 2 m temperature over the UK and Ireland,
  test week 25-31 March 2019. RMSE (WeatherBench 2 convention: cell-area weights, square root after
  the time mean) against persistence and climatology. The sample covers one month only, so the
  climatology is the training period's time mean (the WeatherBench 1 definition, as
  ``gmgclim score`` falls back to for short samples).
  Optical-flow extrapolation of the same inputs is scored too (persistence where the flow
  brings air from outside the box).
- ``radar``: recipes/radar_knmi.yaml with the model section swapped for the baseline's quickstart
  model at the radar recipe's patch size: KNMI precipitation rate, 5-minute frames, test
  06:20-07:35 UTC, the whole composite. CSI at 0.5, 1 and 5 mm/h, FSS at 1 and 5 mm/h (20 km
  windows) and RMSE (no-data cells left out) against persistence and pysteps optical-flow
  extrapolation (:func:`gmgclim.inference.extrapolation_forecast`; its pixels advected from
  outside the domain are NaN and left out of its own scores, as ``gmgclim score`` does).
- ``fmi``: a transfer test: the models trained on KNMI forecast the FMI composite (Finland,
  2016-09-28, another radar and domain size), its reflectivity converted to rain rate with the
  Z-R relation pysteps uses for FMI (Z = 223 R^1.53), block-averaged 2 x 2 like the KNMI grid.
  Scored like ``radar``.

Each table ends with a verdict per model: at how many leads it beats each baseline.

Models train one after the other with ``--threads`` intra-op threads (``GMGCLIM_NUM_THREADS``,
which the trainer reads; 1 by default: on a shared 2-core machine a second thread mostly spins).
Runs go to ``--out/<dataset>/<model>``; a finished run of the same recipe is reused (its recorded
wall time is printed, marked "reused"), an unfinished one or one of another recipe is trained
again from scratch. The tables are printed and written to ``--out/tables.txt`` (and ``--tables``)
after each dataset.

Usage: ``python benchmarks/compare_models.py [--steps N | --steps quickstart=300 radar=100]
[--models gmg convlstm ...] [--datasets quickstart radar] [--out DIR] [--threads 1]
[--tables FILE]``
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import shutil
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODELS = ("gmg", "convlstm", "predrnn", "motionrnn")
TIMING_NAME = "benchmark_timing.json"


@dataclass(frozen=True)
class DatasetSpec:
    """One benchmark dataset: its GMG recipe and how its forecasts are scored."""

    name: str
    recipe: Path
    baselines: tuple[str, ...]
    thresholds: tuple[float, ...] = ()
    radar: bool = False
    fss_thresholds: tuple[float, ...] = ()
    fss_scale: int = 1
    transfer_from: str | None = None


_RADAR = DatasetSpec(
    "radar",
    REPO / "recipes" / "radar_knmi.yaml",
    ("persistence", "extrapolation"),
    thresholds=(0.5, 1.0, 5.0),
    radar=True,
    fss_thresholds=(1.0, 5.0),
    fss_scale=10,
)
DATASETS = {
    "quickstart": DatasetSpec(
        "quickstart",
        REPO / "recipes" / "quickstart.yaml",
        ("persistence", "climatology", "extrapolation"),
    ),
    "radar": _RADAR,
    # the KNMI-trained models on the FMI composite, scored like the KNMI test hour
    "fmi": replace(_RADAR, name="fmi", transfer_from="radar"),
}
#: Z = a R^b of the FMI composite (pysteps' FMI importer metadata).
FMI_ZR_A, FMI_ZR_B = 223.0, 1.53


@dataclass
class RunResult:
    """What one training run cost and where its test forecast is."""

    model: str
    run_dir: Path
    parameters: int
    steps: int
    wall_s: float
    best_valid_loss: float
    reused: bool
    forecast_store: Path | None = None


def _baseline_model_section(model: str, patch_size: int) -> dict:
    """The baseline's model section of its quickstart recipe, at another patch size."""
    import yaml

    path = REPO / "recipes" / f"quickstart_{model}.yaml"
    section = yaml.safe_load(path.read_text())["model"]
    config = dict(section["config"], patch_size=patch_size)
    return {"name": section["name"], "config": config}


def recipe_for(spec: DatasetSpec, model: str, steps: int | None, run_dir: Path):
    """The recipe of ``model`` on ``spec`` with the benchmark's budget and run directory.

    Parameters
    ----------
    spec : DatasetSpec
    model : str
        A registered model name.
    steps : int, optional
        ``training.max_steps`` (None: the dataset recipe's own).
    run_dir : Path
        ``output.dir``.

    Returns
    -------
    gmgclim.config.Recipe
    """
    import yaml

    from gmgclim.config import load_recipe

    overrides = [f"output.dir={run_dir}", "output.tensorboard=false"]
    if spec.name == "quickstart":
        path = spec.recipe if model == "gmg" else REPO / "recipes" / f"quickstart_{model}.yaml"
    else:
        path = spec.recipe
        if model != "gmg":
            patch = load_recipe(path).model.config.get("patch_size", 2)
            section = _baseline_model_section(model, patch)
            flow = yaml.safe_dump(section["config"], default_flow_style=True, width=10_000)
            overrides += [f"model.name={section['name']}", f"model.config={flow.strip()}"]
    base = load_recipe(path, overrides=overrides)
    if steps is not None:
        overrides += [
            f"training.max_steps={steps}",
            f"training.warmup_steps={min(base.training.warmup_steps, steps)}",
        ]
        if base.training.scheduled_sampling.kind != "none":
            stop = base.training.scheduled_sampling.stop_step
            # keep the recipe's sampling schedule in proportion to the shortened run
            scale = steps / (base.training.max_steps or steps)
            overrides.append(f"training.scheduled_sampling.stop_step={max(1, round(stop * scale))}")
    return load_recipe(path, overrides=overrides)


def train_model(spec: DatasetSpec, model: str, steps: int | None, out: Path) -> RunResult:
    """Train (or reuse a finished run of) ``model`` on ``spec``; time the training call."""
    from gmgclim.training import build_model, find_checkpoint, load_checkpoint, train

    run_dir = out / spec.name / model
    recipe = recipe_for(spec, model, steps, run_dir)
    timing_path = run_dir / TIMING_NAME
    previous = json.loads(timing_path.read_text()) if timing_path.is_file() else {}
    reused = previous.get("recipe") == recipe.to_dict()
    if reused:
        wall_s = float(previous["wall_s"])
    else:
        if run_dir.exists():  # an unfinished run or another recipe: start again
            shutil.rmtree(run_dir)
        tick = time.perf_counter()
        train(recipe, progress=False)
        wall_s = time.perf_counter() - tick
        timing_path.write_text(json.dumps({"recipe": recipe.to_dict(), "wall_s": wall_s}))
    latest = load_checkpoint(find_checkpoint(run_dir, "latest"))
    parameters = sum(p.numel() for p in build_model(latest).parameters())
    return RunResult(
        model=model,
        run_dir=run_dir,
        parameters=parameters,
        steps=int(latest.step),
        wall_s=wall_s,
        best_valid_loss=float(latest.train_state.get("best_valid_loss", float("nan"))),
        reused=reused,
    )


def open_forecast(store: Path):
    """A forecast zarr store with only its written init times and forecast variables."""
    import xarray as xr

    fc = xr.open_zarr(store, decode_timedelta=True)
    if "init_written" in fc.coords:
        written = fc["init_written"].values.astype(bool)
        if not written.all():
            raise RuntimeError(
                f"{store}: only {written.sum()} of {written.size} init times written"
            )
        fc = fc.drop_vars("init_written")
    names = [n for n, v in fc.data_vars.items() if {"time", "prediction_timedelta"} <= set(v.dims)]
    return fc[names].load()


def truth_for(run_dir: Path, start, end):
    """Observations on the run's grid (the training path: crop, coarsen) from start to end."""
    from gmgclim.data.task import Task, open_task_data
    from gmgclim.models.checkpoint import find_checkpoint, load_checkpoint

    task = Task.from_dict(load_checkpoint(find_checkpoint(run_dir, "latest")).task)
    return open_task_data(task, time=slice(str(start), str(end))).load(), task


def fmi_rain_rate():
    """The FMI composite as rain rate (mm/h) from reflectivity, Z = 223 R^1.53, 2 x 2 block means.

    Returns
    -------
    xr.Dataset
        ``precipitation_rate`` (time, y, x) with the composite's grid mapping and 2-D lat/lon.
    """
    import numpy as np

    from gmgclim.data.catalog import open_entry
    from gmgclim.data.grid import apply_grid

    ds = open_entry("fmi-radar", channels=["dbz"]).load()
    dbz = ds["reflectivity"]
    rate = ((10.0 ** (dbz / 10.0)) / FMI_ZR_A) ** (1.0 / FMI_ZR_B)
    rate = rate.where(dbz.notnull()).astype(np.float32)
    rate.attrs = {"units": "mm h-1", "long_name": "precipitation rate (Z = 223 R^1.53)"}
    for key in ("grid_mapping", "coordinates"):
        if key in dbz.attrs:
            rate.attrs[key] = dbz.attrs[key]
    out = ds.drop_vars("reflectivity").assign(precipitation_rate=rate)
    return apply_grid(out, {"coarsen": {"y": 2, "x": 2}})


def score_dataset(
    spec: DatasetSpec, runs: list[RunResult], extrapolation_input_steps: int = 3, truth=None
):
    """Scores of every model and baseline on the test split.

    Returns
    -------
    dict
        ``tables``: name -> (lead labels, {model: values per lead}), ``n_init``: test init times,
        ``period``: first and last init time.
    """
    import numpy as np
    import pandas as pd

    from gmgclim.metrics import (
        climatology_forecast,
        persistence_forecast,
        score_forecast,
        select_score,
    )

    forecasts = {run.model: open_forecast(run.forecast_store) for run in runs}
    first = next(iter(forecasts.values()))
    inits = first["time"].values
    leads = first["prediction_timedelta"].values
    for name, fc in forecasts.items():
        if not (
            np.array_equal(fc["time"].values, inits)
            and np.array_equal(fc["prediction_timedelta"].values, leads)
        ):
            raise RuntimeError(f"{name}'s test forecast has other init or lead times than the rest")
    variables = list(first.data_vars)
    step = leads.min()
    if truth is None:
        truth, task = truth_for(
            runs[0].run_dir,
            inits.min() - max(extrapolation_input_steps, 1) * step,
            inits.max() + leads.max(),
        )
    else:
        task = None
    truth = truth[variables]

    candidates = dict(forecasts)
    if "persistence" in spec.baselines:
        candidates["persistence"] = persistence_forecast(truth, inits, leads)
    if "climatology" in spec.baselines and task is not None:
        start, end = task.split_bounds("train")
        period = (start, str(pd.Period(str(end)).end_time))
        train_truth, _ = truth_for(runs[0].run_dir, *period)
        clim = train_truth[variables].mean("time", keep_attrs=True)
        candidates["climatology"] = climatology_forecast(clim, inits, leads)
    if "extrapolation" in spec.baselines:
        from gmgclim.inference import extrapolation_forecast

        extrapolated = extrapolation_forecast(
            truth, inits, leads, input_steps=extrapolation_input_steps, missing="nan"
        )[variables]
        if not spec.radar:  # a field has values everywhere: persistence where advection
            # brings air from outside the box (radar keeps NaN there, left out of its scores)
            extrapolated = extrapolated.fillna(persistence_forecast(truth, inits, leads))
        candidates["extrapolation"] = extrapolated

    metrics = ["rmse", "csi"] if spec.radar else ["rmse"]
    thresholds = list(spec.thresholds) if spec.thresholds else None
    fss_options = {}
    if spec.fss_thresholds:  # FSS at every CSI threshold; the table shows fss_thresholds
        metrics.append("fss")
        fss_options = {"scales": [spec.fss_scale]}
    tables: dict[str, dict[str, np.ndarray]] = {}
    lead_labels = [_lead_label(td) for td in leads]
    n_init = len(inits)
    for model, fc in candidates.items():
        scores = score_forecast(
            fc,
            truth,
            metrics=metrics,
            thresholds=thresholds,
            skipna=spec.radar,
            convention="wb2",
            **fss_options,
        )
        for var in variables:
            units = str(truth[var].attrs.get("units", ""))
            rmse = scores[var].sel(metric="rmse").values
            tables.setdefault(f"{var} RMSE ({units})", {})[model] = rmse
            if "csi" in metrics:
                for thr in spec.thresholds:
                    csi = select_score(scores, var, "csi").sel(threshold=thr)
                    if "scale" in csi.dims:  # pixel scores sit at scale 1, NaN elsewhere
                        csi = csi.dropna("scale", how="all")
                    csi = csi.squeeze().values
                    tables.setdefault(f"{var} CSI >= {thr:g} {units}", {})[model] = csi
            if "fss" in metrics:
                cells = spec.fss_scale
                for thr in spec.fss_thresholds:
                    fss = select_score(scores, var, "fss").sel(threshold=thr, scale=cells)
                    fss = fss.squeeze().values
                    tables.setdefault(f"{var} FSS >= {thr:g} {units}, {cells} cells", {})[model] = (
                        fss
                    )
            verified = scores[f"{var}_n_verified"].values
            n_init = min(n_init, int(verified.min()))
            if not spec.radar:
                title = f"{var} domain-mean diurnal range / truth's"
                tables.setdefault(title, {})[model] = diurnal_range_ratio(fc[var], truth[var])
                title = f"{var} each forecast's domain-mean swing over its leads / truth's"
                tables.setdefault(title, {})[model] = forecast_swing_ratio(fc[var], truth[var])
    return {
        "tables": tables,
        "leads": lead_labels,
        "n_init": n_init,
        "period": (str(inits.min())[:16], str(inits.max())[:16]),
    }


def diurnal_range_ratio(forecast, truth):
    """Per lead: the forecast's domain-mean diurnal range over the truth's at the same times.

    For each lead, the domain means of the forecasts and of the truth at their valid times are
    averaged by UTC hour of the valid time (a composite day over the test inits); the range
    (max - min) of the forecast's composite over the truth's is the ratio (1: the truth's cycle;
    0: no cycle, as a constant field).

    Parameters
    ----------
    forecast : xr.DataArray
        (time, prediction_timedelta, *spatial).
    truth : xr.DataArray
        (time, *spatial) covering every valid time.

    Returns
    -------
    np.ndarray
        (n_lead,) float64.
    """
    import numpy as np

    spatial = [d for d in forecast.dims if d not in ("time", "prediction_timedelta")]
    fc_mean = forecast.mean(spatial).compute()
    tr_mean = truth.mean(spatial).compute()
    out = []
    for lead in fc_mean["prediction_timedelta"].values:
        f = fc_mean.sel(prediction_timedelta=lead)
        valid = f["time"].values + lead
        t = tr_mean.sel(time=valid).values
        hours = valid.astype("datetime64[h]").astype(np.int64) % 24
        f_day = [np.nanmean(f.values[hours == h]) for h in np.unique(hours)]
        t_day = [np.nanmean(t[hours == h]) for h in np.unique(hours)]
        out.append(float(np.ptp(f_day) / np.ptp(t_day)))
    return np.asarray(out)


def forecast_swing_ratio(forecast, truth):
    """The swing (max - min) of each forecast's domain mean over its leads, over the truth's.

    Complements :func:`diurnal_range_ratio`, which composites many forecasts by hour: here each
    forecast is judged on its own frames (+6 h .. +48 h: two days), against the truth at the same
    valid times; the ratio of the means over init times (persistence, constant over its leads: 0).

    Parameters
    ----------
    forecast : xr.DataArray
        (time, prediction_timedelta, *spatial).
    truth : xr.DataArray
        (time, *spatial) covering every valid time.

    Returns
    -------
    np.ndarray
        (1,) float64.
    """
    import numpy as np

    spatial = [d for d in forecast.dims if d not in ("time", "prediction_timedelta")]
    fc_mean = forecast.mean(spatial).transpose("time", "prediction_timedelta").compute()
    tr_mean = truth.mean(spatial).compute()
    valid = fc_mean["time"].values[:, None] + fc_mean["prediction_timedelta"].values[None, :]
    t = tr_mean.sel(time=valid.reshape(-1)).values.reshape(valid.shape)
    f_swing = np.ptp(fc_mean.values, axis=1)
    t_swing = np.ptp(t, axis=1)
    return np.asarray([float(np.nanmean(f_swing) / np.nanmean(t_swing))])


def _lead_label(td) -> str:
    import numpy as np

    minutes = int(td / np.timedelta64(1, "m"))
    return f"+{minutes // 60}h" if minutes % 60 == 0 else f"+{minutes}min"


def format_training(spec: DatasetSpec, runs: list[RunResult], threads: int) -> str:
    """The budget table: parameters, steps, wall time per model."""
    lines = [
        f"[{spec.name}] training budget ({threads} thread(s) per run, models run one at a time)",
        f"  {'model':<11}{'parameters':>12}{'steps':>7}{'wall s':>9}{'s/step':>8}"
        f"{'best valid loss':>17}",
    ]
    for run in runs:
        note = "  (reused)" if run.reused else ""
        lines.append(
            f"  {run.model:<11}{run.parameters:>12,}{run.steps:>7}{run.wall_s:>9.1f}"
            f"{run.wall_s / max(run.steps, 1):>8.2f}{run.best_valid_loss:>17.4f}{note}"
        )
    return "\n".join(lines)


def format_scores(spec: DatasetSpec, result: dict) -> str:
    """One table per score: rows models and baselines, columns lead times, then the mean."""
    leads = result["leads"]
    start, end = result["period"]
    lines = [
        f"[{spec.name}] test split, {result['n_init']} init times {start} .. {end} "
        f"(wb2 convention{'; NaN cells left out' if spec.radar else ''})"
    ]
    for title, rows in result["tables"].items():
        if "diurnal range" in title:
            lines += _format_ratio_table(title, rows, leads)
            continue
        if "swing over its leads" in title:
            lines.append(f"  {title} (mean over inits; 1 is the truth's):")
            lines.append("    " + ", ".join(f"{m} {float(v[0]):.2f}" for m, v in rows.items()))
            continue
        higher = "CSI" in title or "FSS" in title
        lines.append(f"  {title}, {'higher' if higher else 'lower'} is better")
        lines.append("  " + f"{'model':<14}" + "".join(f"{x:>8}" for x in [*leads, "mean"]))
        for model, values in rows.items():
            cells = [*values, float(values.mean())]
            lines.append("  " + f"{model:<14}" + "".join(f"{v:>8.3f}" for v in cells))
        lines += verdicts(rows, higher, set(spec.baselines))
    return "\n".join(lines)


def _format_ratio_table(title: str, rows: dict, leads: list[str]) -> list[str]:
    """A ratio table (1 is the truth's) and, per row, at how many leads it is within 30 %."""
    import numpy as np

    lines = [f"  {title}, 1 is the truth's"]
    lines.append("  " + f"{'model':<14}" + "".join(f"{x:>8}" for x in [*leads, "mean"]))
    for model, values in rows.items():
        cells = [*values, float(np.mean(values))]
        lines.append("  " + f"{model:<14}" + "".join(f"{v:>8.2f}" for v in cells))
    within = [
        f"{model} {int((np.abs(np.asarray(v) - 1.0) <= 0.3).sum())}/{len(v)}"
        for model, v in rows.items()
    ]
    lines.append("    within 30 % of the truth's range: " + ", ".join(within) + " leads")
    return lines


def verdicts(rows: dict, higher_is_better: bool, baselines: set[str]) -> list[str]:
    """One line per model: at how many leads it beats each baseline (ties count as not beating)."""
    import numpy as np

    out = []
    for model, values in rows.items():
        if model in baselines:
            continue
        parts = []
        for baseline in (b for b in rows if b in baselines):
            ref = rows[baseline]
            better = values > ref if higher_is_better else values < ref
            valid = np.isfinite(values) & np.isfinite(ref)
            parts.append(f"{baseline} at {int((better & valid).sum())}/{int(valid.sum())}")
        if parts:
            out.append(f"    verdict {model}: beats " + ", ".join(parts) + " leads")
    return out


def cpu_description() -> str:
    """CPU model and its avx512 / amx flags, from /proc/cpuinfo (or the platform name)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    model = next(
        (ln.split(":", 1)[1].strip() for ln in text.splitlines() if "model name" in ln), ""
    )
    flags = next(
        (ln.split(":", 1)[1].split() for ln in text.splitlines() if ln.startswith("flags")), []
    )
    wanted = sorted(f for f in set(flags) if f.startswith(("avx512", "amx")))
    return f"{model or platform.machine()} [{' '.join(wanted) or 'no avx512/amx'}]"


def parse_steps(items: list[str], datasets: list[str]) -> dict[str, int | None]:
    """Max steps per dataset (None: the recipe's) from ``["300"]`` or ``["radar=100", ...]``."""
    steps: dict[str, int | None] = dict.fromkeys(datasets)
    for item in items:
        name, sep, value = item.rpartition("=")
        if sep and name not in DATASETS:
            raise ValueError(f"--steps {item}: unknown dataset {name!r}; choose {list(DATASETS)}")
        try:
            n = int(value)
        except ValueError:
            raise ValueError(f"--steps {item}: expected N or DATASET=N with an integer N") from None
        if n < 1:
            raise ValueError(f"--steps {item}: the number of steps must be >= 1")
        for dataset in [name] if sep else datasets:
            if dataset in steps:
                steps[dataset] = n
    return steps


def _quiet_pysteps() -> None:
    """Load pysteps (and PROJ) before any netCDF file is read, without its config banner."""
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pysteps  # noqa: F401


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--steps",
        nargs="+",
        default=[],
        metavar="N | DATASET=N",
        help="max_steps of every run (default: each recipe's), or per dataset: radar=100",
    )
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "compare_models")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run")
    parser.add_argument("--tables", type=Path, default=None, help="also write the tables here")
    args = parser.parse_args(argv)
    try:
        steps = parse_steps(args.steps, args.datasets)
    except ValueError as exc:
        parser.error(str(exc))
    if args.threads < 1:
        parser.error("--threads must be >= 1")

    # read by gmgclim.training (setup_distributed) and by OpenMP before torch starts its pool
    os.environ["GMGCLIM_NUM_THREADS"] = str(args.threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    if "radar" in args.datasets:
        _quiet_pysteps()
    import dask
    import torch

    from gmgclim.inference import write_forecast_zarr

    torch.set_num_threads(args.threads)
    dask.config.set(scheduler="threads", num_workers=args.threads)
    args.out.mkdir(parents=True, exist_ok=True)

    budget = ", ".join(f"{d} {'recipe' if n is None else n}" for d, n in steps.items())
    header = (
        f"compare_models: models {' '.join(args.models)}; max_steps {budget}; "
        f"torch {torch.__version__}, {args.threads} thread(s), {cpu_description()}, "
        f"{os.cpu_count()} cores"
    )
    print(header, flush=True)
    sections = [header]
    total_tick = time.perf_counter()
    for name in args.datasets:
        spec = DATASETS[name]
        train_spec = DATASETS[spec.transfer_from] if spec.transfer_from else spec
        other_data = fmi_rain_rate() if name == "fmi" else None
        runs = []
        for model in args.models:
            print(f"[{name}] training {model} on {train_spec.name} ...", flush=True)
            run = train_model(train_spec, model, steps[train_spec.name], args.out)
            print(
                f"[{name}] {model}: {run.steps} steps in {run.wall_s:.1f} s"
                + (" (reused)" if run.reused else ""),
                flush=True,
            )
            store = run.run_dir / f"forecast_{name}.zarr"
            if other_data is None:
                write_forecast_zarr(
                    run.run_dir, store=store, split="test", batch_size=4, resume=False,
                    progress=False,
                )  # fmt: skip
            else:  # the whole other composite, on the grid it was given
                from gmgclim.data.task import GridSpec

                write_forecast_zarr(
                    run.run_dir, other_data, store=store, batch_size=4, resume=False,
                    progress=False, grid=GridSpec(),
                )  # fmt: skip
            run.forecast_store = store
            runs.append(run)
        result = score_dataset(spec, runs, truth=other_data)
        sections += [format_training(spec, runs, args.threads), format_scores(spec, result)]
        text = "\n\n".join(sections) + "\n"
        print("\n" + "\n\n".join(sections[-2:]) + "\n", flush=True)
        for path in [args.out / "tables.txt", args.tables]:
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
    total = time.perf_counter() - total_tick
    footer = f"total wall time {total:.0f} s"
    print(footer)
    for path in [args.out / "tables.txt", args.tables]:
        if path is not None:
            path.write_text("\n\n".join(sections) + "\n\n" + footer + "\n")


if __name__ == "__main__":
    main()
