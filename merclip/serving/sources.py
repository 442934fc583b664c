"""What `Predictor.predict_batch` takes besides a clip file: a source already decoded."""
from __future__ import annotations

from dataclasses import dataclass

from ..media.decoded import ClipInputs


@dataclass(frozen=True)
class DecodedSource:
    """A clip's model inputs decoded by the caller (a long clip's utterance window, merclip.serving.timeline), so
    that its windows go through predict_batch without writing each cut to disk. `cache_id` names it in the
    predictor's feature cache, as a file's identity names a file."""

    cache_id: str
    inputs: ClipInputs
