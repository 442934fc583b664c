"""Cost of an emotion timeline over a long clip (issue #17 item 5): total time, its ratio to the clip's duration, and
peak memory, for `python -m merclip.timeline` on a generated clip.

    python bench/timeline.py                       # 10-minute 720p clip, 25 fps, the demo model, VAD + transcription
    python bench/timeline.py --srt                 # also the same clip with its .srt (no VAD, no transcription)
    python bench/timeline.py --smoke               # 15-s 160x90 clip (the test suite runs this)
    python bench/timeline.py --compare             # also the way before: every utterance transcribed first, with
                                                   # pocketsphinx's default search (paired runs on one clip)

The clip is written into a temporary folder (deleted afterwards): the example emotions' faces in turn, each speaking
a sentence (espeak-ng when installed, else the generator's synthetic voice), H.264 + AAC in mp4, a keyframe every
2 s, as a phone or webcam records. The timeline runs in a child process, so its peak resident memory
(ru_maxrss of the child) is the CLI's own, not the generator's.

Each run prints its stages (the CLI's own timings) in seconds and as shares of its in-process total, and the load
average before and after it. Transcribed beside the scoring, `transcribe` (the background thread's wall time)
overlaps `decode_windows` and `predict`, and `wait_for_words` is how long the scoring waited for words: the shares
then add up to more than 100 %.
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


def summarise(wall: float, peak_mb: float, data: dict, load_before, load_after) -> dict:
    """One run's figures: wall time, its ratio to the clip, memory, the stages (seconds, share of the in-process
    total), and the machine's 1/5/15-minute load averages around it."""
    stages = {k: v for k, v in data["timings"].items() if k != "frames_decoded"}
    total = stages.get("total") or wall
    return {"wall_s": round(wall, 1), "ratio_to_duration": round(wall / data["duration"], 3),
            "peak_rss_mb": round(peak_mb), "utterances": len(data["utterances"]), "words_by": data["transcribed_by"],
            "stages_s": stages, "stage_shares": {k: round(v / total, 3) for k, v in stages.items()},
            "frames_decoded": data["timings"].get("frames_decoded"),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in load_after]}


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
    parser.add_argument("--compare", action="store_true",
                        help="also run the way before (--transcribe-first --pocketsphinx-search default) on the clip")
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
        if args.compare and not args.only_srt:  # the way before, then the way now, on the same clip
            before = ["--transcriber", args.transcriber, "--transcribe-first", "--pocketsphinx-search", "default"]
            runs.insert(0, (f"vad+{args.transcriber}, transcribed first, default search", before))
        if args.srt or args.smoke or args.only_srt:
            runs.append(("srt", ["--srt", str(srt)]))
        for name, extra in runs:
            cli = [str(video), "--out", str(folder / f"{name}.json"), "--max-minutes", str(args.minutes),
                   *extra, *(["--checkpoint", args.checkpoint] if args.checkpoint else [])]
            load_before = os.getloadavg()
            wall, peak_mb, data = run_cli(cli)
            results["runs"][name] = run = summarise(wall, peak_mb, data, load_before, os.getloadavg())
            print(f"[{name}] {wall:.1f} s for {data['duration']:.0f} s of video = {run['ratio_to_duration']:.3f}x real "
                  f"time; peak RSS {peak_mb:.0f} MiB; {run['utterances']} utterances; words: {run['words_by']}; load "
                  f"average {load_before[0]:.1f} before, {run['load_average_after'][0]:.1f} after; stages: " +
                  ", ".join(f"{k} {v:.1f} s ({run['stage_shares'][k]:.0%})" for k, v in run["stages_s"].items()))
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
