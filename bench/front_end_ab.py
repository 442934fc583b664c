"""The front end of two revisions side by side, against the bare-PyAV floor, in one process (issue #18 item 5).

    python bench/front_end_ab.py --base cdf950c --repeats 41

Why one process: on the 2-core build machine the floor's median moves by half from one run to the next, so ratios
measured in separate runs (or separate processes) compare noise. Here each repeat runs the floor, then the base
revision's `media.load_clip` and this checkout's (and, with --exact, this checkout's with PIL's exact resize,
`media.frames.EXACT_RESIZE`), their order rotated from one repeat to the next so that no side always runs right
after another; the ratios are paired repeat by repeat.
The base revision's `merclip` package is taken from git (`git archive`) into a temporary folder and imported under
another name (the package imports itself relatively only), so nothing is checked out or written into the repository.
"""
from __future__ import annotations

import argparse
import importlib
import io
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import cpu_latency  # noqa: E402

from merclip import media  # noqa: E402
from merclip.config import MediaConfig  # noqa: E402
from merclip.media import frames  # noqa: E402

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def import_revision(rev: str, into: Path, name: str = "merclip_base"):
    """`merclip` as it was at git revision `rev`, importable as `name` (its media and config modules)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "merclip"], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    (into / "merclip").rename(into / name)
    for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[module]  # an earlier call's revision
    sys.path.insert(0, str(into))
    return importlib.import_module(f"{name}.media"), importlib.import_module(f"{name}.config")


def this_checkout(clip: Path, exact: bool):
    """This checkout's `media.load_clip` of `clip`, with PIL's exact resize or the default one."""
    def run():
        default, frames.EXACT_RESIZE = frames.EXACT_RESIZE, exact
        try:
            return media.load_clip(clip, "hi", MediaConfig(num_frames=12), CLIP_MEAN, CLIP_STD)
        finally:
            frames.EXACT_RESIZE = default
    return run


def compare(clip: Path, seconds: float, base_media, base_config, repeats: int, label: str,
            exact: bool = False) -> dict:
    """Median ms of the floor, the base and this checkout (and its exact resize), and each one's median paired ratio
    to the floor; the same for the process's CPU time (all its threads), which a machine shared with other work
    disturbs less than the wall clock."""
    runs = {
        "floor": lambda: cpu_latency.bare_pyav_floor(clip, 12, seconds),
        "base": lambda: base_media.load_clip(clip, "hi", base_config.MediaConfig(num_frames=12), CLIP_MEAN, CLIP_STD),
        "this": this_checkout(clip, exact=False),
    }
    if exact:
        runs["exact"] = this_checkout(clip, exact=True)
    times: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    for run in runs.values():
        run()  # warm-up: library start-up costs
    sides = list(runs)[1:]
    for repeat in range(repeats):
        turn = repeat % len(sides)
        for name in ["floor", *sides[turn:], *sides[:turn]]:
            t0, c0 = time.perf_counter(), time.process_time()
            runs[name]()
            times[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
    out = {}
    for name, ts in times.items():
        paired = statistics.median(t / f for t, f in zip(ts, times["floor"]))
        cpu_paired = statistics.median(t / f for t, f in zip(cpu[name], cpu["floor"]))
        out[name] = {"ms": statistics.median(ts) * 1000, "paired_ratio": paired,
                     "cpu_ms": statistics.median(cpu[name]) * 1000, "cpu_paired_ratio": cpu_paired}
        print(f"{label:>10s} {name:5s} {out[name]['ms']:7.1f} ms   {paired:.2f}x the floor (paired median);   "
              f"CPU {out[name]['cpu_ms']:6.1f} ms   {cpu_paired:.2f}x")
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description="media.load_clip of a git revision vs this checkout vs the bare-PyAV "
                                                 "floor, interleaved in one process, as paired ratios.")
    parser.add_argument("--base", default="HEAD", help="git revision to compare against (default: HEAD)")
    parser.add_argument("--repeats", type=int, default=41)
    parser.add_argument("--exact", action="store_true", help="also time this checkout with PIL's exact resize")
    parser.add_argument("--smoke", action="store_true", help="a 2-s clip, 1 repeat: for the test suite")
    args = parser.parse_args(argv)
    seconds, repeats = (2.0, 1) if args.smoke else (10.0, args.repeats)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        base_media, base_config = import_revision(args.base, tmp / "base")
        results["base_module"] = base_media.__name__, str(Path(base_media.__file__).relative_to(tmp))
        print(f"front end: {args.base} vs this checkout vs the bare-PyAV floor, {repeats} interleaved repeats")
        clips = {"112 px": cpu_latency.make_clip(tmp / "clip.mp4", seconds, fps=25)}
        if not args.smoke:
            clips["640x480"] = cpu_latency.make_clip(tmp / "webcam.mp4", seconds, fps=25, size=(640, 480))
        for label, clip in clips.items():
            results[label] = compare(clip, seconds, base_media, base_config, repeats, label, exact=args.exact)
    return results


if __name__ == "__main__":
    main()
