import json
import math
import os

import av
import numpy as np
import open_clip
import pytest
import torch
from conftest import make_clip

from merclip import media
from merclip.config import MediaConfig

MEAN, STD = open_clip.OPENAI_DATASET_MEAN, open_clip.OPENAI_DATASET_STD


def load(path, transcript="hello there", **cfg):
    return media.load_clip(path, transcript, MediaConfig(**cfg), MEAN, STD)


@pytest.mark.parametrize("seconds,expected", [(0.5, 1), (2.0, 1), (5.0, 3), (61.0, 31), (4.0, 2), (4.01, 3)])
def test_audio_segment_count_formula(seconds, expected):
    assert media.num_audio_segments(seconds) == expected == max(1, math.ceil(seconds / 2 - 1e-9))


@pytest.mark.parametrize("name,t_a", [("0.5s", 1), ("2s", 1), ("5s", 3)])
def test_clip_tensors_shapes(clips, name, t_a):
    c = load(clips[name])
    assert c.frames.shape == (12, 3, 224, 224)
    assert c.audio.shape == (t_a, 3, 224, 224)
    assert c.present == {"V": True, "A": True, "L": True}
    # CLIP-normalised: an image in [0,1] maps into roughly [-1.8, 2.2]
    assert c.frames.min() >= -1.8 and c.frames.max() <= 2.2


def test_sixty_one_second_clip_refused_then_measured_and_windowed(tmp_path):
    path = make_clip(tmp_path / "long.mp4", 61.0, fps=1, size=(32, 32))
    with pytest.raises(media.MediaTooLongError) as err:
        load(path)
    assert "61.0 s" in str(err.value) and "limit is 60 s" in str(err.value)
    full = load(path, max_seconds=120, audio_segments="all")
    assert full.audio.shape[0] == 31
    windowed = load(path, long_clip="window", audio_segments="all")
    assert windowed.audio.shape[0] == 30 and "first 60 s" in windowed.notes[0]
    assert load(path, long_clip="window").audio.shape[0] == 12  # the paper's regularly selected 12 (sec. 4.3)


def test_a_forty_second_clip_gives_twelve_regularly_selected_audio_segments(tmp_path):
    """Sec. 4.3: "For the visual and audio encoders, we use the regularly selected 12 frames": 20 two-second segments
    become 12, the segment at the centre of each twelfth of the clip; "all" keeps the 20 (ceil(40 / 2))."""
    path = make_clip(tmp_path / "forty.mp4", 40.0, fps=1, size=(32, 32))
    assert load(path).audio.shape == (12, 3, 224, 224)
    assert load(path, audio_segments="all").audio.shape == (20, 3, 224, 224)
    chosen = media.audio_segment_indices(40.0, MediaConfig())
    assert chosen == [math.floor((i + 0.5) * 20 / 12) for i in range(12)] == [0, 2, 4, 5, 7, 9, 10, 12, 14, 15, 17, 19]
    assert media.audio_segment_indices(20.0, MediaConfig()) == list(range(10))  # fewer than 12: all of them
    # the selected images are the "all" images of those segments (the loudest bin, the dB reference, lies in segment 0)
    rng = np.random.default_rng(0)
    wave = (0.1 * rng.standard_normal(40 * 16000)).astype(np.float32)
    wave[8000:8100] = 0.9
    picked = media.log_mel_unit(wave, MediaConfig())
    every = media.log_mel_unit(wave, MediaConfig(audio_segments="all"))
    assert picked.shape == (12, 1, 224, 224) and torch.allclose(picked, every[chosen], atol=1e-6)
    from merclip.serving.items import audio_labels

    labels = audio_labels(12, 40.0, MediaConfig())
    assert labels[:3] == ["0-2s", "4-6s", "8-10s"] and labels[-1] == "38-40s"
    with pytest.raises(ValueError, match="audio_segments must be"):
        MediaConfig(audio_segments=0)


def test_log_mel_image_is_a_spectrogram_of_the_tone():
    cfg = MediaConfig()
    t = np.arange(32000) / 16000
    low = media.log_mel_images((0.5 * np.sin(2 * np.pi * 200 * t)).astype(np.float32), cfg)
    high = media.log_mel_images((0.5 * np.sin(2 * np.pi * 4000 * t)).astype(np.float32), cfg)
    assert low.shape == high.shape == (1, 3, 224, 224)
    assert 0.0 <= low.min() and low.max() <= 1.0
    # rows are frequency, low frequencies at the bottom: the loudest row of a 200 Hz tone lies lower
    assert low[0, 0].mean(axis=1).argmax() > high[0, 0].mean(axis=1).argmax()
    assert np.allclose(low[0, 0], low[0, 2])  # three identical channels


def test_log_mel_images_are_librosas_melspectrogram_in_db():
    """media.log_mel_unit computes the log-mel images with torch (GIL-free, for the front end's pool); librosa's
    melspectrogram + power_to_db is the independent reference, to float32 rounding."""
    import librosa
    import torch
    import torch.nn.functional as F

    cfg = MediaConfig()
    for seed, seconds, gain in [(0, 3.0, 1.0), (1, 4.7, 0.01), (2, 2.0, 30.0)]:
        wave = (gain * np.random.default_rng(seed).standard_normal(int(seconds * cfg.sample_rate))).astype(np.float32)
        wave[: cfg.sample_rate // 2] *= 1e-5  # a quiet start, 100 dB down: the 80-dB floor clips there
        n_seg = media.num_audio_segments(seconds)
        segments = np.zeros((n_seg, 2 * cfg.sample_rate), np.float32)
        segments.reshape(-1)[: wave.size] = wave
        reference = librosa.feature.melspectrogram(y=segments, sr=cfg.sample_rate, n_fft=1024, hop_length=512,
                                                   n_mels=cfg.n_mels, fmax=cfg.sample_rate / 2)
        db = librosa.power_to_db(reference, ref=float(reference.max()), top_db=80.0)
        expected = F.interpolate(torch.from_numpy(((db + 80.0) / 80.0)[:, None, ::-1].copy()), size=(224, 224),
                                 mode="bilinear", align_corners=False)
        images = media.log_mel_images(wave, cfg)
        assert images.shape == (n_seg, 3, 224, 224)
        assert (expected[:, 0].numpy() < 1e-6).mean() > 0.01  # the floor is reached: its clipping is compared too
        np.testing.assert_allclose(images[:, 0], expected[:, 0].numpy(), rtol=0, atol=1e-5)
        assert np.array_equal(images[:, 0], images[:, 2])
    assert media.mel_basis(cfg.sample_rate, 1024, cfg.n_mels) is media.mel_basis(cfg.sample_rate, 1024, cfg.n_mels)


def test_single_threaded_blas_holds_openblas_to_one_thread_and_agrees_with_its_default():
    """media.single_threaded_blas runs the mel product on one BLAS thread (spinning OpenBLAS threads slowed the next
    video decode 3x); OpenBLAS's float sums depend on its thread count, so the two agree to float rounding."""
    from threadpoolctl import threadpool_info

    cfg = MediaConfig()
    power = np.random.default_rng(0).random((3, 513, 63)).astype(np.float32)
    basis = media.mel_basis(cfg.sample_rate, 1024, cfg.n_mels)
    default = np.einsum("...ft,mf->...mt", power, basis, optimize=True)
    with media.single_threaded_blas():
        numpys = [pool for pool in threadpool_info() if pool["user_api"] == "blas" and "numpy" in pool["filepath"]]
        assert numpys and all(pool["num_threads"] == 1 for pool in numpys)  # the BLAS np.einsum calls
        single = np.einsum("...ft,mf->...mt", power, basis, optimize=True)
    np.testing.assert_allclose(single, default, rtol=1e-5, atol=1e-6 * float(default.max()))


def test_frames_are_uniformly_spread(tmp_path):
    # a video whose brightness encodes the frame index: picked frames must increase evenly
    n = 60
    frames = np.stack([np.full((32, 32, 3), int(i * 255 / (n - 1)), np.uint8) for i in range(n)])
    from merclip.data.writer import write_video

    path = write_video(tmp_path / "ramp.mp4", frames, fps=10)
    picked = media.read_frames(path, 12, duration=6.0, max_seconds=60)
    levels = np.array([np.asarray(p).mean() for p in picked])
    assert np.all(np.diff(levels) > 0)
    assert levels[0] < 40 and levels[-1] > 215


def test_no_audio_track_is_allowed_and_reported(clips):
    c = load(clips["noaudio"])
    assert c.audio is None and c.present["A"] is False
    assert "no audio track" in c.notes[0]


def test_one_frame_video_repeats_its_frame(clips):
    c = load(clips["oneframe"])
    assert c.frames.shape[0] == 12
    assert all(np.allclose(c.frames[0], f) for f in c.frames)


@pytest.mark.parametrize(
    "name,error,text",
    [
        ("empty", media.EmptyMediaError, "empty (0 bytes)"),
        ("garbage", media.UnreadableMediaError, "not a readable media file"),
        ("png", media.UnsupportedFileTypeError, "unsupported file type '.png'"),
        ("wav", media.NoVideoStreamError, "has no video stream"),
    ],
)
def test_bad_media_errors_name_the_problem(clips, name, error, text):
    with pytest.raises(error) as err:
        load(clips[name])
    assert text in str(err.value) and clips[name].name in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(media.UnreadableMediaError, match="file not found"):
        load(tmp_path / "ghost.mp4")


def test_truncated_video_is_reported_as_corrupt_or_still_decodes(clips, tmp_path):
    data = clips["5s"].read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 3])  # moov atom at the end is lost
    with pytest.raises(media.MediaError):
        load(cut)


def test_transcripts_from_string_txt_and_srt(tmp_path):
    (tmp_path / "t.txt").write_text("  I really\nloved it  ")
    (tmp_path / "t.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nI really\n\n2\n00:00:01,000 --> 00:00:02,000\nloved it\n")
    assert media.read_transcript("I  really loved it") == "I really loved it"
    assert media.read_transcript_file(tmp_path / "t.txt") == "I really loved it"
    assert media.read_transcript_file(str(tmp_path / "t.srt")) == "I really loved it"
    assert media.read_transcript(None) == ""
    assert media.transcript_from(None, tmp_path / "t.srt") == "I really loved it"


def test_transcript_text_is_never_opened_whatever_it_looks_like(tmp_path):
    """Issue 13: text ending in .txt / .srt used to be read as a file (an arbitrary file read from the text box)."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET WORDS")
    for text in (str(secret), f"  {secret}  ", "I saved it as notes.txt", "/etc/hostname.txt", "clip.mp4"):
        assert media.read_transcript(text) == " ".join(text.split())
        assert "SECRET" not in media.transcript_from(text, None)
    with pytest.raises(TypeError, match="transcript_file"):
        media.read_transcript(secret)  # a Path is a file: it must come as transcript_file


def test_transcript_errors(tmp_path):
    with pytest.raises(media.TranscriptError, match=r"too long \(6000 characters; the limit is 5000\)"):
        media.read_transcript("a" * 6000, max_chars=5000)
    with pytest.raises(media.TranscriptError, match="transcript file not found: 'missing.txt'"):
        media.read_transcript_file(tmp_path / "missing.txt")
    (tmp_path / "bad.srt").write_text("this is not\na subtitle file")
    with pytest.raises(media.TranscriptError, match="not a valid .srt"):
        media.read_transcript_file(tmp_path / "bad.srt")
    (tmp_path / "broken_times.srt").write_text("1\n00:00:0x,000 --> 00:00:02,000\nhello\n\n")
    with pytest.raises(media.TranscriptError, match="broken_times.srt' is not a valid .srt"):
        media.read_transcript_file(tmp_path / "broken_times.srt")
    (tmp_path / "zero.txt").write_bytes(b"")
    with pytest.raises(media.TranscriptError, match=r"'zero.txt' is empty \(0 bytes\)"):
        media.read_transcript_file(tmp_path / "zero.txt")
    (tmp_path / "binary.txt").write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00" * 20)
    with pytest.raises(media.TranscriptError, match="'binary.txt' is a binary file"):
        media.read_transcript_file(tmp_path / "binary.txt")
    (tmp_path / "notes.pdf").write_bytes(b"%PDF-1.4\n")
    with pytest.raises(media.UnsupportedFileTypeError, match="'.pdf'"):
        media.read_transcript_file(tmp_path / "notes.pdf")
    with pytest.raises(media.TranscriptError, match="not both"):
        media.transcript_from("typed words", tmp_path / "zero.txt")


def test_empty_transcript_means_language_absent(clips):
    c = load(clips["2s"], transcript="   ")
    assert c.present["L"] is False and any("language modality absent" in n for n in c.notes)


def test_file_size_limit_refuses_before_decoding(clips):
    size_mb = clips["5s"].stat().st_size / 2**20
    with pytest.raises(media.FileTooLargeError, match=r"five.mp4' is .* MB; the limit is 0.001 MB"):
        load(clips["5s"], max_file_mb=0.001)
    assert load(clips["5s"], max_file_mb=size_mb * 2).frames is not None


@pytest.mark.parametrize("seconds,fps,gop,preset", [
    (6.0, 10, 5, "ultrafast"),   # a keyframe every half second
    (6.0, 10, 7, "medium"),      # B-frames reordered around irregularly placed targets
    (3.0, 25, None, "ultrafast"),  # x264's default: a single keyframe, nothing to seek to
    (0.1, 10, 1, "ultrafast"),   # one frame, repeated
])
def test_seeking_frame_sampler_picks_exactly_the_frames_of_a_full_decode(tmp_path, seconds, fps, gop, preset):
    from merclip.data.writer import write_video

    n = max(1, int(seconds * fps))
    frames = np.zeros((n, 32, 48, 3), np.uint8)
    frames[:, :, :, 0] = (np.arange(n) * 251 // max(1, n - 1)).astype(np.uint8)[:, None, None]  # frame i: red = f(i)
    for i in range(n):
        frames[i, : 4 + i % 20, 0, 1] = 255  # and a bar whose length changes with i
    path = write_video(tmp_path / "clip.mp4", frames, fps=fps, keyframe_interval=gop, preset=preset)
    info = media.probe(path)
    for num_frames in (12, 5):
        seeking = media.read_frames(path, num_frames, info.duration, 60, seek=True)
        full = media.read_frames(path, num_frames, info.duration, 60, seek=False)
        assert [np.asarray(a).tobytes() == np.asarray(b).tobytes() for a, b in zip(seeking, full)] == [True] * num_frames
    if gop == 5:  # and seeking did happen: targets 1 s apart, keyframes every 0.5 s
        assert len(media.keyframe_times(path, info.duration)) >= 10


def test_a_seek_that_misses_its_keyframe_falls_back_to_decoding_from_the_start(tmp_path, monkeypatch):
    """A container with a poor index (here: keyframe times that are no keyframes) lands a seek elsewhere: the sampler
    turns seeking off and still picks the frames of a full decode."""
    from merclip.data.writer import write_video
    from merclip.media import frames as frames_module

    frames = (np.arange(60)[:, None, None, None] * 4 + np.zeros((60, 32, 48, 3))).astype(np.uint8)
    path = write_video(tmp_path / "clip.mp4", frames, fps=10, keyframe_interval=20)
    full = media.read_frames(path, 4, 6.0, 60, seek=False)
    monkeypatch.setattr(frames_module, "keyframe_times", lambda path, stop_after: [0.0, 1.05, 2.55, 4.05])
    with media.FrameSampler(path, 6.0, min_seek_gap=0.0) as sampler:
        missed = sampler.sample(0.0, 6.0, 4)
        assert sampler.seeks == 1 and sampler.min_seek_gap is None
    assert [np.asarray(a).tobytes() for a in missed] == [np.asarray(b).tobytes() for b in full]


@pytest.mark.parametrize("exact", [True, False])
def test_frames_to_tensor_matches_open_clips_eval_preprocessing(monkeypatch, exact):
    """Against open_clip's own eval transform (resize shortest side, bicubic; centre crop; normalise), also where the
    resized long side is fractional (320x240 -> 298.67) or the crop offset odd, on white noise (the worst case for a
    resize's rounding): with EXACT_RESIZE (PIL's resize) the same pixels; by default (torch's uint8 bicubic) within
    2 uint8 levels, on at most 1% of the values."""
    import open_clip
    from PIL import Image

    from merclip.media import frames as frames_module

    monkeypatch.setattr(frames_module, "EXACT_RESIZE", exact)
    rng = np.random.default_rng(0)
    mean, std = open_clip.OPENAI_DATASET_MEAN, open_clip.OPENAI_DATASET_STD
    transform = open_clip.image_transform(224, is_train=False, mean=mean, std=std)
    for size in ((150, 112), (112, 112), (320, 240), (241, 320), (225, 224), (640, 480), (480, 854)):
        frames = [Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)) for _ in range(3)]
        ours = media.frames_to_tensor(frames, 224, mean, std)  # (3, 3, 224, 224)
        theirs = torch.stack([transform(f) for f in frames])
        assert ours.shape == theirs.shape == (3, 3, 224, 224) and ours.is_contiguous()
        if exact:
            torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=0)
            continue
        levels = (ours - theirs).abs() * torch.tensor(std).view(3, 1, 1) * 255  # (3, 3, 224, 224) uint8 levels
        assert levels.max() < 2 + 1e-3, size
        assert (levels > 0.5).float().mean() <= 0.01, size


def test_cache_workers_run_one_thread_each_and_decode_the_same_frames(tmp_path):
    """build_cache's worker initializer caps FFmpeg, torch and both OpenBLAS pools at one thread (a pool of one
    process per core must not start cores^2 threads), and a one-thread decoder picks byte-identical frames."""
    import subprocess
    import sys

    from merclip.data.writer import write_video

    probe = ("import json; from threadpoolctl import threadpool_info; import numpy, scipy.linalg, torch;"
             "from merclip.data.features import one_thread_per_worker; from merclip import media;"
             "one_thread_per_worker();"
             "print(json.dumps([torch.get_num_threads(), media.FRAME_POOL.threads,"
             " sorted({p['num_threads'] for p in threadpool_info()})]))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [1, 1, [1]]

    frames = (np.arange(40)[:, None, None, None] * 6 + np.zeros((40, 32, 48, 3))).astype(np.uint8)
    path = write_video(tmp_path / "clip.mp4", frames, fps=10, keyframe_interval=5)
    default = media.read_frames(path, 12, 4.0, 60)
    media.set_threads(1)
    try:
        single = media.read_frames(path, 12, 4.0, 60)
    finally:
        media.set_threads(0)
    assert [np.asarray(a).tobytes() for a in single] == [np.asarray(b).tobytes() for b in default]


def test_a_forked_dataloader_worker_decodes_with_a_pool_of_its_own(tmp_path):
    """The frame pool's threads do not survive a fork: a DataLoader worker (forked) that reused the parent's pool
    would wait forever, so it makes its own and decodes what the parent decodes."""
    import multiprocessing as mp

    from merclip.data.writer import write_video

    frames = (np.arange(20)[:, None, None, None] * 12 + np.zeros((20, 64, 48, 3))).astype(np.uint8)
    path = write_video(tmp_path / "clip.mp4", frames, fps=10)
    parent = _clip_frames(str(path))  # the parent's pool now exists (on a machine with more than one core)
    loader = torch.utils.data.DataLoader(_ClipFrames([str(path)]), num_workers=1, batch_size=None,
                                         multiprocessing_context=mp.get_context("fork"), timeout=60)
    (child_had_no_pool, child), = list(loader)
    assert child_had_no_pool and np.array_equal(child.numpy(), parent)


def _clip_frames(path: str) -> np.ndarray:
    return media.load_clip(path, "hi", MediaConfig(num_frames=4), (0.5,) * 3, (0.5,) * 3).frames.numpy()


class _ClipFrames(torch.utils.data.Dataset):
    def __init__(self, paths):
        self.paths = paths

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        had_no_pool = not media.FRAME_POOL.started  # forgotten at the fork
        return had_no_pool, torch.from_numpy(_clip_frames(self.paths[i]))


def test_pipelined_video_inputs_equal_the_plain_order_exactly(tmp_path):
    """load_clip resizes and normalises each frame on the pool as it is decoded (media.video_inputs); the tensor and
    thumbnails must be those of read_frames then frame_inputs, also for a clip with fewer frames than targets (a
    repeated frame fills several slots), under inference mode (the pool's threads have their own mode) and with no
    pool (one thread: the frames are resized after decoding)."""
    from merclip.data.writer import write_video

    rng = np.random.default_rng(3)
    cfg = MediaConfig(num_frames=12)
    for n_frames, size in ((40, (80, 64)), (5, (64, 64))):  # 5 frames for 12 targets: slots repeat
        frames = rng.integers(0, 256, (n_frames, size[1], size[0], 3), dtype=np.uint8)
        path = write_video(tmp_path / f"clip{n_frames}.mp4", frames, fps=10)
        duration = media.probe(path).duration
        plain, plain_thumbs, _ = media.frame_inputs(media.read_frames(path, 12, duration, 60), cfg, MEAN, STD)
        with torch.inference_mode():
            piped, piped_thumbs, notes = media.video_inputs(path, duration, cfg, MEAN, STD)
        assert media.FRAME_POOL.executor() is not None or os.cpu_count() == 1  # the pipelined path ran
        media.set_threads(1)
        try:
            alone, alone_thumbs, _ = media.video_inputs(path, duration, cfg, MEAN, STD)
        finally:
            media.set_threads(0)
        for tensor, thumbs in ((piped, piped_thumbs), (alone, alone_thumbs)):
            assert torch.equal(tensor, plain) and not notes
            assert [np.asarray(t).tobytes() for t in thumbs] == [np.asarray(t).tobytes() for t in plain_thumbs]
        if n_frames == 5:
            assert torch.equal(piped[0], piped[1])  # a repeated frame


def test_frame_image_has_the_pixels_of_pyavs_to_image(tmp_path):
    from merclip.data.writer import write_video

    frames = np.random.default_rng(4).integers(0, 256, (6, 48, 64, 3), dtype=np.uint8)
    path = write_video(tmp_path / "clip.mp4", frames, fps=10)
    from av.video.reformatter import VideoReformatter

    shared = VideoReformatter()
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            reference = np.asarray(frame.to_image())
            assert np.array_equal(np.asarray(media.frame_image(frame)), reference)
            assert np.array_equal(np.asarray(media.frame_image(frame, shared)), reference)


def test_read_audio_is_ffmpegs_resampled_track(tmp_path):
    """Against PyAV's own resampler output collected the plain way (a list of frames concatenated)."""
    from merclip.data.writer import write_video

    rng = np.random.default_rng(5)
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(3 * 22050) / 22050) + 0.01 * rng.standard_normal(3 * 22050))
    path = write_video(tmp_path / "clip.mp4", np.zeros((30, 32, 32, 3), np.uint8), fps=10,
                       audio=tone.astype(np.float32), sample_rate=22050)
    resampler, chunks = av.AudioResampler(format="fltp", layout="mono", rate=16000), []
    with av.open(str(path)) as container:
        for frame in container.decode(container.streams.audio[0]):
            chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(frame)]
        chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    reference = np.concatenate(chunks)
    assert np.array_equal(media.read_audio(path, 16000, 60.0), reference)
    assert np.array_equal(media.read_audio(path, 16000, 1.5), reference[:24000])


def test_offloaded_work_runs_exactly_once_here_or_on_the_pool():
    """media.Offloaded: work no pool thread has started is taken back by the caller (who would only wait), work
    already started is waited for; either way fn runs once and result() gives its value."""
    import concurrent.futures as cf
    import threading

    calls, gate = [], threading.Event()
    with cf.ThreadPoolExecutor(1) as pool:
        blocker = media.Offloaded(pool, gate.wait, 10)  # holds the pool's only thread
        queued = media.Offloaded(pool, lambda: calls.append(threading.current_thread().name) or "queued")
        queued.take_back()  # not started: runs here
        assert calls == [threading.current_thread().name] and queued.result() == "queued"
        gate.set()
        assert blocker.result() is True
        started = media.Offloaded(pool, lambda: calls.append(threading.current_thread().name) or "pool")
        assert started.future.result(timeout=10) == "pool"  # done on the pool before it is asked for
        started.take_back()
        assert started.result() == "pool" and len(calls) == 2 and calls[1] != calls[0]
    lazy = media.Offloaded(None, lambda: calls.append("lazy") or 3)
    assert calls[-1] != "lazy" and lazy.result() == 3 and lazy.result() == 3 and calls.count("lazy") == 1
