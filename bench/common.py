"""Helpers shared by the GPU benchmarks: timing without host syncs, and clips of decoded media.

The GPU benchmarks start from *decoded* media (what the training cache holds: uint8 frames and log-mel images),
so they need torch and open_clip only; they run on a device machine that has no PyAV or librosa.
"""
from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import torch

from merclip.media.decoded import ClipInputs

WORDS = ("well", "I", "really", "think", "that", "this", "was", "not", "so", "bad", "after", "all", "honestly",
         "what", "a", "day", "we", "had", "today", "and", "then", "it", "rained")


def bench_parser(description: str) -> argparse.ArgumentParser:
    """The options every GPU benchmark has: --smoke (tiny sizes on a CPU, for the test suite) and --device."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--smoke", action="store_true", help="tiny config and sizes on a CPU (the test suite runs this)")
    parser.add_argument("--device", help="default: cuda when available")
    return parser


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device: torch.device, warmup: int, iters: int) -> float:
    """Seconds per call, after warm-up, with no host sync inside the timed loop."""
    for _ in range(warmup):
        fn()
    sync(device)
    t0 = time.perf_counter()
    for _ in range(iters):
        fn()
    sync(device)
    return (time.perf_counter() - t0) / iters


def host_syncs(fn, device: torch.device) -> list[str]:
    """Where one call of `fn` makes the host wait for the GPU, one entry per sync: "file:line" of the innermost
    frame of this project (merclip/ or bench/), then " in " and the innermost frame of all (often inside torch).

    torch.cuda.set_sync_debug_mode("warn") turns every synchronising CUDA call into a warning, issued while the
    Python stack that asked is still live, so the stack is read there. A sync inside a training step drains the
    GPU's queue, and the GPU then idles while the host launches the next kernels. Empty on a CPU."""
    if device.type != "cuda":
        return []
    import traceback
    import warnings

    found: list[str] = []

    def record(message, category, filename, lineno, file=None, line=None):
        if "synchroniz" not in str(message):
            return
        stack = traceback.extract_stack()[:-1]
        ours = [f for f in stack if ("/merclip/" in f.filename or "/bench/" in f.filename)
                and not f.filename.endswith("common.py")]
        where = f"{Path(ours[-1].filename).name}:{ours[-1].lineno}" if ours else "?"
        found.append(f"{where} in {Path(filename).parent.name}/{Path(filename).name}:{lineno}")

    sync(device)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = record
        torch.cuda.set_sync_debug_mode("warn")
        try:
            fn()
        finally:
            torch.cuda.set_sync_debug_mode("default")
    return found


def decoded_clips(n: int, image_size: int, num_frames: int = 12, seconds=(2.0, 10.0), seed: int = 0) -> list[ClipInputs]:
    """`n` clips as the training cache stores them: uint8 frames (T_V, 3, S, S), uint8 log-mel images (T_A, 1, S, S)
    with T_A = ceil(seconds / 2) for clip lengths drawn from `seconds`, and transcripts of 3-30 words."""
    rng = np.random.default_rng(seed)
    clips = []
    for _ in range(n):
        duration = float(rng.uniform(*seconds))
        t_a = max(1, math.ceil(duration / 2))
        words = rng.choice(WORDS, size=int(rng.integers(3, 31)))
        clips.append(ClipInputs(
            frames=torch.from_numpy(rng.integers(0, 256, (num_frames, 3, image_size, image_size), dtype=np.uint8)),
            audio=torch.from_numpy(rng.integers(0, 256, (t_a, 1, image_size, image_size), dtype=np.uint8)),
            transcript=" ".join(words), duration=duration))
    return clips


def device_name(device: torch.device) -> str:
    return torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"


def write_json(path: str | Path | None, results: dict) -> None:
    if path:
        import json

        Path(path).write_text(json.dumps(results, indent=1, default=float))
