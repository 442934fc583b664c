"""Audio input: the track resampled to 16 kHz mono, cut into 2-s segments (the last one zero-padded), each a
224-bin log-mel spectrogram (64 ms window, 32 ms hop) resized to a 224x224 image and repeated over 3 channels, so
that the audio tower can start from CLIP's image weights. A clip has ceil(duration / 2) segments (sec. 3.1.3); the
tower reads at most MediaConfig.audio_segments of them, regularly selected (12, sec. 4.3: `audio_segment_indices`)."""
from __future__ import annotations

import functools
import math
from pathlib import Path

import av
import librosa
import numpy as np
import torch
import torch.nn.functional as F

from ..config import MediaConfig
from .decoded import normalise_into_channels
from .errors import UnreadableMediaError
from .probe import open_media
from .threads import single_threaded_blas


def num_audio_segments(duration: float, segment_seconds: float = 2.0) -> int:
    """T_A = ceil(tau / segment length), at least one segment for any non-empty clip."""
    return max(1, math.ceil(round(duration / segment_seconds, 6)))


def audio_segment_indices(duration: float, cfg: MediaConfig) -> list[int]:
    """Which 2-s segments of a `duration`-s clip the audio tower reads: all of them when there are at most
    `cfg.audio_segments` (or it is "all"), else that many regularly selected ones, each the segment at the centre of
    one of equal parts of the clip, as the frames are chosen (the paper, sec. 4.3)."""
    total = num_audio_segments(duration, cfg.segment_seconds)
    keep = cfg.audio_segments
    if keep == "all" or total <= keep:
        return list(range(total))
    return [int((i + 0.5) * total / keep) for i in range(keep)]


def read_audio(path: str | Path, sample_rate: int, max_seconds: float) -> np.ndarray:
    """The first audio track, resampled to mono float32 at `sample_rate`, at most `max_seconds` long."""
    path = Path(path)
    with open_media(path) as container:
        return decode_audio(container, path, sample_rate, max_seconds)


def decode_audio(container, path: Path, sample_rate: int, max_seconds: float) -> np.ndarray:
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
    """Cut a mono waveform into 2-s segments and turn those the tower reads (`audio_segment_indices`) into (3, S, S)
    log-mel images in [0, 1].

    The dB scale is referenced to the loudest bin of the segments read (80 dB range), so segments of one clip stay
    comparable. Returns (T_A, 3, S, S) float32 with S = cfg.image_size.
    """
    unit = log_mel_unit(wave, cfg, duration)  # (T_A, 1, S, S)
    return unit.expand(-1, 3, -1, -1).numpy().astype(np.float32)


def log_mel_unit(wave: np.ndarray, cfg: MediaConfig, duration: float | None = None) -> torch.Tensor:
    """The one-channel log-mel images in [0, 1], (T_A, 1, S, S) float32: `log_mel_images` before the channel copy,
    so that the front end can normalise straight into three channels.

    What librosa.feature.melspectrogram(power=2) and librosa.power_to_db(ref=max, top_db=80) compute (librosa's own
    mel filter bank; tests/test_media.py holds the images to librosa's to 1e-5), written as a few torch calls: they
    run without the GIL, so `load_clip` can make these images on its pool while its own thread decodes the video.
    """
    seg_len = int(round(cfg.segment_seconds * cfg.sample_rate))
    duration = len(wave) / cfg.sample_rate if duration is None else duration
    n_seg = num_audio_segments(duration, cfg.segment_seconds)
    padded = torch.zeros(n_seg * seg_len)
    n = min(len(wave), padded.numel())
    padded[:n] = torch.from_numpy(np.ascontiguousarray(wave[:n], dtype=np.float32))
    segments = padded.view(n_seg, seg_len)[audio_segment_indices(duration, cfg)]  # (T_A, seg_len)
    n_fft = int(round(cfg.win_seconds * cfg.sample_rate))
    hop = int(round(cfg.hop_seconds * cfg.sample_rate))
    spectrum = torch.stft(segments, n_fft, hop, window=_hann(n_fft), center=True,
                          pad_mode="constant", return_complex=True)  # (T_A, 1 + n_fft/2, frames), librosa's framing
    power = spectrum.real.square() + spectrum.imag.square()  # |X|^2, cheaper than summing view_as_real
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


@functools.lru_cache(maxsize=8)
def mel_basis(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """librosa's mel filter bank, built once per setting (librosa.feature.melspectrogram rebuilds it per call)."""
    basis = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmax=sample_rate / 2)
    basis.flags.writeable = False  # shared between calls and threads
    return basis


def audio_images(wave: np.ndarray, cfg: MediaConfig, duration: float, mean, std) -> torch.Tensor:
    """A mono waveform -> CLIP-normalised log-mel images (T_A, 3, S, S): the audio modality's input."""
    return normalise_into_channels(log_mel_unit(wave, cfg, duration), mean, std)  # from (T_A, 1, S, S)
