"""The real-ish evaluation set (issue #15 item 6): independent sentences, real photos, espeak-ng voices, and a scorer
whose metrics agree with scikit-learn and whose pretrained reference clearly beats chance."""
import json

import numpy as np
import pytest
from sklearn.metrics import f1_score

from merclip.data import realish, synthetic
from merclip.serving.realish_eval import chance, main, scores_summary, truth_matrix, zero_shot_predict


def test_sixty_plus_sentences_cover_every_emotion_without_the_generators_phrases():
    assert len(realish.SENTENCES) >= 60
    counts = {e: sum(e in emotions for _, emotions in realish.SENTENCES) for e in realish.EMOTIONS}
    assert min(counts.values()) >= 10, counts
    assert all(set(emotions) <= set(realish.EMOTIONS) and emotions for _, emotions in realish.SENTENCES)
    generator = synthetic.POSITIVE + synthetic.NEGATIVE + synthetic.DISGUST + synthetic.FEAR + synthetic.NEUTRAL
    leaks = [(s, g) for s, _ in realish.SENTENCES for g in generator if g.lower() in s.lower()]
    assert not leaks
    assert len({s for s, _ in realish.SENTENCES}) == len(realish.SENTENCES)


def test_metrics_agree_with_sklearn_and_chance_is_what_knowing_nothing_gets():
    rng = np.random.default_rng(0)
    truth = (rng.random((40, 6)) < 0.3).astype(int)
    truth[truth.sum(1) == 0, 0] = 1  # every clip has an intended emotion, as in the set
    scores = rng.random((40, 6))
    decisions = (scores > 0.5).astype(int)
    m = scores_summary(truth, scores, decisions)
    assert m["micro_f1"] == pytest.approx(f1_score(truth, decisions, average="micro"))
    assert m["top1_hit_rate"] == pytest.approx(np.mean([truth[i, scores[i].argmax()] for i in range(40)]))
    c = chance(truth)
    assert c["micro_f1"] == pytest.approx(f1_score(truth, np.ones_like(truth), average="micro"))
    # a random label hits with probability |intended| / 6: check against simulation
    picks = rng.integers(0, 6, (20000, 40))
    assert c["top1_hit_rate"] == pytest.approx(truth[np.arange(40), picks].mean(), abs=0.01)


def test_the_pretrained_language_reference_clearly_beats_chance_on_the_sentences():
    clips = realish.plan()
    truth = truth_matrix(clips)
    predict = zero_shot_predict("language")
    rows = [predict(None, c.transcript) for c in clips]  # language only: no media needed
    scores, decisions = np.stack([r[0] for r in rows]), np.stack([r[1] for r in rows]).astype(int)
    ours, base = scores_summary(truth, scores, decisions), chance(truth)
    assert ours["top1_hit_rate"] >= 2 * base["top1_hit_rate"], (ours, base)  # measured: 56 % vs 19 %
    assert ours["micro_f1"] > base["micro_f1"] + 0.1, (ours, base)  # measured: 50 vs 33


def test_built_clips_hold_the_spoken_sentence_a_real_face_and_a_manifest(tmp_path):
    from merclip import media
    from merclip.media.faces import face_crop

    manifest = realish.build(tmp_path / "set", n=2, progress=False)
    clips = realish.load(manifest)
    assert [c.transcript for c in clips] == [s for s, _ in realish.SENTENCES[:2]]
    assert json.loads(manifest.read_text())[0]["emotions"] == ["happy"]
    info = media.probe(tmp_path / "set" / clips[0].video)
    assert info.has_video and info.has_audio and 2.0 < info.duration < 8.0
    wave = media.read_audio(info.path, 16000, info.duration)
    assert np.abs(wave).max() > 0.05  # espeak-ng spoke
    frames = media.read_frames(info.path, 3, info.duration, 60)
    assert clips[0].photo == "astronaut" and face_crop(np.asarray(frames[0])).found  # a real face the cascade finds


def test_cli_scores_a_checkpoint_and_the_reference_beside_chance(tmp_path, tiny_ckpt, capsys):
    realish.build(tmp_path / "set", n=3, progress=False)
    rows = main(["--set", str(tmp_path / "set"), "--checkpoint", str(tiny_ckpt), "--zero-shot",
                 "--out", str(tmp_path / "r.json")])
    table = capsys.readouterr().out
    assert "| chance (every emotion / a random label) |" in table and "offline zero-shot reference, language" in table
    assert set(json.loads((tmp_path / "r.json").read_text())) == set(rows)
    assert all(0.0 <= m["micro_f1"] <= 1.0 for m in rows.values())


def test_the_shipped_demo_clearly_beats_chance_on_the_whole_real_ish_set(tmp_path):
    """Issue #15 item 4: the shipped demo (wordllama text, FER face, trained on espeak-ng speech clips) on clips it
    was not made for. Measured when shipped: top-1 34.8 % vs 19.4 % for a random label, micro-F1 39.2 vs 32.6 for
    predicting every emotion (docs/results.md); the old demo was at chance (19.7 %, 29.4)."""
    from pathlib import Path

    from merclip.serving.realish_eval import merclip_predict, score_clips

    demo = Path(__file__).resolve().parents[1] / "checkpoints" / "merclip-tiny-synthetic"
    clips = realish.load(realish.build(tmp_path / "set", progress=False))
    truth = truth_matrix(clips)
    ours = scores_summary(truth, *score_clips(clips, tmp_path / "set", merclip_predict(demo), "demo"))
    base = chance(truth)
    assert ours["top1_hit_rate"] >= 1.5 * base["top1_hit_rate"], (ours, base)
    assert ours["micro_f1"] >= base["micro_f1"] + 0.04, (ours, base)
