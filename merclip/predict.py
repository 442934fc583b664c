"""One clip in, one PredictionResult out: the public face of `merclip.serving.predictor`; and, as a command, a
folder of clips in, one table out (`merclip.serving.batch_predict`).

    from merclip.predict import Predictor
    predictor = Predictor.from_checkpoint("checkpoints/merclip-tiny-synthetic")
    result = predictor.predict("clip.mp4", "I can't believe it actually worked!")

    python -m merclip.predict DIR_OR_MANIFEST --out predictions.csv [--embeddings emb.npz] [--resume]
    torchrun --nproc_per_node N -m merclip.predict DIR --out predictions.csv
"""
from .serving.predictor import AttentionMap, PredictionResult, Predictor

__all__ = ["AttentionMap", "PredictionResult", "Predictor"]


def main(argv: list[str] | None = None) -> None:
    from .serving.batch_predict import main as batch_main  # the command's imports stay off the public face

    batch_main(argv)


if __name__ == "__main__":
    main()
