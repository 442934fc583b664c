"""Load on loopback: 32 gradio_client clients x 5 requests, good and bad inputs mixed."""
import statistics
import threading
import time

import pytest


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


@pytest.mark.slow
def test_concurrent_clients_good_and_bad(served, clips):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    words = ["Emotion", "Mood", "Feeling", "(none)", "Sentiment"]
    good, bad = str(clips["2s"]), str(clips["garbage"])
    Client(served, verbose=False).predict(handle_file(good), "warm up", None, None, "emotion", "word", "", "Emotion", [],
                                          "mean", api_name="/analyse")
    rss_before = _rss_mb()
    latencies, failures, lock = [], [], threading.Lock()

    def user(i: int) -> None:
        client = Client(served, verbose=False)
        for j in range(5):
            is_bad = (i + j) % 4 == 0
            t0 = time.perf_counter()
            try:
                out = client.predict(handle_file(bad if is_bad else good), f"user {i % 4} talking", None, None, "emotion",
                                     "word", "", words[j], [], "mean", api_name="/analyse")
                ok = not is_bad and len(out[2]) == 6 and abs(sum(out[2].values())) > 0
            except AppError as exc:
                ok = is_bad and "not a readable media file" in str(exc)
            except Exception as exc:  # anything else is a failure of the server
                ok = False
                with lock:
                    failures.append(repr(exc))
            with lock:
                latencies.append(time.perf_counter() - t0)
                if not ok:
                    failures.append(f"user {i} request {j} bad={is_bad}")

    threads = [threading.Thread(target=user, args=(i,)) for i in range(32)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    wall = time.perf_counter() - t0
    assert not failures, failures[:5]
    assert len(latencies) == 160
    q = statistics.quantiles(latencies, n=20)
    growth = _rss_mb() - rss_before
    print(f"\nload: 160 requests in {wall:.1f} s, p50 {statistics.median(latencies) * 1000:.0f} ms, "
          f"p95 {q[18] * 1000:.0f} ms, RSS growth {growth:.0f} MB")
    assert growth < 500
