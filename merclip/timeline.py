"""`python -m merclip.timeline`: an emotion timeline over a long clip's utterances; the public face of
`merclip.serving.timeline` (`analyse`, `segment`, `predict_timeline`)."""
from .serving.timeline import (
    Segmentation,
    Timeline,
    TimelineConfig,
    Utterance,
    analyse,
    main,
    predict_timeline,
    segment,
)

__all__ = ["Segmentation", "Timeline", "TimelineConfig", "Utterance", "analyse", "main", "predict_timeline", "segment"]

if __name__ == "__main__":
    raise SystemExit(main())
