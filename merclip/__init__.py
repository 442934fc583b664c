"""MER-CLIP: multimodal emotion recognition with a CLIP label encoder.

Import the pieces you need: `merclip.models.merclip.build_model`, `merclip.serving.predictor.Predictor`,
`merclip.models.checkpoint.save_checkpoint / load_checkpoint`, `merclip.config.ModelConfig`.
"""
__version__ = "0.1.0"

from .config import MediaConfig, ModelConfig, TrainConfig  # noqa: F401
from .model_configs.presets import default_model_config, tiny_config  # noqa: F401
