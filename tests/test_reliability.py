"""Bad-input corpus through Predictor, the Studio functions and the HTTP API; media property tests."""
from __future__ import annotations

import os
import re
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from conftest import SAMPLE_RATE, make_clip, tone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from merclip import media
from merclip.config import MediaConfig
from merclip.data.writer import write_video, write_wav
from merclip.serving.predictor import Predictor


def _audio_only_mp4(path: Path) -> Path:
    with av.open(str(path), "w") as c:
        s = c.add_stream("aac", rate=SAMPLE_RATE)
        s.layout = "mono"
        a = tone(1.0)
        for start in range(0, len(a), 1024):
            f = av.AudioFrame.from_ndarray(a[start:start + 1024].reshape(1, -1), format="fltp", layout="mono")
            f.sample_rate, f.pts, f.time_base = SAMPLE_RATE, start, Fraction(1, SAMPLE_RATE)
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, clips):
    d = tmp_path_factory.mktemp("corpus")
    rng = np.random.default_rng(0)
    good = clips["5s"].read_bytes()
    (d / "zero.mp4").write_bytes(b"")
    (d / "truncated.mp4").write_bytes(good[: len(good) // 3])
    Image.fromarray(rng.integers(0, 255, (120, 160, 3), np.uint8)).save(d / "still.png")  # a still image, generated
    (d / "image.mp4").write_bytes((d / "still.png").read_bytes())
    (d / "still.png").unlink()
    (d / "notes.pdf").write_bytes(b"%PDF-1.4\n")
    (d / "cp1252.txt").write_bytes("it was na\xefve and \x93great\x94".encode("latin-1"))
    out = {p.stem: p for p in d.iterdir()}
    out["audio_only"] = _audio_only_mp4(d / "audio_only.mp4")
    out["oneframe"] = clips["oneframe"]
    out["short"] = make_clip(d / "short.mp4", 0.2, fps=25, seed=5)
    out["ten_minutes"] = write_video(d / "ten_minutes.mp4", rng.integers(0, 255, (600, 16, 16, 3), np.uint8), fps=1)
    out["fourk"] = write_video(d / "fourk.mp4", rng.integers(0, 255, (2, 2160, 3840, 3), np.uint8), fps=2,
                               audio=tone(1.0))
    out["odd_fps"] = write_video(d / "odd_fps.mp4", rng.integers(0, 255, (21, 48, 64, 3), np.uint8), fps=7,
                                 audio=tone(3.0))
    for rate in (8000, 44100, 48000):
        t = np.arange(rate * 2) / rate
        out[f"sr{rate}"] = write_video(d / f"sr{rate}.mp4", rng.integers(0, 255, (20, 32, 32, 3), np.uint8), fps=10,
                                       audio=(0.3 * np.sin(2 * np.pi * 300 * t)).astype(np.float32), sample_rate=rate)
    out["silent"] = write_video(d / "silent.mp4", rng.integers(0, 255, (20, 32, 32, 3), np.uint8), fps=10,
                                audio=np.zeros(2 * SAMPLE_RATE, np.float32))
    out["wav_u8"] = write_wav(d / "voice_u8.wav", tone(2.0), sample_format="u8")
    out["wav_f32"] = write_wav(d / "voice_f32.wav", tone(2.0), sample_rate=22050, sample_format="f32")
    return out


ERRORS = [  # corpus item -> (error type, words the message must contain)
    ("zero", media.EmptyMediaError, r"zero.mp4' is empty \(0 bytes\)"),
    ("truncated", media.MediaError, "truncated.mp4"),
    ("image", media.UnsupportedFileTypeError, r"image.mp4' is a still image \(png\), not a video clip"),
    ("notes", media.UnsupportedFileTypeError, "unsupported file type '.pdf'"),
    ("audio_only", media.NoVideoStreamError, "audio_only.mp4' has no video stream"),
    ("ten_minutes", media.MediaTooLongError, r"ten_minutes.mp4' is 600.0 s long; the limit is 60 s"),
]
GOOD = ["oneframe", "short", "fourk", "odd_fps", "sr8000", "sr44100", "sr48000", "silent"]


@pytest.fixture(scope="module")
def predictor(tiny_ckpt):
    return Predictor.from_checkpoint(tiny_ckpt, device="cpu")


@pytest.mark.parametrize("name,error,text", ERRORS)
def test_bad_media_through_predictor(predictor, corpus, name, error, text):
    with pytest.raises(error, match=text):
        predictor.predict(corpus[name], "hello")


@pytest.mark.parametrize("name", GOOD)
def test_unusual_but_valid_media_give_results(predictor, corpus, name):
    r = predictor.predict(corpus[name], "hello")
    assert len(r.probabilities) == 6 and all(np.isfinite(list(r.probabilities.values())))
    assert r.present["vision"] and r.present["audio"]
    expected_segments = media.num_audio_segments(media.probe(corpus[name]).duration)
    assert [a.weights.shape[1] for a in r.attention if a.modality == "A"] == [expected_segments]


@pytest.mark.parametrize("wav", ["wav_u8", "wav_f32"])
def test_separate_8bit_and_float_audio(predictor, corpus, clips, wav):
    r = predictor.predict(clips["noaudio"], "hello", audio=corpus[wav])
    assert r.present["audio"] and r.attention[2].weights.shape[1] == 1


def test_transcripts_non_utf8_and_ten_thousand_words(predictor, corpus, clips):
    with pytest.raises(media.TranscriptError, match="cp1252.txt' is not UTF-8 text"):
        predictor.predict(clips["2s"], transcript_file=corpus["cp1252"])
    r = predictor.predict(clips["2s"], " ".join(["word"] * 10_000))
    assert any("77-token context" in n for n in r.notes)


@pytest.mark.parametrize("labels,ok,text", [
    ([], False, "at least 2 non-empty labels"),
    (["joy"], False, "at least 2 non-empty labels"),
    (["joy", "joy"], False, "duplicates"),
    ([f"label number {i}" for i in range(100)], True, None),
    (["joie", "悲しみ", "😀 delighted", "Zorn"], True, None),
])
def test_label_sets(predictor, clips, labels, ok, text):
    if ok:
        r = predictor.predict(clips["2s"], "hi", labels=labels)
        assert list(r.probabilities) == labels
    else:
        with pytest.raises(ValueError, match=text):
            predictor.predict(clips["2s"], "hi", labels=labels)


@pytest.mark.parametrize("name,error,text", ERRORS[:5])
def test_bad_media_through_studio(studio, corpus, name, error, text):
    with pytest.raises(ValueError, match=text):
        studio.analyse(str(corpus[name]), "hello")


def test_bad_media_through_api_and_server_survives(served, corpus, clips):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    client = Client(served, verbose=False)
    args = (None, None, "emotion", "word", "", "Emotion", [], "mean")
    for name, _, text in ERRORS:
        with pytest.raises(AppError) as err:
            client.predict(handle_file(str(corpus[name])), "hi", *args, api_name="/analyse")
        assert re.search(text, str(err.value)), (name, str(err.value))
    with pytest.raises(AppError, match="at least 2 non-empty labels"):
        client.predict(handle_file(str(clips["2s"])), "hi", None, None, "emotion", "custom", "one", "Emotion", [], "mean",
                       api_name="/analyse")
    ok = client.predict(handle_file(str(corpus["short"])), "hi", *args, api_name="/analyse")
    assert len(ok[2]) == 6


def test_api_cannot_read_files_outside_uploads(served):
    """Path traversal over raw HTTP (gradio_client would upload a local file instead): server paths are refused."""
    import httpx

    base = f"{served}gradio_api/call/analyse"
    for path in ("/etc/passwd", str(Path(__file__).resolve().parents[1] / "assets" / ".." / "README.md")):
        payload = {"data": [{"path": path, "meta": {"_type": "gradio.FileData"}}, "hi", None, None, "emotion", "word",
                            "", "Emotion", [], "mean"]}
        event = httpx.post(base, json=payload).json()["event_id"]
        stream = httpx.get(f"{base}/{event}", timeout=30).text
        assert "event: error" in stream and "root:" not in stream


def test_studio_refuses_paths_outside_its_roots(tiny_ckpt, embeddings, clips, tmp_path):
    """Defence in depth: the app's Studio reads only uploads and assets/, whatever reaches it."""
    from app import app_allowed_roots
    from merclip.studio import Studio, StudioError

    guarded = Studio(tiny_ckpt, embeddings, device="cpu", allowed_roots=app_allowed_roots())
    with pytest.raises(StudioError, match="two.mp4' is not an uploaded file"):
        guarded.analyse(str(clips["2s"]), "hi")
    with pytest.raises(StudioError, match="is not an uploaded file"):
        guarded.analyse(str(Path(__file__).resolve().parents[1] / "assets" / "examples" / "neutral.mp4"), "hi",
                        transcript_file="/etc/hostname.txt")
    example = Path(__file__).resolve().parents[1] / "assets" / "examples" / "neutral.mp4"
    assert len(guarded.analyse(str(example), "hi").result.probabilities) == 6


def test_predictions_leave_no_temporary_files(predictor, corpus, clips, monkeypatch, tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setenv("TMPDIR", str(scratch))
    for name in ("short", "silent"):
        predictor.predict(corpus[name], "hello", query_word="Mood")
    for name, *_ in ERRORS:
        with pytest.raises(ValueError):
            predictor.predict(corpus[name], "hello")
    assert os.listdir(scratch) == []


@settings(max_examples=12, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fixed examples: CI must not flake
@given(seconds=st.floats(0.1, 6.0), fps=st.integers(1, 30), rate=st.sampled_from([8000, 16000, 22050, 44100]),
       height=st.integers(8, 120).map(lambda h: 2 * h), width=st.integers(8, 120).map(lambda w: 2 * w),
       audio=st.booleans(), num_frames=st.integers(1, 12))
def test_media_front_end_property(tmp_path_factory, seconds, fps, rate, height, width, audio, num_frames):
    """Any duration/fps/sample rate/resolution gives the documented shapes (or the documented too-long error)."""
    d = tmp_path_factory.mktemp("prop")
    n = max(1, int(round(seconds * fps)))
    frames = np.random.default_rng(0).integers(0, 255, (n, height, width, 3), np.uint8)
    t = np.arange(int(seconds * rate)) / rate
    wave = (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32) if audio else None
    path = write_video(d / "p.mp4", frames, fps=fps, audio=wave, sample_rate=rate)
    cfg = MediaConfig(num_frames=num_frames, max_seconds=5.0)
    info = media.probe(path)
    if info.duration > cfg.max_seconds:
        with pytest.raises(media.MediaTooLongError, match="limit is 5 s"):
            media.load_clip(path, "x", cfg, (0, 0, 0), (1, 1, 1))
        return
    clip = media.load_clip(path, "x", cfg, (0, 0, 0), (1, 1, 1))
    assert clip.frames.shape == (num_frames, 3, 224, 224)
    assert 0.0 <= float(clip.frames.min()) and float(clip.frames.max()) <= 1.0
    if audio:
        assert clip.audio.shape == (media.num_audio_segments(clip.duration), 3, 224, 224)
    else:
        assert clip.audio is None
