"""Write mp4 / wav files with PyAV (H.264 video, AAC audio).

Used by the generated dataset and by the tests' fixtures, so that every test reads media through
exactly the same decoder path as real CMU-MOSEI clips.
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def write_video(
    path: str | Path,
    frames: np.ndarray,
    fps: int = 10,
    audio: np.ndarray | None = None,
    sample_rate: int = 16000,
    keyframe_interval: int | None = None,
    preset: str = "ultrafast",
) -> Path:
    """frames (T, H, W, 3) uint8 with even H, W; audio mono float in [-1, 1] or None for a silent-less file.

    `keyframe_interval` (frames) makes keyframes regular, as phone and web videos have them (x264's default is
    one per 250 frames); a slower `preset` such as "medium" adds B-frames.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = np.ascontiguousarray(frames, dtype=np.uint8)
    with av.open(str(path), mode="w") as container:
        vstream = container.add_stream("libx264", rate=fps)
        vstream.width, vstream.height = frames.shape[2], frames.shape[1]
        vstream.pix_fmt = "yuv420p"
        vstream.options = {"preset": preset, "crf": "23"}
        if keyframe_interval is not None:
            vstream.codec_context.gop_size = keyframe_interval
        astream = None
        if audio is not None:
            astream = container.add_stream("aac", rate=sample_rate)
            astream.layout = "mono"
        for image in frames:
            for packet in vstream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in vstream.encode():
            container.mux(packet)
        if astream is not None:
            _encode_audio(container, astream, np.asarray(audio, dtype=np.float32), sample_rate)
    return path


def _encode_audio(container, stream, audio: np.ndarray, sample_rate: int, chunk: int = 1024) -> None:
    pts = 0
    for start in range(0, len(audio), chunk):
        block = audio[start : start + chunk].reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(block), format="fltp", layout="mono")
        frame.sample_rate = sample_rate
        frame.pts = pts
        frame.time_base = Fraction(1, sample_rate)
        pts += block.shape[1]
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)


_WAV_FORMATS = {  # sample format -> (codec, PyAV frame format, conversion from float in [-1, 1])
    "s16": ("pcm_s16le", "s16", lambda a: (a * 32767).astype(np.int16)),
    "u8": ("pcm_u8", "u8", lambda a: ((a + 1) * 127.5).astype(np.uint8)),
    "f32": ("pcm_f32le", "flt", lambda a: a.astype(np.float32)),
}


def write_wav(path: str | Path, audio: np.ndarray, sample_rate: int = 16000, sample_format: str = "s16") -> Path:
    """Mono PCM wav; 16-bit by default (the CMU-MOSEI WAV_16000 format), or 8-bit unsigned / 32-bit float."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    codec, frame_format, convert = _WAV_FORMATS[sample_format]
    pcm = convert(np.clip(np.asarray(audio, dtype=np.float32), -1, 1))
    with av.open(str(path), mode="w", format="wav") as container:
        stream = container.add_stream(codec, rate=sample_rate)
        stream.layout = "mono"
        for start in range(0, len(pcm), 4096):
            frame = av.AudioFrame.from_ndarray(pcm[start : start + 4096].reshape(1, -1), format=frame_format, layout="mono")
            frame.sample_rate = sample_rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_in_processes(write_one, items: list, *shared, workers: int = 1, desc: str = "writing clips",
                       progress: bool = True) -> None:
    """`write_one(item, *shared)` for every item, in `workers` processes when more than one (espeak-ng and the H.264
    encoder each use one core), with a progress bar. `write_one` must be a module-level function (it is pickled).

    spawn, not fork: a fresh interpreter per worker is safe whatever threads the caller (torch, a test) has started.
    Each item is rendered from its own data and seed alone, so the files do not depend on `workers`.
    """
    from concurrent.futures import ProcessPoolExecutor
    from itertools import repeat
    from multiprocessing import get_context

    from tqdm import tqdm

    bar = {"total": len(items), "desc": desc, "disable": not progress}
    if workers <= 1:
        for item in tqdm(items, **bar):
            write_one(item, *shared)
        return
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        list(tqdm(pool.map(write_one, items, *(repeat(x) for x in shared)), **bar))
