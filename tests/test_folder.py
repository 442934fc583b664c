"""The folder dataset format (clips beside metadata.csv / .jsonl) through every command, batch prediction (one
process and two torchrun ranks), fine-tuning with --init, and the openTSNE placement of a clip."""
import csv
import dataclasses
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from conftest import make_clip
from merclip.data.folder import (BadRowError, FolderFormatError, folder_label_names, held_out, load_folder,
                                 write_metadata)
from merclip.data.synthetic import write_folder
from merclip.errors import UserError
from merclip.serving.batch_predict import BatchOptions, run

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--clip-model", "merclip-tiny", "--num-frames", "2", "--workers", "1", "--device", "cpu"]


def _metadata(folder: Path) -> list[dict]:
    with open(folder / "metadata.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """8 generated clips with metadata.csv, in the generator's video-level splits (train and valid; no test)."""
    return write_folder(tmp_path_factory.mktemp("folder") / "clips", n=8, seed=0, progress=False)


@pytest.fixture(scope="module")
def nested(tmp_path_factory):
    """4 clips in one subfolder per video, metadata.jsonl, other label names, no split column."""
    out = write_folder(tmp_path_factory.mktemp("nested") / "clips", n=4, seed=3, kind="jsonl", nested=True,
                       progress=False)
    rows = [json.loads(line) for line in (out / "metadata.jsonl").read_text().splitlines()]
    rows = [{"file_name": r["file_name"], "transcript": r["transcript"],
             "emotions": ["calm"] if i % 2 else ["tense", "calm"]} for i, r in enumerate(rows)]
    write_metadata(out, rows, "jsonl")
    return out


@pytest.fixture(scope="module")
def trained(folder, tmp_path_factory):
    """A tiny MER-CLIP trained one epoch on the folder: its best checkpoint."""
    from merclip.training.loop import main as train_main

    out = tmp_path_factory.mktemp("run")
    train_main(["--dataset", "folder", "--root", str(folder), *TINY, "--epochs", "1", "--batch-size", "4",
                "--lr", "1e-3", "--out", str(out)])
    return out / "best"


def test_check_counts_what_the_metadata_says(folder, capsys):
    from merclip.data.check import main as check_main

    check_main(["--dataset", "folder", "--root", str(folder)])
    out = capsys.readouterr().out
    rows = _metadata(folder)
    names = sorted({e for r in rows for e in r["emotions"].split(";") if e})
    assert "8 rows, 8 usable, 0 skipped" in out
    assert f"label names (the targets' order): {', '.join(names)}" in out
    for split in ("train", "valid"):
        ours = [r for r in rows if r["split"] == split]
        positive = sum(float(r["sentiment"]) > 0 for r in ours)
        assert f"| {split} | {len(ours)} | {len(ours)} | 0 | {len(ours)} | {positive} |" in out
        assert f"| {split} | " + " | ".join(str(sum(n in r["emotions"].split(";") for r in ours)) for n in names) in out
    assert "| test | 0 |" in out


def test_samples_follow_the_folders_own_labels(folder, nested):
    assert folder_label_names(nested) == ("calm", "tense")
    samples = load_folder(nested, ("test",))  # no split column: every row is in every split
    written = [json.loads(line)["file_name"] for line in (nested / "metadata.jsonl").read_text().splitlines()]
    assert [s.clip_id for s in samples] == written and all("/" in name for name in written)
    assert [s.emotion_targets().tolist() for s in samples] == [[1, 1], [1, 0], [1, 1], [1, 0]]
    assert len(load_folder(nested, ("train",))) == 4
    with pytest.raises(FolderFormatError, match="pass --valid-fraction"):
        load_folder(nested, ("train", "valid"))
    split = load_folder(nested, ("train", "valid", "test"), valid_fraction=0.25)
    valid = {s.clip_id for s in split if s.split == "valid"}
    assert len(valid) == 1 and valid == {s.clip_id for s in split if s.split == "test"}
    assert {s.clip_id for s in split if s.split == "train"} == {s.clip_id for s in samples} - valid
    names = [f"c{i}.mp4" for i in range(40)]
    assert held_out(names, 0.25) <= held_out(names + ["new.mp4"], 0.25) | {"new.mp4"}  # a new row moves no other
    assert len(held_out(names, 0.25)) == 10


def test_bad_rows_are_named_and_can_be_skipped(tmp_path, capsys):
    d = tmp_path / "bad"
    make_clip(d / "good.mp4", 1.0)
    make_clip(d / "sub" / "also_good.mp4", 1.0, seed=1)
    (d / "garbage.mp4").write_bytes(np.random.default_rng(0).bytes(2048))
    (tmp_path / "outside.mp4").write_bytes((d / "good.mp4").read_bytes())
    (d / "metadata.csv").write_text(
        "file_name,emotions,sentiment,split\n"
        "good.mp4,happy,1,train\n"
        "missing.mp4,sad,,train\n"
        "../outside.mp4,,,train\n"
        "garbage.mp4,,,train\n"
        "sub/also_good.mp4,,7,train\n"
        "sub/also_good.mp4,,,dev\n")
    with pytest.raises(BadRowError) as err:
        load_folder(d, ("train",))
    message = str(err.value)
    assert "5 bad row(s) of 6" in message and "--on-error skip" in message
    assert "metadata.csv row 2 (line 3): file_name 'missing.mp4' does not exist" in message
    assert "row 3 (line 4): file_name '../outside.mp4' leaves the dataset folder" in message
    assert "row 4 (line 5): file_name 'garbage.mp4' is unreadable" in message
    assert "row 5 (line 6): sentiment '7' is outside [-3, 3]" in message
    assert "row 6 (line 7): split 'dev' is not one of train, valid, test" in message
    kept = load_folder(d, ("train",), on_error="skip")
    assert [s.clip_id for s in kept] == ["good.mp4"]
    assert "skipped 5 bad row(s) of 6 in metadata.csv" in capsys.readouterr().err
    (d / "metadata.csv").unlink()
    (d / "metadata.jsonl").write_text('{"file_name": "good.mp4"}\n{"file_name": "good.mp4", "emotion": "sad"}\n'
                                      '{"file_name": "sub/also_good.mp4", "transcript": "hi", "transcript_file": "x.txt"}\n')
    with pytest.raises(BadRowError) as err:
        load_folder(d, ("train",))
    assert "metadata.jsonl row 2 (line 2): unknown column(s) ['emotion']" in str(err.value)
    assert "row 3 (line 3): has both transcript and transcript_file" in str(err.value)
    (d / "metadata.jsonl").unlink()
    (d / "metadata.csv").write_text("file_name,emotion\ngood.mp4,happy\n")
    with pytest.raises(FolderFormatError, match=r"line 1 \(header\): unknown column\(s\) \['emotion'\]"):
        load_folder(d, ("train",))


def test_train_evaluate_export_on_a_folder(folder, trained, tmp_path, capsys):
    from merclip.training.evaluate import main as evaluate_main
    from merclip.training.export import load_embeddings
    from merclip.training.export import main as export_main

    names = list(folder_label_names(folder))
    assert json.loads((trained / "config.json").read_text())["labels"] == names
    evaluate_main(["--dataset", "folder", "--root", str(folder), "--checkpoint", str(trained), "--split", "valid",
                   "--workers", "1", "--device", "cpu", "--out", str(tmp_path / "eval.json")])
    result = json.loads((tmp_path / "eval.json").read_text())
    valid_rows = [r for r in _metadata(folder) if r["split"] == "valid"]
    assert result["n"] == len(valid_rows) > 0 and result["skipped_clips"] == 0 and 0 <= result["micro_f1"] <= 1
    export_main(["--dataset", "folder", "--root", str(folder), "--checkpoint", str(trained), "--split", "train",
                 "--workers", "1", "--device", "cpu", "--out", str(tmp_path / "emb.npz")])
    emb = load_embeddings(tmp_path / "emb.npz")
    train_rows = [r for r in _metadata(folder) if r["split"] == "train"]
    assert list(emb["ids"]) == [r["file_name"] for r in train_rows]
    assert list(emb["label_names"]) == names
    expected = [[n in r["emotions"].split(";") for n in names] for r in train_rows]
    assert emb["targets"].tolist() == np.array(expected, dtype=np.float32).tolist()
    assert np.allclose(emb["sentiment"], [float(r["sentiment"]) for r in train_rows])
    # without --checkpoint: the shipped demo, asked for the folder's label order (its label encoder takes any)
    capsys.readouterr()
    evaluate_main(["--dataset", "folder", "--root", str(folder), "--split", "valid", "--workers", "1",
                   "--device", "cpu"])
    assert "| merclip-tiny-synthetic |" in capsys.readouterr().out


def test_init_loads_a_checkpoint_under_other_labels(trained, nested, tmp_path):
    from merclip.models.checkpoint import CheckpointError, read_config
    from merclip.models.merclip import build_model
    from merclip.training.init_weights import init_from_checkpoint
    from merclip.training.loop import main as train_main

    train_main(["--dataset", "folder", "--root", str(nested), *TINY, "--epochs", "1", "--batch-size", "2",
                "--valid-fraction", "0.25", "--lr", "1e-12", "--init", str(trained), "--out", str(tmp_path / "tuned")])
    tuned = tmp_path / "tuned" / "best"
    assert json.loads((tuned / "config.json").read_text())["labels"] == ["calm", "tense"]
    before, after = load_file(str(trained / "model.safetensors")), load_file(str(tuned / "model.safetensors"))
    # a learning rate of 1e-12 (0 is refused): one step moves no weight measurably, so the run began from the checkpoint
    assert before.keys() == after.keys() and all(torch.allclose(before[k], after[k], atol=1e-8) for k in before)
    other = build_model(dataclasses.replace(read_config(trained), labels=("a", "b"), cmd_hidden=32))
    with pytest.raises(CheckpointError, match="cmd_hidden: checkpoint 64 vs new 32"):
        init_from_checkpoint(other, trained)


def _table(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_predict_writes_a_row_per_clip_and_embeddings(folder, trained, tmp_path):
    from merclip.predict import Predictor
    from merclip.serving.projection import fit

    out, emb = tmp_path / "p.csv", tmp_path / "p.npz"
    summary = run(BatchOptions(folder, out, checkpoint=trained, batch_size=3, embeddings=emb, device="cpu",
                               progress=False))
    rows, names = _table(out), list(folder_label_names(folder))
    assert summary.clips == 8 and summary.errors == 0
    assert list(rows[0]) == ["file_name", "predicted", *names, "error"]
    assert [r["file_name"] for r in rows] == [r["file_name"] for r in _metadata(folder)]
    reference = Predictor.from_checkpoint(trained, device="cpu")
    first = _metadata(folder)[0]
    one = reference.predict(folder / first["file_name"], first["transcript"], labels=names)
    assert [float(rows[0][n]) for n in names] == pytest.approx([one.probabilities[n] for n in names], abs=1e-5)
    assert rows[0]["predicted"] == ";".join(one.predicted)
    data = np.load(emb)
    assert list(data["ids"]) == [r["file_name"] for r in rows] and data["fused"].shape == (8, 64)
    assert data["probs"].shape == (8, len(names)) and str(data["targets_from"]) == "metadata"
    assert np.allclose(data["probs"][0], [one.probabilities[n] for n in names], atol=1e-5)
    proj = fit(str(emb), "fused", "t-SNE")
    xy, note = proj.place(one.fused)
    assert np.isfinite(xy).all() and "openTSNE transform" in note


def test_predict_keeps_going_past_bad_clips_and_resumes(folder, trained, tmp_path, monkeypatch):
    d = tmp_path / "mixed"
    (d / "bad.mp4").parent.mkdir(parents=True)
    (d / "bad.mp4").write_bytes(b"not a video at all" * 64)
    rows = _metadata(folder)[:3]
    for r in rows:
        (d / r["file_name"]).write_bytes((folder / r["file_name"]).read_bytes())
    write_metadata(d, [{"file_name": rows[0]["file_name"]}, {"file_name": "bad.mp4"}, {"file_name": "gone.mp4"},
                       *({"file_name": r["file_name"], "transcript": r["transcript"]} for r in rows[1:])])
    out = tmp_path / "p.jsonl"
    first = run(BatchOptions(d, out, checkpoint=trained, labels="calm, tense, excited", device="cpu", progress=False))
    table = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["file_name"] for r in table] == [rows[0]["file_name"], "bad.mp4", "gone.mp4", *(r["file_name"] for r in rows[1:])]
    assert (first.clips, first.errors, first.bad_rows) == (4, 1, 1)  # gone.mp4's row is refused before the model
    assert "bad.mp4" in table[1]["error"] and table[1]["calm"] is None
    assert "row 3 (line 4): file_name 'gone.mp4' does not exist" in table[2]["error"]
    assert all(not r["error"] and set(r) == {"file_name", "predicted", "calm", "tense", "excited", "error"}
               for r in table[:1] + table[3:])
    again = run(BatchOptions(d, out, checkpoint=trained, labels="calm, tense, excited", device="cpu", progress=False,
                             resume=True))
    assert again.clips == 1  # only the clip that failed is tried again
    assert [json.loads(line) for line in out.read_text().splitlines()] == table
    # a run killed after its first batch: --resume predicts only the rest, from the journal it left
    import merclip.serving.batch_predict as batch

    real = batch.predict_rows

    def dies_on_the_second_batch(predictor, chunk, settings):
        if chunk[0].file_name == rows[1]["file_name"]:  # batches: [first, bad.mp4], [second, third]
            raise KeyboardInterrupt
        return real(predictor, chunk, settings)

    monkeypatch.setattr(batch, "predict_rows", dies_on_the_second_batch)
    killed = tmp_path / "killed.jsonl"
    with pytest.raises(KeyboardInterrupt):
        run(BatchOptions(d, killed, checkpoint=trained, labels="calm, tense, excited", batch_size=2, device="cpu",
                         progress=False))
    assert not killed.exists() and (tmp_path / "killed.jsonl.parts").is_dir()
    monkeypatch.setattr(batch, "predict_rows", real)
    rest = run(BatchOptions(d, killed, checkpoint=trained, labels="calm, tense, excited", batch_size=2,
                            device="cpu", progress=False, resume=True))
    assert rest.clips == 3  # the first batch was journalled: its good clip is skipped, bad.mp4 is tried again
    resumed = [json.loads(line) for line in killed.read_text().splitlines()]
    assert [r["file_name"] for r in resumed] == [r["file_name"] for r in table]
    for a, b in zip(resumed, table):
        assert a["predicted"] == b["predicted"] and (a["calm"] is None) == (b["calm"] is None)
    with pytest.raises(UserError, match="other labels"):
        run(BatchOptions(d, out, checkpoint=trained, labels="calm, tense", device="cpu", progress=False, resume=True))
    if _has_pyarrow():
        run(BatchOptions(d, tmp_path / "p.parquet", checkpoint=trained, device="cpu", progress=False))
        import pyarrow.parquet as pq

        assert pq.read_table(tmp_path / "p.parquet").num_rows == 5
    else:
        with pytest.raises(UserError, match="needs pyarrow"):
            run(BatchOptions(d, tmp_path / "p.parquet", checkpoint=trained, device="cpu", progress=False))


def _has_pyarrow() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_torchrun_ranks_write_the_rows_of_one_process(nested, trained, tmp_path):
    single = tmp_path / "one.csv"
    run(BatchOptions(nested, single, checkpoint=trained, batch_size=2, device="cpu", progress=False))
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
         "--master_port", str(_free_port()), "-m", "merclip.predict", str(nested), "--out", str(tmp_path / "two.csv"),
         "--checkpoint", str(trained), "--batch-size", "2", "--device", "cpu"],
        cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "predicted 4 clip(s), 0 with an error" in proc.stdout and "on 2 rank(s)" in proc.stdout
    one, two = _table(single), _table(tmp_path / "two.csv")
    assert [(r["file_name"], r["predicted"]) for r in one] == [(r["file_name"], r["predicted"]) for r in two]
    for a, b in zip(one, two):
        assert float(a["calm"]) == pytest.approx(float(b["calm"]), abs=1e-5)
    assert not (tmp_path / "two.csv.parts").exists()


def test_predict_has_help(capsys):
    from merclip.predict import main

    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    assert "--embeddings" in capsys.readouterr().out
