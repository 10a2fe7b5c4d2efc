"""Registry and config (de)serialisation."""

from __future__ import annotations

import json

import pytest

from gmgclim.models import (
    GMG,
    ConvLSTMConfig,
    GMGConfig,
    config_from_dict,
    config_to_dict,
    get_config_class,
    get_model,
)

SMALL = dict(in_channels=1, height=8, width=8, input_steps=2, output_steps=2, num_hidden=(4, 4))


@pytest.mark.parametrize("name", ["gmg", "convlstm", "predrnn", "motionrnn"])
def test_config_roundtrip_through_json(name):
    cfg = get_config_class(name)(**SMALL, periodic_longitude=True)
    restored = config_from_dict(name, json.loads(json.dumps(config_to_dict(cfg))))
    assert restored == cfg
    assert type(restored) is type(cfg)
    model = get_model(name, config_to_dict(cfg))
    assert model.config == cfg


def test_get_model_and_errors():
    cfg = GMGConfig(**SMALL, att_hidden=2)
    assert isinstance(get_model("GMG", cfg), GMG)
    with pytest.raises(ValueError, match="unknown model name 'unet'"):
        get_model("unet", cfg)
    with pytest.raises(ValueError, match="ConvLSTMConfig"):
        get_model("convlstm", cfg)
    with pytest.raises(ValueError, match="hidden_size"):
        config_from_dict("gmg", {**SMALL, "hidden_size": 3})
    with pytest.raises(ValueError, match="height"):
        config_from_dict("gmg", {k: v for k, v in SMALL.items() if k != "height"})
    with pytest.raises(ValueError, match="needs a PredRNNConfig"):
        get_model("predrnn", ConvLSTMConfig(**SMALL))
