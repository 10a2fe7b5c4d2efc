"""Training recipes: the schema (:mod:`~gmgclim.config.schema`), reading and overriding recipe
files (:mod:`~gmgclim.config.loading`) and the one step parser (:mod:`~gmgclim.config.steps`).

Example
-------
>>> recipe = load_recipe("recipes/quickstart.yaml", overrides=["training.lr=1e-4"])  # doctest: +SKIP
>>> recipe.training.lr  # doctest: +SKIP
0.0001
"""

from gmgclim.config.loading import apply_overrides, load_recipe, read_yaml_unique, recipe_from_dict
from gmgclim.config.schema import (
    DATA_DERIVED_MODEL_FIELDS,
    DataConfig,
    GridConfig,
    LossConfig,
    ModelSection,
    OptimizerConfig,
    OutputConfig,
    Recipe,
    SampledSplit,
    ScheduledSamplingConfig,
    SplitRange,
    SplitsConfig,
    TrainingConfig,
)
from gmgclim.config.steps import parse_step

__all__ = [
    "DATA_DERIVED_MODEL_FIELDS",
    "DataConfig",
    "GridConfig",
    "LossConfig",
    "ModelSection",
    "OptimizerConfig",
    "OutputConfig",
    "Recipe",
    "SampledSplit",
    "ScheduledSamplingConfig",
    "SplitRange",
    "SplitsConfig",
    "TrainingConfig",
    "apply_overrides",
    "load_recipe",
    "parse_step",
    "read_yaml_unique",
    "recipe_from_dict",
]
