"""Batched inference over cached media vs a naive per-clip fp32 loop, side by side (issue #7, item 1).

    python bench/batched_inference.py                 # GPU when there is one: ViT-B-32 (random init), 512 clips
    python bench/batched_inference.py --smoke         # tiny config on CPU, for the test suite

Both paths see the same clips (decoded media as the training cache holds them) and the same weights:
  * naive: one clip at a time, fp32 eager, each result brought to the host as it comes;
  * ours:  `--batch` clips at a time from pinned host memory, uint8 copied and normalised on the device,
           bf16 autocast and compiled towers (SpeedConfig.throughput), results kept on the device until the end.
It prints clips/s for each, the ratio (target >= 10x on a GPU), and how well the two agree (same decisions,
largest probability difference), since a fast path that changes predictions is not a fast path.
"""
from __future__ import annotations

import copy
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import bench_parser, decoded_clips, device_name, sync, write_json  # noqa: E402

from merclip.device import select_device  # noqa: E402
from merclip.model_configs.presets import default_model_config, tiny_config  # noqa: E402
from merclip.models.batch import collate_clips  # noqa: E402
from merclip.models.losses import decisions  # noqa: E402
from merclip.models.merclip import build_model  # noqa: E402
from merclip.models.speed import SpeedConfig, apply_speed, autocast  # noqa: E402
from merclip.pretrained import clip_towers  # noqa: E402


@torch.inference_mode()
def naive_loop(model, clips, device, mean, std) -> torch.Tensor:
    out = []
    for clip in clips:
        x = collate_clips([clip], model.tokenizer).to(device).normalised(mean, std)
        y = model(x)
        out.append(torch.cat([y.probs, y.similarity], dim=1).cpu())  # a host sync per clip, as a plain loop has
    return torch.cat(out)


@torch.inference_mode()
def batched(model, batches, device, mean, std, speed: SpeedConfig) -> torch.Tensor:
    out = []
    with autocast(device, speed):
        for batch in batches:
            x = batch.to(device, non_blocking=True).normalised(mean, std)
            y = model(x)
            out.append(torch.cat([y.probs, y.similarity], dim=1).float())
    return torch.cat(out).cpu()  # the one host sync


def main(argv=None) -> dict:
    parser = bench_parser("Batched fast-path inference vs a per-clip fp32 loop.")
    parser.add_argument("--clips", type=int, default=512)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--out", help="write the results as JSON here")
    parser.add_argument("--check", action="store_true",
                        help="exit non-zero unless the fast path agrees with the plain one: cosine similarities with the "
                             "labels within 0.01 (bf16) or 1e-5 (fp32); fp32 must also give identical decisions")
    args = parser.parse_args(argv)
    device = select_device(args.device)
    torch.manual_seed(0)
    cfg = tiny_config() if args.smoke else default_model_config(clip_pretrained=None)
    n, batch = (8, 4) if args.smoke else (args.clips - args.clips % args.batch, args.batch)
    model = build_model(cfg).to(device).eval()
    pp = clip_towers.image_preprocess_config(model.vision.visual)
    mean, std = pp["mean"], pp["std"]
    clips = decoded_clips(n, pp["image_size"], num_frames=cfg.num_frames)
    speed = SpeedConfig.throughput(device)
    fast_model = apply_speed(copy.deepcopy(model), speed)  # the naive loop keeps the eager model
    host_batches = [collate_clips(clips[i : i + batch], model.tokenizer) for i in range(0, n, batch)]
    if device.type == "cuda":
        host_batches = [b.pin_memory() for b in host_batches]
    print(f"device: {device_name(device)}, model {cfg.clip_model}, {n} clips (12 frames, 1-5 audio segments), "
          f"fast path {speed}")

    t0 = time.perf_counter()
    batched(fast_model, host_batches, device, mean, std, speed)  # warm-up: compilation happens here
    sync(device)
    warmup_s = time.perf_counter() - t0
    naive_loop(model, clips[: min(8, n)], device, mean, std)  # warm-up for the naive loop
    t0 = time.perf_counter()
    p_naive = naive_loop(model, clips, device, mean, std)
    t_naive = time.perf_counter() - t0
    t0 = time.perf_counter()
    p_fast = batched(fast_model, host_batches, device, mean, std, speed)
    t_fast = time.perf_counter() - t0

    c = len(cfg.labels)  # columns: C probabilities, then C cosine similarities
    (p_naive, s_naive), (p_fast, s_fast) = (p_naive[:, :c], p_naive[:, c:]), (p_fast[:, :c], p_fast[:, c:])
    same = (decisions(cfg.task, p_naive, cfg.emotion_threshold) == decisions(cfg.task, p_fast, cfg.emotion_threshold))
    agree, max_diff = float(same.all(dim=1).float().mean()), float((p_naive - p_fast).abs().max())
    sim_diff = float((s_naive - s_fast).abs().max())
    print(f"batched inference over cached media: naive per-clip fp32 loop {n / t_naive:,.1f} clips/s vs ours "
          f"(batch {batch}) {n / t_fast:,.1f} clips/s -> {t_naive / t_fast:.1f}x (target >= 10x on a GPU); "
          f"first pass incl. compilation {warmup_s:.1f} s")
    print(f"  agreement: largest cosine-similarity difference {sim_diff:.5f}; {100 * agree:.1f}% of clips get identical "
          f"decisions, largest probability difference {max_diff:.4f} ({'bf16' if speed.bf16 else 'fp32'} fast path; "
          f"the emotion head standardises similarities across labels, which magnifies rounding when they lie close, "
          f"as in a random-init model)")
    results = {"device": device_name(device), "clip_model": cfg.clip_model, "clips": n, "batch": batch,
               "naive_clips_s": n / t_naive, "fast_clips_s": n / t_fast, "speedup": t_naive / t_fast,
               "warmup_s": warmup_s, "decision_agreement": agree, "max_prob_diff": max_diff, "max_sim_diff": sim_diff, "speed": str(speed)}
    write_json(args.out, results)
    if args.check:
        tolerance = 0.01 if speed.bf16 else 1e-5
        if sim_diff > tolerance or (not speed.bf16 and (agree < 1.0 or max_diff > 1e-5)):
            raise SystemExit(f"fast path disagrees with the plain path: max |d cos| {sim_diff:.5f} (allowed {tolerance}), "
                             f"max |dp| {max_diff:.5f}, identical decisions {100 * agree:.1f}%")
        print(f"  check passed: within {'bf16' if speed.bf16 else 'fp32'} tolerance")
    return results


if __name__ == "__main__":
    main()
