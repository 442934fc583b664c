"""The generated clips' pictures and tones: a cartoon face whose features follow the labels, and a voice-like tone
whose pitch, timbre and loudness follow them (merclip.data.synthetic's module docstring says which label moves
which feature). Pure functions of the labels and a seeded generator: the same draws give the same pixels and
samples, which is what makes a generated dataset's bytes repeatable."""
from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16000
SIZE = 112  # the frames are SIZE x SIZE pixels


def _disk(img, cy, cx, r, color):
    yy, xx = np.ogrid[: img.shape[0], : img.shape[1]]
    img[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = color


def _thick_curve(img, xs, ys, width, color):
    for x, y in zip(xs, ys):
        _disk(img, int(round(y)), int(round(x)), width, color)


def _draw_face(labels: np.ndarray, background, skin, cy: int, cx: int, blink: bool) -> np.ndarray:
    happy, sad, surprise = labels[1] > 0, labels[2] > 0, labels[4] > 0
    yy, xx = np.ogrid[:SIZE, :SIZE]
    img = np.empty((SIZE, SIZE, 3), np.uint8)
    img[:] = background
    img[((yy - cy) / 44.0) ** 2 + ((xx - cx) / 36.0) ** 2 <= 1] = skin
    eye_r = 10 if surprise else 5
    for side in (-1, 1):
        ex = cx + side * 15
        if blink:
            _thick_curve(img, np.arange(ex - 6, ex + 7), np.full(13, cy - 10), 1, (30, 30, 30))
        else:
            _disk(img, cy - 10, ex, eye_r, (255, 255, 255))
            _disk(img, cy - 10, ex, max(2, eye_r // 2), (20, 20, 20))
        bx = np.arange(-8, 9)  # eyebrows: flat, or slanting down at the outer end when sad
        _thick_curve(img, ex + bx, cy - 24 + (0.6 if sad else 0.0) * side * bx, 2, (60, 40, 20))
    if sad:
        _disk(img, cy + 2, cx - 15, 3, (60, 120, 255))
    mx = np.arange(-16, 17)
    curve = 0.04 * (256 - mx**2) if happy else np.zeros_like(mx, dtype=float)  # smile: centre low, ends up
    _thick_curve(img, cx + mx, cy + 18 + curve * 0.5, 2, (150, 30, 40))
    return img


def render_frames(labels: np.ndarray, n_frames: int, rng: np.random.Generator) -> np.ndarray:
    """The face drawn once (eyes open and blinking), then shifted by a pixel of jitter per frame."""
    background = rng.integers(40, 200, 3)
    skin = np.array([rng.integers(150, 240), rng.integers(110, 190), rng.integers(80, 150)])
    cy, cx = SIZE // 2 + int(rng.integers(-6, 7)), SIZE // 2 + int(rng.integers(-6, 7))
    faces = [_draw_face(labels, background, skin, cy, cx, blink) for blink in (False, True)]
    frames = np.empty((n_frames, SIZE, SIZE, 3), np.uint8)
    for t in range(n_frames):
        face = faces[int(rng.random() < 0.1)]
        frames[t] = np.roll(face, (int(rng.integers(-1, 2)), int(rng.integers(-1, 2))), axis=(0, 1))
    return frames


def synthesise_voice(labels: np.ndarray, seconds: float, rng: np.random.Generator) -> np.ndarray:
    angry, surprise, fear = labels[3] > 0, labels[4] > 0, labels[6] > 0
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    f0 = rng.uniform(120, 220) * (1.5 if fear else 1.0)
    glide = 2 ** (t / seconds) if surprise else np.ones_like(t)  # up an octave
    vibrato = 1 + 0.01 * np.sin(2 * np.pi * 5 * t)
    phase = 2 * np.pi * np.cumsum(f0 * glide * vibrato) / SAMPLE_RATE
    n_harm, decay = (12, 0.9) if angry else (5, 0.5)
    voice = sum((decay**k) * np.sin((k + 1) * phase) for k in range(n_harm))
    syllables = 0.55 + 0.45 * np.sin(2 * np.pi * rng.uniform(3, 5) * t + rng.uniform(0, 6)) ** 2
    tremolo = 1 - 0.6 * (0.5 + 0.5 * np.sin(2 * np.pi * 9 * t)) if fear else 1.0
    fade = np.minimum(1, np.minimum(t, seconds - t) / 0.05)
    wave = voice * syllables * tremolo * fade
    wave = wave / (np.abs(wave).max() + 1e-9) * (0.9 if angry else 0.5)
    return (wave + rng.normal(0, 0.005, wave.shape)).astype(np.float32)
