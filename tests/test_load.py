"""Load on loopback: 32 gradio_client clients x 5 requests, good and bad inputs mixed."""
import threading

import pytest


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


WORDS = ["Emotion", "Mood", "Feeling", "(none)", "Sentiment"]


@pytest.mark.slow
def test_concurrent_clients_good_and_bad(served, clips, tiny_ckpt):
    """Every good request gets the answer the same model gives it alone (no mix-up between concurrent requests),
    every bad one its message. Latencies are measured in bench/, not here."""
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    from merclip.studio import Studio

    good, bad = str(clips["2s"]), str(clips["garbage"])
    alone = Studio(tiny_ckpt, embeddings=None, device="cpu")  # the served app's model, asked one request at a time
    expected = {(k, word): alone.analyse(good, f"user {k} talking", query_word=word).result.probabilities
                for k in range(4) for word in WORDS}
    Client(served, verbose=False).predict(handle_file(good), "warm up", None, None, "emotion", "word", "", "Emotion", [],
                                          "mean", api_name="/analyse")
    rss_before = _rss_mb()
    answered, failures, lock = {"good": 0, "bad": 0}, [], threading.Lock()

    def user(i: int) -> None:
        client = Client(served, verbose=False)
        for j in range(5):
            is_bad = (i + j) % 4 == 0
            try:
                out = client.predict(handle_file(bad if is_bad else good), f"user {i % 4} talking", None, None, "emotion",
                                     "word", "", WORDS[j], [], "mean", api_name="/analyse")
                want = expected[i % 4, WORDS[j]]
                ok = not is_bad and out[2].keys() == want.keys() and all(
                    abs(out[2][label] - p) < 1e-6 for label, p in want.items())
            except AppError as exc:
                ok = is_bad and "not a readable media file" in str(exc)
            except Exception as exc:  # anything else is a failure of the server
                ok = False
                with lock:
                    failures.append(repr(exc))
            with lock:
                answered["bad" if is_bad else "good"] += 1
                if not ok:
                    failures.append(f"user {i} request {j} bad={is_bad}")

    threads = [threading.Thread(target=user, args=(i,)) for i in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not failures, failures[:5]
    assert answered == {"good": 120, "bad": 40}  # (i + j) % 4 == 0 for one request in four
    assert _rss_mb() - rss_before < 500
