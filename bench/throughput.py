"""Tower, training-step and data-pipeline throughput, fast path vs plain path, side by side (issue #7 items 1-3).

    python bench/throughput.py                      # GPU when there is one: ViT-B-32, batch 512 towers, batch 16 steps
    python bench/throughput.py --smoke              # tiny config on CPU, for the test suite

Lines printed:
  * image tower: open_clip's own fp32 eager forward vs ours (bf16 autocast + torch.compile), images/s;
  * training step of MER-CLIP (4 towers, 12 frames + 5 audio segments per clip): eager fp32 vs ours (bf16 +
    compiled towers), clips/s, and model FLOPs utilisation against the GPU's dense bf16 peak (--peak-tflops,
    H100 SXM: 989); the CMU-MOSEI epoch time those clips/s imply (16,326 training clips);
  * data pipeline: training from the media cache on disk, the plain loader (float tensors built in the main
    process) vs ours (uint8 through worker processes and pinned memory, normalised on the GPU), as the share of
    wall time the GPU spends computing (target >= 80%), and NVML's utilisation reading when it is available.
Measured on a GPU only when one is lent (docs/benchmarks.md says which machine gave which number).
"""
from __future__ import annotations

import copy
import os
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import bench_parser, decoded_clips, device_name, host_syncs, sync, timed, write_json  # noqa: E402

from merclip.config import MediaConfig  # noqa: E402
from merclip.device import select_device  # noqa: E402
from merclip.model_configs.presets import default_model_config, tiny_config  # noqa: E402
from merclip.models.batch import ModalityInputs, trim_token_padding  # noqa: E402
from merclip.models.merclip import build_model  # noqa: E402
from merclip.models.speed import SpeedConfig, apply_speed, autocast, patch_embeddings_as_matmul  # noqa: E402
from merclip.pretrained import clip_towers  # noqa: E402

MOSEI_TRAIN_CLIPS = 16326


def bench_tower(model, device, batch: int, warmup: int, iters: int, speed: SpeedConfig) -> dict:
    visual = model.vision.visual.eval()
    fast_visual = copy.deepcopy(visual)
    if speed.patch_matmul:
        patch_embeddings_as_matmul(fast_visual)
    if speed.compile:
        fast_visual.compile(backend=speed.compile_backend)
    images = torch.randn(batch, 3, 224, 224, device=device)

    @torch.inference_mode()
    def plain():
        visual(images)

    @torch.inference_mode()
    def ours():
        with autocast(device, speed):
            fast_visual(images)

    t_plain, t_ours = timed(plain, device, warmup, iters), timed(ours, device, warmup, iters)
    with torch.inference_mode():  # the fast path must compute what the plain one does (bf16: to ~1e-2)
        reference = visual(images).float()
        with autocast(device, speed):
            fast = fast_visual(images).float()
        diff = float((reference - fast).abs().max() / reference.abs().max().clamp_min(1e-12))
    print(f"image tower, batch {batch}: open_clip fp32 eager {batch / t_plain:,.0f} img/s vs ours "
          f"{batch / t_ours:,.0f} img/s -> {t_plain / t_ours:.2f}x (target >= 1.5x on GPU)")
    return {"tower_batch": batch, "tower_rel_diff": diff, "tower_plain_img_s": batch / t_plain, "tower_ours_img_s": batch / t_ours,
            "tower_speedup": t_plain / t_ours}


def bench_patch_embedding(model, device, images: int, warmup: int, iters: int, speed: SpeedConfig) -> dict:
    """The patch embedding alone, forward + backward under the fast path's autocast: cuDNN's strided convolution
    vs the same weights as one matmul (merclip.models.speed.PatchEmbedMatmul)."""
    from merclip.models.speed import PatchEmbedMatmul

    conv = copy.deepcopy(model.vision.visual.conv1).train()
    as_matmul = PatchEmbedMatmul.from_conv(copy.deepcopy(conv))
    size = clip_towers.image_preprocess_config(model.vision.visual)["image_size"]
    x = torch.randn(images, 3, size, size, device=device)

    def run(layer):
        def step():
            with autocast(device, speed):
                y = layer(x)
            y.float().square().mean().backward()
        return step

    t_conv, t_mm = timed(run(conv), device, warmup, iters), timed(run(as_matmul), device, warmup, iters)
    print(f"patch embedding, {images} images fwd+bwd: strided convolution {1e3 * t_conv:.2f} ms vs one matmul "
          f"{1e3 * t_mm:.2f} ms -> {t_conv / t_mm:.2f}x")
    return {"patch_images": images, "patch_conv_ms": 1e3 * t_conv, "patch_matmul_ms": 1e3 * t_mm,
            "patch_speedup": t_conv / t_mm}


def training_inputs(model, batch: int, frames: int, segments: int, device) -> tuple[ModalityInputs, torch.Tensor]:
    ids = trim_token_padding(model.tokenizer(["this is a fairly ordinary sentence about a day at work"] * batch))
    ids = ids.to(device)  # (B, n): trimmed on the host, as collate_clips does
    x = ModalityInputs(text_ids=ids, frames=torch.randn(batch, frames, 3, 224, 224, device=device),
                       audio=torch.randn(batch, segments, 3, 224, 224, device=device))
    y = (torch.rand(batch, len(model.cfg.labels), device=device) > 0.7).float()
    return x, y


def make_step(model, speed: SpeedConfig, device, fused: bool = False):
    """One optimiser step of MER-CLIP training, as merclip.training.loop runs it (fused AdamW on a GPU, as there)."""
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-6,
                            fused=fused and device.type == "cuda")

    graphs = speed.compile and speed.compile_mode == "reduce-overhead"

    def step(x: ModalityInputs, y: torch.Tensor):
        if graphs:  # a new iteration: the graphs' previous outputs may be overwritten (CUDA graph trees)
            torch.compiler.cudagraph_mark_step_begin()
        with autocast(device, speed):
            loss = model.training_loss(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def model_flops_utilisation(flops_per_clip: float, clips_s: float, peak_tflops: float, device) -> float:
    """The share of the GPU's dense bf16 peak that `clips_s` clips of `flops_per_clip` each use (NaN off a GPU)."""
    return flops_per_clip * clips_s / (peak_tflops * 1e12) if device.type == "cuda" else float("nan")


def bench_train_step(model, fast_model, device, batch: int, frames: int, segments: int, warmup: int, iters: int,
                     speed: SpeedConfig, peak_tflops: float, plain_batch: int | None = None) -> dict:
    """Clips/s of one optimiser step, eager fp32 vs ours, and ours' MFU. `plain_batch` (default `batch`) lets the
    eager fp32 step run at a batch its memory allows (fp32 activations take twice ours); clips/s compare per clip."""
    from torch.utils.flop_counter import FlopCounterMode

    plain_batch = plain_batch or batch
    model.train()
    fast_model.train()
    x_plain, y_plain = training_inputs(model, plain_batch, frames, segments, device)
    x, y = training_inputs(model, batch, frames, segments, device)
    plain_step, fast_step = make_step(model, SpeedConfig(), device), make_step(fast_model, speed, device, fused=True)
    with FlopCounterMode(display=False) as counter:
        plain_step(x_plain, y_plain)
    flops_per_clip = counter.get_total_flops() / plain_batch
    t_plain = timed(lambda: plain_step(x_plain, y_plain), device, warmup, iters)
    del x_plain, y_plain
    if device.type == "cuda":
        torch.cuda.empty_cache()
    t_fast = timed(lambda: fast_step(x, y), device, warmup, iters)
    syncs = host_syncs(lambda: fast_step(x, y), device)
    plain_clips_s, fast_clips_s = plain_batch / t_plain, batch / t_fast
    mfu = model_flops_utilisation(flops_per_clip, fast_clips_s, peak_tflops, device)
    epoch_min = MOSEI_TRAIN_CLIPS / fast_clips_s / 60
    batches = f"batch {batch}" if plain_batch == batch else f"batch {plain_batch} (eager) / {batch} (ours)"
    print(f"training step, {batches} ({frames} frames + {segments} audio segments): eager fp32 "
          f"{plain_clips_s:.1f} clips/s vs ours {fast_clips_s:.1f} clips/s -> {fast_clips_s / plain_clips_s:.2f}x "
          f"(target >= 2x); {flops_per_clip / 1e9:.1f} GFLOP per clip; MFU {100 * mfu:.1f}% of {peak_tflops:.0f} "
          f"TFLOP/s (target >= 25%); implied CMU-MOSEI epoch {epoch_min:.1f} min")
    if device.type == "cuda":
        print(f"  host syncs in one fast step: {len(syncs)}" + (f" at {'; '.join(sorted(set(syncs)))}" if syncs else ""))
    mem = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else float("nan")
    return {"step_batch": batch, "step_plain_batch": plain_batch, "step_plain_clips_s": plain_clips_s,
            "step_ours_clips_s": fast_clips_s, "step_speedup": fast_clips_s / plain_clips_s,
            "gflop_per_clip": flops_per_clip / 1e9, "mfu": mfu, "mosei_epoch_min": epoch_min, "gpu_mem_gib": mem,
            "step_host_syncs": syncs, "_fast_step": fast_step, "_inputs": (x, y)}


def bench_cudagraph_step(model, device, x, y, warmup: int, iters: int, speed: SpeedConfig, ours_clips_s: float,
                         flops_per_clip: float, peak_tflops: float) -> dict:
    """The fast step again with the towers compiled in mode="reduce-overhead" (CUDA graphs), on the same inputs: does
    issuing one graph instead of thousands of kernels free the launch-bound host (docs/benchmarks.md)?"""
    graphs = replace(speed, compile_mode="reduce-overhead")
    step = make_step(apply_speed(copy.deepcopy(model), graphs).train(), graphs, device, fused=True)
    t = timed(lambda: step(x, y), device, warmup + 2, iters)  # two more warm-ups: the graphs are recorded there
    clips_s = x.batch_size / t
    mfu = model_flops_utilisation(flops_per_clip, clips_s, peak_tflops, device)
    print(f"training step, batch {x.batch_size}, towers as CUDA graphs (compile mode reduce-overhead): {clips_s:.1f} "
          f"clips/s vs ours {ours_clips_s:.1f} -> {clips_s / ours_clips_s:.2f}x; MFU {100 * mfu:.1f}%")
    return {"step_cudagraph_clips_s": clips_s, "step_cudagraph_vs_ours": clips_s / ours_clips_s, "mfu_cudagraph": mfu}


def profile_step(step, x, y, device, out_path: str | None, rows: int = 25) -> str:
    """torch.profiler over three training steps of the fast path: the kernels that take the time, as a table."""
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    step(x, y)
    sync(device)
    with profile(activities=activities) as prof:
        for _ in range(3):
            step(x, y)
        sync(device)
    key = "cuda_time_total" if device.type == "cuda" else "cpu_time_total"
    averages = prof.key_averages()
    table = averages.table(sort_by=key, row_limit=rows)
    # The host's side: what the CPU spends the step on (launches, guards, waits such as cudaStreamSynchronize).
    # Where this exceeds the GPU's time, the GPU idles.
    host = averages.table(sort_by="self_cpu_time_total", row_limit=rows)
    if out_path:
        Path(out_path).write_text(f"{table}\n\nby self CPU time:\n{host}")
    print(f"profile of the fast training step (3 steps, top kernels by {key}):")
    print("\n".join(table.splitlines()[: min(rows, 15) + 3]))
    print("the same steps by self CPU time:")
    print("\n".join(host.splitlines()[:13]))
    return table


# ---- data pipeline ------------------------------------------------------------------------------------------
def write_cache(cache_dir: Path, n: int, image_size: int, media_cfg: MediaConfig):
    """`n` clips in the training cache's own format (merclip.data.features), random content."""
    from safetensors.torch import save_file

    from merclip.data.features import cache_path
    from merclip.data.mosi_mosei import Sample

    samples = []
    for i, clip in enumerate(decoded_clips(n, image_size, media_cfg.num_frames, seconds=(8.0, 10.0), seed=1)):
        sample = Sample(clip_id=f"clip{i:04d}", video_id=f"v{i}", split="train", video=Path(f"/absent/clip{i}.mp4"),
                        audio=None, transcript=clip.transcript, sentiment=0.0,
                        emotions=np.array([1.0, 0, 0, 0.5, 0, 0], np.float32))
        save_file({"frames": clip.frames.contiguous(), "audio": clip.audio.contiguous()},
                  str(cache_path(cache_dir, sample, media_cfg)),
                  metadata={"transcript": clip.transcript, "duration": str(clip.duration)})
        samples.append(sample)
    return samples


class _FloatInMainProcess(torch.utils.data.Dataset):
    """The plain pipeline: each clip normalised to float on the host, in the main process."""

    def __init__(self, dataset):
        self.dataset = dataset
        self.mean, self.std = dataset.mean, dataset.std  # to_device's normalisation is then a no-op (float media)

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, i):
        from merclip.data.features import read_cached

        sample, path = self.dataset.items[i]
        return read_cached(path, self.dataset.mean, self.dataset.std), self.dataset.target(sample), sample.clip_id


class _UtilisationSampler:
    """NVML's GPU utilisation, sampled every 50 ms in a thread (None where NVML is not available)."""

    def __init__(self, device: torch.device):
        self.readings: list[int] = []
        self._stop = threading.Event()
        try:
            import pynvml

            pynvml.nvmlInit()
            self._handle = pynvml.nvmlDeviceGetHandleByIndex(device.index or 0)
            self._nvml = pynvml
        except Exception:
            self._nvml = None

    def __enter__(self):
        if self._nvml is not None:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def _run(self):
        while not self._stop.wait(0.05):
            self.readings.append(self._nvml.nvmlDeviceGetUtilizationRates(self._handle).gpu)

    def __exit__(self, *exc):
        self._stop.set()

    @property
    def mean(self) -> float | None:
        return float(np.mean(self.readings)) if self.readings else None


def bench_data_pipeline(model, step, device, n_clips: int, batch: int, workers: int) -> dict:
    """GPU busy share = (steps x compute-only step time) / wall time of an epoch fed by the loader."""
    from torch.utils.data import DataLoader

    from merclip.data.features import CachedClipDataset, Collate, to_device

    pp = clip_towers.image_preprocess_config(model.vision.visual)
    media_cfg = MediaConfig(num_frames=model.cfg.num_frames, image_size=pp["image_size"])
    model.train()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        samples = write_cache(Path(tmp), n_clips, pp["image_size"], media_cfg)
        dataset = CachedClipDataset(samples, tmp, media_cfg, "emotion", pp["mean"], pp["std"])
        collate = Collate(model.tokenizer)
        cuda = device.type == "cuda"
        loaders = {
            "plain": DataLoader(_FloatInMainProcess(dataset), batch_size=batch, shuffle=True, collate_fn=collate,
                                drop_last=True),
            "ours": DataLoader(dataset, batch_size=batch, shuffle=True, collate_fn=collate, drop_last=True,
                               num_workers=workers, pin_memory=cuda,
                               **({"persistent_workers": True, "prefetch_factor": 4} if workers else {})),
        }
        first = next(iter(loaders["ours"]))
        x_gpu, y_gpu = to_device(first[0], loaders["ours"], device), first[1].to(device)
        t_compute = timed(lambda: step(x_gpu, y_gpu), device, 2, 5)  # the same step, data already on the GPU
        for name, loader in loaders.items():
            for epoch in range(2):  # the first epoch starts the workers; time the second
                with _UtilisationSampler(device) as nvml:
                    sync(device)
                    t0 = time.perf_counter()
                    steps = 0
                    for inputs, target, _ in loader:
                        step(to_device(inputs, loader, device), target.to(device, non_blocking=True))
                        steps += 1
                    sync(device)
                    wall = time.perf_counter() - t0
            busy = min(1.0, steps * t_compute / wall)
            results[f"pipeline_{name}_busy"] = busy
            results[f"pipeline_{name}_clips"] = steps * batch  # per epoch: both loaders must deliver the same clips
            results[f"pipeline_{name}_clips_s"] = steps * batch / wall
            results[f"pipeline_{name}_nvml_util"] = nvml.mean
            nv = f", NVML utilisation {nvml.mean:.0f}%" if nvml.mean is not None else ""
            print(f"  data pipeline [{name}]: {steps * batch / wall:.1f} clips/s, {device.type} computing "
                  f"{100 * busy:.0f}% of the wall time{nv}")
    print(f"data pipeline, batch {batch}, {n_clips} cached clips: GPU busy {100 * results['pipeline_plain_busy']:.0f}% "
          f"(plain loader) vs {100 * results['pipeline_ours_busy']:.0f}% (ours: {workers} workers, uint8"
          f"{', pinned' if cuda else ''}) (target >= 80%)")
    return results


def main(argv=None) -> dict:
    parser = bench_parser("Tower, training-step and data-pipeline throughput, fast vs plain.")
    parser.add_argument("--tower-batch", type=int, default=512)
    parser.add_argument("--step-batch", type=int, default=64, help="clips per training step (x17 images: 12 frames + 5 "
                        "audio segments); the paper's batch is 16, larger batches fill a big GPU")
    parser.add_argument("--plain-batch", type=int, help="clips per eager fp32 step (default: --step-batch); its fp32 "
                        "activations take twice the memory of ours, so a big --step-batch may need a smaller one here")
    parser.add_argument("--pipeline-clips", type=int, default=768, help="cached clips for the data-pipeline epoch")
    parser.add_argument("--profile-out", help="also profile the fast training step (torch.profiler) and write the "
                        "kernel table here")
    parser.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1), help="loader workers (ours)")
    parser.add_argument("--peak-tflops", type=float, default=989.0, help="dense bf16 peak of the GPU (H100 SXM: 989)")
    parser.add_argument("--parts", default="tower,step,pipeline",
                        help="comma-separated subset of tower, patch, step, pipeline, cudagraphs (tower includes patch; "
                        "pipeline and cudagraphs need step: they feed or compare with it)")
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args(argv)
    parts = set(args.parts.split(","))
    if parts & {"pipeline", "cudagraphs"}:
        parts.add("step")
    device = select_device(args.device)
    torch.manual_seed(0)
    if args.smoke:
        cfg, tower_batch, step_batch, frames, segments, warmup, iters = tiny_config(), 4, 2, 2, 1, 1, 2
        pipeline_clips, workers = 8, 0
    else:
        cfg = default_model_config(clip_pretrained=None)
        tower_batch, step_batch, frames, segments, warmup, iters = args.tower_batch, args.step_batch, 12, 5, 3, 10
        pipeline_clips, workers = args.pipeline_clips, args.workers
    speed = SpeedConfig.throughput(device)
    model = build_model(cfg).to(device)
    fast_model = apply_speed(copy.deepcopy(model), speed)
    results = {"device": device_name(device), "clip_model": cfg.clip_model, "speed": str(speed)}
    print(f"device: {results['device']}, model {cfg.clip_model}, fast path {speed}")
    if "tower" in parts:
        results.update(bench_tower(model, device, tower_batch, warmup, iters, speed))
    if "tower" in parts or "patch" in parts:  # `patch` alone skips the tower's compile (a short GPU session)
        results.update(bench_patch_embedding(model, device, step_batch * (frames + segments), warmup, iters, speed))
    if "step" not in parts:
        write_json(args.out, results)
        return results
    step_results = bench_train_step(model, fast_model, device, step_batch, frames, segments, warmup, iters, speed,
                                    args.peak_tflops, plain_batch=args.plain_batch)
    fast_step = step_results.pop("_fast_step")
    x, y = step_results.pop("_inputs")
    results.update(step_results)
    write_json(args.out, results)  # written now too, so a later part that is cut off cannot take these with it
    if args.profile_out:
        profile_step(fast_step, x, y, device, args.profile_out)
    del x, y
    if "pipeline" in parts:
        results.update(bench_data_pipeline(fast_model, fast_step, device, pipeline_clips, step_batch, workers))
        write_json(args.out, results)
    if "cudagraphs" in parts:  # last: a failure to capture must not cost the parts above
        x, y = training_inputs(model, step_batch, frames, segments, device)
        results.update(bench_cudagraph_step(model, device, x, y, warmup, iters, speed, results["step_ours_clips_s"],
                                            results["gflop_per_clip"] * 1e9, args.peak_tflops))
        write_json(args.out, results)
    return results


if __name__ == "__main__":
    main()
