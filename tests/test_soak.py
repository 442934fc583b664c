"""Soak over HTTP: the app as `python app.py` serves it, in a process of its own, answering 8 visitors' 1,000 mixed
requests: analyses with query-word, label-set, task, modality and head swaps on the example clips, label-set and
query-word comparisons, projections, two timelines, and bad inputs, which must come back as their messages.

The server's memory (RSS), open descriptors and disk (its temp folder: gradio's uploads and cache, and the Studio's
working folder) are measured after a warm-up round and after the soak, and bounded; the latencies are printed.

The visitors speak gradio's REST API (/gradio_api/call/<endpoint>) with their clips uploaded once, as a page does:
gradio_client uploads every file again on every call, and each upload is a new file (a new modification time), so
every request would decode its clip again, which no browser visitor causes.
"""
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "assets" / "examples"
VISITORS, REQUESTS = 8, 1000
# Growth bounds beyond what the warm-up round left. Memory: the sessions gradio keeps fill up in the first quarter
# (app.SESSIONS_KEPT), which also holds the two timelines; then it stays flat (RSS_PLATEAU_MB over the last three
# quarters). Disk: the two timelines' downloads (a few kB each, in the Studio's folder and gradio's cache); nothing
# grows per request, since the uploads are the visitors' same few clips.
RSS_GROWTH_MB, RSS_PLATEAU_MB, FD_GROWTH, DISK_GROWTH_MB = 150, 40, 20, 1.0
WORDS = ["Emotion", "Mood", "Feeling", "(none)", "Sentiment", "Vibe"]
SERVE = ("import sys; sys.path.insert(0, 'tests'); import conftest; conftest.refuse_the_network(); import app; "
         "app.main(sys.argv[1:])")


def _disk_mb(folder: Path) -> float:
    """The disk a folder's files and sub-folders take, as du counts it (a file gone meanwhile counts nothing)."""
    blocks = 0
    for parent, dirs, files in os.walk(folder):
        for name in dirs + files:
            try:
                blocks += os.lstat(Path(parent) / name).st_blocks
            except FileNotFoundError:
                pass
    return blocks * 512 / 2**20


def _usage(pid: int, folder: Path) -> dict[str, float]:
    """The server's resident memory (MB), open descriptors, and the disk its temp folder takes (MB)."""
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024
    return {"rss_mb": rss, "fds": len(os.listdir(f"/proc/{pid}/fd")), "disk_mb": _disk_mb(folder)}


class Visitor:
    """One visitor: gradio's REST API over one keep-alive connection."""

    def __init__(self, base: str):
        import httpx

        self.http = httpx.Client(base_url=base, timeout=300)

    def upload(self, path: Path) -> dict:
        with open(path, "rb") as f:
            server_path = self.http.post("/gradio_api/upload", files={"files": (path.name, f)}).json()[0]
        return {"path": server_path, "meta": {"_type": "gradio.FileData"}}

    def call(self, endpoint: str, data: list) -> tuple[str, object]:
        """("complete", outputs) or ("error", message)."""
        event = self.http.post(f"/gradio_api/call/{endpoint}", json={"data": data}).json()["event_id"]
        stream = self.http.get(f"/gradio_api/call/{endpoint}/{event}").text
        kind, payload = [line.split(": ", 1)[1] for line in stream.strip().splitlines()[-2:]]
        out = json.loads(payload)
        return kind, out["error"] if kind == "error" and isinstance(out, dict) else out


def _plan(files: dict, long_rows: dict, rng: random.Random) -> list[tuple[str, list, str]]:
    """REQUESTS requests as (endpoint, data, what must come back: "" for a result, else the error's words)."""
    clips = [(files[name], (EXAMPLES / f"{name}.txt").read_text().strip()) for name in ("happy_surprised", "neutral",
                                                                                         "sad_afraid")]

    def analyse(clip, text, label_kind="word", custom="", head="mean", **kw):
        task = kw.get("task", rng.choice(["emotion", "emotion", "sentiment"]))
        dropped = kw.get("dropped", rng.choice([[], [], ["audio"], ["vision"]]))
        return [clip, text, None, None, task, label_kind, custom, rng.choice(WORDS), dropped, head]

    plan = []
    for i in range(REQUESTS):
        clip, text = rng.choice(clips)
        r = rng.random()
        if i in (40, 160):  # the two timelines, early: the quarters after the first measure a steady state
            plan.append(("timeline", [files["long"], None, long_rows, rng.choice(["emotion", "sentiment"])], ""))
        elif r < 0.60:
            kind = rng.choice(["word", "phrase", "sentence", "custom"])
            plan.append(("analyse", analyse(clip, text, kind, "calm, tense, excited", rng.choice(["mean", "all", "1"])),
                         ""))
        elif r < 0.70:
            plan.append(("label_sets", [clip, text, None, None, "emotion", rng.choice(["word", "phrase"]), "",
                                        "custom", "calm, tense", rng.choice(WORDS)], ""))
        elif r < 0.75:
            plan.append(("query_words", [clip, text, None, None, "emotion", "word", "", ["Emotion", "Mood"], "Vibe"],
                         ""))
        elif r < 0.80:
            plan.append(("projection", [clip, text, None, None, "fused", rng.choice(["t-SNE", "UMAP"])], ""))
        else:  # bad inputs: each must come back as its message
            plan.append(rng.choice([
                ("analyse", analyse(files["garbage"], text), "not a readable media file"),
                ("analyse", analyse(clip, text, "custom", "only one"), "at least 2 non-empty labels"),
                ("analyse", analyse(None, text), "upload or record a video clip first"),
                ("analyse", analyse(clip, text, "custom", "calm, calm"), "duplicates"),
            ]))
    return plan


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@pytest.fixture
def server(tiny_ckpt, embeddings, tiny_lsgmer_ckpt, tmp_path):
    """`python app.py` on a free port, its temp folder (gradio's and the Studio's) under tmp_path."""
    from conftest import _free_port

    port, temp = _free_port(), tmp_path / "server-tmp"
    temp.mkdir()
    env = dict(os.environ, TMPDIR=str(temp), GRADIO_TEMP_DIR=str(temp / "gradio"), PYTHONUNBUFFERED="1")
    with open(tmp_path / "server.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "-c", SERVE, "--checkpoint", str(tiny_ckpt), "--embeddings",
                                 str(embeddings), "--lsgmer-checkpoint", str(tiny_lsgmer_ckpt), "--device", "cpu",
                                 "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while True:
        assert proc.poll() is None, (tmp_path / "server.log").read_text()[-3000:]
        assert time.monotonic() < deadline, "the app did not start within 3 minutes"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.3)
    yield f"http://127.0.0.1:{port}/", proc.pid, temp
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.mark.slow
def test_soak_1000_mixed_requests_from_8_visitors(server, tmp_path):
    from merclip.data.long_clips import write_long_clip

    base, pid, temp = server
    parts = write_long_clip(tmp_path / "talk.mp4", ["happy_surprised", "sad_afraid", "angry_disgusted"],
                            speech="synthetic")
    long_rows = {"headers": ["start (s)", "end (s)", "words"],
                 "data": [[p.start, p.end, f"utterance {i}"] for i, p in enumerate(parts)]}
    (tmp_path / "garbage.mp4").write_bytes(random.Random(0).randbytes(4096))
    first = Visitor(base)
    files = {name: first.upload(EXAMPLES / f"{name}.mp4") for name in ("happy_surprised", "neutral", "sad_afraid")}
    files.update(long=first.upload(tmp_path / "talk.mp4"), garbage=first.upload(tmp_path / "garbage.mp4"))
    plan = _plan(files, long_rows, random.Random(0))
    warm = [next(p for p in plan if p[0] == kind and not p[2]) for kind in
            ("analyse", "label_sets", "query_words", "projection", "timeline")]
    warm += [("projection", [files["neutral"], "", None, None, "fused", m], "") for m in ("t-SNE", "UMAP")]
    for endpoint, data, _ in warm:  # one-off costs (decoders, projections' fits, caches) before measuring
        assert first.call(endpoint, data)[0] == "complete", endpoint
    first.http.close()
    before = _usage(pid, temp)

    latencies, failures, samples, lock = [], [], [], threading.Lock()

    def visit(v: int) -> None:
        visitor = Visitor(base)
        for endpoint, data, expected in plan[v::VISITORS]:
            t0 = time.perf_counter()
            try:
                kind, out = visitor.call(endpoint, data)
                ok = (kind, expected in str(out)) == ("error" if expected else "complete", True)
            except Exception as exc:  # noqa: BLE001 - anything else is a failure of the server
                ok, out = False, repr(exc)
            with lock:
                latencies.append(time.perf_counter() - t0)
                if len(latencies) % (REQUESTS // 4) == 0:
                    samples.append(_usage(pid, temp))
                if not ok:
                    failures.append(f"{endpoint} (expected {expected or 'a result'}): {str(out)[:200]}")
        visitor.http.close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=visit, args=(v,)) for v in range(VISITORS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    took = time.perf_counter() - t0
    time.sleep(1.0)  # the server closes the visitors' connections
    after = _usage(pid, temp)
    p50, p95 = _percentile(latencies, 0.50), _percentile(latencies, 0.95)
    print(f"\nsoak: {len(latencies)} requests from {VISITORS} visitors in {took:.1f} s, {len(failures)} failures; "
          f"latency p50 {p50:.3f} s, p95 {p95:.3f} s, max {max(latencies):.3f} s")
    for key in ("rss_mb", "fds", "disk_mb"):
        quarters = ", ".join(f"{u[key]:.2f}" for u in samples)
        print(f"  {key}: {before[key]:.2f} before; after each quarter {quarters}; {after[key]:.2f} at rest "
              f"({after[key] - before[key]:+.2f})")
    assert len(latencies) == REQUESTS and not failures, failures[:5]
    assert after["rss_mb"] - before["rss_mb"] < RSS_GROWTH_MB
    assert samples[-1]["rss_mb"] - samples[0]["rss_mb"] < RSS_PLATEAU_MB
    assert after["fds"] - before["fds"] <= FD_GROWTH
    assert max(u["disk_mb"] for u in [*samples, after]) - before["disk_mb"] <= DISK_GROWTH_MB
    assert p95 < 30.0  # a sanity bound for a loaded CI machine: nothing hangs
