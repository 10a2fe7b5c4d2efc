"""gmgclim.models: GMG and recurrent baselines as plain PyTorch modules.

All models share one call contract (see :mod:`gmgclim.models.recurrent`):
``model(inputs (B, T_in, C, H, W), targets=None, teacher_forcing_mask=None)``.
"""

from gmgclim.models.convlstm import ConvLSTM, ConvLSTMConfig
from gmgclim.models.gmg import GMG, GMGConfig
from gmgclim.models.motionrnn import MotionRNN, MotionRNNConfig
from gmgclim.models.predrnn import PredRNN, PredRNNConfig
from gmgclim.models.registry import (
    MODELS,
    config_from_dict,
    config_to_dict,
    get_config_class,
    get_model,
)

__all__ = [
    "GMG",
    "MODELS",
    "ConvLSTM",
    "ConvLSTMConfig",
    "GMGConfig",
    "MotionRNN",
    "MotionRNNConfig",
    "PredRNN",
    "PredRNNConfig",
    "config_from_dict",
    "config_to_dict",
    "get_config_class",
    "get_model",
]
