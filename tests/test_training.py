"""Training, resume, DDP, evaluation, ablation and export on a generated dataset (tiny backbone, CPU)."""
import argparse
import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from merclip.config import TrainConfig
from merclip.data.synthetic import write_dataset
from merclip.training.loop import train
from merclip.training.metrics import emotion_metrics
from merclip.training.options import add_data_args, add_model_args, data_config_from_args, model_config_from_args

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def gen_root(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("gen") / "mosei", n=400, seed=11, progress=False)


def cli_args(root, *extra):
    p = argparse.ArgumentParser()
    add_data_args(p)
    add_model_args(p)
    return p.parse_args(["--root", str(root), "--clip-model", "merclip-tiny", "--num-frames", "4", *extra])


def run_python(*argv, check=True):
    """`python *argv` in the repository, one BLAS thread; with `check`, a non-zero exit fails the test."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"{argv[:2]} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def run_cli(module, *args, check=True):
    return run_python("-m", module, *args, check=check)


def test_two_epoch_run_lowers_loss_and_beats_chance(gen_root, tmp_path):
    from merclip.data.loading import build_loaders
    from merclip.training.evaluate import evaluate_model

    args = cli_args(gen_root)
    data = data_config_from_args(args)
    result = train(model_config_from_args(args), TrainConfig(lr=5e-4, batch_size=4, epochs=2, seed=0), data,
                   tmp_path / "run", progress=False)
    losses = [row["train_loss"] for row in result["history"]]
    assert losses[1] < losses[0]
    model = result["model"]
    loaders, scores = build_loaders(model, data, ("test",), shuffle=False)
    ev = evaluate_model(model, loaders["test"], torch.device("cpu"), scores)
    # chance: the better of 'every emotion present' and label-prior random guessing
    rng = np.random.default_rng(0)
    prior = ev.targets.mean(0)
    random_f1 = np.mean([emotion_metrics(ev.targets, rng.random(ev.targets.shape) < prior)["micro_f1"] for _ in range(20)])
    all_f1 = emotion_metrics(ev.targets, np.ones_like(ev.targets))["micro_f1"]
    assert ev.metrics["micro_f1"] > max(random_f1, all_f1) + 0.05, (ev.metrics, random_f1, all_f1)
    for name in ("metrics.csv", "metrics.json", "latest.json", "best/model.safetensors", "train_config.json",
                 "model_config.json"):
        assert (tmp_path / "run" / name).is_file(), name
    saved_data = json.loads((tmp_path / "run" / "data_config.json").read_text())
    assert saved_data["root"] == str(gen_root) and saved_data["dataset"] == "synthetic"
    assert type(data)(**saved_data) == data  # the run's data config reads back whole


# with the cosine schedule and the language parts' own rate (this project's options), so that resuming is checked
# to continue the rate of every parameter group exactly as well
RESUME_ARGS = ["--dataset", "synthetic", "--clip-model", "merclip-tiny", "--num-frames", "4", "--limit", "24",
               "--epochs", "3", "--lr", "1e-3", "--batch-size", "8", "--workers", "1", "--lr-schedule", "cosine",
               "--language-lr-scale", "0.5"]


@pytest.fixture(scope="module")
def straight_run(gen_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("straight") / "run"
    run_cli("merclip.train", *RESUME_ARGS, "--root", str(gen_root), "--out", str(out))
    return out


# `python -m merclip.train ARGS` with hooks that end the process abruptly (no cleanup, no final save) at one point:
# argv[1] is "step=N" (after optimiser step N) or "save=E:STAGE" (at STAGE of the 0-based epoch E's save).
KILLED_TRAIN = """
import os, sys
from merclip.training.loop import build_parser, train
from merclip.training.options import data_config_from_args, model_config_from_args, run_config_from_args
from merclip.training.options import train_config_from_args
from merclip.training.runtime import TrainingHooks

kind, at = sys.argv[1].split("=", 1)
args = build_parser().parse_args(sys.argv[2:])

def after_step(step):
    if kind == "step" and step >= int(at):
        os._exit(137)

def during_save(epoch, stage):
    if kind == "save" and f"{epoch}:{stage}" == at:
        os._exit(137)

train(model_config_from_args(args), train_config_from_args(args), data_config_from_args(args), args.out,
      run=run_config_from_args(args), hooks=TrainingHooks(after_step, during_save))
"""


@pytest.mark.parametrize("kill_at,resumed_after", [
    ("step=5", 0),                # mid-epoch 2 (3 steps per epoch)
    ("save=1:after-model", 0),    # inside epoch 2's checkpoint write
    ("save=1:after-optimizer", 0),
    ("save=1:before-latest", 0),  # epoch 2 fully written, not yet pointed at
    ("save=1:after-latest", 1),   # epoch 2 complete
])
def test_kill_and_resume_gives_the_same_weights(gen_root, straight_run, tmp_path, kill_at, resumed_after):
    out = tmp_path / "killed"
    killed = run_python("-c", KILLED_TRAIN, kill_at, *RESUME_ARGS, "--root", str(gen_root), "--out", str(out),
                        check=False)
    assert killed.returncode == 137, killed.stderr[-3000:]
    assert json.loads((out / "latest.json").read_text())["epoch"] == resumed_after
    resumed = run_cli("merclip.train", *RESUME_ARGS, "--root", str(gen_root), "--out", str(out), "--resume")
    assert f"resuming after epoch {resumed_after}" in resumed.stdout
    a = load_file(str(straight_run / "ckpt-epoch003" / "model.safetensors"))
    b = load_file(str(out / "ckpt-epoch003" / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    hist_a = json.loads((straight_run / "metrics.json").read_text())
    hist_b = json.loads((out / "metrics.json").read_text())
    assert [r["train_loss"] for r in hist_a] == [r["train_loss"] for r in hist_b]
    a_opt = load_file(str(straight_run / "ckpt-epoch003" / "optimizer.safetensors"))
    b_opt = load_file(str(out / "ckpt-epoch003" / "optimizer.safetensors"))
    assert all(torch.equal(a_opt[k], b_opt[k]) for k in a_opt)


def test_each_epochs_row_logs_the_rate_of_its_last_step(straight_run):
    """The straight run above: 24 clips in batches of 8 make 3 steps an epoch, 9 in all, on the cosine schedule;
    the language group runs at half the logged (first group's) rate."""
    from merclip.training.optim import lr_factor

    rows = json.loads((straight_run / "metrics.json").read_text())
    assert [r["lr"] for r in rows] == pytest.approx([1e-3 * lr_factor("cosine", 3 * e + 2, 9) for e in range(3)])
    assert rows[-1]["lr"] == pytest.approx(1e-3 * 0.5 * (1 + math.cos(math.pi * 8 / 9)))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_gloo_two_processes(gen_root, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
         "--master_port", str(_free_port()), "-m", "merclip.train", "--dataset", "synthetic", "--root", str(gen_root),
         "--clip-model", "merclip-tiny", "--num-frames", "4", "--limit", "16", "--epochs", "1", "--batch-size", "4",
         "--workers", "1", "--device", "cpu", "--out", str(tmp_path / "ddp")],
        cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    history = json.loads((tmp_path / "ddp" / "metrics.json").read_text())
    assert len(history) == 1 and np.isfinite(history[0]["train_loss"])
    assert (tmp_path / "ddp" / "best" / "model.safetensors").is_file()
    # the gradients were averaged: after steps on different clips, both ranks hold the same weights
    ranks = json.loads((tmp_path / "ddp" / "ddp_sync.json").read_text())["1"]
    assert len(ranks) == 2 and ranks[0]["ids"] and ranks[1]["ids"]
    assert ranks[0]["ids"] != ranks[1]["ids"]  # different data on each rank (DistributedSampler)
    assert ranks[0]["checksum"] == ranks[1]["checksum"]


def test_evaluate_export_and_ablate(gen_root, tmp_path):
    from merclip.training.ablate import GRIDS, AblationSetup, run_grid
    from merclip.training.export import load_embeddings

    args = cli_args(gen_root, "--limit", "16", "--batch-size", "8", "--workers", "1")
    setup = AblationSetup(model_config_from_args(args), TrainConfig(lr=1e-3, batch_size=8, epochs=1, seed=0),
                          data_config_from_args(args), tmp_path / "abl")
    table = run_grid("components", setup, cells=["MER-CLIP", "w/o CMD, LE"])
    assert "| MER-CLIP |" in table and "| w/o CMD, LE |" in table and "micro_f1" in table
    assert (tmp_path / "abl" / "components.md").read_text() == table
    assert set(GRIDS["query"]) == {"Emotion", "Sentiment", "Feeling", "Impression", "Mood", "Sensation", "(none)"}
    assert len(GRIDS["modalities"]) == 15
    rows = json.loads((tmp_path / "abl" / "components.json").read_text())
    ckpt = Path(next(r["run_dir"] for r in rows if r["model"] == "MER-CLIP")) / "best"
    out = run_cli("merclip.evaluate", "--checkpoint", str(ckpt), "--dataset", "synthetic", "--root", str(gen_root),
                  "--limit", "16", "--workers", "1", "--out", str(tmp_path / "eval.json"))
    assert "| best |" in out.stdout and "micro_f1" in out.stdout
    evaluated = json.loads((tmp_path / "eval.json").read_text())
    assert set(evaluated) >= {"accuracy", "precision", "recall", "micro_f1", "skipped_clips"}
    assert evaluated["skipped_clips"] == 0  # no clip left out silently: the count is always reported
    assert all(r["skipped_clips"] == 0 for r in rows)
    assert json.loads((Path(rows[0]["run_dir"]) / "model_config.json").read_text())["cmd_mode"] == "pooled"
    run_cli("merclip.export", "--checkpoint", str(ckpt), "--dataset", "synthetic", "--root", str(gen_root),
            "--limit", "16", "--workers", "1", "--out", str(tmp_path / "emb.npz"))
    emb = load_embeddings(tmp_path / "emb.npz")
    n = len(emb["ids"])
    assert 0 < n <= 16
    assert {k: emb[k].shape for k in ("language", "vision", "audio", "fused", "probs", "targets")} == {
        "language": (n, 64), "vision": (n, 64), "audio": (n, 64), "fused": (n, 64), "probs": (n, 6), "targets": (n, 6)}
    assert list(emb["label_names"]) == ["happy", "sad", "angry", "surprise", "disgust", "fear"]


@pytest.mark.parametrize("module", ["merclip.train", "merclip.evaluate", "merclip.ablate", "merclip.export",
                                    "merclip.data.synthetic", "merclip.data.check"])
def test_every_cli_has_help(module):
    out = run_cli(module, "--help")
    assert "usage:" in out.stdout and "--" in out.stdout
