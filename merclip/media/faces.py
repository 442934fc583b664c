"""Face finding and cropping for the FER network, with an explicit fallback when no face is found.

Why OpenCV's frontal-face Haar cascade: it ships inside opencv-python-headless (`cv2.data.haarcascades`),
so detection works offline with no model download, and it is the detector fer's network was used with.
The crop follows fer's `detect_emotions`: square the box, widen it by 10 px a side, pad the image by 40 px
(grey level of its bottom rows) so the widened box may leave the frame, resize to 64x64.

When no face is found the centre square of the frame is used instead and `FaceCrop.found` is False with a
note saying so: the FER network then reads whatever is there, and callers can show that it did.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..config import FER_INPUT_SIZE

CASCADE_FILE = "haarcascade_frontalface_default.xml"
PADDING = 40  # fer's image padding, px
OFFSETS = (10, 10)  # fer's box widening, px (x, y)
NO_FACE_NOTE = "no face found: the centre square of the frame was used"


@dataclass(frozen=True)
class DetectorConfig:
    """fer's cascade settings."""

    scale_factor: float = 1.1
    min_neighbors: int = 5
    min_face_size: int = 50


@dataclass
class FaceCrop:
    face: np.ndarray  # (64, 64) uint8 grey, the FER network's input before scaling
    box: tuple[int, int, int, int] | None  # (x, y, w, h) in the frame; None when no face was found
    found: bool
    note: str = ""


def _cv2():
    try:
        import cv2
    except ImportError as exc:  # pragma: no cover - a requirement, but say what to install
        raise ImportError("face detection needs OpenCV: pip install opencv-python-headless") from exc
    return cv2


@lru_cache(maxsize=1)
def face_cascade():
    """OpenCV's frontal-face cascade from the installed cv2 package (offline)."""
    cv2 = _cv2()
    path = cv2.data.haarcascades + CASCADE_FILE
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        raise FileNotFoundError(f"could not load the Haar cascade {path}")
    return cascade


def to_grey(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB or (H, W) grey uint8 -> (H, W) grey uint8 (ITU-R 601 weights, as cv2)."""
    if image.ndim == 2:
        return image.astype(np.uint8)
    return _cv2().cvtColor(np.ascontiguousarray(image[..., :3], dtype=np.uint8), _cv2().COLOR_RGB2GRAY)


def detect_faces(grey: np.ndarray, cfg: DetectorConfig = DetectorConfig()) -> list[tuple[int, int, int, int]]:
    """Face boxes (x, y, w, h), largest first."""
    cv2 = _cv2()
    min_size = min(cfg.min_face_size, max(1, min(grey.shape) // 4))  # small frames: still try
    boxes = face_cascade().detectMultiScale(
        grey, scaleFactor=cfg.scale_factor, minNeighbors=cfg.min_neighbors,
        flags=cv2.CASCADE_SCALE_IMAGE, minSize=(min_size, min_size),
    )
    return sorted((tuple(int(v) for v in b) for b in boxes), key=lambda b: -b[2] * b[3])


def _square(box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    x, y, w, h = box
    if h > w:
        x, w = x - (h - w) // 2, h
    elif w > h:
        y, h = y - (w - h) // 2, w
    return x, y, w, h


def crop_box(grey: np.ndarray, box: tuple[int, int, int, int], size: int = FER_INPUT_SIZE) -> np.ndarray:
    """fer's crop: squared, widened box from the padded image, resized to (size, size) uint8."""
    cv2 = _cv2()
    bottom_mean = float(grey[-2:].mean())
    padded = cv2.copyMakeBorder(grey, PADDING, PADDING, PADDING, PADDING, cv2.BORDER_CONSTANT, value=bottom_mean)
    x, y, w, h = _square(box)
    x1, y1 = max(0, x - OFFSETS[0] + PADDING), max(0, y - OFFSETS[1] + PADDING)
    x2, y2 = x + w + OFFSETS[0] + PADDING, y + h + OFFSETS[1] + PADDING
    return cv2.resize(padded[y1:y2, x1:x2], (size, size))


def centre_square(grey: np.ndarray, size: int = FER_INPUT_SIZE) -> np.ndarray:
    """Fallback crop: the largest centred square, resized to (size, size)."""
    h, w = grey.shape
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    return _cv2().resize(np.ascontiguousarray(grey[top : top + s, left : left + s]), (size, size))


def face_crop(image: np.ndarray, cfg: DetectorConfig = DetectorConfig()) -> FaceCrop:
    """The largest face of an RGB or grey frame as a 64x64 grey crop, or the centre square with a note."""
    grey = to_grey(image)
    boxes = detect_faces(grey, cfg)
    if boxes:
        return FaceCrop(crop_box(grey, boxes[0]), boxes[0], True)
    return FaceCrop(centre_square(grey), None, False, NO_FACE_NOTE)


def crop_face_images(frames: list, size: int) -> tuple[list, list[str]]:
    """PIL frames -> (size x size face crops as RGB PIL images (grey replicated), notes), for the media pipeline.

    Each frame is cropped to its own largest face (faces move); frames without one keep their centre square,
    and a note says how many.
    """
    from PIL import Image

    out, missed = [], 0
    for frame in frames:
        grey = to_grey(np.asarray(frame.convert("RGB")))
        boxes = detect_faces(grey)
        face = crop_box(grey, boxes[0], size) if boxes else centre_square(grey, size)
        missed += not boxes
        out.append(Image.fromarray(face).convert("RGB"))
    notes = [f"no face found in {missed} of {len(frames)} frames: their centre squares were used"] if missed else []
    return out, notes
