"""Decode a talking clip into the model's inputs, validating it on the way.

Vision: `num_frames` uniformly spaced RGB frames (paper: 12), CLIP-preprocessed.
Audio: the audio track resampled to 16 kHz mono, cut into 2-s segments (the last one zero-padded),
each a 224-bin log-mel spectrogram (64 ms window, 32 ms hop) resized to a 224x224 image and
repeated over 3 channels, so that the audio tower can start from CLIP's image weights;
T_A = ceil(duration / 2).
Language: a transcript string (`transcript`), or a .txt / .srt file (`transcript_file`). The two are separate
parameters on purpose: text is never opened as a file, whatever it looks like ("I saved it as notes.txt" is words
to encode, and a typed server path is only a string), so only the caller's own file argument is ever read.

Every failure is a `MediaError` subclass whose message names the file and the problem, so that the
app can show it as-is. A missing audio track is not an error: the audio modality is then absent.
"""
from __future__ import annotations

import concurrent.futures as cf
import functools
import math
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import av
import librosa
import numpy as np
import torch
import torch.nn.functional as F
from av.video.reformatter import VideoReformatter
from PIL import Image

from ..config import MediaConfig
from ..errors import UserError
from .decoded import ClipInputs, normalise_images  # noqa: F401 (re-exported: media.ClipInputs)

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v", ".mpg", ".mpeg", ".ogv")
AUDIO_SUFFIXES = (".wav", ".mp3", ".flac", ".m4a", ".ogg", ".aac", ".opus")
TRANSCRIPT_SUFFIXES = (".txt", ".srt")


class MediaError(UserError):
    """Base class: the input clip cannot be used; the message says why."""


class UnsupportedFileTypeError(MediaError):
    pass


class UnreadableMediaError(MediaError):
    pass


class EmptyMediaError(MediaError):
    pass


class NoVideoStreamError(MediaError):
    pass


class MediaTooLongError(MediaError):
    pass


class TranscriptError(MediaError):
    pass


class FileTooLargeError(MediaError):
    pass


@dataclass
class MediaInfo:
    path: Path
    duration: float
    has_video: bool
    has_audio: bool


def num_audio_segments(duration: float, segment_seconds: float = 2.0) -> int:
    """T_A = ceil(tau / segment length), at least one segment for any non-empty clip."""
    return max(1, math.ceil(round(duration / segment_seconds, 6)))


_THREADS = 0  # 0: FFmpeg's own decoder threads and a small pool for the per-frame work; 1: one thread for all


def set_threads(n: int) -> None:
    """Threads this process's front end may use: 0 (the default) lets FFmpeg pick its decoder threads (one per
    core) and resizes frames on a small thread pool beside the calling thread; n >= 1 uses n decoder threads and
    n threads for the frames (the caller and n - 1 pool threads).

    Why: a pool of decoding processes, one per core (merclip.data.features.build_cache), where each process also
    starts a thread per core, runs cores^2 threads; its workers set 1."""
    global _THREADS, _POOL
    _THREADS = max(0, int(n))
    with _POOL_LOCK:
        if _POOL is not None:
            _POOL.shutdown(wait=False)
        _POOL = None


_POOL: cf.ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _forget_pool_after_fork() -> None:
    """A forked child (a DataLoader worker, say) inherits the pool object but none of its threads: work submitted
    there would wait forever, so the child starts without one and makes its own."""
    global _POOL, _POOL_LOCK
    _POOL, _POOL_LOCK = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool_after_fork)


def _pool_workers() -> int:
    """Threads the frame pool runs beside the caller: one fewer than the cores (at most 3), since the caller works
    too, decoding while the pool resizes (`video_inputs`) or taking its share of the frames (`_map_sharing`).
    Measured on the 2-core build machine at 640x480: `load_clip` took 84-103 ms with one pool thread against 97-114
    ms with two, whose extra thread only took turns on the cores with the decoder (docs/benchmarks.md)."""
    return (_THREADS or min(4, os.cpu_count() or 1)) - 1


def _frame_pool() -> cf.ThreadPoolExecutor | None:
    """The shared pool for per-frame work, or None where the front end runs on one thread. PIL's resize releases the
    GIL, so frames resize in parallel: measured 55 -> 35 ms for twelve 640x480 frames on 2 cores (docs/benchmarks.md)."""
    global _POOL
    workers = _pool_workers()
    if workers < 1:
        return None
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = cf.ThreadPoolExecutor(workers, thread_name_prefix="merclip-frames", initializer=_one_openmp_thread)
        return _POOL


class _Offloaded:
    """fn(*args) handed to the frame pool, which the caller takes back where no pool thread has started it by the time
    the caller is free (`take_back`), since the caller would otherwise only wait. It takes the newest work first while
    the pool takes the oldest. With no pool, fn runs when its result is asked for."""

    _UNSET = object()

    def __init__(self, pool: cf.ThreadPoolExecutor | None, fn, *args):
        self.fn, self.args, self.value = fn, args, self._UNSET
        self.future = pool.submit(fn, *args) if pool is not None else None

    def take_back(self) -> None:
        if self.value is self._UNSET and (self.future is None or self.future.cancel()):
            self.value = self.fn(*self.args)

    def result(self):
        if self.value is self._UNSET and self.future is not None and not self.future.cancelled():
            return self.future.result()
        self.take_back()
        return self.value


def _one_openmp_thread() -> None:
    """A pool thread runs its torch work (the frames' normalisation, the log-mel images) on itself alone.

    Why: torch gives every thread that runs a parallel op its own OpenMP team, whose threads spin a while after each
    op; a pool thread's team took the cores from the next clip's video decode. Measured on the 2-core build machine,
    back-to-back `load_clip` calls: 2.2-2.9x the bare-PyAV floor with the pool threads' own teams, 1.6-1.8x without
    (docs/benchmarks.md). OpenMP's thread count is per thread, so the caller's (and the model's) stay as they were."""
    torch.get_num_threads()  # torch sets this thread's OpenMP count on its first op: let it, then override it
    _threadpool_controller().select(user_api="openmp").limit(limits=1)


def _map_sharing(fn, items: list) -> list:
    """[fn(item) for item in items], spread over the frame pool's threads and this one (which would otherwise only
    wait): item i runs here when i is a multiple of (pool threads + 1)."""
    pool = _frame_pool()
    if pool is None or len(items) < 2:
        return [fn(item) for item in items]
    share = _pool_workers() + 1
    jobs = {i: pool.submit(fn, item) for i, item in enumerate(items) if i % share}
    here = {i: fn(item) for i, item in enumerate(items) if not i % share}
    return [here[i] if i in here else jobs[i].result() for i in range(len(items))]


def video_stream(container):
    """The container's first video stream, set up to decode as this process's threads allow (`set_threads`): the
    one place every decoder of the project (`read_frames`, the timeline's FrameSampler) gets its thread settings.

    By default FFmpeg keeps PyAV's own choice, slice threads on every core. Why not frame threads (thread_type
    "AUTO", used here before): on the 2-core build machine they decoded the 12 picked frames of a 10-s clip in
    15.0 ms against 10.8 ms, and 88 against 55 ms at 640x480, for 1.5x the CPU time (docs/benchmarks.md)."""
    stream = container.streams.video[0]
    if _THREADS:
        stream.codec_context.thread_count = _THREADS
    return stream


def _open(path: Path):
    try:
        return av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise UnreadableMediaError(f"cannot read '{path.name}': it is not a readable media file ({exc})") from exc


def _check_file(path: str | Path, allowed: tuple[str, ...]) -> Path:
    path = Path(path)
    if not path.exists():
        raise UnreadableMediaError(f"file not found: '{path.name}'")
    if path.is_dir():
        raise UnreadableMediaError(f"'{path.name}' is a folder, not a media file")
    if path.suffix.lower() not in allowed:
        raise UnsupportedFileTypeError(
            f"unsupported file type '{path.suffix or '(none)'}' for '{path.name}': expected one of {', '.join(allowed)}"
        )
    if path.stat().st_size == 0:
        raise EmptyMediaError(f"'{path.name}' is empty (0 bytes)")
    return path


def file_identity(path: str | Path) -> str:
    """A file's identity for caches: resolved path, size and modification time (a rewritten file is a new key)."""
    path = Path(path)
    try:
        stat = path.stat()
    except OSError:
        return f"{path}|missing"  # the decoder reports it
    return f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"


def check_size(path: str | Path, max_mb: float) -> None:
    """Refuse oversized files before any decoding work."""
    path = _check_file(path, VIDEO_SUFFIXES + AUDIO_SUFFIXES)
    size_mb = path.stat().st_size / 2**20
    if size_mb > max_mb:
        raise FileTooLargeError(f"'{path.name}' is {size_mb:.1f} MB; the limit is {max_mb:g} MB")


def probe(path: str | Path) -> MediaInfo:
    """Streams and duration from the container header, without decoding (cheap, so long files fail fast)."""
    path = _check_file(path, VIDEO_SUFFIXES + AUDIO_SUFFIXES)
    with _open(path) as container:
        return _describe(container, path)


def _describe(container, path: Path) -> MediaInfo:
    """`probe` of a container already open (load_clip reads the header and the audio track through one open)."""
    fmt = container.format.name
    if fmt.endswith("_pipe") or fmt.startswith("image2"):
        raise UnsupportedFileTypeError(f"'{path.name}' is a still image ({fmt.replace('_pipe', '')}), not a video clip")
    has_video = len(container.streams.video) > 0
    has_audio = len(container.streams.audio) > 0
    if not has_video and not has_audio:
        raise EmptyMediaError(f"'{path.name}' has no video or audio stream")
    duration = container.duration / 1e6 if container.duration else 0.0
    if not duration:
        stream = (container.streams.video or container.streams.audio)[0]
        if stream.duration and stream.time_base:
            duration = float(stream.duration * stream.time_base)
    return MediaInfo(path=path, duration=float(duration), has_video=has_video, has_audio=has_audio)


def _keyframe_times(path: Path, stop_after: float) -> list[float]:
    """Presentation times of the video keyframes up to `stop_after` s, read from the packets (no decoding)."""
    times = []
    with _open(path) as container:
        stream = container.streams.video[0]
        for packet in container.demux(stream):
            if packet.pts is None or packet.time_base is None:
                continue
            t = float(packet.pts * packet.time_base)
            if t > stop_after:
                break
            if packet.is_keyframe:
                times.append(t)
    return sorted(times)


class _SeekMissed(Exception):
    """A seek did not land on the keyframe it aimed at (containers with a poor index): decode from the start."""


def frame_image(frame, reformatter: VideoReformatter | None = None) -> Image.Image:
    """A decoded video frame as an RGB PIL image: the pixels of PyAV's `frame.to_image()` (the same conversion to
    rgb24), at a fraction of its cost: `to_image` copies the picture row by row twice more in Python (measured 13 vs
    2.3 ms for twelve 640x480 frames; tests/test_media.py checks the pixels are the same). Pass one `reformatter` for
    all the frames of a stream: a frame's own sets up a new FFmpeg scaler each time (12 frames of a 10-s clip
    converted in 2.7 ms with their own, 0.9 ms with one shared)."""
    rgb = (reformatter.reformat(frame, format="rgb24") if reformatter is not None else frame.reformat(format="rgb24"))
    return Image.fromarray(rgb.to_ndarray())


def _pick_frames(path: Path, targets: list[float], stop_after: float, seek_to: list[float | None], prepare) -> list:
    """Decode forward, seeking to `seek_to[i]` (a keyframe time) before target i where it is not None.

    Returns, per target, `prepare(frame, index)` of the first frame whose time is >= the target (the last frame if
    the stream ends first; `index`: the first target the frame was picked for): the frame a decode from the start
    gives, since each seek lands on a keyframe at or before its target (checked: a seek that lands anywhere else
    raises _SeekMissed). Each distinct frame is prepared once, as soon as it is picked.
    """
    picked, last = [], None
    taken: tuple = (None, None)  # the frame picked last and what it became (a frame repeats for consecutive targets only)

    def take(frame) -> None:
        nonlocal taken
        if frame is not taken[0]:
            taken = (frame, None if frame is None else prepare(frame, len(picked)))
        picked.append(taken[1])

    with _open(path) as container:
        stream = video_stream(container)
        frames = container.decode(stream)
        try:
            for target, seek in zip(targets, seek_to):
                if last is not None and (last.time or 0.0) + 1e-6 >= target:
                    take(last)  # already decoded; a planned seek would only go back
                    continue
                landed = None
                if seek is not None:
                    container.seek(int(round(seek / stream.time_base)), stream=stream, backward=True)
                    frames, landed = container.decode(stream), seek
                for frame in frames:
                    if landed is not None:
                        if frame.time is None or abs(frame.time - landed) > 1e-3:
                            raise _SeekMissed
                        landed = None
                    if frame.time is not None and frame.time > stop_after:
                        break
                    last = frame
                    if (frame.time or 0.0) + 1e-6 >= target:
                        break
                take(last)
        except av.error.FFmpegError as exc:
            raise UnreadableMediaError(f"'{path.name}' is corrupt: video decoding failed ({exc})") from exc
    return picked


SEEK_MIN_GAP_SECONDS = 1.0  # measured: targets 0.83 s apart gained nothing (1.0x), 1.25 s apart 1.2x, 5 s apart 2.3-3x


def read_frames(path: str | Path, num_frames: int, duration: float, max_seconds: float,
                seek: bool | None = None, prepare=None) -> list:
    """`num_frames` RGB frames at uniformly spaced times (segment centres) over the first `duration` s.

    Only the frames needed are decoded: where a keyframe lies between the last decoded frame and the next
    target, the decoder seeks to it instead of decoding the frames in between (phone and web videos have a
    keyframe every 1-2 s, so a 60-s clip decodes a few hundred frames fewer than all of them). The frames picked
    are exactly those of a decode from the start (`seek=False`; tests/test_media.py compares them).
    `seek=None` seeks when the targets lie at least SEEK_MIN_GAP_SECONDS apart: closer than that, finding the
    keyframes (one pass over the packets) costs about what seeking saves.
    A clip shorter than `num_frames` frames repeats frames, so a one-frame video still works.
    `prepare(image, index)`, where given, is applied to each distinct frame's RGB image as soon as the frame is
    decoded (`index`: the first of the `num_frames` places it fills), and the list holds its results instead of the
    images (`video_inputs` submits each frame's resize to the frame pool this way, so it runs while the decoder goes
    on).
    """
    path = Path(path)
    span = min(duration, max_seconds) if duration > 0 else max_seconds
    targets = [(i + 0.5) * span / num_frames for i in range(num_frames)]
    seek_to: list[float | None] = [None] * num_frames
    if seek is None:
        seek = span / num_frames >= SEEK_MIN_GAP_SECONDS
    if seek:
        keys = _keyframe_times(path, span)
        position = 0.0  # roughly where the decoder will be: the previous target
        for i, target in enumerate(targets):
            before = [k for k in keys if k <= target + 1e-6]
            if before and before[-1] > position + 1e-6:
                seek_to[i] = before[-1]
            position = target
    reformatter = VideoReformatter()  # one FFmpeg scaler for all the frames (frame_image)
    convert = (lambda frame, index: frame_image(frame, reformatter)) if prepare is None \
        else (lambda frame, index: prepare(frame_image(frame, reformatter), index))
    try:
        picked = _pick_frames(path, targets, span, seek_to, convert)
    except _SeekMissed:
        picked = _pick_frames(path, targets, span, [None] * num_frames, convert)
    if not picked or picked[0] is None:
        raise EmptyMediaError(f"'{path.name}' has a video stream with no decodable frames")
    return picked


def read_audio(path: str | Path, sample_rate: int, max_seconds: float) -> np.ndarray:
    """The first audio track, resampled to mono float32 at `sample_rate`, at most `max_seconds` long."""
    path = Path(path)
    with _open(path) as container:
        return _decode_audio(container, path, sample_rate, max_seconds)


def _decode_audio(container, path: Path, sample_rate: int, max_seconds: float) -> np.ndarray:
    """`read_audio` from a container already open."""
    resampler = av.AudioResampler(format="fltp", layout="mono", rate=sample_rate)
    limit = int(max_seconds * sample_rate)
    wave = np.empty(limit, np.float32)  # filled chunk by chunk: no list of arrays to concatenate
    total = 0

    def keep(out) -> None:  # one resampled chunk (mono float32, planar: its one plane holds the samples)
        nonlocal total
        n = min(out.samples, limit - total)
        wave[total:total + n] = np.frombuffer(out.planes[0], np.float32, n)
        total += n

    try:
        for frame in container.decode(container.streams.audio[0]):
            for out in resampler.resample(frame):
                keep(out)
            if total >= limit:
                break
        for out in resampler.resample(None):
            keep(out)
    except av.error.FFmpegError as exc:
        raise UnreadableMediaError(f"'{path.name}' is corrupt: audio decoding failed ({exc})") from exc
    return wave[:total]


def log_mel_images(wave: np.ndarray, cfg: MediaConfig, duration: float | None = None) -> np.ndarray:
    """Cut a mono waveform into 2-s segments and turn each into a (3, S, S) log-mel image in [0, 1].

    The dB scale is referenced to the loudest bin of the whole clip (80 dB range), so segments of one
    clip stay comparable. Returns (T_A, 3, S, S) float32 with S = cfg.image_size.
    """
    unit = log_mel_unit(wave, cfg, duration)  # (T_A, 1, S, S)
    return unit.expand(-1, 3, -1, -1).numpy().astype(np.float32)


def log_mel_unit(wave: np.ndarray, cfg: MediaConfig, duration: float | None = None) -> torch.Tensor:
    """The one-channel log-mel images in [0, 1], (T_A, 1, S, S) float32: `log_mel_images` before the channel copy,
    so that the app's front end can normalise straight into three channels without an intermediate copy.

    What librosa.feature.melspectrogram(power=2) and librosa.power_to_db(ref=max, top_db=80) compute (librosa's own
    mel filter bank; tests/test_media.py holds the images to librosa's to 1e-5), written as a few torch calls: they
    run without the GIL, so `load_clip` can make these images on its pool while its own thread decodes the video
    (librosa's Python between its numpy calls slowed that decode 2-3x), and in 1.6 instead of 3.9 ms for 10 s.
    """
    seg_len = int(round(cfg.segment_seconds * cfg.sample_rate))
    duration = len(wave) / cfg.sample_rate if duration is None else duration
    n_seg = num_audio_segments(duration, cfg.segment_seconds)
    padded = torch.zeros(n_seg * seg_len)
    n = min(len(wave), padded.numel())
    padded[:n] = torch.from_numpy(np.ascontiguousarray(wave[:n], dtype=np.float32))
    n_fft = int(round(cfg.win_seconds * cfg.sample_rate))
    hop = int(round(cfg.hop_seconds * cfg.sample_rate))
    spectrum = torch.stft(padded.view(n_seg, seg_len), n_fft, hop, window=_hann(n_fft), center=True,
                          pad_mode="constant", return_complex=True)  # (T_A, 1 + n_fft/2, frames), librosa's framing
    power = spectrum.real.square() + spectrum.imag.square()  # |X|^2 (4x faster than summing view_as_real)
    basis = mel_basis(cfg.sample_rate, n_fft, cfg.n_mels)  # (n_mels, 1 + n_fft/2)
    with single_threaded_blas():  # librosa's own product, on one thread (why: single_threaded_blas)
        mel = torch.from_numpy(np.einsum("...ft,mf->...mt", power.numpy(), basis, optimize=True))  # (T_A, n_mels, frames)
    amin, top_db = 1e-10, 80.0  # librosa.power_to_db's defaults, ref = the loudest bin of the clip
    db = 10.0 * torch.log10(mel.clamp_min(amin)) - 10.0 * math.log10(max(amin, float(mel.max())))
    db = db.clamp_min(float(db.max()) - top_db)
    image = ((db + top_db) / top_db).flip(1).unsqueeze(1)  # low frequencies at the bottom, like a spectrogram plot
    return F.interpolate(image, size=(cfg.image_size, cfg.image_size), mode="bilinear", align_corners=False)


@functools.lru_cache(maxsize=4)
def _hann(n_fft: int) -> torch.Tensor:
    """librosa's window: the periodic Hann window (scipy.signal.get_window("hann", n_fft, fftbins=True))."""
    return torch.hann_window(n_fft, periodic=True)


def normalise_into_channels(images: torch.Tensor, mean, std, value_range: float = 1.0,
                            out: torch.Tensor | None = None) -> torch.Tensor:
    """(T, C, S, S) images (C = 1 or 3; any dtype) with values in [0, value_range], CLIP-normalised into a new
    (T, 3, S, S) float32, or into `out` (a float32 tensor of that shape: one frame's slot of the clip's tensor).

    One allocation and three passes over it, instead of the separate float conversion, division, channel copy
    and normalisation that each allocated a full tensor (page faults on fresh memory were a large part of the
    front end's time on the 2-core machine). (x - r m) / (r s) is (x / r - m) / s to within a float rounding
    (tests/test_media.py holds it to open_clip's own transform), and exactly x / r for mean 0 and std 1.
    """
    t, _, h, w = images.shape
    out = torch.empty((t, 3, h, w), dtype=torch.float32) if out is None else out
    out.copy_(images.expand(t, 3, h, w))
    m = torch.tensor(mean, dtype=torch.float32).view(3, 1, 1) * value_range
    s = torch.tensor(std, dtype=torch.float32).view(3, 1, 1) * value_range
    return out.sub_(m).div_(s)


@functools.cache
def _threadpool_controller():
    """threadpoolctl's view of the native thread pools (numpy's OpenBLAS, torch's OpenMP): `single_threaded_blas`
    and the frame pool's `_one_openmp_thread` limit them through it."""
    from threadpoolctl import ThreadpoolController  # a requirement

    return ThreadpoolController()  # inspects the loaded libraries once (milliseconds)


def single_threaded_blas():
    """A context in which numpy's BLAS (OpenBLAS) runs on one thread.

    Why: after a multi-threaded BLAS call, OpenBLAS's worker threads spin, waiting for more work, and on a small
    machine they take the cores from the next video decode. Measured on the 2-core build machine: `read_frames` took
    20 ms on its own and 66-71 ms right after the log-mel product ran with 2 BLAS threads; with that product on one
    thread it took 20 ms (docs/benchmarks.md). The product is small (mel bins x FFT bins x frames: 1.2 ms on one
    thread), so the extra thread bought nothing. Float sums in OpenBLAS depend on its thread count: the values agree
    with the multi-threaded product to ~4e-8 relative (tests/test_media.py), not bit for bit.
    """
    return _threadpool_controller().limit(limits=1, user_api="blas")


@functools.lru_cache(maxsize=8)
def mel_basis(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """librosa's mel filter bank, built once per setting (librosa.feature.melspectrogram rebuilds it per call).

    With it, `log_mel_images` computes exactly what librosa.feature.melspectrogram(power=2) does.
    """
    basis = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmax=sample_rate / 2)
    basis.flags.writeable = False  # shared between calls and threads
    return basis


def _resize_and_crop(img: Image.Image, image_size: int, thumbnail: bool = False):
    """One frame through open_clip's eval transform up to the tensor: the (S, S, 3) uint8 crop, and with
    `thumbnail` also the frame's thumbnail (made from whichever is smaller, the frame or its resized copy: cheaper,
    and the thumbnail is for display only)."""
    if img.mode != "RGB":
        img = img.convert("RGB")
    w, h = img.size
    # sizes and offsets rounded as torchvision's Resize / CenterCrop round them (open_clip's eval transform),
    # so a pretrained tower sees exactly the pixels it was trained on (a 640x480 frame becomes 298x224, not 299)
    short, long = min(w, h), max(w, h)
    long = int(image_size * long / short)
    resized = img.resize((image_size, long) if w <= h else (long, image_size), Image.BICUBIC)
    rw, rh = resized.size
    left, top = int(round((rw - image_size) / 2.0)), int(round((rh - image_size) / 2.0))
    crop = np.array(resized.crop((left, top, left + image_size, top + image_size)))  # writable: torch reads it
    if not thumbnail:
        return crop, None
    return crop, _thumbnail(resized if rw * rh < w * h else img)


def _resize_frames(frames: list[Image.Image], image_size: int, thumbnails: bool = False) -> tuple[list, list]:
    """`_resize_and_crop` over the distinct frames (short clips repeat them), on the frame pool where there is one:
    (crops, thumbnails or Nones), one per frame."""
    distinct = list({id(f): f for f in frames}.values())
    done = _map_sharing(functools.partial(_resize_and_crop, image_size=image_size, thumbnail=thumbnails), distinct)
    by_id = {id(f): out for f, out in zip(distinct, done)}
    return [by_id[id(f)][0] for f in frames], [by_id[id(f)][1] for f in frames]


def _stack_normalised(crops: list[np.ndarray], mean, std) -> torch.Tensor:
    # One uint8 stack, then one float tensor written in place: stacking twelve permuted float views cost ~16 ms.
    images = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2)  # (T, 3, S, S) uint8, a view
    return normalise_into_channels(images, mean, std, value_range=255.0)


def frames_to_tensor(frames: list[Image.Image], image_size: int, mean, std) -> torch.Tensor:
    """Resize the shortest side to `image_size`, centre-crop, normalise: CLIP's eval preprocessing."""
    return _stack_normalised(_resize_frames(frames, image_size)[0], mean, std)


def read_transcript(text: str | None, max_chars: int = 100_000) -> str:
    """A transcript given as text: whitespace collapsed, length checked. Never opened as a file.

    A `Path` is refused (TypeError): a file goes through `read_transcript_file`, so that a string that merely looks
    like a path can never make the server read a file.
    """
    if text is None:
        return ""
    if not isinstance(text, str):
        raise TypeError(f"transcript text must be a str, got {type(text).__name__}: pass a file as transcript_file")
    return _check_length(" ".join(text.split()), max_chars)


def read_transcript_file(path: str | Path, max_chars: int = 100_000) -> str:
    """A transcript from a .txt or .srt file (subtitle text joined, timings dropped), validated like media files."""
    path = Path(path)
    if not path.is_file():
        raise TranscriptError(f"transcript file not found: '{path.name}'")
    if path.suffix.lower() not in TRANSCRIPT_SUFFIXES:
        raise UnsupportedFileTypeError(
            f"unsupported transcript file type '{path.suffix or '(none)'}' for '{path.name}': expected .txt or .srt")
    size = path.stat().st_size
    if size == 0:
        raise TranscriptError(f"transcript file '{path.name}' is empty (0 bytes)")
    if size > 4 * max_chars + 4096:  # UTF-8 is at most 4 bytes a character: refuse before reading it all
        raise TranscriptError(f"transcript file '{path.name}' is too large ({size} bytes; the limit is "
                              f"{max_chars} characters): give the words spoken in this clip only")
    data = path.read_bytes()
    if b"\x00" in data:
        raise TranscriptError(f"transcript file '{path.name}' is a binary file, not text")
    try:
        raw = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TranscriptError(f"transcript '{path.name}' is not UTF-8 text") from exc
    text = _srt_text(raw, path.name) if path.suffix.lower() == ".srt" else raw
    return _check_length(" ".join(text.split()), max_chars)


def transcript_from(text: str | None, file: str | Path | None, max_chars: int = 100_000) -> str:
    """The clip's transcript from exactly one source: `text` (never opened) or `file` (read), or none."""
    if file is not None and text not in (None, ""):
        raise TranscriptError("give the transcript as text or as a file, not both")
    return read_transcript_file(file, max_chars) if file is not None else read_transcript(text, max_chars)


def _check_length(text: str, max_chars: int) -> str:
    if len(text) > max_chars:
        raise TranscriptError(
            f"transcript is too long ({len(text)} characters; the limit is {max_chars}): "
            "give the words spoken in this clip only"
        )
    return text


def _srt_text(raw: str, name: str) -> str:
    import srt

    try:
        return " ".join(sub.content.replace("\n", " ") for sub in srt.parse(raw))
    except srt.SRTParseError as exc:
        raise TranscriptError(f"'{name}' is not a valid .srt subtitle file ({exc})") from exc


def load_clip(
    video: str | Path,
    transcript: str | None,
    cfg: MediaConfig,
    mean: tuple[float, ...],
    std: tuple[float, ...],
    audio: str | Path | None = None,
    require_video: bool = True,
    transcript_file: str | Path | None = None,
) -> ClipInputs:
    """Validate and decode one clip into model inputs.

    `transcript` is text (never opened); `transcript_file` is a .txt / .srt file to read instead.

    `audio` optionally points at a separate audio file (CMU-MOSEI ships WAVs beside the videos);
    otherwise the video's own audio track is used, and a video without one yields audio=None.
    `require_video=False` accepts an audio-only file (audio+text models such as LSGMER on IEMOCAP): frames=None.
    """
    timings: dict[str, float] = {}
    notes: list[str] = []
    t0 = time.perf_counter()
    text = transcript_from(transcript, transcript_file, cfg.max_transcript_chars)
    check_size(video, cfg.max_file_mb)
    path = Path(video)
    # This thread does all the decoding, the audio track first, then the video, and hands the work that runs without
    # the GIL to the frame pool the moment its input exists: the log-mel images (torch) once the audio is decoded, and
    # each frame's resize and normalisation (PIL, torch) once that frame is. Why not the whole audio branch on the
    # pool beside the video decode (as before): PyAV takes the GIL back for every packet and frame, and while another
    # thread runs Python (librosa, the resampler loop) each of those waits for it. Measured on the 2-core build
    # machine: a 10-s clip's video decode took 6.8 ms alone, 7.3 ms beside PIL resizes, 15.4 ms beside an audio
    # decode and 18-41 ms beside librosa's log-mel (docs/benchmarks.md).
    with _open(path) as container:  # one open for the header and, where the clip carries it, the audio track
        info = _describe(container, path)
        if not info.has_video and require_video:
            raise NoVideoStreamError(f"'{path.name}' has no video stream (it is audio only): upload a video clip")
        duration = info.duration
        if duration > cfg.max_seconds:
            if cfg.long_clip == "refuse":
                raise MediaTooLongError(
                    f"'{path.name}' is {duration:.1f} s long; the limit is {cfg.max_seconds:.0f} s "
                    "(trim the clip, or analyse its first window with long_clip='window')"
                )
            notes.append(f"clip is {duration:.1f} s long: only its first {cfg.max_seconds:.0f} s were analysed")
            duration = cfg.max_seconds
        t_audio = time.perf_counter()
        if audio is None:
            wave, audio_notes = _audio_wave(container, path, info.has_audio, duration, cfg)
    if audio is not None:  # a separate audio file (CMU-MOSEI's WAVs)
        source = _check_file(audio, VIDEO_SUFFIXES + AUDIO_SUFFIXES)
        with _open(source) as audio_container:
            has_audio = _describe(audio_container, source).has_audio
            wave, audio_notes = _audio_wave(audio_container, source, has_audio, duration, cfg)
    pool = _frame_pool()
    audio_work = None if wave is None else functools.partial(
        audio_images, wave, cfg, duration or len(wave) / cfg.sample_rate, mean, std)
    audio_job = None if audio_work is None else _Offloaded(pool, audio_work)
    timings["decode_audio"] = time.perf_counter() - t_audio
    frames_t, thumbnails, frame_notes = video_inputs(info.path, duration, cfg, mean, std) if info.has_video \
        else (None, [], [])
    t_wait = time.perf_counter()
    audio_t = audio_job.result() if audio_job is not None else None
    timings["decode_audio"] += time.perf_counter() - t_wait
    timings["decode_video"] = time.perf_counter() - t0 - timings["decode_audio"]
    notes.extend(frame_notes + audio_notes)
    if not text:
        notes.append("empty transcript: language modality absent")
    return ClipInputs(frames=frames_t, audio=audio_t, transcript=text, duration=duration, notes=notes, timings=timings,
                      thumbnails=thumbnails)


def _audio_wave(container, path: Path, has_audio: bool, duration: float, cfg: MediaConfig):
    """(the container's audio track as a 16-kHz mono wave, or None where there is none, notes)."""
    if not has_audio:
        return None, ["no audio track: audio modality absent"]
    wave = _decode_audio(container, path, cfg.sample_rate,
                         min(duration, cfg.max_seconds) if duration else cfg.max_seconds)
    if wave.size == 0:
        return None, ["the audio track holds no samples: audio modality absent"]
    return wave, []


def video_inputs(path: Path, duration: float, cfg: MediaConfig, mean, std) -> tuple[torch.Tensor, list, list[str]]:
    """A clip's sampled frames -> (CLIP-normalised (T, 3, S, S), thumbnails, notes): exactly
    `frame_inputs(read_frames(...))` (tests/test_media.py compares them), with each frame resized, cropped and
    normalised into its slot on the frame pool the moment it is decoded, while this thread decodes the next ones.
    The face-crop path (FER tower) crops after decoding: OpenCV's detector already runs on every core."""
    pool = _frame_pool()
    if cfg.face_crop or pool is None:
        return frame_inputs(read_frames(path, cfg.num_frames, duration, cfg.max_seconds), cfg, mean, std)
    out = torch.empty((cfg.num_frames, 3, cfg.image_size, cfg.image_size))  # (T, 3, S, S), one slot a frame
    inference = torch.is_inference_mode_enabled()  # thread-local: the pool writes `out` in the caller's mode

    def into_slot(image: Image.Image, index: int) -> tuple[int, Image.Image]:
        crop, thumbnail = _resize_and_crop(image, cfg.image_size, thumbnail=True)  # (S, S, 3) uint8
        with torch.inference_mode(inference):
            normalise_into_channels(torch.from_numpy(crop).permute(2, 0, 1)[None], mean, std, 255.0,
                                    out=out[index:index + 1])
        return index, thumbnail

    jobs = read_frames(path, cfg.num_frames, duration, cfg.max_seconds,
                       prepare=lambda image, index: _Offloaded(pool, into_slot, image, index))
    for job in reversed(list({id(job): job for job in jobs}.values())):
        job.take_back()  # the decoding is done: this thread resizes what the pool has not started, newest first
    thumbnails = []
    for index, job in enumerate(jobs):
        first, thumbnail = job.result()  # a frame repeated (short clips) was written once, to its first slot
        if first != index:
            out[index] = out[first]
        thumbnails.append(thumbnail)
    return out, thumbnails, []


def frame_inputs(frames: list[Image.Image], cfg: MediaConfig, mean, std) -> tuple[torch.Tensor | None, list, list[str]]:
    """Sampled frames -> (CLIP-normalised (T, 3, S, S) or None, thumbnails, notes): cropped to the face first when
    `cfg.face_crop` (the FER vision tower). One place for what `load_clip` and the timeline's windows
    (merclip.serving.timeline) make of their frames, so a window gives exactly the inputs of the same cut as its own file."""
    if not frames:
        return None, [], []
    notes: list[str] = []
    if cfg.face_crop:  # issue #15 hook: face crops for the FER vision tower
        from .faces import crop_face_images

        frames, notes = crop_face_images(frames, cfg.image_size)
    crops, thumbnails = _resize_frames(frames, cfg.image_size, thumbnails=True)
    return _stack_normalised(crops, mean, std), thumbnails, list(notes)


def audio_images(wave: np.ndarray, cfg: MediaConfig, duration: float, mean, std) -> torch.Tensor:
    """A mono waveform -> CLIP-normalised log-mel images (T_A, 3, S, S): the audio modality's input, for `load_clip`
    and the timeline's windows alike."""
    return normalise_into_channels(log_mel_unit(wave, cfg, duration), mean, std)  # from (T_A, 1, S, S)


def _thumbnail(frame: Image.Image, size: int = 96) -> Image.Image:
    """A frame for display, at most `size` px a side, aspect kept. Box filter (each pixel the mean of the area it
    covers): antialiased like a bicubic downscale, at a third of its cost (0.33 vs 0.96 ms from 298x224), and a
    thumbnail is for the eye only."""
    frame = frame if frame.mode == "RGB" else frame.convert("RGB")
    w, h = frame.size
    scale = min(1.0, size / max(w, h))
    return frame.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.BOX)
