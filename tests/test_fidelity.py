"""Data that cannot go wrong silently, and a reproduction that reproduces the paper's segment set.

MMSA's split files (a feature pickle, label.csv) -> the segments file; label rows that would land twice on one
segment; clips cut at the media cap counted; the LSGMER datasets' own training presets; the docs' reproduction
commands on the paper's segments.
"""
import csv
import os
import pickle
import re
from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import make_clip

from merclip.data import mmsa_segments as ms
from merclip.data import mosi_mosei as mm

REPO = Path(__file__).resolve().parent.parent
SPLIT_IDS = {"train": [("-3g5yACwYnA", "10"), ("a_b_c", "2")], "valid": [("zz9", "0")], "test": [("x-Y", "13")]}


def _mmsa_pickle(path: Path, protocol: int) -> Path:
    """A feature file as MMSA writes it: {split: {'id': '<video>$_$<clip>' array, features, labels, texts}}."""
    data = {split: {"id": np.array([f"{v}$_${c}" for v, c in ids]),
                    "audio": np.zeros((len(ids), 5, 3), np.float32),
                    "raw_text": np.array(["some words"] * len(ids)),
                    "regression_labels": np.linspace(-3, 3, len(ids)).astype(np.float32)}
            for split, ids in SPLIT_IDS.items()}
    with open(path, "wb") as f:
        pickle.dump(data, f, protocol=protocol)
    return path


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_feature_pickle_gives_the_split_ids_and_nothing_else(tmp_path, protocol):
    ids = ms.read_pickle_ids(_mmsa_pickle(tmp_path / "unaligned_50.pkl", protocol))
    assert ids == SPLIT_IDS


class _RunsCode:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.makedirs, (str(self.marker),)


def test_a_pickle_naming_any_other_callable_is_refused_before_it_runs(tmp_path):
    marker = tmp_path / "should_not_exist"
    evil = tmp_path / "unaligned_50.pkl"
    with open(evil, "wb") as f:
        pickle.dump({"train": {"id": np.array(["v$_$1"]), "x": _RunsCode(marker)}}, f)
    with pytest.raises(mm.DatasetFormatError, match=r"'unaligned_50.pkl' refers to (os|posix)\.makedirs: only numpy "
                                                    r"arrays are read"):
        ms.read_pickle_ids(evil)
    assert not marker.exists()
    with open(evil, "wb") as f:  # a protocol-2 pickle may rebuild bytes, but through latin-1 only
        f.write(b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00aX\x04\x00\x00\x00zlib\x86R.")
    with pytest.raises(mm.DatasetFormatError, match="only latin-1 bytes are rebuilt"):
        ms.read_pickle_ids(evil)


def test_feature_pickle_in_another_shape_fails_clearly(tmp_path):
    path = tmp_path / "f.pkl"
    path.write_bytes(pickle.dumps({"train": {"id": np.array(["v$_$1"])}}))
    with pytest.raises(mm.DatasetFormatError, match="expected MMSA's layout"):
        ms.read_pickle_ids(path)
    triples = {s: {"id": np.array([["v", "0.0", "2.5"]])} for s in mm.SPLITS}  # MulT's rows: video, start, end
    path.write_bytes(pickle.dumps(triples))
    with pytest.raises(mm.DatasetFormatError, match=r"train\['id'\] has shape \(1, 3\)"):
        ms.read_pickle_ids(path)
    path.write_bytes(b"not a pickle at all")
    with pytest.raises(mm.DatasetFormatError, match="'f.pkl' is not a readable pickle"):
        ms.read_pickle_ids(path)


def _label_csv(path: Path) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["video_id", "clip_id", "text", "label", "label_T", "label_A", "label_V", "annotation", "mode"])
        for split, ids in SPLIT_IDS.items():
            for v, c in ids:
                w.writerow([v, c, "a text, with a comma\nand a line break", 0.4, "", "", "", "Positive", split])
    return path


def test_label_csv_and_pickle_write_the_same_segments_file(tmp_path, capsys):
    from_csv = tmp_path / "from_csv.csv"
    ms.main(["--from", str(_label_csv(tmp_path / "label.csv")), "--out", str(from_csv)])
    assert ("train / valid / test: 2 / 1 / 1 (4 in all); the paper's: CMU-MOSI 1284 / 229 / 686, CMU-MOSEI 16326 / "
            "1871 / 4659") in capsys.readouterr().out
    from_pickle = tmp_path / "from_pickle.csv"
    ms.main(["--from", str(_mmsa_pickle(tmp_path / "unaligned_50.pkl", 4)), "--out", str(from_pickle)])
    assert from_csv.read_text() == from_pickle.read_text()
    assert from_csv.read_text().splitlines() == [
        "video_id,clip_id,mode", "-3g5yACwYnA,10,train", "a_b_c,2,train", "zz9,0,valid", "x-Y,13,test"]
    assert mm.read_segment_file(from_csv) == {"-3g5yACwYnA_10": "train", "a_b_c_2": "train", "zz9_0": "valid",
                                              "x-Y_13": "test"}


def test_counts_line_names_the_paper_set_it_matches():
    mosei = {s: [("v", str(i)) for i in range(n)] for s, n in zip(mm.SPLITS, (16326, 1871, 4659))}
    assert ms.counts_line(mosei) == "train / valid / test: 16326 / 1871 / 4659 (22856 in all): the paper's CMU-MOSEI counts"


def test_segments_file_errors_are_named(tmp_path):
    bad = tmp_path / "label.csv"
    bad.write_text("video_id,clip_id,mode\nv,1,training\n")
    with pytest.raises(mm.DatasetFormatError, match=r"'label.csv' row 2: mode 'training' is not one of"):
        ms.read_label_csv_ids(bad)
    with pytest.raises(mm.DatasetFormatError, match=r"row 2: mode 'training' is not one of"):
        mm.read_segment_file(bad)
    twice = tmp_path / "twice.csv"
    twice.write_text("video_id,clip_id,mode\nv,1,train\nv,1,test\n")
    with pytest.raises(mm.DatasetFormatError, match=r"'v_1' is in two splits \(train, test\)"):
        mm.read_segment_file(twice)
    with pytest.raises(mm.DatasetFormatError, match=r"segment v_1 is in two splits \(train, test\)"):
        ms.write_segments({"train": [("v", "1")], "valid": [], "test": [("v", "1")]}, tmp_path / "out.csv")
    with pytest.raises(SystemExit, match="error: MMSA file '.*nowhere.pkl' does not exist"):
        ms.main(["--from", str(tmp_path / "nowhere.pkl"), "--out", str(tmp_path / "o.csv")])


def _mosei_video(root: Path, vid: str, transcript: list[tuple[int, float, float]], rows: list[tuple[float, float]]):
    """A one-video MOSEI raw copy (folds.json puts it in train): transcript segments and label rows with times."""
    base = root / "Raw"
    (base / "Transcript/Segmented/Combined").mkdir(parents=True)
    (base / "Transcript/Segmented/Combined" / f"{vid}.txt").write_text(
        "".join(f"{vid}___{seg}___{a:.3f}___{b:.3f}___words {seg}\n" for seg, a, b in transcript))
    for seg, *_ in transcript:
        make_clip(base / "Videos/Segmented/Combined" / f"{vid}_{seg}.mp4", 0.2, seed=seg)
    with h5py.File(root / "CMU_MOSEI_Labels.csd", "w") as f:
        g = f.create_group("All Labels").create_group("data").create_group(vid)
        g.create_dataset("features", data=np.arange(len(rows) * 7, dtype=np.float32).reshape(len(rows), 7))
        g.create_dataset("intervals", data=np.array(rows, dtype=np.float64))
    (root / "folds.json").write_text(f'{{"train": ["{vid}"], "valid": [], "test": []}}')


def test_two_label_rows_on_one_segment_are_refused_with_their_ids(tmp_path):
    """Row 0 matches segment 1 by time; row 1 matches nothing and falls back to position 1: segment 1 twice."""
    _mosei_video(tmp_path, "vidA", [(0, 0.0, 2.0), (1, 5.0, 7.5)], [(5.0, 7.5), (9.0, 10.0)])
    with pytest.raises(mm.DatasetFormatError, match=r"CMU_MOSEI_Labels.csd: video 'vidA' has label rows that match "
                                                    r"one segment more than once \(vidA_1 <- rows \[0, 1\]\)"):
        mm.load_mosei(tmp_path)


def test_label_rows_matched_by_position_are_counted(tmp_path, capsys):
    _mosei_video(tmp_path, "vidB", [(0, 0.0, 2.0), (1, 5.0, 7.5)], [(0.0, 2.0), (5.2, 7.9)])
    samples = mm.load_mosei(tmp_path)
    assert [(s.clip_id, s.sentiment) for s in samples] == [("vidB_0", 0.0), ("vidB_1", 7.0)]
    err = capsys.readouterr().err
    assert "CMU-MOSEI: 1 label row(s) matched no transcript interval and were given to a segment by position: vidB_1" \
        in err


def test_clips_cut_at_the_media_cap_are_flagged_counted_and_printed(tmp_path, capsys):
    from safetensors import safe_open

    from merclip.config import MediaConfig
    from merclip.data.features import CachedClipDataset, build_cache, cache_path

    cfg = MediaConfig(num_frames=2, image_size=32, max_seconds=1.0, long_clip="window")
    samples = [mm.Sample(name, name, "train", make_clip(tmp_path / f"{name}.mp4", secs, seed=i), None, "hi", 1.0, None)
               for i, (name, secs) in enumerate((("long", 2.5), ("short", 0.5)))]
    assert build_cache(samples, tmp_path / "cache", cfg, workers=1, progress=False) == []
    err = capsys.readouterr().err
    assert "1 of 2 cached clips are longer than 1 s: only their first 1 s are used" in err and ": long" in err
    flags = {}
    for s in samples:
        with safe_open(str(cache_path(tmp_path / "cache", s, cfg)), framework="pt") as f:
            flags[s.clip_id] = f.metadata()["cut"]
    assert flags == {"long": "1", "short": "0"}
    dataset = CachedClipDataset(samples, tmp_path / "cache", cfg, "sentiment", None, None)
    assert dataset.cut == ["long"] and len(dataset) == 2


def test_lsgmer_datasets_have_their_own_presets_and_mosei_mosi_keep_the_papers():
    from merclip.model_configs.presets import DATASET_PRESETS, train_config_for

    assert (train_config_for("mosei").lr, train_config_for("mosei").batch_size, train_config_for("mosei").epochs) \
        == (8e-6, 16, 20)  # sec. 4.3
    assert (train_config_for("mosi").lr, train_config_for("mosi").batch_size) == (2.2e-5, 8)
    assert {"meld", "iemocap"} <= DATASET_PRESETS.keys()
    assert train_config_for("iemocap", epochs=3).epochs == 3 and train_config_for("meld").lr == 2.2e-5


def test_every_paper_reproduction_command_in_the_docs_pins_the_segments():
    """docs/results.md and docs/datasets.md: each MOSI / MOSEI command runs on MMSA's split (--segments)."""
    commands = []
    for doc in ("docs/results.md", "docs/datasets.md"):
        text = (REPO / doc).read_text().replace("\\\n", " ")
        commands += [ln for block in re.findall(r"```bash\n(.*?)```", text, re.S) for ln in block.splitlines()
                     if re.search(r"--dataset mos(ei|i)\b", ln)]
    assert len(commands) >= 6
    assert [c for c in commands if "--segments" not in c] == []
    assert any("merclip.data.mmsa_segments --from" in block for block in
               re.findall(r"```bash\n(.*?)```", (REPO / "docs/results.md").read_text(), re.S))


def test_model_card_states_the_epochs_the_shipped_checkpoint_was_trained_for():
    from safetensors import safe_open

    ckpt = REPO / "checkpoints/merclip-tiny-synthetic"
    with safe_open(str(ckpt / "model.safetensors"), framework="pt") as f:
        epochs = re.search(r"\((\d+) epochs\)", f.metadata()["extra"]).group(1)
    assert f"batch 16, {epochs} epochs" in (ckpt / "MODEL_CARD.md").read_text()
