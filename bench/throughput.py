"""Tower and training-step throughput, fast path vs plain path, side by side (issue #7 items 1-2).

    python bench/throughput.py                      # GPU when there is one: ViT-B-32, batch 512 towers, batch 16 steps
    python bench/throughput.py --smoke              # tiny config on CPU, for the test suite

Lines printed:
  * image tower: open_clip's own fp32 eager forward vs ours (bf16 autocast on CUDA, channels-last input), images/s;
  * training step of MER-CLIP (4 towers, 12 frames + 5 audio segments per clip): eager fp32 vs bf16 autocast,
    clips/s, and model FLOPs utilisation against the GPU's dense bf16 peak (--peak-tflops, H100 SXM: 989);
  * the CMU-MOSEI epoch time those clips/s imply (16,326 training clips).
Measured on a GPU only when one is lent (docs/benchmarks.md says which machine gave which number).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from merclip.config import default_model_config, tiny_config  # noqa: E402
from merclip.model import ModalityInputs, build_model  # noqa: E402

MOSEI_TRAIN_CLIPS = 16326


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device, warmup: int, iters: int) -> float:
    """Seconds per call, after warm-up, with no host sync inside the timed loop."""
    for _ in range(warmup):
        fn()
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(iters):
        fn()
    _sync(device)
    return (time.perf_counter() - t0) / iters


def bench_tower(model, device, batch: int, warmup: int, iters: int, fast: bool) -> dict:
    visual = model.vision.visual.eval()
    images = torch.randn(batch, 3, 224, 224, device=device)
    fast_images = images.contiguous(memory_format=torch.channels_last)

    @torch.inference_mode()
    def plain():
        visual(images)

    @torch.inference_mode()
    def ours():
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=fast):
            visual(fast_images)

    t_plain, t_ours = timed(plain, device, warmup, iters), timed(ours, device, warmup, iters)
    print(f"image tower, batch {batch}: open_clip fp32 eager {batch / t_plain:,.0f} img/s vs ours "
          f"{batch / t_ours:,.0f} img/s -> {t_plain / t_ours:.2f}x (target >= 1.5x on GPU)")
    return {"tower_batch": batch, "tower_plain_img_s": batch / t_plain, "tower_ours_img_s": batch / t_ours}


def training_inputs(model, batch: int, frames: int, segments: int, device) -> tuple[ModalityInputs, torch.Tensor]:
    ids = model.tokenizer(["this is a fairly ordinary sentence about a day at work"] * batch).to(device)
    x = ModalityInputs(text_ids=ids, frames=torch.randn(batch, frames, 3, 224, 224, device=device),
                       audio=torch.randn(batch, segments, 3, 224, 224, device=device))
    y = (torch.rand(batch, len(model.cfg.labels), device=device) > 0.7).float()
    return x, y


def bench_train_step(model, device, batch: int, frames: int, segments: int, warmup: int, iters: int, fast: bool,
                     peak_tflops: float) -> dict:
    from torch.utils.flop_counter import FlopCounterMode

    model.train()
    x, y = training_inputs(model, batch, frames, segments, device)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-6)

    def step(amp: bool):
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            loss = model.training_loss(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    with FlopCounterMode(display=False) as counter:
        step(False)
    flops = counter.get_total_flops()
    t_plain = timed(lambda: step(False), device, warmup, iters)
    t_fast = timed(lambda: step(fast), device, warmup, iters)
    mfu = flops / t_fast / (peak_tflops * 1e12) if device.type == "cuda" else float("nan")
    epoch_min = MOSEI_TRAIN_CLIPS / (batch / t_fast) / 60
    print(f"training step, batch {batch} ({frames} frames + {segments} audio segments): eager fp32 "
          f"{batch / t_plain:.1f} clips/s vs ours {batch / t_fast:.1f} clips/s -> {t_plain / t_fast:.2f}x (target >= 2x); "
          f"{flops / batch / 1e9:.1f} GFLOP per clip; MFU {100 * mfu:.1f}% of {peak_tflops:.0f} TFLOP/s (target >= 25%); "
          f"implied CMU-MOSEI epoch {epoch_min:.1f} min")
    mem = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else float("nan")
    return {"step_batch": batch, "step_plain_clips_s": batch / t_plain, "step_ours_clips_s": batch / t_fast,
            "gflop_per_clip": flops / batch / 1e9, "mfu": mfu, "mosei_epoch_min": epoch_min, "gpu_mem_gib": mem}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description="Tower and training-step throughput, fast vs plain path.")
    parser.add_argument("--smoke", action="store_true", help="tiny config, tiny sizes, CPU (test suite)")
    parser.add_argument("--device", help="default: cuda when available")
    parser.add_argument("--tower-batch", type=int, default=512)
    parser.add_argument("--step-batch", type=int, default=16)
    parser.add_argument("--peak-tflops", type=float, default=989.0, help="dense bf16 peak of the GPU (H100 SXM: 989)")
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args(argv)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.manual_seed(0)
    if args.smoke:
        cfg, tower_batch, step_batch, frames, segments, warmup, iters = tiny_config(), 4, 2, 2, 1, 1, 2
    else:
        cfg = default_model_config(clip_pretrained=None)
        tower_batch, step_batch, frames, segments, warmup, iters = args.tower_batch, args.step_batch, 12, 5, 3, 10
    model = build_model(cfg).to(device)
    fast = device.type == "cuda"
    results = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
               "clip_model": cfg.clip_model}
    print(f"device: {results['device']}, model {cfg.clip_model}")
    results.update(bench_tower(model, device, tower_batch, warmup, iters, fast))
    results.update(bench_train_step(model, device, step_batch, frames, segments, warmup, iters, fast, args.peak_tflops))
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
