"""One clip in, one PredictionResult out: the public face of `merclip.serving.predictor`.

    from merclip.predict import Predictor
    predictor = Predictor.from_checkpoint("checkpoints/merclip-tiny-synthetic")
    result = predictor.predict("clip.mp4", "I can't believe it actually worked!")
"""
from .serving.predictor import AttentionMap, PredictionResult, Predictor

__all__ = ["AttentionMap", "PredictionResult", "Predictor"]
