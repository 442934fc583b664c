"""Benchmarks run in smoke mode so they cannot rot."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_cpu_latency_bench_smoke(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("cpu_latency", ROOT / "bench" / "cpu_latency.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    results = bench.main(["--smoke", "--out", str(tmp_path / "r.json")])
    out = capsys.readouterr().out
    assert "frame sampling" in out and "app latency [demo]" in out and "faster than fresh" in out
    assert "batched inference [demo], 4 clips" in out and results["demo_batch_clips_per_s"] > 0
    assert results["frames_speedup"] > 1.0  # converting 12 frames beats converting all 50
    assert results["demo_swap_speedup"] > 1.0  # a cached swap skips decoding and the towers
    assert (tmp_path / "r.json").is_file()
