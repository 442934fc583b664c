"""No prediction without something to predict from (issue #16 item 5): a model fed only absent inputs outputs its
bias, which reads like an answer. Library, batch path, LSGMER and the Studio all refuse, with a message."""
from __future__ import annotations

import pytest

from merclip.errors import NothingToPredictError, UserError
from merclip.serving.lsgmer_predictor import LSGMERPredictor
from merclip.serving.predictor import Predictor


def test_predictor_refuses_when_every_modality_is_dropped_or_absent(tiny_ckpt, clips):
    predictor = Predictor.from_checkpoint(tiny_ckpt, device="cpu")
    with pytest.raises(NothingToPredictError, match="nothing left to predict from.*transcript \\(dropped\\)"):
        predictor.predict(clips["2s"], "so happy", drop_modalities=("L", "V", "A"))
    # no audio track and no words: dropping the frames leaves nothing
    with pytest.raises(NothingToPredictError, match="no transcript, no video frames \\(dropped\\), no audio"):
        predictor.predict(clips["noaudio"], "", drop_modalities=("V",))
    with pytest.raises(NothingToPredictError, match="clip 2"):
        predictor.predict_batch([clips["2s"], clips["noaudio"]], ["so happy", ""], drop_modalities=("V",))
    # one modality left is enough, and it is what the result says it used
    result = predictor.predict(clips["2s"], "", drop_modalities=("V",))
    assert result.present == {"language": False, "vision": False, "audio": True}
    assert len(result.probabilities) == 6


def test_lsgmer_refuses_a_clip_without_audio_or_words(tiny_lsgmer_ckpt, clips):
    predictor = LSGMERPredictor.from_checkpoint(tiny_lsgmer_ckpt, device="cpu")
    with pytest.raises(NothingToPredictError, match="no transcript, no audio"):
        predictor.predict(clips["noaudio"], "")
    assert sum(predictor.predict(clips["noaudio"], "what a lovely day").probabilities.values()) == pytest.approx(1.0)


def test_studio_shows_the_refusal_as_a_user_error(studio, clips):
    with pytest.raises(UserError, match="nothing left to predict from"):
        studio.analyse(str(clips["2s"]), "so happy", dropped=("language", "vision", "audio"))
