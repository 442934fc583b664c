"""Nothing the served app keeps grows with use: timelines go after an hour unused, with their files; the folders
gradio's delete_cache empties go too; the app runs both on a timer (merclip.studio.housekeeping)."""
import asyncio
import os
import time

import pytest

from merclip.serving.timeline import Timeline, TimelineRow
from merclip.studio import StudioError
from merclip.studio.housekeeping import every, remove_empty_folders
from merclip.studio.timeline import TimelineStore


def _scored(name: str) -> Timeline:
    row = TimelineRow(1, 0.0, 2.0, f"{name} words", {"emotion": {"happy": 0.75}}, {"emotion": ["happy"]}, {}, [])
    return Timeline(f"/uploads/{name}.mp4", 2.0, "srt", "the .srt", {"emotion": ["happy"]}, [row], [], {})


def test_timelines_unused_for_an_hour_go_with_their_files_even_when_not_evicted():
    now = [0.0]
    store = TimelineStore(kept=4, max_age_s=3600, clock=lambda: now[0])
    first = store.add(_scored("a"))
    now[0] = 1800.0
    second = store.add(_scored("b"))
    now[0] = 3000.0
    assert store.get(first[0]).rows[0].text == "a words"  # used again: its hour starts over
    now[0] = 5500.0  # b unused for 3700 s, a for 2500 s
    store.sweep()
    assert sorted(p.name for p in store.workdir.iterdir()) == [first[0]]
    assert not second[1].exists() and first[1].exists()
    with pytest.raises(StudioError, match="no longer in memory"):
        store.get(second[0])
    now[0] = 6601.0  # nothing calls sweep: a use finds it gone all the same
    with pytest.raises(StudioError, match="no longer in memory"):
        store.get(first[0])
    assert list(store.workdir.iterdir()) == []
    store.close()


def test_only_old_empty_folders_are_removed(tmp_path):
    hour_ago = time.time() - 3700
    old_empty, old_full, new_empty = (tmp_path / n for n in ("3f2a", "9c1b", "77d0"))
    for folder in (old_empty, old_full, new_empty):
        folder.mkdir()
    (old_full / "clip.mp4").write_bytes(b"x")
    (tmp_path / "loose.txt").write_text("a file, not a folder")
    for path in (old_empty, old_full):
        os.utime(path, (hour_ago, hour_ago))
    assert remove_empty_folders(tmp_path, 3600) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["77d0", "9c1b", "loose.txt"]
    assert remove_empty_folders(tmp_path / "missing", 3600) == 0


def test_the_timer_runs_every_task_each_round_until_the_server_stops(caplog):
    calls = []

    def broken():
        calls.append("broken")
        raise OSError("disk gone")

    async def serve_a_while():
        async with every(0.02, [broken, lambda: calls.append("sweep")])(app=None):
            await asyncio.sleep(0.2)
        stopped_at = len(calls)
        await asyncio.sleep(0.1)
        return stopped_at

    stopped_at = asyncio.run(serve_a_while())
    assert calls.count("sweep") >= 3 and calls.count("broken") == calls.count("sweep")  # a failure stops nothing
    assert len(calls) == stopped_at  # no round after the server stopped
    assert "housekeeping task" in caplog.text and "disk gone" in caplog.text


def test_the_apps_timer_sweeps_the_studio_and_gradios_upload_folder(tiny_ckpt, embeddings, tmp_path, monkeypatch):
    """What `python app.py` runs while it serves: gradio's delete_cache on the same schedule, and a timer that lets
    go of unused timelines and removes the folders delete_cache emptied."""
    import app
    from merclip.studio import Studio
    from merclip.studio.housekeeping import MAX_AGE_S, SWEEP_EVERY_S

    studio = Studio(tiny_ckpt, embeddings, device="cpu")
    assert app.build_app(studio).delete_cache == (SWEEP_EVERY_S, MAX_AGE_S) and SWEEP_EVERY_S < MAX_AGE_S <= 3600
    now = [0.0]
    store = studio._timeline.store
    store._clock = lambda: now[0]
    token, csv_path, _ = store.add(_scored("a"))
    uploads = tmp_path / "gradio"
    (uploads / "3f2a").mkdir(parents=True)
    os.utime(uploads / "3f2a", (time.time() - MAX_AGE_S - 60,) * 2)
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(uploads))
    monkeypatch.setattr(app, "SWEEP_EVERY_S", 0.02)
    now[0] = MAX_AGE_S + 1

    async def serve_a_while():
        async with app.housekeeping(studio)(None):
            await asyncio.sleep(0.3)

    asyncio.run(serve_a_while())
    assert not csv_path.exists() and list(uploads.iterdir()) == []
    with pytest.raises(StudioError, match="no longer in memory"):
        studio.timeline_redraw(token, "emotion")
