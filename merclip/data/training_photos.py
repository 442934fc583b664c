"""Real face photographs for training, whose expressions carry no label (this project's addition to the demo).

Why: the generated clips' faces are cartoons whose expression always follows the label, so a model trained on them
reads any face as if it told the emotion. On the photographs people's clips show (and the real-ish set's), the
expression is mostly context: a neutral presenter, a smile in a passport photo. Teaching the model to distrust
every face (other clips' cartoons swapped in, `MismatchedClips(swap="face")`) costs what the cartoons do carry.
Training items that keep a generated clip's words, voice and labels but show a real photograph instead teach the
narrower lesson: a photographed face of this kind says nothing about the label, a cartoon's does.

The photographs are the LFW faces that scikit-image ships which the real-ish set does not use
(`merclip.data.realish.TRAINING_LFW`): a model is chosen and scored on faces it has never seen. Each is rendered
as the real-ish set renders its faces (upscaled onto a plain ground, a still with a slow zoom) in several variants
(mirrored, three face sizes), then cropped to the face exactly as the media pipeline crops a clip's frames for
the FER tower (`merclip.media.faces.crop_face_images`), so a training item looks like a decoded cached clip.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

FACE_FRACTIONS = (0.4, 0.5, 0.6)  # the face's side over the frame's: the range where the cascade finds LFW faces
MIRRORED = (False, True)
FRAME_SIDE = 224  # the real-ish set's frame size (merclip.data.realish.SIZE)


def variants() -> list[tuple[int, bool, float]]:
    """Every (LFW index, mirrored, face fraction) the pool renders, in a fixed order."""
    from .realish import TRAINING_LFW

    return [(k, m, f) for k in TRAINING_LFW for m in MIRRORED for f in FACE_FRACTIONS]


@lru_cache(maxsize=4)
def photo_frames(n_frames: int, size: int) -> torch.Tensor:
    """(P, n_frames, 1, size, size) uint8: every variant as a clip's cached face crops, one grey channel (a crop is
    grey in all three; `expand` to 3 channels costs no copy, storing them would cost three times the memory).

    Cached per (n_frames, size): a DataLoader worker builds it once (a few seconds for 180 variants).
    """
    from PIL import Image

    from ..media.faces import crop_face_images
    from .realish import lfw_faces, render_lfw, still_with_zoom

    faces = lfw_faces()
    clips = []
    for k, mirrored, fraction in variants():
        face = faces[k][:, ::-1] if mirrored else faces[k]
        frames = still_with_zoom(render_lfw(np.ascontiguousarray(face), FRAME_SIDE, fraction), n_frames, FRAME_SIDE)
        crops, _ = crop_face_images([Image.fromarray(f) for f in frames], size)
        clips.append(np.stack([np.asarray(c.convert("L")) for c in crops]))  # (T, S, S)
    return torch.from_numpy(np.stack(clips))[:, :, None]  # (P, T, 1, S, S)
