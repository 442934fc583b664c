"""Long jobs take turns (merclip.studio.jobs): a bounded number run and wait, a visitor past the bound is told the
app is busy at once, and a plain analysis never waits behind them."""
import threading
import time

import pytest

from merclip.studio import BusyError, JobGate, LongJobs


def _holding(gate: JobGate, release: threading.Event, log: list, name: str, waits: list | None = None):
    """A thread that takes a turn at `gate` and holds it until `release` is set; `log` gets (name, outcome)."""

    def job():
        try:
            with gate.turn(on_wait=(waits.append if waits is not None else None)):
                log.append((name, "ran"))
                release.wait(10)
        except BusyError as exc:
            log.append((name, str(exc)))

    thread = threading.Thread(target=job)
    thread.start()
    return thread


def _until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_job_past_the_bounds_is_refused_at_once_and_the_waiting_run_in_turn():
    gate = JobGate("timelines", running=1, waiting=2, max_wait_s=30)
    release, log, waits = threading.Event(), [], []
    threads = [_holding(gate, release, log, "first", waits)]
    _until(lambda: gate.counts == (1, 0))
    for waiting, name in enumerate(("second", "third"), 1):
        threads.append(_holding(gate, release, log, name, waits))
        _until(lambda waiting=waiting: gate.counts == (1, waiting))
    assert waits == [1, 2]  # each waiting job is told how many are ahead of it
    t0 = time.monotonic()
    with pytest.raises(BusyError, match="busy with other visitors' timelines .*try again in a minute"), gate.turn():
        pass
    assert time.monotonic() - t0 < 1.0  # refused at once, not after a wait
    release.set()
    for t in threads:
        t.join(10)
    assert log == [("first", "ran"), ("second", "ran"), ("third", "ran")]  # first come, first served
    assert gate.counts == (0, 0)


def test_a_waiting_job_gives_up_after_the_longest_wait_and_leaves_the_line():
    gate = JobGate("comparisons", running=1, waiting=1, max_wait_s=0.2)
    release, log = threading.Event(), []
    holder = _holding(gate, release, log, "first")
    _until(lambda: gate.counts == (1, 0))
    waiter = _holding(gate, release, log, "second")
    waiter.join(10)
    assert log[1][0] == "second" and "no turn came free within" in log[1][1]
    assert gate.counts == (1, 0)  # the line is empty again: the next one waits rather than being refused
    release.set()
    holder.join(10)
    with gate.turn():
        assert gate.counts == (1, 0)


def test_a_job_that_fails_frees_its_turn():
    gate = JobGate("timelines", running=1, waiting=0, max_wait_s=1)
    with pytest.raises(ZeroDivisionError), gate.turn():
        raise ZeroDivisionError
    with gate.turn():
        assert gate.counts == (1, 0)


def test_gate_sizes_are_checked():
    with pytest.raises(ValueError, match="running >= 1"):
        JobGate("timelines", running=0, waiting=1, max_wait_s=1)


@pytest.mark.slow
def test_over_http_a_visitor_past_the_bound_is_told_busy_and_analysis_stays_open(tiny_ckpt, embeddings, monkeypatch):
    """Two timelines hold the timeline gate (one running, one waiting): a third visitor's timeline is refused with a
    message, and /analyse still answers meanwhile (it passes no gate)."""
    from conftest import _free_port
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    from app import app_allowed_roots, build_app, queued
    from merclip.studio import Studio

    example = "assets/examples/happy_surprised.mp4"
    studio = Studio(tiny_ckpt, embeddings, device="cpu", allowed_roots=app_allowed_roots())
    release = threading.Event()

    def slow_timeline(video, srt=None, progress=None):  # stands in for a 10-minute timeline
        release.wait(60)
        return [[0.0, 1.0, "words"]], "1 utterance"

    monkeypatch.setattr(studio, "timeline_utterances", slow_timeline)
    jobs = LongJobs(timeline=JobGate("timelines", running=1, waiting=1, max_wait_s=60))
    port = _free_port()
    demo = queued(build_app(studio, jobs))
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        held = [client.submit(handle_file(example), None, api_name="/timeline_utterances")]
        _until(lambda: jobs.timeline.counts == (1, 0), 60)
        held.append(client.submit(handle_file(example), None, api_name="/timeline_utterances"))
        _until(lambda: jobs.timeline.counts == (1, 1), 60)
        with pytest.raises(AppError, match="busy with other visitors' timelines .*try again in a minute"):
            client.predict(handle_file(example), None, api_name="/timeline_utterances")
        out = client.predict(handle_file(example), "what a wonderful time", None, None, "emotion", "word", "",
                             "Emotion", [], "mean", api_name="/analyse")
        assert "**Predicted:**" in out[1]
        release.set()
        assert [job.result(timeout=60)[1] for job in held] == ["1 utterance"] * 2
    finally:
        release.set()
        demo.close()
