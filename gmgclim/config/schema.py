"""Recipe schema: strict pydantic models of the ``data`` / ``model`` / ``training`` / ``output``
sections of a training recipe (reading and overriding files: :mod:`gmgclim.config.loading`).

A recipe is a YAML file validated by these models: unknown keys, wrong types and impossible
combinations (``output_steps < 1``, a warm-up longer than the run, overlapping splits) raise
:class:`gmgclim.errors.RecipeError` naming the key path and the file. The public names are
listed (and re-exported) by :mod:`gmgclim.config`.

Conventions
-----------
- Split bounds are dates or date-times written as ISO strings (``2019-03-25``, ``2019-03-25T06:00``,
  ``"2016"``); each bound covers its whole period, so ``end: 2015-12-31`` includes 18 UTC that day and
  ``end: "2015"`` the whole year (pandas partial-string semantics).
- ``data.step`` is the time between consecutive frames of a sample, ``"6h"``, ``"1h"``, ``"5min"``; it
  may be a multiple of the data's own spacing (6-hourly samples from hourly data).
- Model fields that follow from the data (``in_channels``, ``height``, ``width``, ``input_steps``,
  ``output_steps``) are filled in by the trainer and may not be written under ``model.config``.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import re
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from gmgclim.config.steps import parse_step

#: Model-config fields set from the data section and the data itself, never written in a recipe.
DATA_DERIVED_MODEL_FIELDS = (
    "in_channels",
    "height",
    "width",
    "input_steps",
    "output_steps",
    "context_channels",
    "residual",
)

# YAML 1.1 (PyYAML) reads `1e-4` as a string; YAML 1.2 and people read it as a number.
_FLOAT_RE = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
_DATE_RE = re.compile(r"^\d{4}(-\d{2}(-\d{2}([T ]\d{2}(:\d{2}(:\d{2})?)?)?)?)?$")


def _yaml_number(value: Any) -> Any:
    """Accept ``"1e-4"`` (a string to PyYAML) as the number people mean; leave the rest to pydantic."""
    if isinstance(value, str) and _FLOAT_RE.match(value.strip()):
        return float(value)
    return value


def _date_bound(value: Any) -> Any:
    """Normalise a YAML date, date-time, year (int) or string to an ISO string checked by pandas."""
    if isinstance(value, bool):
        return value
    if isinstance(value, _dt.datetime):
        value = value.isoformat(timespec="minutes")
    elif isinstance(value, _dt.date):
        value = value.isoformat()
    elif isinstance(value, int):
        value = str(value)
    if isinstance(value, str):
        message = f"expected a date like 2019-03-25, 2019-03-25T06:00 or a year, got {value!r}"
        if not _DATE_RE.match(value):
            raise ValueError(message)
        try:
            pd.Period(value)
        except (ValueError, TypeError) as exc:
            raise ValueError(message) from exc
    return value


Number = Annotated[float, BeforeValidator(_yaml_number)]
DateBound = Annotated[str, BeforeValidator(_date_bound)]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=False, validate_assignment=False)


class SplitRange(_Strict):
    """An inclusive time range; each bound covers its whole period (``"2015"`` is the whole year).

    Attributes
    ----------
    start, end : str
        ISO dates or date-times (YAML dates are accepted and stored as ISO strings).
    """

    start: DateBound
    end: DateBound

    @property
    def start_time(self) -> np.datetime64:
        """First instant of the range, ``datetime64[ns]``."""
        return np.datetime64(pd.Period(self.start).start_time.to_datetime64(), "ns")

    @property
    def end_time(self) -> np.datetime64:
        """Last instant of the range (inclusive, end of the period of ``end``), ``datetime64[ns]``."""
        following = (pd.Period(self.end) + 1).start_time.to_datetime64()
        end: np.datetime64[int] = np.datetime64(following, "ns")  # ns precision: an int payload
        return end - np.timedelta64(1, "ns")

    @model_validator(mode="after")
    def _ordered(self) -> SplitRange:
        if self.start_time > self.end_time:
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self


SampledSplit = Literal["train", "valid", "test"]


class SplitsConfig(_Strict):
    """Train / validation / test periods; they may not overlap."""

    train: SplitRange
    valid: SplitRange
    test: SplitRange | None = None

    @model_validator(mode="after")
    def _disjoint(self) -> SplitsConfig:
        named = [(n, getattr(self, n)) for n in ("train", "valid", "test")]
        named = [(n, r) for n, r in named if r is not None]
        for i, (name_a, a) in enumerate(named):
            for name_b, b in named[i + 1 :]:
                if a.start_time <= b.end_time and b.start_time <= a.end_time:
                    raise ValueError(
                        f"splits {name_a} ({a.start}..{a.end}) and {name_b} ({b.start}..{b.end}) "
                        "overlap; samples would leak between them"
                    )
        return self


class GridConfig(_Strict):
    """Spatial selection applied after reading, in this order: target grid, crop, coarsen.

    A regional latitude/longitude box that crosses the Greenwich meridian (e.g. the UK, which the
    canonical [0, 360) longitudes split into 0..2 E and 350..360 E) is first rolled so that it is
    contiguous; crop indices count in that rolled order.

    Attributes
    ----------
    target_grid : [n_lat, n_lon], optional
        Interpolate a global grid to the WeatherBench equiangular grid of this shape
        (``[32, 64]`` = 5.625 deg) when reading.
    crop : dict of str to [start, stop], optional
        Index ranges per dim (``isel`` semantics, stop exclusive), e.g. ``{latitude: [1, 33]}``;
        index ranges keep the size obvious, which the model's patch size cares about.
    coarsen : dict of str to int, optional
        Block-mean factors per dim, e.g. ``{y: 8, x: 8}``; a remainder at the end is trimmed.
        NaN cells are ignored in the mean (a block is NaN only when all its cells are).
    """

    target_grid: (
        Annotated[list[Annotated[int, Field(ge=2)]], Field(min_length=2, max_length=2)] | None
    ) = None
    crop: dict[str, Annotated[list[int], Field(min_length=2, max_length=2)]] | None = None
    coarsen: dict[str, Annotated[int, Field(ge=1)]] | None = None

    @field_validator("crop")
    @classmethod
    def _crop_ranges(cls, value: dict[str, list[int]] | None) -> Any:
        for dim, (start, stop) in (value or {}).items():
            if start < 0 or stop <= start:
                raise ValueError(f"crop.{dim} must be [start, stop] with 0 <= start < stop")
        return value


class DataConfig(_Strict):
    """What the model learns from: a catalog entry, its channels, periods and sample shape.

    Attributes
    ----------
    entry : str
        Catalog entry name (``gmgclim data list``), e.g. ``era5-uk-t2m``.
    channels : list of str
        Lexicon short names (``t2m``, ``t850``, ``z500``, ``precip``); tensor channel order.
    step : str
        Time between frames of a sample, e.g. ``"6h"``, ``"5min"``.
    input_steps, output_steps : int
        Frames fed to the model and frames forecast (lead times ``step * 1 .. step * output_steps``).
    splits : SplitsConfig
        Train / valid / test periods. All frames of a sample lie inside its split.
    grid : GridConfig
        Crop and coarsen options.
    stats : str, optional
        Path of a normalisation-statistics JSON to reuse; by default computed on the train split and
        cached in the run directory.
    fill_nan : float
        Value (normalised units, 0 = the channel mean) that replaces NaN and +-inf in inputs;
        such targets are masked, never scored (training logs the count per channel).
    in_memory : bool, optional
        Load the selected data into memory before training (no per-sample file reads). None (the
        default) loads it when it is smaller than 1 GiB.
    forcings : list of str
        Known-in-advance inputs of every frame (``toa_insolation``, ``utc_hour_sin`` ...; see
        ``gmgclim.data.forcings``): read by the model, never predicted.
    statics : list of str
        Per-pixel constant inputs (``land_sea_mask``, ``sin_latitude`` ...; ``gmgclim.data.statics``),
        or fields the entry declares under ``statics:`` in its catalog (orography ...; standardised).
    residual : {"none", "persistence", "daily_persistence", "diurnal", "extrapolation"}
        ``persistence``: the model predicts the change from the frame it was fed (an untrained
        model forecasts persistence); ``daily_persistence``: the change from the same time the day
        before (the diurnal cycle comes with the reference; needs a step that divides a day and
        ``input_steps`` covering one); ``diurnal``: the change from persistence plus the train
        split's mean diurnal change per pixel (needs a step that divides a day; the model keeps
        that cycle and forecasts only its training grid); ``extrapolation``: the change from the
        optical-flow extrapolation of its inputs (pysteps Lucas-Kanade), so it learns the
        correction to advection (growth, decay, curved motion); for radar.
    diurnal_scaling : {"none", "insolation", "inputs"}
        With ``residual: diurnal``: ``insolation`` scales the mean day's anomaly by each day's
        mean top-of-atmosphere insolation over the train split's (the cycle grows through spring;
        latitude/longitude grids outside the polar night); ``inputs`` by the factor that best
        fits it to each window's own input frames, per pixel (clipped to 0.5-2; the inputs should
        span a day): a clear spell swings more than the mean day; ``none`` keeps it as learnt.
    probability_matching : {"none", "cdf"}
        ``cdf``: in each forecast frame the precipitation values are replaced, rank for rank, by
        those of the last input frame (the cells the network rates highest get the heaviest
        observed rain), so every lead keeps the observed wet area and intensities instead of a
        squared-error forecast's smoothed ones (pysteps' ``cdf`` matching; precipitation
        channels only; applied by ``gmgclim forecast``, which can also override it).
    augment : {"none", "dihedral"}
        ``dihedral``: each training sample (inputs, targets, masks, baseline, forcings and
        statics alike) is turned by a random multiple of 90 degrees and maybe flipped, drawn
        from (seed, epoch, sample) like the crops (non-square samples: half turns and flips
        only), so that what the model learns does not depend on the direction things move in
        (radar); not with latitude-weighted losses.
    transform : {"none", "log", "dbr"}
        Target transform applied before normalisation and undone in the forecast
        (``gmgclim.data.transforms``; ``log`` or ``dbr`` for rain rates).
    crop : [int, int], optional
        Train on random (h, w) crops of the grid, drawn afresh each epoch from the seed; the model
        forecasts the whole grid (or another grid) afterwards.
    """

    entry: Annotated[str, Field(min_length=1)]
    channels: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]
    step: str
    input_steps: Annotated[int, Field(ge=1)]
    output_steps: Annotated[int, Field(ge=1)]
    splits: SplitsConfig
    grid: GridConfig = GridConfig()
    stats: str | None = None
    fill_nan: Number = 0.0
    in_memory: bool | None = None
    forcings: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    statics: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    residual: Literal["none", "persistence", "daily_persistence", "diurnal", "extrapolation"] = (
        "none"
    )
    diurnal_scaling: Literal["none", "insolation", "inputs"] = "none"
    probability_matching: Literal["none", "cdf"] = "none"
    augment: Literal["none", "dihedral"] = "none"
    transform: Literal["none", "log", "dbr"] = "none"
    crop: Annotated[list[Annotated[int, Field(ge=1)]], Field(min_length=2, max_length=2)] | None = (
        None
    )

    @field_validator("step")
    @classmethod
    def _step(cls, value: str) -> str:
        parse_step(value)
        return value

    @model_validator(mode="after")
    def _scaling_needs_diurnal(self) -> DataConfig:
        if self.diurnal_scaling != "none" and self.residual != "diurnal":
            raise ValueError(
                f"diurnal_scaling: {self.diurnal_scaling} scales the mean day of residual: "
                f"diurnal, but residual is {self.residual!r}"
            )
        return self

    @field_validator("channels")
    @classmethod
    def _unique_channels(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError(f"channels must be unique, got {value}")
        return value

    @property
    def step_timedelta(self) -> np.timedelta64:
        """``step`` as ``timedelta64[ns]``."""
        return parse_step(self.step)


class ModelSection(_Strict):
    """Model name in the registry (``gmgclim.models.get_model``) and its architecture config.

    ``config`` is checked against the model's own config class by the trainer; the fields named in
    :data:`DATA_DERIVED_MODEL_FIELDS` come from the data and may not be written here.
    """

    name: Annotated[str, Field(min_length=1)]
    config: dict[str, Any] = Field(default_factory=dict)

    @field_validator("config")
    @classmethod
    def _no_data_fields(cls, value: dict[str, Any]) -> dict[str, Any]:
        clash = [k for k in DATA_DERIVED_MODEL_FIELDS if k in value]
        if clash:
            raise ValueError(
                f"{clash} are set from the data section and the grid; remove them from model.config"
            )
        return value


class OptimizerConfig(_Strict):
    """AdamW hyper-parameters (the learning rate is ``training.lr``)."""

    name: Literal["adamw"] = "adamw"
    betas: Annotated[list[Number], Field(min_length=2, max_length=2)] = [0.9, 0.999]
    eps: Number = 1e-8
    weight_decay: Annotated[Number, Field(ge=0.0)] = 0.01

    @field_validator("betas")
    @classmethod
    def _betas(cls, value: list[float]) -> list[float]:
        if not all(0.0 <= b < 1.0 for b in value):
            raise ValueError(f"betas must be in [0, 1), got {list(value)}")
        return value


class ScheduledSamplingConfig(_Strict):
    """Teacher forcing in the recurrent rollout as a function of the optimiser step.

    Attributes
    ----------
    kind : {"none", "standard", "reverse"}
        ``none``: the model always feeds on its own predictions after the inputs (as at inference).
        ``standard`` (PredRNN): the chance ``eta`` of feeding the true frame instead of the prediction
        falls linearly from ``eta_start`` to 0 at ``stop_step``.
        ``reverse`` (PredRNN-V2): on input frames the chance of the true frame rises from 0.5 to 1
        (exponentially, time constant ``reverse_alpha``) between ``reverse_start_step`` and
        ``stop_step``, while on output frames it falls linearly from 0.5 to 0 over the same steps.
    """

    kind: Literal["none", "standard", "reverse"] = "none"
    eta_start: Annotated[Number, Field(ge=0.0, le=1.0)] = 1.0
    stop_step: Annotated[int, Field(ge=1)] = 50_000
    reverse_start_step: Annotated[int, Field(ge=0)] = 25_000
    reverse_alpha: Annotated[Number, Field(gt=0.0)] = 5_000.0

    @model_validator(mode="after")
    def _steps(self) -> ScheduledSamplingConfig:
        if self.kind == "reverse" and self.reverse_start_step >= self.stop_step:
            raise ValueError(
                f"reverse_start_step ({self.reverse_start_step}) must be below stop_step "
                f"({self.stop_step})"
            )
        return self


class EventWeights(_Strict):
    """Weights of the squared error of precipitation targets by intensity ("balanced MSE").

    A target cell at or above ``thresholds[k]`` (and below the next threshold) weighs
    ``weights[k]``; below the first threshold it weighs 1. Thresholds are in the channel's
    physical units (mm/h for rain rates) and apply to precipitation channels only. As in the
    balanced MSE of Shi et al. (2017, TrajGRU): heavy rain is rare, and an unweighted MSE
    learns to smooth it away.

    Attributes
    ----------
    thresholds : list of float
        Strictly increasing, physical units.
    weights : list of float
        One per threshold, > 0.
    """

    thresholds: list[float]
    weights: list[float]

    @model_validator(mode="after")
    def _check(self) -> EventWeights:
        t, w = self.thresholds, self.weights
        if not t or len(t) != len(w):
            raise ValueError(
                f"loss.event_weights needs as many weights as thresholds (>= 1), got "
                f"thresholds {t} and weights {w}"
            )
        if any(b <= a for a, b in itertools.pairwise(t)):
            raise ValueError(f"loss.event_weights.thresholds must increase strictly, got {t}")
        if any(x <= 0 for x in w):
            raise ValueError(f"loss.event_weights.weights must be > 0, got {w}")
        return self


class LossConfig(_Strict):
    """Training loss: MSE in normalised units.

    Attributes
    ----------
    latitude_weighted : bool
        Weight grid rows by ``cos(latitude)`` normalised to mean 1 (global grids).
    nan_masked : bool
        Kept for older recipes: target cells that are NaN or +-inf (radar outside coverage) are
        always left out of the loss and of validation, whatever this says.
    frames : {"all", "forecast"}
        ``all``: every predicted frame (T_in + T_out - 1, as GMG's reference); ``forecast``: only
        the T_out forecast frames.
    event_weights : EventWeights, optional
        Weigh the squared error of precipitation targets by their intensity (:class:`EventWeights`).
    amplitude_weight : float
        Weight of an amplitude term added to the MSE: per sample and channel, the squared
        difference between the standard deviations over the loss frames of the predicted and
        the true domain means (normalised units). A plain MSE damps what it cannot time
        exactly, such as the day-night swing of the domain mean; this term (the amplitude part
        of the AMSE of Subich et al. 2025, applied to the domain-mean time series) keeps its
        size. 0 (default): plain MSE.
    """

    latitude_weighted: bool = False
    nan_masked: bool = False
    frames: Literal["all", "forecast"] = "all"
    event_weights: EventWeights | None = None
    amplitude_weight: Annotated[float, Field(ge=0)] = 0.0


class TrainingConfig(_Strict):
    """Optimisation: length, batch, optimiser, lr schedule, sampling, loss, precision, cadence.

    Attributes
    ----------
    max_steps, epochs : int, optional
        Stop after this many optimiser steps / passes over the train split (whichever first; at
        least one is required).
    batch_size : int
        Samples per process per optimiser step (global batch = batch_size x processes).
    lr : float
        Peak learning rate.
    schedule : {"cosine", "onecycle", "constant"}
        Learning rate after warm-up; see :mod:`gmgclim.training.optim`.
    warmup_steps : int
        Linear warm-up from 0 to ``lr`` (for ``onecycle``, the rising phase).
    min_lr_ratio : float
        Final lr as a fraction of ``lr`` for ``cosine`` and ``onecycle``.
    lr_multipliers : dict of str to float
        Parameter-name glob patterns (``fnmatch``, first match wins) and their lr multipliers.
    precision : {"fp32", "bf16", "auto"}
        bf16 autocast for the forward pass, or ``auto``: bf16 on CUDA and on CPUs with native bf16
        (AMX / AVX512-BF16), fp32 elsewhere (:func:`gmgclim.training.precision.resolve_precision`);
        the run log says which and why, the checkpoint records it.
    activation_checkpointing : bool
        Recompute each layer of the recurrence in the backward pass instead of keeping its
        activations (``torch.utils.checkpoint``): less memory for about one more forward pass.
        For large grids and batches on GPUs; gradients are unchanged.
    compile : bool
        ``torch.compile`` the model's layers. Compiling costs tens of seconds per layer shape
        (more on CPU) and pays only on long runs where the compiled step is faster; off by default
        (see ``benchmarks/bench_model.py --compile`` for the break-even on a machine).
    grad_clip : float, optional
        Clip the global gradient norm to this value.
    checkpoint_every : int
        Optimiser steps between checkpoints (also written at the end and on SIGTERM/SIGINT).
    validate_every : int, optional
        Optimiser steps between validations; None validates at the end of every epoch.
    validate_batches : int, optional
        Cap on validation batches per process (None: the whole valid split).
    early_stopping_patience : int, optional
        Stop after this many validations without improving the best validation loss.
    log_every : int
        Optimiser steps between metric rows in ``metrics.csv``.
    device : {"auto", "cpu", "cuda"}
        ``auto`` picks CUDA when available.
    threads_per_process : int, optional
        Intra-op CPU threads per process; None gives each of the processes on a node an equal
        share of its cores. Small models run fastest with 1 (their convolutions are too small to
        split). The environment variable ``GMGCLIM_NUM_THREADS`` overrides both.
    """

    max_steps: Annotated[int, Field(ge=1)] | None = None
    epochs: Annotated[int, Field(ge=1)] | None = None
    batch_size: Annotated[int, Field(ge=1)]
    lr: Annotated[Number, Field(gt=0.0)]
    optimizer: OptimizerConfig = OptimizerConfig()
    schedule: Literal["cosine", "onecycle", "constant"] = "cosine"
    warmup_steps: Annotated[int, Field(ge=0)] = 0
    min_lr_ratio: Annotated[Number, Field(ge=0.0, le=1.0)] = 0.0
    lr_multipliers: dict[str, Annotated[Number, Field(ge=0.0)]] = Field(default_factory=dict)
    scheduled_sampling: ScheduledSamplingConfig = ScheduledSamplingConfig()
    loss: LossConfig = LossConfig()
    precision: Literal["fp32", "bf16", "auto"] = "fp32"
    activation_checkpointing: bool = False
    compile: bool = False
    grad_clip: Annotated[Number, Field(gt=0.0)] | None = None
    checkpoint_every: Annotated[int, Field(ge=1)] = 500
    validate_every: Annotated[int, Field(ge=1)] | None = None
    validate_batches: Annotated[int, Field(ge=1)] | None = None
    early_stopping_patience: Annotated[int, Field(ge=1)] | None = None
    log_every: Annotated[int, Field(ge=1)] = 10
    num_workers: Annotated[int, Field(ge=0)] = 0
    seed: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    threads_per_process: Annotated[int, Field(ge=1)] | None = None

    @model_validator(mode="after")
    def _length(self) -> TrainingConfig:
        if self.max_steps is None and self.epochs is None:
            raise ValueError("give training.max_steps or training.epochs (or both)")
        if self.max_steps is not None and self.warmup_steps > self.max_steps:
            raise ValueError(
                f"warmup_steps ({self.warmup_steps}) exceeds max_steps ({self.max_steps})"
            )
        return self


class OutputConfig(_Strict):
    """Where a run writes checkpoints, metrics and statistics.

    Attributes
    ----------
    dir : str
        Run directory (relative paths are relative to the working directory). Training again into
        a directory that holds a checkpoint resumes that run.
    tensorboard : bool
        Also write TensorBoard scalars when ``tensorboard`` is installed.
    """

    dir: Annotated[str, Field(min_length=1)]
    tensorboard: bool = True


class Recipe(_Strict):
    """A whole training recipe; ``source`` is the file it came from (for messages)."""

    data: DataConfig
    model: ModelSection
    training: TrainingConfig
    output: OutputConfig
    source: str | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _combinations(self) -> Recipe:
        ss = self.training.scheduled_sampling
        if ss.kind == "reverse" and self.data.input_steps < 2:
            raise ValueError("scheduled_sampling.kind 'reverse' needs data.input_steps >= 2")
        if self.data.augment != "none" and self.training.loss.latitude_weighted:
            raise ValueError(
                f"data.augment: {self.data.augment} turns and flips the training samples, so "
                "their rows are no longer latitudes: it cannot be used with "
                "training.loss.latitude_weighted: true"
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        """The recipe as plain python (YAML/JSON/checkpoint friendly)."""
        return self.model_dump(mode="json")
