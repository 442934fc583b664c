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


def test_cpu_latency_bench_smoke(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("cpu_latency", ROOT / "bench" / "cpu_latency.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    results = bench.main(["--smoke", "--out", str(tmp_path / "r.json")])
    out = capsys.readouterr().out
    assert "frame sampling" in out and "app latency [demo]" in out and "faster than fresh" in out
    assert "batched inference [demo], 4 clips" in out
    # timing ratios of a 1-repeat smoke run are noise on a shared 2-core machine: assert what a wrong result breaks
    assert results["frames_count"] == 12 and results["frames_seek_matches"] is True  # seeking picks the same frames
    assert results["demo_batch_results"] == 4 and results["demo_batch_max_prob_diff"] < 1e-5  # batch == per clip
    assert results["demo_swap_speedup"] > 1.0  # a cached swap skips decoding and the towers entirely
    assert "first request after start-up [demo, app]" in out
    # warm-up pays the first decode's one-off costs (seconds: PyAV, librosa/numba start-up) that a cold first request pays
    assert results["first_request_warm_s"] < results["first_request_cold_s"]
    assert (tmp_path / "r.json").is_file()


def test_throughput_bench_smoke(capsys):
    spec = importlib.util.spec_from_file_location("throughput", ROOT / "bench" / "throughput.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    results = bench.main(["--smoke", "--device", "cpu"])
    out = capsys.readouterr().out
    assert "image tower, batch 4" in out and "training step, batch 2" in out and "implied CMU-MOSEI epoch" in out
    assert results["tower_rel_diff"] < 1e-5  # on a CPU the fast path is fp32 eager: the same image embeddings
    assert results["gflop_per_clip"] > 0  # counted by torch's FlopCounterMode: zero would mean nothing ran
    assert "data pipeline [plain]" in out and "data pipeline [ours]" in out
    assert results["pipeline_plain_clips"] == results["pipeline_ours_clips"] > 0  # both loaders deliver every clip


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
    assert metrics["split"] == "test" and metrics["n"] > 0 and 0.0 <= metrics["micro_f1"] <= 1.0
    assert "epoch" in (out / "train_metrics.csv").read_text().splitlines()[0]
    assert "failed or cut off" not in proc.stdout


def test_front_end_floor_decodes_the_frames_the_sampler_picks(tmp_path):
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
    results = bench.bench_front_end(clip, 3.0, 3)
    assert results["front_end_floor_ratio"] > 1.0  # the front end does the floor's work and more


def test_timeline_bench_smoke(tmp_path, capsys):
    """bench/timeline.py on a 15-s clip: both runs (VAD, .srt) finish and report time, ratio and peak memory."""
    from merclip.data.long_clips import has_espeak

    if not has_espeak():
        pytest.skip("espeak-ng is not installed (.ci/run installs it)")
    results = load_bench("timeline").main(["--smoke", "--out", str(tmp_path / "t.json")])
    assert set(results["runs"]) == {"vad+none", "srt"}
    for run in results["runs"].values():
        assert run["utterances"] == results["utterances_written"] >= 2
        assert run["wall_s"] > 0 and run["ratio_to_duration"] > 0 and run["peak_rss_mb"] > 100
    assert "x real time" in capsys.readouterr().out and (tmp_path / "t.json").is_file()


def test_front_end_ab_bench_smoke(capsys):
    """The A/B bench imports the base revision's package from git under another name (not this checkout's) and
    times both against the floor."""
    results = load_bench("front_end_ab").main(["--smoke", "--base", "HEAD"])
    assert results["base_module"] == ("merclip_base.media", "base/merclip_base/media/__init__.py")
    row = results["112 px"]
    assert set(row) == {"floor", "base", "this"} and row["floor"]["paired_ratio"] == 1.0
    assert row["base"]["paired_ratio"] > 1.0 and row["this"]["paired_ratio"] > 1.0  # the floor's work and more
    assert "the bare-PyAV floor, 1 interleaved repeats" in capsys.readouterr().out
