import time

import numpy as np
import pytest

from merclip import media
from merclip.models.checkpoint import save_checkpoint
from merclip.serving.predictor import Predictor


@pytest.fixture(scope="module")
def predictor(tiny_model, tmp_path_factory):
    path = save_checkpoint(tiny_model, tmp_path_factory.mktemp("ck") / "tiny")
    return Predictor.from_checkpoint(path, device="cpu")


def test_prediction_result_contents(predictor, clips):
    t0 = time.perf_counter()
    r = predictor.predict(clips["5s"], "I am thrilled about this")
    wall = time.perf_counter() - t0
    assert r.labels == ["happy", "sad", "angry", "surprise", "disgust", "fear"]
    assert set(r.probabilities) == set(r.labels) and all(0 <= p <= 1 for p in r.probabilities.values())
    assert r.predicted == [l for l in r.labels if r.probabilities[l] > 0.6]
    assert {k: v.shape for k, v in r.embeddings.items()} == {"language": (64,), "vision": (64,), "audio": (64,)}
    assert r.fused.shape == (64,) and r.label_embeddings.shape == (6, 64)
    assert r.present == {"language": True, "vision": True, "audio": True}
    shapes = {a.modality: a.weights.shape for a in r.attention}
    assert shapes == {"L": (4, 7), "V": (4, 4), "A": (4, 3)}
    assert r.attention[0].items[:4] == ["<start_of_text>", "i", "am", "thrilled"]
    assert r.attention[2].items == ["0-2s", "2-4s", "4-5s"]  # the last segment ends where the 5-s clip does
    stages = ("decode_video", "decode_audio", "encode_vision", "encode_audio", "encode_language", "label_encoder+cmd")
    assert set(r.timings) == {*stages, "total"}
    assert sum(r.timings[k] for k in stages) <= r.timings["total"] <= wall  # disjoint parts of the request's time
    assert not r.features_cached
    d = r.to_dict()
    assert d["predicted"] == r.predicted and len(d["fused"]) == 64


def test_query_word_swap_reuses_cached_features(predictor, clips, monkeypatch):
    first = predictor.predict(clips["2s"], "what a day")
    calls = {"load": 0, "vision": 0, "audio": 0, "language": 0}

    def counting(name, fn):
        def wrapped(*a, **k):
            calls[name] += 1
            return fn(*a, **k)
        return wrapped

    import merclip.serving.predictor as predict_mod

    monkeypatch.setattr(predict_mod, "load_clip", counting("load", predict_mod.load_clip))
    for name, module in (("vision", predictor.model.vision), ("audio", predictor.model.audio),
                         ("language", predictor.model.language)):
        monkeypatch.setattr(module, "forward", counting(name, module.forward))
    swapped = predictor.predict(clips["2s"], "what a day", query_word="Mood")
    none_word = predictor.predict(clips["2s"], "what a day", query_word=None)
    relabelled = predictor.predict(clips["2s"], "what a day", labels=["calm", "tense"], task="sentiment")
    assert calls == {"load": 0, "vision": 0, "audio": 0, "language": 0}
    assert swapped.features_cached and none_word.query_word is None
    assert swapped.probabilities != first.probabilities
    assert np.array_equal(swapped.embeddings["vision"], first.embeddings["vision"])
    assert set(relabelled.probabilities) == {"calm", "tense"}
    assert abs(sum(relabelled.probabilities.values()) - 1) < 1e-5
    # a different transcript is a different clip: the media path runs again
    predictor.predict(clips["2s"], "another transcript")
    assert calls["load"] == 1 and calls["language"] == 1


def test_no_audio_clip_reports_the_absent_modality(predictor, clips):
    r = predictor.predict(clips["noaudio"], "hello")
    assert r.present["audio"] is False and "no audio track" in " ".join(r.notes)
    assert r.attention[2].weights.shape == (4, 0)
    assert np.all(r.embeddings["audio"] == 0)


def test_dropping_a_modality_changes_the_prediction(predictor, clips):
    full = predictor.predict(clips["5s"], "so sad")
    no_text = predictor.predict(clips["5s"], "so sad", drop_modalities=["L"])
    assert no_text.present["language"] is False
    assert not np.allclose(full.fused, no_text.fused)
    assert "language modality dropped by request" in no_text.notes


def test_bad_input_reaches_the_caller_as_media_error(predictor, clips):
    with pytest.raises(media.UnsupportedFileTypeError):
        predictor.predict(clips["png"], "hi")
    with pytest.raises(ValueError, match="at least 2 non-empty labels"):
        predictor.predict(clips["2s"], "hi", labels=["only one"])


def test_long_transcript_is_truncated_with_a_note(predictor, clips):
    r = predictor.predict(clips["2s"], " ".join(["word"] * 200))
    assert any("77-token context" in n for n in r.notes)
    assert r.attention[0].weights.shape == (4, 77)


def test_predict_batch_matches_per_clip_predict(tiny_ckpt, clips):
    names = ["2s", "5s", "noaudio", "0.5s", "2s"]  # mixed lengths, a clip without audio, a repeat
    texts = ["so happy", "what a terrible day it was for all of us", "hm", "", "so happy"]
    single = Predictor.from_checkpoint(tiny_ckpt, device="cpu")
    batched = Predictor.from_checkpoint(tiny_ckpt, device="cpu")
    one_by_one = [single.predict(clips[n], t) for n, t in zip(names, texts)]
    mood = batched.predict_batch([clips[n] for n in names], texts, batch_size=3, query_word="Mood")
    mood_one_by_one = [single.predict(clips[n], t, query_word="Mood") for n, t in zip(names, texts)]
    for a, b in zip(mood_one_by_one, mood):  # the query word reaches the batched path, and changes the result
        assert b.query_word == "Mood"
        assert np.allclose(list(a.probabilities.values()), list(b.probabilities.values()), atol=1e-5)
    together = batched.predict_batch([clips[n] for n in names], texts, batch_size=3)  # now all cached
    assert all(r.features_cached for r in together)
    assert not np.allclose(mood[0].fused, together[0].fused, atol=1e-4)  # "Mood" is not the config's query word
    for a, b in zip(one_by_one, together):
        assert a.present == b.present and a.predicted == b.predicted
        assert np.allclose(list(a.probabilities.values()), list(b.probabilities.values()), atol=1e-5)
        assert np.allclose(a.fused, b.fused, atol=1e-5)
        assert [x.weights.shape for x in a.attention] == [x.weights.shape for x in b.attention]
        assert all(x.items == y.items for x, y in zip(a.attention, b.attention))
    with pytest.raises(ValueError, match="2 videos, 1 transcripts"):
        batched.predict_batch([clips["2s"], clips["5s"]], ["a"])
