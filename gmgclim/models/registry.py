"""Name -> model registry, and config (de)serialisation for checkpoints.

>>> cfg = config_from_dict("gmg", {"in_channels": 1, "height": 32, "width": 64,
...                                "input_steps": 12, "output_steps": 12})
>>> model = get_model("gmg", cfg)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from torch import nn

from gmgclim.models.convlstm import ConvLSTM, ConvLSTMConfig
from gmgclim.models.gmg import GMG, GMGConfig
from gmgclim.models.motionrnn import MotionRNN, MotionRNNConfig
from gmgclim.models.predrnn import PredRNN, PredRNNConfig
from gmgclim.models.recurrent_config import RecurrentConfig

MODELS: dict[str, tuple[type[nn.Module], type[RecurrentConfig]]] = {
    "gmg": (GMG, GMGConfig),
    "convlstm": (ConvLSTM, ConvLSTMConfig),
    "predrnn": (PredRNN, PredRNNConfig),
    "motionrnn": (MotionRNN, MotionRNNConfig),
}


def _entry(name: str) -> tuple[type[nn.Module], type[RecurrentConfig]]:
    key = name.lower() if isinstance(name, str) else name
    if key not in MODELS:
        raise ValueError(f"unknown model name {name!r}; expected one of {sorted(MODELS)}")
    return MODELS[key]


def get_config_class(name: str) -> type[RecurrentConfig]:
    """The frozen config dataclass of model ``name`` (e.g. ``"gmg"`` -> GMGConfig)."""
    return _entry(name)[1]


def config_from_dict(name: str, values: Mapping[str, Any]) -> RecurrentConfig:
    """Build model ``name``'s config from a plain dict (e.g. one stored in a checkpoint).

    Raises
    ------
    ValueError
        On unknown keys, missing required keys or invalid values (the message names the key).
    """
    cls = get_config_class(name)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ValueError(
            f"{cls.__name__}: unknown config key(s) {unknown}; expected some of {sorted(fields)}"
        )
    missing = sorted(
        n
        for n, f in fields.items()
        if n not in values
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    )
    if missing:
        raise ValueError(f"{cls.__name__}: missing required config key(s) {missing}")
    kwargs: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return cls(**kwargs)


def config_to_dict(config: RecurrentConfig) -> dict[str, Any]:
    """Plain-python dict of a config (tuples as lists), the inverse of :func:`config_from_dict`."""
    if not dataclasses.is_dataclass(config) or isinstance(config, type):
        raise ValueError(
            f"config_to_dict needs a model config instance, got {type(config).__name__}"
        )
    return config.to_dict()


def get_model(name: str, config: RecurrentConfig | Mapping[str, Any]) -> nn.Module:
    """Instantiate model ``name`` ("gmg", "convlstm", "predrnn", "motionrnn").

    Parameters
    ----------
    name : str
        Registered model name (case-insensitive).
    config : dataclass or mapping
        The model's config instance, or a plain dict accepted by :func:`config_from_dict`.

    Returns
    -------
    torch.nn.Module
        The freshly initialised model.
    """
    model_cls, config_cls = _entry(name)
    if isinstance(config, Mapping):
        config = config_from_dict(name, config)
    if type(config) is not config_cls:
        raise ValueError(
            f"model {name!r} needs a {config_cls.__name__}, got {type(config).__name__}"
        )
    return model_cls(config)
