"""Benchmarks run in smoke mode so they cannot rot."""
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load_bench(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cpu_latency_bench_smoke(tmp_path, capsys, monkeypatch):
    from merclip.serving.predictor import Predictor

    spec = importlib.util.spec_from_file_location("cpu_latency", ROOT / "bench" / "cpu_latency.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    predicts, real_predict = [], Predictor.predict  # (query word, whether the clip's features came from the cache)

    def recording(self, *args, **kwargs):
        result = real_predict(self, *args, **kwargs)
        predicts.append((kwargs.get("query_word"), result.features_cached))
        return result

    monkeypatch.setattr(Predictor, "predict", recording)
    results = bench.main(["--smoke", "--out", str(tmp_path / "r.json")])
    out = capsys.readouterr().out
    assert "frame sampling" in out and "app latency [demo]" in out and "faster than fresh" in out
    assert "batched inference [demo], 4 clips" in out
    # timing ratios of a 1-repeat smoke run are noise on a shared 2-core machine: assert what a wrong result breaks
    assert results["frames_count"] == 12 and results["frames_seek_matches"] is True  # seeking picks the same frames
    assert results["demo_batch_results"] == 4 and results["demo_batch_max_prob_diff"] < 1e-5  # batch == per clip
    # each timed query-word swap (3 by the predictor, 3 by the app's panel, 1 repeat) reuses the cached clip
    assert [cached for word, cached in predicts if word in bench.SWAP_WORDS] == [True] * 6
    assert "first request after start-up [demo, app]" in out
    # both first requests (without and after the warm-up) decode and encode the clip: they time the same work
    stages = {"decode_video", "decode_audio", "encode_language", "encode_vision", "encode_audio", "label_encoder+cmd",
              "total"}
    assert set(results["first_request_cold_stages"]) == set(results["first_request_warm_stages"]) == stages
    assert (tmp_path / "r.json").is_file()


def test_throughput_bench_smoke(capsys):
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from merclip.model_configs.presets import tiny_config
    from merclip.models.merclip import build_model

    spec = importlib.util.spec_from_file_location("throughput", ROOT / "bench" / "throughput.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    results = bench.main(["--smoke", "--device", "cpu"])
    out = capsys.readouterr().out
    assert "image tower, batch 4" in out and "training step, batch 2" in out and "implied CMU-MOSEI epoch" in out
    assert results["tower_rel_diff"] < 1e-5  # on a CPU the fast path is fp32 eager: the same image embeddings
    # a training step is the forward and a backward of one to two times its FLOPs (weight and input gradients, the
    # frozen towers' input gradients only): 2-3x the forward of the smoke step's inputs (batch 2, 2 frames, 1 segment)
    model = build_model(tiny_config()).train()
    x, y = bench.training_inputs(model, 2, 2, 1, torch.device("cpu"))
    with FlopCounterMode(display=False) as counter:
        model.training_loss(x, y)
    forward = counter.get_total_flops() / 2 / 1e9  # GFLOP per clip
    assert 2 * forward < results["gflop_per_clip"] < 3 * forward
    assert "data pipeline [plain]" in out and "data pipeline [ours]" in out
    assert results["pipeline_plain_clips"] == results["pipeline_ours_clips"] == 8  # both loaders deliver every clip


def test_batched_inference_bench_smoke(capsys):
    results = load_bench("batched_inference").main(["--smoke", "--device", "cpu", "--check"])
    out = capsys.readouterr().out
    assert "check passed: within fp32 tolerance" in out
    assert "naive per-clip fp32 loop" in out
    assert results["clips"] == 8
    # on a CPU the fast path is the plain fp32 path, batched: the same predictions up to float rounding
    assert results["decision_agreement"] == 1.0 and results["max_prob_diff"] < 1e-5


def test_scaling_bench_and_plot_smoke(tmp_path, capsys):
    results = load_bench("scaling").main(["--smoke", "--device", "cpu", "--out", str(tmp_path / "s.json")])
    assert results["by_batch"]["batch"] == [1, 2, 4] and results["by_length"]["seconds"] == [2, 6]
    for sweep, sizes in (("by_batch", [1, 2, 4]), ("by_length", [2, 6])):
        assert results[sweep]["clips_per_s"]  # at least one speed setting measured
        for rates in results[sweep]["clips_per_s"].values():
            assert len(rates) == len(sizes)  # one rate per size, none dropped
    png = shutil.which("chromium") is not None or Path("/usr/bin/chromium").exists()
    written = load_bench("plot_scaling").main([str(tmp_path / "s.json"), "--out", str(tmp_path / "docs")]
                                              + ([] if png else ["--no-png"]))
    html = (tmp_path / "docs" / "scaling.html").read_text()
    assert "clips\\u002fs by batch size" in html and "fp32 eager" in html and "bf16" in html  # plotly escapes "/"
    if png:
        assert (tmp_path / "docs" / "scaling.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and len(written) == 2


def test_gpu_all_runs_the_interpreter_it_was_given(tmp_path):
    """From a virtualenv that is not activated, `python3` on PATH is another interpreter (without open_clip)."""
    shims = tmp_path / "bin"
    shims.mkdir()
    (shims / "python3").write_text("#!/bin/sh\necho 'wrong interpreter' >&2\nexit 1\n")
    (shims / "python3").chmod(0o755)
    env = os.environ | {"OUT": str(tmp_path / "out"), "PATH": f"{shims}:{os.environ['PATH']}", "PYTHON": sys.executable}
    proc = subprocess.run(["bash", str(ROOT / "bench" / "gpu_all.sh"), "machine"], env=env, capture_output=True,
                          text=True, timeout=120)
    machine = (tmp_path / "out" / "machine.txt").read_text()
    assert proc.returncode == 0 and "wrong interpreter" not in proc.stderr + machine, proc.stderr
    assert sys.executable in machine and "torch" in machine


def test_gpu_all_script_runs_its_parts_and_writes_results(tmp_path):
    env = os.environ | {"OUT": str(tmp_path), "BENCH_ARGS": "--smoke --device cpu", "PYTHON": sys.executable}
    proc = subprocess.run(["bash", str(ROOT / "bench" / "gpu_all.sh"), "inference"], env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "batched.json").read_text())["clips"] == 8
    assert "torch" in (tmp_path / "machine.txt").read_text() and "== bench/batched_inference.py" in proc.stdout


def _evaluated_again(checkpoint: Path, data: Path):
    """A checkpoint evaluated in this process on the synthetic data's test split."""
    import torch

    from merclip.data.loading import DataConfig, build_loaders
    from merclip.models.checkpoint import load_checkpoint
    from merclip.training.evaluate import evaluate_model

    model = load_checkpoint(checkpoint)
    loaders, scores = build_loaders(model, DataConfig(root=data, dataset="synthetic", workers=1), ("test",),
                                    shuffle=False)
    return evaluate_model(model, loaders["test"], torch.device("cpu"), scores)


def test_gpu_all_session_runs_every_part_under_one_deadline(tmp_path):
    """The one-call GPU session (benchmarks, profile, scaling, and the scripted ViT-B-32 run on generated data),
    shrunk to smoke sizes and a tiny eager model on the CPU."""
    out = tmp_path / "out"
    env = os.environ | {"OUT": str(out), "BENCH_ARGS": "--smoke --device cpu", "SESSION_SECONDS": "500", "PYTHON": sys.executable,
                        "TRAIN_DATA": str(tmp_path / "data"), "TRAIN_RUN": str(tmp_path / "run"), "TRAIN_N": "24",
                        "TRAIN_EPOCHS": "1", "TRAIN_MODEL": "merclip-tiny", "TRAIN_DEVICE": "cpu",
                        "TRAIN_WORKERS": "1", "TRAIN_ARGS": "--num-frames 2"}
    proc = subprocess.run(["bash", str(ROOT / "bench" / "gpu_all.sh"), "session"], env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert json.loads((out / "batched.json").read_text())["clips"] == 8
    assert json.loads((out / "throughput.json").read_text())["step_batch"] == 2
    assert "Self CPU" in (out / "profile.txt").read_text()  # torch.profiler's table
    assert json.loads((out / "scaling.json").read_text())["by_batch"]["batch"] == [1, 2, 4]
    metrics = json.loads((out / "train_eval.json").read_text())
    test = _evaluated_again(tmp_path / "run" / "best", tmp_path / "data")  # the best checkpoint, on the same split
    assert metrics["split"] == "test" and metrics["n"] == len(test.ids)
    assert metrics["accuracy"] == pytest.approx(test.metrics["accuracy"])
    assert metrics["micro_f1"] == pytest.approx(test.metrics["micro_f1"])
    assert "epoch" in (out / "train_metrics.csv").read_text().splitlines()[0]
    assert "failed or cut off" not in proc.stdout


def counting_frames(front_end, counts: list):
    """`front_end` (media.load_clip or the bare-PyAV floor), adding the number of frames of each answer to `counts`."""
    def counted(*args, **kwargs):
        out = front_end(*args, **kwargs)
        counts.append(len(out[0]) if isinstance(out, tuple) else out.frames.shape[0])
        return out

    return counted


def test_front_end_floor_decodes_the_frames_the_sampler_picks(tmp_path, monkeypatch):
    """The bare-PyAV floor that bench/cpu_latency.py compares the front end with must decode the very frames
    media.read_frames picks (else the ratio compares different work), and the audio track's samples."""
    import numpy as np

    from merclip import media

    bench = load_bench("cpu_latency")
    clip = bench.make_clip(tmp_path / "c.mp4", 3.0, fps=25)
    frames, audio = bench.bare_pyav_floor(clip, 12, 3.0)
    picked = media.read_frames(clip, 12, 3.0, 60, seek=False)
    assert len(frames) == len(picked) == 12
    for ours, floor in zip(picked, frames):
        np.testing.assert_array_equal(np.asarray(ours), floor)
    import av

    with av.open(str(clip)) as container:
        rate = container.streams.audio[0].rate
    assert abs(sum(a.shape[-1] for a in audio) / rate - 3.0) < 0.1  # the whole 3-s track, as read_audio reads it
    frames_given = {"floor": [], "ours": []}  # the frames each call of either side returned
    monkeypatch.setattr(bench, "bare_pyav_floor", counting_frames(bench.bare_pyav_floor, frames_given["floor"]))
    monkeypatch.setattr(bench.media, "load_clip", counting_frames(bench.media.load_clip, frames_given["ours"]))
    results = bench.bench_front_end(clip, 3.0, 3)
    assert set(results) == {"front_end_s", "front_end_floor_s", "front_end_floor_ratio", "front_end_floor_ratio_paired"}
    # a check of each, then 3 interleaved repeats, each a warm-up and a timed call: the same 12 frames, 7 times each
    assert frames_given == {"floor": [12] * 7, "ours": [12] * 7}


def test_timeline_bench_smoke(tmp_path, capsys):
    """bench/timeline.py on a 15-s clip: both runs (VAD, .srt) finish and report time, ratio and peak memory."""
    from merclip.data.long_clips import has_espeak

    if not has_espeak():
        pytest.skip("espeak-ng is not installed (.ci/run installs it)")
    results = load_bench("timeline").main(["--smoke", "--out", str(tmp_path / "t.json")])
    assert set(results["runs"]) == {"vad+none", "srt"}
    durations = []
    for run in results["runs"].values():
        assert run["utterances"] == results["utterances_written"] >= 2
        assert run["peak_rss_mb"] > 100  # the child's own peak: torch and the model are in it
        durations.append(run["wall_s"] / run["ratio_to_duration"])  # the clip's duration, from each run's ratio
        # the one decoder runs forward over the utterances' frames once: at most every frame of the 8-fps clip
        assert run["utterances"] <= run["frames_decoded"] <= durations[-1] * 8 + 1
    assert durations[0] == pytest.approx(durations[1], rel=0.02) and durations[0] <= 15.5  # one clip, the 15-s cap
    assert "x real time" in capsys.readouterr().out and (tmp_path / "t.json").is_file()


def test_asr_options_bench_smoke(tmp_path):
    """bench/asr_options.py on one sentence in two voices: pocketsphinx's defaults and the timeline's search, their
    word-error rates from a word-level edit distance."""
    from merclip.data.long_clips import has_espeak

    if not has_espeak():
        pytest.skip("espeak-ng is not installed (.ci/run installs it)")
    bench = load_bench("asr_options")
    assert bench.edits(["a", "b", "c"], ["a", "x", "c", "d"]) == 2  # one substitution, one insertion
    assert bench.wer(["the cat sat", "a dog"], ["the cat", "a dog ran"]) == pytest.approx(2 / 5)
    results = bench.main(["--smoke", "--out", str(tmp_path / "a.json")])
    assert list(results) == ["pocketsphinx defaults", "timeline (maxhmmpf 3000)"]
    assert results["pocketsphinx defaults"]["changed_vs_defaults"] == 0
    assert results["timeline (maxhmmpf 3000)"]["options"] == "maxhmmpf 3000"
    spoken = [bench.SENTENCES["happy_surprised"]] * 2  # one sentence in each of the two voices
    for run in results.values():
        assert len(run["words"]) == 2 and run["wer"] == pytest.approx(bench.wer(spoken, run["words"]), abs=1e-3)


def test_front_end_ab_bench_smoke(capsys, monkeypatch):
    """The A/B bench imports the base revision's package from git under another name (not this checkout's) and
    times both against the floor."""
    from merclip import media

    bench = load_bench("front_end_ab")
    frames_given = {"floor": [], "base": [], "this": []}  # the frames each call of each side returned
    monkeypatch.setattr(bench.cpu_latency, "bare_pyav_floor",
                        counting_frames(bench.cpu_latency.bare_pyav_floor, frames_given["floor"]))
    monkeypatch.setattr(media, "load_clip", counting_frames(media.load_clip, frames_given["this"]))
    import_revision = bench.import_revision

    def importing(*args, **kwargs):
        base_media, base_config = import_revision(*args, **kwargs)
        monkeypatch.setattr(base_media, "load_clip", counting_frames(base_media.load_clip, frames_given["base"]))
        return base_media, base_config

    monkeypatch.setattr(bench, "import_revision", importing)
    results = bench.main(["--smoke", "--base", "HEAD"])
    assert results["base_module"] == ("merclip_base.media", "base/merclip_base/media/__init__.py")
    row = results["112 px"]
    assert set(row) == {"floor", "base", "this"} and row["floor"]["paired_ratio"] == 1.0
    assert frames_given == {side: [12, 12] for side in row}  # each side: a warm-up and 1 repeat, the same 12 frames
    assert "the bare-PyAV floor, 1 interleaved repeats" in capsys.readouterr().out
