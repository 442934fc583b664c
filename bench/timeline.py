"""Cost of an emotion timeline over a long clip (issue #17 item 5): total time, its ratio to the clip's duration, and
peak memory, for `python -m merclip.timeline` on a generated clip.

    python bench/timeline.py                       # 10-minute 720p clip, 25 fps, the demo model, VAD + transcription
    python bench/timeline.py --srt                 # also the same clip with its .srt (no VAD, no transcription)
    python bench/timeline.py --smoke               # 15-s 160x90 clip (the test suite runs this)

The clip is written into a temporary folder (deleted afterwards): the example emotions' faces in turn, each speaking
a sentence (espeak-ng when installed, else the generator's synthetic voice), H.264 + AAC in mp4, a keyframe every
2 s, as a phone or webcam records. The timeline runs in a child process, so its peak resident memory
(ru_maxrss of the child) is the CLI's own, not the generator's.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from merclip.data.long_clips import has_espeak, write_long_clip  # noqa: E402
from merclip.data.synthetic import EXAMPLES  # noqa: E402


def _stamp(seconds: float) -> str:
    ms = int(round(seconds * 1000))
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def make_clip(folder: Path, minutes: float, width: int, height: int, fps: int) -> tuple[Path, Path, int, float]:
    """The long clip and its .srt; returns (clip, srt, utterances, seconds to write it)."""
    t0 = time.perf_counter()
    names = itertools.cycle(list(EXAMPLES))
    n = int(minutes * 60 / 3.0) + 1  # more than fit (each part is ~4.5-5.5 s): cut at `minutes`
    video = folder / "long.mp4"
    parts = write_long_clip(video, [next(names) for _ in range(n)], fps=fps, size=(width, height), lossless=False,
                            speech="espeak" if has_espeak() else "synthetic", max_seconds=minutes * 60)
    srt = folder / "long.srt"
    srt.write_text("".join(f"{i}\n{_stamp(p.start)} --> {_stamp(p.end)}\n{p.text}\n\n" for i, p in enumerate(parts, 1)))
    return video, srt, len(parts), time.perf_counter() - t0


def run_cli(args: list[str]) -> tuple[float, float, dict]:
    """(wall seconds, peak RSS MiB of the child, the timeline JSON) of one `python -m merclip.timeline` run."""
    out = Path(args[args.index("--out") + 1])
    env = os.environ | {"PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as err:  # tqdm's bar and any error message
        child = subprocess.Popen([sys.executable, "-m", "merclip.serving.timeline", *args], env=env, cwd=ROOT, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage: ru_maxrss in KiB on Linux
        child.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        if child.returncode != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace")[-2000:]
            raise RuntimeError(f"merclip.serving.timeline exited with status {child.returncode}:\n{tail}")
    return wall, usage.ru_maxrss / 1024, json.loads(out.read_text())


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--checkpoint", help="default: the shipped demo model")
    parser.add_argument("--transcriber", default="auto", choices=["auto", "whisper", "pocketsphinx", "none"])
    parser.add_argument("--srt", action="store_true", help="also time the clip with its .srt (no VAD, no ASR)")
    parser.add_argument("--only-srt", action="store_true", help="time only the run with the .srt")
    parser.add_argument("--smoke", action="store_true", help="a 15-s 160x90 clip, no transcription (the tests)")
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args(argv)
    if args.smoke:
        args.minutes, args.width, args.height, args.fps, args.transcriber = 0.25, 160, 90, 8, "none"
    results: dict = {"machine": f"{platform.node()} ({os.cpu_count()} CPUs, {platform.machine()})",
                     "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "minutes": args.minutes,
                     "size": f"{args.width}x{args.height}", "fps": args.fps, "speech": "espeak-ng" if has_espeak()
                     else "synthetic voice", "runs": {}}
    with tempfile.TemporaryDirectory(prefix="merclip-bench-timeline-") as tmp:
        folder = Path(tmp)
        video, srt, n, gen = make_clip(folder, args.minutes, args.width, args.height, args.fps)
        results.update(utterances_written=n, generate_s=round(gen, 1), file_mb=round(video.stat().st_size / 2**20, 1))
        print(f"clip: {args.minutes:g} min {args.width}x{args.height} {args.fps} fps, {n} utterances, "
              f"{results['file_mb']} MB, written in {gen:.0f} s ({results['speech']})")
        runs = [] if args.only_srt else [("vad+" + args.transcriber, ["--transcriber", args.transcriber])]
        if args.srt or args.smoke or args.only_srt:
            runs.append(("srt", ["--srt", str(srt)]))
        for name, extra in runs:
            cli = [str(video), "--out", str(folder / f"{name}.json"), "--max-minutes", str(args.minutes),
                   *extra, *(["--checkpoint", args.checkpoint] if args.checkpoint else [])]
            wall, peak_mb, data = run_cli(cli)
            duration = data["duration"]
            timings = data["timings"]
            run = {"wall_s": round(wall, 1), "ratio_to_duration": round(wall / duration, 3), "peak_rss_mb": round(peak_mb),
                   "utterances": len(data["utterances"]), "words_by": data["transcribed_by"],
                   "stages_s": {k: v for k, v in timings.items() if k != "frames_decoded"},
                   "frames_decoded": timings.get("frames_decoded")}
            results["runs"][name] = run
            print(f"[{name}] {wall:.1f} s for {duration:.0f} s of video = {wall / duration:.3f}x real time; "
                  f"peak RSS {peak_mb:.0f} MiB; {run['utterances']} utterances; words: {run['words_by']}; "
                  f"stages: " + ", ".join(f"{k} {v:.1f} s" for k, v in run["stages_s"].items()))
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
