"""Dataset loaders on fixtures written in the real on-disk formats."""
import json
import re

import h5py
import numpy as np
import pytest
from conftest import make_clip

from merclip.data import mosi_mosei as mm
from merclip.data.synthetic import make_segments, write_dataset


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("synthetic") / "mosei", n=24, seed=3, progress=False)


def test_synthetic_mosei_layout_loads_with_counts_labels_and_folds(synthetic_root):
    samples = mm.load_mosei(synthetic_root)
    assert len(samples) == 24
    folds = json.loads((synthetic_root / "folds.json").read_text())
    for s in samples:
        assert s.video_id in folds[s.split]
        assert s.video.is_file() and s.audio is not None and s.audio.suffix == ".wav"
    expected = {seg.clip_id: seg for seg in make_segments(24, seed=3)}
    for s in samples:
        seg = expected[s.clip_id]
        assert s.transcript == seg.text
        assert s.sentiment == pytest.approx(seg.labels[0])
        assert np.allclose(s.emotions, seg.labels[1:])
        assert s.emotion_targets().tolist() == (seg.labels[1:] > 0).astype(float).tolist()
    counts = mm.summarise(samples)
    assert sum(c["segments"] for c in counts.values()) == 24
    assert all(c["missing_video_files"] == 0 for c in counts.values())


def test_synthetic_generation_is_deterministic(tmp_path):
    a = write_dataset(tmp_path / "a", n=3, seed=7, progress=False)
    b = write_dataset(tmp_path / "b", n=3, seed=7, progress=False)
    assert (a / "folds.json").read_text() == (b / "folds.json").read_text()
    la, lb = mm.read_csd(a / "Labels/CMU_MOSEI_Labels.csd"), mm.read_csd(b / "Labels/CMU_MOSEI_Labels.csd")
    assert la.keys() == lb.keys() and all(np.array_equal(la[k][0], lb[k][0]) for k in la)
    wav = sorted((a / "Audio").rglob("*.wav"))[0]
    assert wav.read_bytes() == (b / wav.relative_to(a)).read_bytes()


def test_sentiment_classes_and_neutral_policy():
    s = mm.Sample("v_0", "v", "train", None, None, "", 0.0, None)
    assert s.sentiment_class("drop") is None and s.sentiment_class("nonnegative") == 0
    assert mm.Sample("v_1", "v", "train", None, None, "", -0.33, None).sentiment_class() == 1
    assert mm.Sample("v_2", "v", "train", None, None, "", 2.0, None).sentiment_class() == 0
    with pytest.raises(ValueError, match="sentiment-only"):
        s.emotion_targets()


def test_sdk_standard_folds_have_the_paper_video_counts():
    assert {k: len(v) for k, v in mm.standard_folds("mosei").items()} == {"train": 2250, "valid": 300, "test": 678}
    assert {k: len(v) for k, v in mm.standard_folds("mosi").items()} == {"train": 52, "valid": 10, "test": 31}


def _mosi_fixture(root, videos):
    """CMU-MOSI raw layout with real video ids from the SDK folds."""
    with h5py.File(root / "CMU_MOSI_Opinion_Labels.csd", "w") as f:
        data = f.create_group("Opinion Segment Labels").create_group("data")
        for vid, scores in videos.items():
            g = data.create_group(vid)
            g.create_dataset("features", data=np.array(scores, dtype=np.float32).reshape(-1, 1))
            g.create_dataset("intervals", data=np.array([[i * 3.0, i * 3.0 + 2.5] for i in range(len(scores))]))
    (root / "Transcript" / "Segmented").mkdir(parents=True)
    for vid, scores in videos.items():
        lines = [f"{i + 1}_DELIM_segment {i + 1} of {vid}" for i in range(len(scores))]
        (root / "Transcript" / "Segmented" / f"{vid}.annotprocessed").write_text("\n".join(lines) + "\n")
        for i in range(len(scores)):
            make_clip(root / "Video" / "Segmented" / f"{vid}_{i + 1}.mp4", 0.5, seed=i)


def test_mosi_loader_uses_sdk_folds(tmp_path):
    folds = mm.standard_folds("mosi")
    train_vid, test_vid = sorted(folds["train"])[0], sorted(folds["test"])[0]
    _mosi_fixture(tmp_path, {train_vid: [2.4, -1.2, 0.0], test_vid: [-2.0], "not_in_any_fold": [1.0]})
    samples = mm.load_mosi(tmp_path)
    assert [(s.clip_id, s.split, s.sentiment) for s in samples] == [
        (f"{train_vid}_1", "train", pytest.approx(2.4)), (f"{train_vid}_2", "train", pytest.approx(-1.2)),
        (f"{train_vid}_3", "train", 0.0), (f"{test_vid}_1", "test", -2.0)]
    assert samples[1].transcript == f"segment 2 of {train_vid}"
    assert samples[0].video.is_file() and samples[0].audio is None


def test_mosei_loader_with_sdk_folds_and_interval_matching(tmp_path, synthetic_root):
    """Real MOSEI ids, label rows in a different order from the segment ids: matched by interval."""
    folds = mm.standard_folds("mosei")
    vid = sorted(folds["valid"])[0]
    base = tmp_path / "Raw"
    (base / "Transcript/Segmented/Combined").mkdir(parents=True)
    (base / "Transcript/Segmented/Combined" / f"{vid}.txt").write_text(
        f"{vid}___0___0.000___2.000___first words\n{vid}___1___5.000___7.500___second words\n")
    for seg in (0, 1):
        make_clip(base / "Videos/Segmented/Combined" / f"{vid}_{seg}.mp4", 0.5, seed=seg)
    with h5py.File(tmp_path / "CMU_MOSEI_Labels.csd", "w") as f:
        g = f.create_group("All Labels").create_group("data").create_group(vid)
        g.create_dataset("features", data=np.array([[-1, 0, 1, 0, 0, 0, 0], [2, 3, 0, 0, 0.3, 0, 0]], np.float32)[::-1])
        g.create_dataset("intervals", data=np.array([[0.0, 2.0], [5.0, 7.5]])[::-1])
    samples = {s.clip_id: s for s in mm.load_mosei(tmp_path)}
    assert samples[f"{vid}_0"].sentiment == -1 and samples[f"{vid}_0"].emotion_targets().tolist() == [0, 1, 0, 0, 0, 0]
    assert samples[f"{vid}_1"].transcript == "second words" and samples[f"{vid}_1"].split == "valid"
    assert samples[f"{vid}_1"].emotion_targets().tolist() == [1, 0, 0, 1, 0, 0]


def test_malformed_files_fail_clearly(tmp_path, synthetic_root):
    bad = tmp_path / "bad.csd"
    bad.write_bytes(b"definitely not hdf5")
    with pytest.raises(mm.DatasetFormatError, match="bad.csd' is not a readable HDF5"):
        mm.read_csd(bad)
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "vid.txt").write_text("vid___0___0.0___1.0___ok\nvid___1___broken line\n")
    with pytest.raises(mm.DatasetFormatError, match="vid.txt' line 2: expected 'vid___seg___start___end___text'"):
        mm.read_mosei_transcripts(tmp_path / "t")
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "v.annotprocessed").write_text("1 no delimiter here\n")
    with pytest.raises(mm.DatasetFormatError, match="v.annotprocessed' line 1"):
        mm.read_mosi_transcripts(tmp_path / "m")
    with pytest.raises(FileNotFoundError, match="does not look like the raw release"):
        mm.load_mosei(tmp_path)


def test_check_command_prints_counts(synthetic_root, capsys):
    from merclip.data import check

    check.main(["--dataset", "synthetic", "--root", str(synthetic_root)])
    out = capsys.readouterr().out
    assert "| train |" in out and "24 segments" in out


def test_missing_dataset_folder_and_fold_file_naming_absent_videos(tmp_path, synthetic_root):
    import shutil

    with pytest.raises(FileNotFoundError, match="dataset folder '.*nowhere' does not exist"):
        mm.load_mosei(tmp_path / "nowhere")
    copy = tmp_path / "copy"
    shutil.copytree(synthetic_root, copy)
    folds = json.loads((copy / "folds.json").read_text())
    folds["test"] += ["ghost_video_1", "ghost_video_2"]
    (copy / "folds.json").write_text(json.dumps(folds))
    with pytest.raises(mm.DatasetFormatError, match=r"folds.json names 2 video\(s\) absent from CMU_MOSEI_Labels.csd: "
                                                    r"\['ghost_video_1', 'ghost_video_2'\]"):
        mm.load_mosei(copy)


def test_uint8_batches_normalised_on_the_device_equal_the_float_path(clips, tmp_path):
    """The loaders ship uint8 media and normalise after the copy; that must give exactly the float tensors."""
    import torch

    from merclip.config import MediaConfig
    from merclip.data.features import extract_to_cache, read_cached
    from merclip.models.batch import collate_clips

    mean, std = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)
    paths = []
    for name in ("2s", "5s", "noaudio"):
        sample = mm.Sample(clip_id=name, video_id=name, split="test", video=clips[name], audio=None,
                           transcript="hello there", sentiment=0.0, emotions=None)
        paths.append(tmp_path / f"{name}.safetensors")
        assert extract_to_cache(sample, MediaConfig(num_frames=4, image_size=32), paths[-1]) is None
    raw = [read_cached(p) for p in paths]
    assert raw[0].frames.dtype == torch.uint8 and raw[0].frames.shape == (4, 3, 32, 32)
    assert raw[1].audio.shape == (3, 1, 32, 32) and raw[2].audio is None
    tokenizer = lambda texts: torch.zeros(len(texts), 8, dtype=torch.long)  # noqa: E731 (text is not under test)
    from_uint8 = collate_clips(raw, tokenizer).normalised(mean, std)
    from_float = collate_clips([read_cached(p, mean, std) for p in paths], tokenizer)
    assert from_uint8.frames.dtype == torch.float32 and from_uint8.audio.shape == (3, 3, 3, 32, 32)
    assert torch.equal(from_uint8.frames, from_float.frames)
    # padded audio items are zeros in uint8 and in float alike before normalisation; compare the valid ones
    valid = from_float.audio_mask
    assert torch.equal(from_uint8.audio[valid], from_float.audio[valid])
    assert torch.equal(from_uint8.audio_mask, from_float.audio_mask)
    assert from_float.normalised(mean, std) is not None and torch.equal(from_float.normalised(mean, std).frames,
                                                                         from_float.frames)


def test_segments_file_filters_to_exactly_that_set_and_reports_absent_ids(tmp_path, synthetic_root, capsys):
    """--segments: a processed release's ids (plain list or MMSA label.csv) pin the loaded set exactly."""
    samples = mm.load_mosei(synthetic_root)
    chosen = sorted(s.clip_id for s in samples)[:5]
    plain = tmp_path / "ids.txt"
    plain.write_text("# MulT ids\n" + "\n".join(chosen + ["noSuchVideo_3"]) + "\n")
    got = mm.load("synthetic", synthetic_root, segments=plain)
    assert sorted(s.clip_id for s in got) == chosen
    assert "1 segment id(s) of 'ids.txt' are not in the labelled raw data" in capsys.readouterr().err
    by_id = {s.clip_id: s for s in samples}
    mmsa = tmp_path / "label.csv"  # MMSA: video_id, clip_id, text, label, ..., mode
    mmsa.write_text("video_id,clip_id,text,label,mode\n" + "".join(
        f"{by_id[c].video_id},{c[len(by_id[c].video_id) + 1:]},\"some, text\",0.0,train\n" for c in chosen[:3]))
    assert sorted(s.clip_id for s in mm.load("synthetic", synthetic_root, segments=mmsa)) == chosen[:3]
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    with pytest.raises(mm.DatasetFormatError, match="video_id and clip_id"):
        mm.read_segment_ids(tmp_path / "bad.csv")


def test_mmsa_split_file_decides_each_segments_split(tmp_path, synthetic_root, capsys):
    """MMSA's feature pickle -> segments file -> `load`: exactly its segments, each in the file's split, even where
    folds.json puts the video elsewhere; absent ids reported."""
    import pickle

    from merclip.data import check, mmsa_segments

    samples = sorted(mm.load_mosei(synthetic_root), key=lambda s: s.clip_id)
    moved = samples[0]  # to a split other than its folds.json one
    other = next(s for s in mm.SPLITS if s != moved.split)
    chosen = {moved.clip_id: other, **{s.clip_id: s.split for s in samples[1:6]}}
    by_id = {s.clip_id: s for s in samples}
    data = {split: {"id": np.array([f"{by_id[c].video_id}$_${c[len(by_id[c].video_id) + 1:]}"
                                    for c, sp in chosen.items() if sp == split] + (["ghost$_$7"] if split == "test"
                                                                                    else [])),
                    "vision": np.zeros((1, 2, 3), np.float32)} for split in mm.SPLITS}
    (tmp_path / "unaligned_50.pkl").write_bytes(pickle.dumps(data))
    mmsa_segments.main(["--from", str(tmp_path / "unaligned_50.pkl"), "--out", str(tmp_path / "segments.csv")])
    got = mm.load("synthetic", synthetic_root, segments=tmp_path / "segments.csv")
    assert {s.clip_id: s.split for s in got} == chosen
    assert "1 segment id(s) of 'segments.csv' are not in the labelled raw data" in capsys.readouterr().err
    only = mm.load("synthetic", synthetic_root, splits=(other,), segments=tmp_path / "segments.csv")
    assert {s.clip_id for s in only} == {c for c, sp in chosen.items() if sp == other}
    check.main(["--dataset", "synthetic", "--root", str(synthetic_root), "--segments", str(tmp_path / "segments.csv")])
    out = capsys.readouterr().out
    assert "(6 found in the raw data), each in the file's split" in out and "6 segments in all" in out


def test_check_command_says_which_set_and_compares_with_the_paper(tmp_path, synthetic_root, capsys):
    from merclip.data import check

    check.main(["--dataset", "synthetic", "--root", str(synthetic_root)])
    out = capsys.readouterr().out
    assert "set loaded: every labelled segment of the standard folds' videos" in out
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(sorted(s.clip_id for s in mm.load_mosei(synthetic_root))[:4]))
    check.main(["--dataset", "synthetic", "--root", str(synthetic_root), "--segments", str(ids)])
    out = capsys.readouterr().out
    assert "set loaded: the 4 segment ids of" in out and "each in the folds' split" in out and "4 segments in all" in out


def test_fold_videos_without_labels_are_named_not_silently_missing(tmp_path):
    """MOSEI's test fold lists 7l3BNtSE0xc and dZFV0lyedX4, which have no labels: reported per split."""
    folds = mm.standard_folds("mosei")
    assert {"7l3BNtSE0xc", "dZFV0lyedX4"} <= folds["test"]
    labelled = sorted(folds["test"] - {"7l3BNtSE0xc", "dZFV0lyedX4"})
    with h5py.File(tmp_path / "CMU_MOSEI_Labels.csd", "w") as f:
        data = f.create_group("All Labels").create_group("data")
        for vid in [*labelled, *folds["train"], *folds["valid"]]:
            g = data.create_group(vid)
            g.create_dataset("features", data=np.zeros((1, 7), np.float32))
            g.create_dataset("intervals", data=np.array([[0.0, 1.0]]))
    missing = mm.unlabelled_fold_videos("mosei", tmp_path)
    assert missing == {"train": [], "valid": [], "test": ["7l3BNtSE0xc", "dZFV0lyedX4"]}


@pytest.mark.parametrize("damage, fragment", [
    ("nowhere", "dataset folder '{root}' does not exist"),
    ("a file", "'{root}' is a file, not a dataset folder"),
    ("folds not JSON", "folds.json' is not valid JSON"),
    ("folds a list", "folds.json' must be a JSON object with lists of video ids under 'train', 'valid', 'test'"),
    ("no labels", "label file CMU_MOSEI_Labels.csd not found under"),
])
def test_a_missing_or_damaged_dataset_is_one_line_from_the_commands(damage, fragment, tmp_path, synthetic_root,
                                                                   capsys):
    """Dataset errors were FileNotFoundError / JSONDecodeError / TypeError tracebacks in check, train, evaluate,
    export and ablate: they are UserErrors now (and still FileNotFoundError where a file is missing)."""
    import shutil

    from merclip.data import check
    from merclip.errors import UserError

    root = tmp_path / "data"
    if damage == "a file":
        root.write_text("x")
    elif damage != "nowhere":
        shutil.copytree(synthetic_root, root)
        if damage == "folds not JSON":
            (root / "folds.json").write_text('{"train": [')
        elif damage == "folds a list":
            (root / "folds.json").write_text("[1, 2]")
        else:
            shutil.rmtree(root / "Labels")
    with pytest.raises(UserError, match=re.escape(fragment.format(root=root))):
        mm.load_mosei(root)
    with pytest.raises(SystemExit) as exit_:
        check.main(["--dataset", "synthetic", "--root", str(root)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert ": error: " in err and fragment.format(root=root) in err and "Traceback" not in err
    if damage in ("nowhere", "no labels"):
        with pytest.raises(FileNotFoundError):
            mm.load_mosei(root)


def test_an_empty_split_or_a_dataset_the_model_cannot_read_is_refused_before_decoding(tmp_path, tiny_model):
    """An empty split was torch.cat's ValueError after decoding (in training, after a whole epoch); LSGMER on a
    multi-label dataset, or MER-CLIP on MELD, an AttributeError at the first batch."""
    from merclip.data.loading import DataConfig, build_loaders, check_dataset_for_task
    from merclip.errors import UserError

    root = write_dataset(tmp_path / "one", n=1, seed=0, progress=False)  # one clip: train only
    with pytest.raises(mm.DatasetFormatError, match="the valid split of the synthetic dataset at '.*one' has no clips"):
        build_loaders(tiny_model, DataConfig(root=root, workers=0), ("train", "valid"), require_clips=True)
    assert not (root / ".merclip_cache").exists()  # nothing decoded
    for task, dataset in (("single", "synthetic"), ("single", "folder"), ("emotion", "meld"), ("sentiment", "iemocap")):
        with pytest.raises(UserError, match=f"--dataset {dataset} cannot be read by a"):
            check_dataset_for_task(task, dataset)
    for task, dataset in (("single", "meld"), ("emotion", "folder"), ("sentiment", "mosi")):
        check_dataset_for_task(task, dataset)
    with pytest.raises(UserError, match="--dataset meld cannot be read by a MER-CLIP model"):
        build_loaders(tiny_model, DataConfig(root=tmp_path / "meld", dataset="meld", workers=0), ("test",))


def test_ablate_refuses_an_empty_test_split_before_any_cell_trains(tmp_path, capsys):
    """Every cell is scored on the test split: one without clips was found only after the first cell had trained."""
    from merclip.training import ablate

    root = write_dataset(tmp_path / "two", n=12, seed=0, progress=False, workers=1)
    folds = json.loads((root / "folds.json").read_text())
    (root / "folds.json").write_text(json.dumps({**folds, "test": []}))  # its test videos named by no fold
    with pytest.raises(SystemExit) as stop:
        ablate.main(["--grid", "modalities", "--dataset", "synthetic", "--root", str(root), "--out",
                     str(tmp_path / "grid"), "--epochs", "1", "--clip-model", "merclip-tiny"])
    assert stop.value.code == 2
    assert "error: the test split of the synthetic dataset" in capsys.readouterr().err
    assert not (tmp_path / "grid").exists() and not (root / ".merclip_cache").exists()
