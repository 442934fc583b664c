"""The demo's recipe (issue #25), piece by piece: the pooled skip starts as the offline reference's reading, the
lexicon items and mismatched clips are what they say, the generated test split renders alone, and the epoch is
chosen on the real-ish dev split by the rule scripts/train_demo.py states."""
import importlib.util
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from merclip.config import EMOTION_LABELS, ModelConfig
from merclip.data import realish
from merclip.data import phrasebook, spoken_forms
from merclip.data.lexicon import (NRC_AFFECTS, TextOnlyDataset, lexicon_path, lexicon_items, text_corpus_dataset,
                                  word_groups)
from merclip.data.mismatch import MismatchedClips
from merclip.errors import UserError
from merclip.media.decoded import ClipInputs
from merclip.model_configs.presets import tiny_config
from merclip.models.batch import collate_clips

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def skip_model():
    from merclip.models.merclip import build_model

    torch.manual_seed(0)
    cfg = tiny_config(clip_model="merclip-tiny-256", text_backbone="wordllama", vision_backbone="fer", pooled_skip=True)
    return build_model(cfg).eval()


def test_the_untrained_pooled_skip_model_ranks_labels_as_the_offline_reference_does(skip_model):
    """Before any training, with the words alone, the model's label similarities are wordllama's own (the offline
    reference's language reading, computed independently by merclip.pretrained.offline_zeroshot)."""
    from merclip.pretrained.offline_zeroshot import OfflineZeroShot

    texts = [s for s, _ in realish.SENTENCES[:66]]
    inputs = collate_clips([ClipInputs(None, None, t, 0.0) for t in texts], skip_model.tokenizer)
    with torch.no_grad():
        ours = skip_model(inputs).similarity.numpy()  # (66, 6)
    reference = OfflineZeroShot.from_packages()
    theirs = np.stack([[reference.predict([], t, EMOTION_LABELS).language[l] for l in EMOTION_LABELS] for t in texts])
    assert (ours.argmax(1) == theirs.argmax(1)).all()
    ranks = lambda a: np.argsort(np.argsort(a, axis=1), axis=1)  # noqa: E731
    assert (ranks(ours) == ranks(theirs)).mean() > 0.95  # the label context vectors start near zero, not at it
    assert skip_model.skip_gates.tolist() == [1.0, 0.0, 0.0]  # L, V, A
    assert not skip_model.cmd.out.weight.any()


def test_the_pooled_skip_needs_the_cmd_and_round_trips_through_a_checkpoint(skip_model, tmp_path):
    from merclip.models.checkpoint import load_checkpoint, save_checkpoint

    with pytest.raises(ValueError, match="pooled_skip .* needs use_cmd=True"):
        ModelConfig(use_cmd=False, pooled_skip=True)
    with torch.no_grad():
        skip_model.skip_gates.copy_(torch.tensor([0.7, 0.2, -0.1]))
    loaded = load_checkpoint(save_checkpoint(skip_model, tmp_path / "ckpt"))
    assert loaded.cfg.pooled_skip and torch.allclose(loaded.skip_gates, torch.tensor([0.7, 0.2, -0.1]))
    with torch.no_grad():
        skip_model.skip_gates.copy_(torch.tensor([1.0, 0.0, 0.0]))


def test_the_skip_gates_of_vision_and_audio_start_where_the_config_says():
    from merclip.models.merclip import build_model

    cfg = tiny_config(clip_model="merclip-tiny-256", text_backbone="wordllama", vision_backbone="fer",
                      pooled_skip=True, skip_gate_init=0.25)
    model = build_model(cfg)
    assert model.skip_gates.tolist() == [1.0 if m == "L" else 0.25 for m in cfg.modality_order]
    with pytest.raises(ValueError, match="skip_gate_init .* needs pooled_skip=True"):
        ModelConfig(skip_gate_init=0.25)
    with pytest.raises(ValueError, match=r"skip_gate_init must be a number in \[0, 1\], got nan"):
        ModelConfig(pooled_skip=True, skip_gate_init=float("nan"))


def test_trust_gates_start_as_the_plain_skip_and_make_the_face_gate_per_clip(tmp_path):
    """With trust gates the untrained model equals the same model without them (factor 1); once the trust layer
    reads the face's embedding, two clips get different factors, and the gates round-trip through a checkpoint."""
    from merclip.models.checkpoint import load_checkpoint, save_checkpoint
    from merclip.models.merclip import build_model

    base = dict(clip_model="merclip-tiny-256", text_backbone="wordllama", vision_backbone="fer", pooled_skip=True,
                skip_gate_init=0.25)
    torch.manual_seed(0)
    trusting = build_model(tiny_config(**base, trust_gates=True)).eval()
    plain = build_model(tiny_config(**base)).eval()
    plain.load_state_dict({k: v for k, v in trusting.state_dict().items() if not k.startswith("trust.")})
    clips = [ClipInputs(torch.rand(2, 3, 64, 64), torch.rand(3, 3, 224, 224), text, 1.0)
             for text in ("we won the cup", "my cat died")]
    batch = collate_clips(clips, trusting.tokenizer)
    with torch.no_grad():
        assert torch.allclose(trusting(batch).similarity, plain(batch).similarity)
        assert set(trusting.trust) == {"V", "A"}
        trusting.trust["V"].weight.normal_()
        feats = trusting.encode_modalities(batch)
        factors = trusting.skip_trust("V", feats.pooled["V"])  # (2, 1) in (0, 2)
        assert factors.shape == (2, 1) and ((factors > 0) & (factors < 2)).all() and factors[0] != factors[1]
        assert not torch.allclose(trusting(batch).similarity, plain(batch).similarity)
        assert trusting.skip_trust("L", feats.pooled["L"]) == 1.0
    loaded = load_checkpoint(save_checkpoint(trusting, tmp_path / "ckpt"))
    assert loaded.cfg.trust_gates and torch.equal(loaded.trust["V"].weight, trusting.trust["V"].weight)
    with pytest.raises(ValueError, match="trust_gates .* need pooled_skip=True"):
        ModelConfig(trust_gates=True)


def test_lexicon_items_are_the_nrc_files_associations_grouped_by_label():
    raw = json.loads(lexicon_path().read_text())  # read here independently of merclip's reader
    items = dict(lexicon_items(EMOTION_LABELS))
    assert items["abandoned"] == ("sad", "angry", "fear")  # NRC: anger, fear, negative, sadness (label order)
    expected = {w for w, affects in raw.items() if set(affects) & set(NRC_AFFECTS.values())}
    assert set(items) == expected and len(items) > 3000
    assert "abacus" not in items  # trust only: no label of the demo
    groups = word_groups(list(items.items()))
    words = [w for text, _ in groups for w in text.split(" ")]
    assert sorted(words) == sorted(items) and all(len(t.split(" ")) <= 4 for t, _ in groups)
    assert all(items[w] == named for text, named in groups for w in text.split(" "))
    assert groups == word_groups(list(items.items()))  # fixed by the seed
    with pytest.raises(ValueError, match="has none of the labels"):
        lexicon_items(("positive", "negative"))
    single = dict(lexicon_items(EMOTION_LABELS, single=True))  # "nrc-single": words with exactly one of the labels
    assert single == {w: named for w, named in items.items() if len(named) == 1}
    assert "abandoned" not in single and len(single) > 1500


def test_spoken_items_are_one_emotion_each_in_marks_no_other_emotion_uses():
    items = spoken_forms.spoken_items(EMOTION_LABELS)
    assert len(items) == 6 * spoken_forms.ITEMS_PER_EMOTION and len({t for t, _ in items}) == len(items)
    for emotion in EMOTION_LABELS:
        texts = [t for t, named in items if named == (emotion,)]
        assert len(texts) == spoken_forms.ITEMS_PER_EMOTION
        bare = {t.rstrip(".!") for t in spoken_forms.EXCLAMATIONS[emotion]}  # their end marks are drawn at random
        assert bare <= {t.rstrip(".!") for t in texts}
        framed = [t for t in texts if t.rstrip(".!") not in bare]
        # every framed item says a situation of its own emotion, and no other emotion's
        assert all(any(s.lower() in t.lower() for s in phrasebook.SITUATIONS[emotion]) for t in framed)
        assert not any(s.lower() in t.lower() for t in framed for e in EMOTION_LABELS if e != emotion
                       for s in phrasebook.SITUATIONS[e])
    # a frame's own words (around the situation) belong to one emotion: "Wow, ..." is never angry
    def frame_words(emotion):  # the frames' text outside the {sit} slot, piece by piece
        pieces = (p.strip(" ,.!?:").lower() for f in spoken_forms.FRAMES[emotion] for p in re.split(r"\{\w+\}", f))
        return {p for p in pieces if p}

    marks = {e: frame_words(e) for e in EMOTION_LABELS}
    for e in EMOTION_LABELS:
        others = set().union(*(marks[o] for o in EMOTION_LABELS if o != e))
        assert not marks[e] & others
    assert spoken_forms.spoken_items(EMOTION_LABELS) == items  # fixed by the seed
    # "!" ends about half of every emotion's statements, so it is no one emotion's mark
    for emotion in EMOTION_LABELS:
        ends = [t[-1] for t, named in items if named == (emotion,) and not t.endswith("?")]
        assert 0.3 < ends.count("!") / len(ends) < 0.7 and set(ends) == {"!", "."}
    with pytest.raises(ValueError, match="no spoken forms"):
        spoken_forms.spoken_items(("positive", "negative"))
    both = text_corpus_dataset("nrc+speech", EMOTION_LABELS).items
    assert both == text_corpus_dataset("nrc", EMOTION_LABELS).items + items
    assert text_corpus_dataset("speech", EMOTION_LABELS).items == items


def test_the_spoken_items_per_emotion_are_an_option_that_reaches_the_training_items(capsys):
    import argparse
    from collections import Counter

    from merclip.data.loading import DataConfig, _extras
    from merclip.training.options import add_data_args, data_config_from_args

    many = text_corpus_dataset("speech", EMOTION_LABELS, 120).items
    assert len({t for t, _ in many}) == len(many) == 720
    assert Counter(named for _, named in many) == {(e,): 120 for e in EMOTION_LABELS}
    p = argparse.ArgumentParser()
    add_data_args(p)
    chosen = data_config_from_args(p.parse_args(["--root", ".", "--text-corpus", "speech",
                                                 "--spoken-per-emotion", "120"]))
    assert chosen.spoken_per_emotion == 120 and chosen.to_dict()["spoken_per_emotion"] == 120  # saved with the run
    default = data_config_from_args(p.parse_args(["--root", "."]))
    assert default.spoken_per_emotion == spoken_forms.ITEMS_PER_EMOTION == 60
    (extras,) = _extras(None, DataConfig(root=".", text_corpus="speech", spoken_per_emotion=7), EMOTION_LABELS)
    assert len(extras) == 6 * 7
    with pytest.raises(SystemExit):
        p.parse_args(["--root", ".", "--spoken-per-emotion", "0"])
    assert "--spoken-per-emotion" in capsys.readouterr().err
    for options, message in [([], "it needs text_corpus speech"),
                             (["--text-corpus", "speech"], "between 1 and 145 (the spoken forms make 145 items")]:
        with pytest.raises(ValueError, match=re.escape(message)):
            data_config_from_args(p.parse_args(["--root", ".", *options, "--spoken-per-emotion", "200"]))


def test_text_only_items_batch_with_clips_and_mask_face_and_voice_out(skip_model):
    text = TextOnlyDataset([("funeral tears", ("sad",))], EMOTION_LABELS)
    inputs, target, clip_id = text[0]
    assert target.tolist() == [0, 1, 0, 0, 0, 0] and clip_id == "text:funeral tears"
    clip = ClipInputs(torch.rand(2, 3, 64, 64), torch.rand(3, 3, 224, 224), "we won", 1.0)
    batch = collate_clips([clip, inputs], skip_model.tokenizer)
    assert batch.frame_mask.tolist() == [[True, True], [False, False]]
    assert batch.audio_mask[1].any().item() is False


class _Clips:
    """Four fake cached clips: frames hold the clip's index, the transcript names it."""

    def __len__(self):
        return 4

    def __getitem__(self, i):
        inputs = ClipInputs(torch.full((1, 3, 2, 2), float(i)), torch.full((1, 1, 2, 2), float(i)), f"words of {i}", 1.0)
        return inputs, torch.tensor([i]), f"c{i}"


def test_mismatched_clips_pair_one_clips_words_with_anothers_media():
    items = MismatchedClips(_Clips(), fraction=1.0, seed=3)
    assert len(items) == 4
    for k in range(4):
        inputs, target, name = items[k]
        media = int(inputs.frames[0, 0, 0, 0])
        words = int(target)
        assert media != words and inputs.transcript == f"words of {words}" and name == f"c{words}+media:c{media}"
        assert int(inputs.audio[0, 0, 0, 0]) == media  # face and voice from the other clip
    face_only = MismatchedClips(_Clips(), fraction=1.0, seed=3, swap="face")
    for k in range(4):
        inputs, target, _ = face_only[k]
        assert int(inputs.frames[0, 0, 0, 0]) != int(target) == int(inputs.audio[0, 0, 0, 0])  # its own voice
    assert len(MismatchedClips(_Clips(), fraction=0.5)) == 2
    with pytest.raises(ValueError, match="swap must be one of"):
        MismatchedClips(_Clips(), fraction=0.5, swap="voice")
    with pytest.raises(ValueError, match="mismatched fraction"):
        MismatchedClips(_Clips(), fraction=0.0)


def test_photo_swap_keeps_the_clips_own_words_voice_and_label_and_shows_a_training_photo(monkeypatch):
    from merclip.data import training_photos

    pool = torch.arange(5, dtype=torch.uint8).view(5, 1, 1, 1, 1).expand(5, 1, 1, 2, 2)  # (P, T, 1, S, S): photo p is p
    monkeypatch.setattr(training_photos, "photo_frames", lambda n_frames, size: pool)
    monkeypatch.setattr(training_photos, "variants", lambda: [None] * 5)
    items = MismatchedClips(_Clips(), fraction=1.0, seed=3, swap="photo")
    shown = []
    for k in range(4):
        inputs, target, name = items[k]
        i = int(target)
        assert inputs.transcript == f"words of {i}" and int(inputs.audio[0, 0, 0, 0]) == i  # its own words, voice
        assert inputs.frames.shape == (1, 3, 2, 2)  # the clip's frame shape, three channels
        shown.append(int(inputs.frames[0, 0, 0, 0]))
        assert name == f"c{i}+photo:{shown[-1]}"
    assert sorted(int(items[k][1]) for k in range(4)) == [0, 1, 2, 3]  # every clip once
    again = MismatchedClips(_Clips(), fraction=1.0, seed=3, swap="photo")
    assert [int(again[k][0].frames[0, 0, 0, 0]) for k in range(4)] == shown  # the seed fixes the photos


def test_training_photos_are_faces_the_real_ish_set_never_shows_cropped_as_the_pipeline_crops(monkeypatch):
    """The photos a model trains on are kept out of the set it is chosen and scored on; each is the face crop the
    media pipeline would make of the rendered still (the same function), so training sees what inference sees."""
    from PIL import Image

    from merclip.data import training_photos
    from merclip.media.faces import centre_square, crop_face_images, detect_faces, to_grey

    shown = {c.photo for c in realish.plan()}
    assert not shown & {f"lfw-{k:03d}" for k in realish.TRAINING_LFW} and len(realish.TRAINING_LFW) == 30
    assert {f"lfw-{k:03d}" for k in range(100)} - {f"lfw-{k:03d}" for k in realish.TRAINING_LFW} <= shown
    variants = training_photos.variants()
    assert len(variants) == 180 and {k for k, _, _ in variants} == set(realish.TRAINING_LFW)
    some = [variants[0], variants[7], variants[-1]]  # rendering all 180 takes seconds: three show the rule
    monkeypatch.setattr(training_photos, "variants", lambda: some)
    pool = training_photos.photo_frames(2, 40)
    assert pool.shape == (3, 2, 1, 40, 40) and pool.dtype == torch.uint8
    k, mirrored, fraction = some[1]
    face = realish.lfw_faces()[k][:, ::-1] if mirrored else realish.lfw_faces()[k]
    still = realish.render_lfw(np.ascontiguousarray(face), 224, fraction)
    crop, _ = crop_face_images([Image.fromarray(still)], 40)
    assert torch.equal(pool[1, 0, 0], torch.from_numpy(np.array(crop[0].convert("L"))))
    assert detect_faces(to_grey(still))  # a face was found, so the crop is not the centre-square fallback
    assert not np.array_equal(np.asarray(crop[0].convert("L")), centre_square(to_grey(still), 40))
    training_photos.photo_frames.cache_clear()  # the pool of three must not outlive the patch


def test_one_split_renders_alone_and_in_processes_clip_for_clip_as_the_whole_set(tmp_path):
    from merclip.data.synthetic import write_dataset

    whole = write_dataset(tmp_path / "whole", 24, seed=4, progress=False)
    test = write_dataset(tmp_path / "test", 24, seed=4, progress=False, splits=("test",), workers=2)  # same bytes
    folds = json.loads((test / "folds.json").read_text())
    assert folds == json.loads((whole / "folds.json").read_text())
    videos = sorted(p.name for p in (test / "Videos/Segmented/Combined").iterdir())
    assert videos and {v.split("_")[0] for v in videos} <= set(folds["test"])
    for name in videos:
        assert (test / "Videos/Segmented/Combined" / name).read_bytes() == (
            whole / "Videos/Segmented/Combined" / name).read_bytes()


def _train_demo():
    spec = importlib.util.spec_from_file_location("train_demo", ROOT / "scripts" / "train_demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _one_clip_realish(folder: Path) -> Path:
    """A real-ish set's folder with one dev clip's metadata: what DevSelection reads when its scoring is stubbed."""
    folder.mkdir()
    (folder / "realish.json").write_text(json.dumps([{
        "clip_id": "r0", "video": "r0.mp4", "transcript": "x", "emotions": ["sad"], "photo": "camera", "voice": "en",
        "split": "dev"}]))
    return folder


def test_epoch_selection_prefers_eligible_epochs_then_fusion_adding_ones_then_dev_and_generated(tmp_path, monkeypatch):
    demo = _train_demo()
    row = lambda f1, top1: {"micro_f1": f1, "top1_hit_rate": top1}  # noqa: E731
    fused_wins = {"LVA": row(0.5, 0.5), "L only": row(0.4, 0.5), "V only": row(0.2, 0.2), "A only": row(0.2, 0.2)}
    assert demo.fusion_adds(fused_wins) and demo.dev_score(fused_wins["LVA"]) == 0.5
    assert not demo.fusion_adds({**fused_wins, "L only": row(0.4, 0.6)})

    realish_dir = _one_clip_realish(tmp_path / "realish")
    epochs = [  # (rows, generated valid F1): the second is better on dev but drops the generated split too far
        ({"LVA": row(0.5, 0.5), "L only": row(0.4, 0.4)}, 0.90),
        ({"LVA": row(0.7, 0.7), "L only": row(0.4, 0.4)}, 0.80),
        ({"LVA": row(0.6, 0.6), "L only": row(0.7, 0.4)}, 0.90),  # fusion below words alone
        ({"LVA": row(0.8, 0.8), "L only": row(0.9, 0.4)}, 0.80),  # the best dev score, fusion below words alone
        ({"LVA": row(0.62, 0.62), "L only": row(0.4, 0.4)}, 0.85),  # fusion adds, a lower dev score than the next
        ({"LVA": row(0.66, 0.66), "L only": row(0.4, 0.4)}, 0.70),  # ... whose generated split lags far behind
        ({"LVA": row(0.7, 0.7), "L only": row(0.6, 0.6)}, 0.88),  # eligible, above the first, unless doubted
    ]
    no_doubt = {"L only": (0.0, 0.0)}
    monkeypatch.setattr(demo, "dev_readings", lambda ckpt, clips, folder: (epochs[int(ckpt.name)][0], no_doubt))
    monkeypatch.setattr(demo, "generated_valid_f1", lambda ckpt: epochs[int(ckpt.name)][1])

    def chosen(order: list[int], out: Path, max_doubt: float = 1.0) -> int:
        out.mkdir()
        select = demo.DevSelection(realish_dir, out, min_generated=0.858, max_doubt=max_doubt)
        for epoch in order:
            ckpt = out / str(epoch)
            ckpt.mkdir()
            for name in demo.CHECKPOINT_FILES:
                (ckpt / name).write_text(f"epoch {epoch}")
            select(epoch, ckpt)
        assert (out / "dev-best" / "model.safetensors").read_text() == f"epoch {select_epoch(out) - 1}"
        return select_epoch(out)

    select_epoch = lambda out: json.loads((out / "dev-best" / "selected.json").read_text())["epoch"]  # noqa: E731
    assert chosen([0, 1, 2], tmp_path / "all") == 1  # the eligible one, though the others score higher on dev
    logged = [json.loads(line) for line in (tmp_path / "all" / "dev_selection.jsonl").read_text().splitlines()]
    assert [r["eligible"] for r in logged] == [True, False, False]
    resumed = demo.DevSelection(realish_dir, tmp_path / "all", min_generated=0.858, resume=True)
    assert resumed.best == (True, True, pytest.approx(0.7))  # ranked against the logged epochs, not from scratch
    (tmp_path / "all" / "3").mkdir()
    for name in demo.CHECKPOINT_FILES:
        (tmp_path / "all" / "3" / name).write_text("epoch 3")
    resumed(3, tmp_path / "all" / "3")
    assert select_epoch(tmp_path / "all") == 1
    assert len((tmp_path / "all" / "dev_selection.jsonl").read_text().splitlines()) == 4
    # a log cut short by a killed run is named, not a traceback from json, and not started over
    (tmp_path / "cut").mkdir()
    (tmp_path / "cut" / "dev_selection.jsonl").write_text('{"epoch": 1, "score": 0.5')
    with pytest.raises(UserError, match=r"dev_selection.jsonl, line 1: not JSON"):
        demo.DevSelection(realish_dir, tmp_path / "cut", min_generated=0.858, resume=True)
    (tmp_path / "cut" / "dev_selection.jsonl").write_text('{"epoch": 1, "generated_valid_micro_f1": 0.9}\n')
    with pytest.raises(UserError, match="line 1: not an epoch row of scripts/train_demo.py"):
        demo.DevSelection(realish_dir, tmp_path / "cut", min_generated=0.858, resume=True)
    assert (tmp_path / "cut" / "dev_selection.jsonl").is_file()
    # none eligible: an epoch where fusion adds (the second, below the generated floor) beats a better-scoring one
    # where the words alone do better (the fourth)
    assert chosen([3, 1], tmp_path / "none-eligible") == 2
    # none eligible, fusion adds in both: the dev score and the generated split weigh equally (0.735 against 0.68),
    # where the dev score alone would take the sixth
    assert chosen([5, 4], tmp_path / "both-count") == 5
    # a margin the resampled clips doubt (here 30 % of resamples put the words alone above) is not eligible: the
    # eligible epoch with the lower dev score wins over it
    doubts = {0: {"L only": (0.0, 0.01)}, 6: {"L only": (0.3, 0.0)}}
    monkeypatch.setattr(demo, "dev_readings", lambda ckpt, clips, folder: (epochs[int(ckpt.name)][0],
                                                                          doubts[int(ckpt.name)]))
    assert chosen([0, 6], tmp_path / "doubted", max_doubt=0.05) == 1
    assert chosen([0, 6], tmp_path / "undoubted", max_doubt=1.0) == 7
    logged = [json.loads(line) for line in (tmp_path / "doubted" / "dev_selection.jsonl").read_text().splitlines()]
    assert [r["eligible"] for r in logged] == [True, False] and logged[1]["fusion_doubt"] == {"L only": [0.3, 0.0]}


def test_a_generated_selection_set_is_read_whole_with_the_papers_rule_and_judges_the_floor(tmp_path, tiny_ckpt,
                                                                                          monkeypatch):
    """`--generated-selection`: the micro-F1 over every clip of a second generated dataset (all three of its splits
    pooled, as sklearn scores them, decided strictly above the threshold), used for the floor and the rank in place
    of the validation split's, and logged beside it."""
    from sklearn.metrics import f1_score

    from merclip.data.loading import DataConfig, build_loaders
    from merclip.data.synthetic import write_dataset
    from merclip.models.checkpoint import load_checkpoint
    from merclip.training.evaluate import evaluate_model

    demo = _train_demo()
    folder = write_dataset(tmp_path / "selection", 12, seed=1, progress=False, style="speech", workers=1)
    cfg = DataConfig(root=tmp_path / "train-data", text_corpus="speech", mismatched=0.5, workers=1)
    selection = demo.GeneratedSelection(folder, cfg)
    assert selection.cfg.text_corpus is None and selection.cfg.mismatched == 0.0  # the clips alone, as generated
    value = selection(tiny_ckpt)
    model = load_checkpoint(tiny_ckpt)
    loaders, _ = build_loaders(model, selection.cfg, splits=("train", "valid", "test"), shuffle=False)
    results = [evaluate_model(model, loaders[s], torch.device("cpu")) for s in ("train", "valid", "test")
               if len(loaders[s].dataset)]
    truth = np.concatenate([r.targets for r in results])
    probs = np.concatenate([r.probs for r in results])
    assert len(truth) == 12  # every clip, none trained on
    assert value == pytest.approx(f1_score(truth, probs > model.cfg.emotion_threshold, average="micro",
                                           zero_division=0))
    with pytest.raises(UserError, match="is not a generated dataset"):
        demo.GeneratedSelection(tmp_path, cfg)
    with pytest.raises(UserError, match="is the training data's own folder"):
        demo.GeneratedSelection(folder, DataConfig(root=folder))

    # the selection set's value, not the validation split's, decides the floor, and both are logged
    row = lambda f1, top1: {"micro_f1": f1, "top1_hit_rate": top1}  # noqa: E731
    monkeypatch.setattr(demo, "dev_readings", lambda ckpt, clips, folder: (
        {"LVA": row(0.6, 0.6), "L only": row(0.5, 0.5)}, {"L only": (0.0, 0.0)}))
    monkeypatch.setattr(demo, "generated_valid_f1", lambda ckpt: 0.90)
    out = tmp_path / "run"
    out.mkdir()
    for judged, eligible in ((0.84, False), (0.86, True)):
        select = demo.DevSelection(_one_clip_realish(tmp_path / f"realish-{judged}"), out, min_generated=0.858,
                                   selection=lambda ckpt, j=judged: j)
        (out / "0").mkdir(exist_ok=True)
        for name in demo.CHECKPOINT_FILES:
            (out / "0" / name).write_text("x")
        select(0, out / "0")
        logged = json.loads((out / "dev_selection.jsonl").read_text().splitlines()[-1])
        assert (logged["eligible"], logged["generated_valid_micro_f1"], logged["generated_selection_micro_f1"]) == (
            eligible, 0.90, judged)
        assert logged["rank_score"] == pytest.approx((0.6 + judged) / 2)
    # a run logged with the selection set is not resumed without it: the two measures differ by points
    with pytest.raises(UserError, match="was logged with --generated-selection: resume the run the same way"):
        demo.DevSelection(tmp_path / "realish-0.86", out, min_generated=0.858, resume=True)
    import subprocess
    import sys

    shown = subprocess.run([sys.executable, str(ROOT / "scripts" / "selection_log.py"), str(out)],
                           capture_output=True, text=True, timeout=120).stdout.splitlines()
    assert shown[1].split()[:2] == ["epoch", "sel"] and shown[2].split()[:2] == ["1", "86.0"]
    assert f"{out} epoch 1: sel 86.0, dev 60.0 / 60.0, fusion adds: yes" in shown


def test_selection_log_tabulates_runs_and_lists_the_epochs_above_the_generated_floor(tmp_path, monkeypatch):
    """scripts/selection_log.py reads the logs DevSelection writes (written here by DevSelection itself): each run's
    epochs in percent, then the epochs of all runs at or above the floor, the best lower dev measure first; a folder
    without a log, or a floor outside [0, 1], ends as argparse ends a bad option (exit 2, the message, no traceback)."""
    import subprocess
    import sys

    demo = _train_demo()
    row = lambda f1, top1: {"micro_f1": f1, "top1_hit_rate": top1}  # noqa: E731
    realish_dir = _one_clip_realish(tmp_path / "realish")
    runs = {"a": [({"LVA": row(0.50, 0.60), "L only": row(0.45, 0.5)}, 0.80),
                  ({"LVA": row(0.52, 0.48), "L only": row(0.45, 0.5)}, 0.87)],
            "b": [({"LVA": row(0.40, 0.45), "L only": row(0.50, 0.5)}, 0.90),
                  ({"LVA": row(0.55, 0.51), "L only": row(0.45, 0.5)}, 0.858)]}
    for name, epochs in runs.items():
        monkeypatch.setattr(demo, "dev_readings", lambda ckpt, clips, folder, e=epochs: (e[int(ckpt.name)][0], {}))
        monkeypatch.setattr(demo, "generated_valid_f1", lambda ckpt, e=epochs: e[int(ckpt.name)][1])
        out = tmp_path / name
        out.mkdir()
        select = demo.DevSelection(realish_dir, out, min_generated=0.858)
        for epoch in range(len(epochs)):
            (out / str(epoch)).mkdir()
            for file in demo.CHECKPOINT_FILES:
                (out / str(epoch) / file).write_text("x")
            select(epoch, out / str(epoch))

    def run(*args):
        return subprocess.run([sys.executable, str(ROOT / "scripts" / "selection_log.py"), *map(str, args)],
                              capture_output=True, text=True, timeout=120)

    done = run(tmp_path / "a", tmp_path / "b")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[lines.index(f"== {tmp_path / 'a'} (2 epochs)") + 3].split() == [
        "2", "87.0", "52.0/", "48.0", "45.0/", "50.0", "no"]  # fusion below the words' top-1: not adding
    tail = lines[lines.index("== 3 of 4 epochs reach the generated floor 85.8") + 1:]
    assert tail == [f"{tmp_path / 'b'} epoch 2: gen 85.8, dev 55.0 / 51.0, fusion adds: yes",
                    f"{tmp_path / 'a'} epoch 2: gen 87.0, dev 52.0 / 48.0, fusion adds: no",
                    f"{tmp_path / 'b'} epoch 1: gen 90.0, dev 40.0 / 45.0, fusion adds: no"]
    assert "== 1 of 2 epochs reach the generated floor 88.0" in run(tmp_path / "b", "--floor", "0.88").stdout
    helped = run("--help")
    assert helped.returncode == 0 and "--floor" in helped.stdout and "dev_selection.jsonl" in helped.stdout
    for args, message in [((tmp_path / "realish",), f"{tmp_path / 'realish'} has no dev_selection.jsonl"),
                          ((tmp_path / "a", "--floor", "85.8"), "--floor is a micro-F1 in [0, 1], got 85.8")]:
        failed = run(*args)
        assert failed.returncode == 2 and message in failed.stderr and "Traceback" not in failed.stderr
    (tmp_path / "a" / "dev_selection.jsonl").write_text('{"epoch": 1}\n')
    failed = run(tmp_path / "a")
    assert failed.returncode == 2 and "line 1: not an epoch row of scripts/train_demo.py" in failed.stderr


def test_train_demo_has_help_naming_its_own_options():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "train_demo.py"), "--help"], capture_output=True,
                         text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0 and "--realish" in out.stdout and "--min-generated" in out.stdout
    assert "--pooled-skip" in out.stdout and "--text-corpus" in out.stdout and "--mismatched-swap" in out.stdout


@pytest.mark.parametrize("options, message", [
    (["--skip-gate-init", "0.25"], "skip_gate_init is the pooled skip's starting gate: it needs pooled_skip=True"),
    (["--trust-gates"], "trust_gates make the pooled skip's gates per clip: they need pooled_skip=True"),
    (["--pooled-skip", "--no-cmd"], "pooled_skip adds the pooled modalities to the CMD's output: it needs use_cmd=True"),
])
def test_training_commands_refuse_options_that_do_not_combine_before_any_work(tmp_path, capsys, options, message):
    """A config's own check of how options combine ends train, train_demo and ablate as argparse ends a bad option:
    exit 2 with the message, no traceback, no run folder."""
    from merclip.training import ablate, loop

    common = ["--dataset", "synthetic", "--root", str(tmp_path / "data"), "--out", str(tmp_path / "run"), *options]
    for main, extra in ((loop.main, []), (_train_demo().main, ["--realish", str(tmp_path / "realish")]),
                        (ablate.main, ["--grid", "components"])):
        with pytest.raises(SystemExit) as stop:
            main(common + extra)
        assert stop.value.code == 2
        err = capsys.readouterr().err
        assert f"error: {message}" in err and "Traceback" not in err
        assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("option, value, message", [
    ("--max-fusion-doubt", "5", "argument --max-fusion-doubt: must be a number between 0 and 1 (both included)"),
    ("--min-generated", "85.8", "argument --min-generated: must be a number between 0 and 1 (both included)"),
    ("--min-generated", "nan", "argument --min-generated: must be a number between 0 and 1 (both included)")])
def test_train_demo_refuses_a_share_outside_zero_one(tmp_path, capsys, option, value, message):
    """--max-fusion-doubt is a share of resamples and --min-generated a micro-F1: a percentage typed as such, or nan
    (which would make every epoch ineligible), ends as argparse ends a bad option, before any data is read."""
    demo = _train_demo()
    with pytest.raises(SystemExit) as stop:
        demo.main(["--root", str(tmp_path), "--out", str(tmp_path / "run"), "--realish", str(tmp_path),
                   option, value])
    assert stop.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("wrong", ["realish", "out"])
def test_train_demo_checks_its_folders_before_making_the_run_folder(tmp_path, capsys, wrong):
    """A wrong --realish, or an --out under a file, is one line, and no empty run folder is left behind to be
    mistaken for a run."""
    from merclip.data.synthetic import write_dataset

    demo = _train_demo()
    data = write_dataset(tmp_path / "gen", 12, seed=0, progress=False, style="speech", workers=1)
    (tmp_path / "a-file").write_text("x")
    out = tmp_path / ("a-file" if wrong == "out" else "") / "run"
    realish_root = tmp_path / ("no-such-set" if wrong == "realish" else "gen")
    with pytest.raises(SystemExit) as stop:
        demo.main(["--dataset", "synthetic", "--root", str(data), "--out", str(out), "--realish", str(realish_root)])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert ("no-such-set" if wrong == "realish" else "a-file") in err and "Traceback" not in err
    assert not out.exists()


def test_make_demo_model_builds_the_shipped_checkpoints_model():
    """scripts/make_demo_model.sh's recipe, parsed as train_demo.py parses it, gives the model, training and data
    settings the shipped checkpoint was saved with (config.json, and the run's train_config.json / data_config.json
    that the script copies beside the weights), and the script chooses the epoch with the generated selection set: a
    change of either side alone (a flag dropped from the script, a checkpoint copied from another run) would leave a
    script that no longer rebuilds the demo."""
    import shlex
    from dataclasses import asdict

    from merclip.models.checkpoint import read_config
    from merclip.shipped import DEFAULT_CHECKPOINT
    from merclip.training.loop import build_parser
    from merclip.training.options import data_config_from_args, model_config_from_args, train_config_from_args

    script = (ROOT / "scripts" / "make_demo_model.sh").read_text()
    common = re.search(r"^COMMON=\((.*?)\)$", script, re.S | re.M).group(1)
    argv = [a.replace("$DATA", "data/speech") for a in shlex.split(common.replace("\\\n", " "))]
    args = build_parser().parse_args(argv + ["--out", "unused"])
    assert model_config_from_args(args) == read_config(DEFAULT_CHECKPOINT)
    assert asdict(train_config_from_args(args)) == json.loads((DEFAULT_CHECKPOINT / "train_config.json").read_text())
    assert data_config_from_args(args).to_dict() == json.loads((DEFAULT_CHECKPOINT / "data_config.json").read_text())
    train_line = re.search(r"python scripts/train_demo.py .*?--out", script, re.S).group(0)
    assert '--generated-selection "$SELECTION"' in train_line
    assert json.loads((DEFAULT_CHECKPOINT / "selected_epoch.json").read_text())["eligible"] is True
