"""Issue #25: the shipped demo reads real-ish clips at least as well as the offline reference beside it, its fusion
reads them at least as well as each of its modalities alone (its words included, the paper's Table 3 question), and
the generated test split does not get worse than the issue-15 demo's 87.8 micro-F1 by more than the 2 points the issue
allows (the floor, merclip.shipped.GENERATED_FLOOR).

The real-ish test split (`merclip.data.realish`, 360 sentences written by helpers that had read nothing of the
project, real photographs, espeak-ng voices) is read here once per shipped model; every choice of the recipe was made
on the dev split (scripts/train_demo.py). The references are measured here too, from the same clips, never stored.
"""
import numpy as np
import pytest

from merclip.data import realish, realish_sentences
from merclip.data.synthetic import write_dataset
from merclip.serving.realish_eval import chance, merclip_rows, truth_matrix, zero_shot_rows
from merclip.shipped import DEFAULT_CHECKPOINT, GENERATED_FLOOR

pytestmark = pytest.mark.slow
MEASURES = ("micro_f1", "top1_hit_rate")


@pytest.fixture(scope="module")
def test_split(tmp_path_factory):
    folder = tmp_path_factory.mktemp("realish-test")
    clips = realish.load(realish.build(folder, split="test", progress=False, workers=2))
    return clips, folder


@pytest.fixture(scope="module")
def demo_rows(test_split):
    clips, folder = test_split
    return merclip_rows(DEFAULT_CHECKPOINT, clips, folder)


def test_the_test_split_is_the_held_out_one(test_split):
    clips, _ = test_split
    assert len(clips) == 360 and {c.split for c in clips} == {"test"}
    assert [c.clip_id for c in clips] == [f"realish_{k:03d}" for k in range(realish_sentences.RETIRED,
                                                                            len(realish.SENTENCES))]
    # none of the sentences any earlier choice was made on: dev, and the first test split, retired into dev
    assert not {c.transcript for c in clips} & {s for s, _ in realish.SENTENCES[:realish_sentences.RETIRED]}


def test_the_shipped_demo_reads_the_test_split_at_least_as_well_as_the_reference_in_its_best_mode(test_split,
                                                                                                   demo_rows):
    clips, folder = test_split
    reference = zero_shot_rows(clips, folder)  # combined, language only, face only
    demo = demo_rows["LVA"]
    for measure in MEASURES:
        best_mode = max(reference, key=lambda part: reference[part][measure])
        assert demo[measure] >= reference[best_mode][measure], (measure, demo, best_mode, reference[best_mode])
    base = chance(truth_matrix(clips))
    assert demo["top1_hit_rate"] > 2 * base["top1_hit_rate"], (demo, base)


def test_fusion_reads_the_test_split_better_than_the_face_or_the_voice_alone(demo_rows):
    """The paper's Table 3 question on real-ish clips: the full model against itself with vision or audio alone
    (measured 47.4 / 48.1 against 23.0 / 20.6 and 24.7 / 20.6), by a wide margin."""
    full = demo_rows["LVA"]
    for single in ("V only", "A only"):
        for measure in MEASURES:
            assert full[measure] >= demo_rows[single][measure] + 0.1, (single, measure, full, demo_rows[single])


def test_fusion_reads_the_test_split_at_least_as_well_as_the_words_alone(demo_rows):
    """The same question against the words alone, the strongest single modality on clips whose faces and voices carry
    no label (measured 47.4 / 48.1 against 46.4 / 46.7; both margins are within resampling noise, below in 19 % and
    16 % of paired resamples of these clips, docs/results.md)."""
    full, words = demo_rows["LVA"], demo_rows["L only"]
    for measure in MEASURES:
        assert full[measure] >= words[measure], (measure, full, words)


def test_the_generated_test_split_keeps_the_issue_floor(tmp_path):
    """Item 3, on the split `scripts/make_demo_model.sh` trains beside, rendered here clip for clip (seed 0, 1000
    clips, speech style, test split only). Measured: 87.3 micro-F1 against the floor of 85.8 (the issue-15 demo's
    87.8 less 2 points); predicting every emotion gets the chance figure below."""
    import torch

    from merclip.data.loading import DataConfig, build_loaders
    from merclip.models.checkpoint import load_checkpoint
    from merclip.training.evaluate import evaluate_model
    from merclip.training.metrics import emotion_metrics

    write_dataset(tmp_path / "speech", 1000, seed=0, progress=False, style="speech", splits=("test",), workers=2)
    model = load_checkpoint(DEFAULT_CHECKPOINT)
    loaders, _ = build_loaders(model, DataConfig(root=tmp_path / "speech", workers=1), splits=("test",), shuffle=False)
    result = evaluate_model(model, loaders["test"], torch.device("cpu"))
    assert len(result.ids) == 200 and result.skipped == 0
    chance_f1 = emotion_metrics(result.targets, np.ones_like(result.targets))["micro_f1"]
    assert result.metrics["micro_f1"] >= chance_f1 + 0.25, (result.metrics, chance_f1)
    assert result.metrics["micro_f1"] >= GENERATED_FLOOR, result.metrics


def test_the_about_tab_states_the_shipped_comparison_from_the_file_beside_the_checkpoint():
    """The About tab's numbers are the ones make_demo_model.sh measured (realish_test.json), not a copy in the code."""
    import json as _json

    from merclip.studio.about import REALISH_RESULTS, realish_line

    rows = _json.loads((DEFAULT_CHECKPOINT / REALISH_RESULTS).read_text())
    line = realish_line(DEFAULT_CHECKPOINT)
    demo = rows["MER-CLIP `merclip-tiny-synthetic`"]
    words = rows["MER-CLIP `merclip-tiny-synthetic`, L only"]
    language = rows["offline zero-shot reference, language"]
    for m in (demo, words, language):
        assert f"{100 * m['micro_f1']:.1f} micro-F1, {100 * m['top1_hit_rate']:.1f} % top-1" in line
    assert "in its best mode (language)" in line and "its words alone" in line
