"""How inference cost grows with work: clips/s against batch size and against clip length (issue #7, item 5).

    python bench/scaling.py --out scaling.json      # GPU when there is one: ViT-B-32 (random init)
    python bench/scaling.py --smoke --out s.json    # tiny config on CPU, for the test suite
    python bench/plot_scaling.py scaling.json --out docs/   # plotly HTML + PNG (on a machine with plotly)

Two sweeps over decoded media (the cache's uint8 tensors, normalised on the device), each measured for the plain
path (fp32 eager) and the fast path (bf16 autocast) in the same run:
  * batch size 1, 2, 4, ..., 512 at a 10-s clip (12 frames + 5 audio segments);
  * clip length 2, 5, 10, 20, 30, 45, 60 s (1 to 30 audio segments; the frame count stays fixed) at batch 32.
The fast path here leaves torch.compile out: every point has a new shape, and a recompilation per point would
measure the compiler. bench/batched_inference.py measures compiled throughput at a fixed shape.
"""
from __future__ import annotations

import math
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
from merclip.models.merclip import build_model  # noqa: E402
from merclip.models.speed import SpeedConfig, autocast  # noqa: E402
from merclip.pretrained import clip_towers  # noqa: E402

BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
SECONDS = (2, 5, 10, 20, 30, 45, 60)


def clips_per_second(model, clips, batch: int, device, mean, std, speed: SpeedConfig, min_seconds: float) -> float:
    """Clips/s of the full model (towers + label encoder + CMD) on one pinned batch, repeated for >= min_seconds."""
    host = collate_clips(clips[:batch], model.tokenizer)
    if device.type == "cuda":
        host = host.pin_memory()

    @torch.inference_mode()
    def run():
        with autocast(device, speed):
            return model(host.to(device, non_blocking=True).normalised(mean, std)).probs

    run()
    sync(device)
    iters, t0 = 0, time.perf_counter()
    while True:
        run()
        iters += 1
        if iters >= 3:
            sync(device)
            if time.perf_counter() - t0 >= min_seconds:
                break
    return iters * batch / (time.perf_counter() - t0)


def main(argv=None) -> dict:
    parser = bench_parser("Clips/s against batch size and clip length, plain vs fast path.")
    parser.add_argument("--min-seconds", type=float, default=1.0, help="time each point for at least this long")
    parser.add_argument("--tiny", action="store_true", help="the demo model's tiny backbone instead of ViT-B-32")
    parser.add_argument("--max-batch", type=int, default=512, help="largest batch size in the sweep (CPU: 64)")
    parser.add_argument("--out", required=True, help="results JSON (bench/plot_scaling.py draws it)")
    args = parser.parse_args(argv)
    device = select_device(args.device)
    torch.manual_seed(0)
    cfg = tiny_config() if args.smoke or args.tiny else default_model_config(clip_pretrained=None)
    batches = (1, 2, 4) if args.smoke else tuple(b for b in BATCHES if b <= args.max_batch)
    seconds = (2, 6) if args.smoke else SECONDS
    min_seconds = 0.0 if args.smoke else args.min_seconds
    model = build_model(cfg).to(device).eval()
    pp = clip_towers.image_preprocess_config(model.vision.visual)
    mean, std, size = pp["mean"], pp["std"], pp["image_size"]
    paths = {"fp32 eager": SpeedConfig(), "bf16": SpeedConfig(bf16=True)}
    results = {"device": device_name(device), "clip_model": cfg.clip_model, "num_frames": cfg.num_frames,
               "by_batch": {"clip_seconds": 10, "batch": list(batches), "clips_per_s": {}},
               "by_length": {"batch": min(32, batches[-1]) if not args.smoke else 2, "seconds": list(seconds), "clips_per_s": {}}}
    print(f"device: {results['device']}, model {cfg.clip_model}")
    ten_second = decoded_clips(max(batches), size, cfg.num_frames, seconds=(10.0, 10.0))
    for name, speed in paths.items():
        rates = [clips_per_second(model, ten_second, b, device, mean, std, speed, min_seconds) for b in batches]
        results["by_batch"]["clips_per_s"][name] = rates
        print(f"[{name}] 10-s clips/s by batch " + ", ".join(f"{b}: {r:,.1f}" for b, r in zip(batches, rates)))
    batch = results["by_length"]["batch"]
    for name, speed in paths.items():
        rates = []
        for s in seconds:
            clips = decoded_clips(batch, size, cfg.num_frames, seconds=(float(s), float(s)))
            assert clips[0].audio.shape[0] == math.ceil(s / 2)
            rates.append(clips_per_second(model, clips, batch, device, mean, std, speed, min_seconds))
        results["by_length"]["clips_per_s"][name] = rates
        print(f"[{name}] batch-{batch} clips/s by clip length " + ", ".join(f"{s}s: {r:,.1f}" for s, r in zip(seconds, rates)))
    by_batch = results["by_batch"]["clips_per_s"]
    print(f"scaling: batch {batches[-1]} vs batch 1 (bf16): {by_batch['bf16'][-1] / by_batch['bf16'][0]:.1f}x the "
          f"clips/s; bf16 vs fp32 at batch {batches[-1]}: {by_batch['bf16'][-1] / by_batch['fp32 eager'][-1]:.2f}x")
    write_json(args.out, results)
    return results


if __name__ == "__main__":
    main()
