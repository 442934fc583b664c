"""Training clips whose face and voice do not go with their words (this project's addition to the demo's recipe).

Why: in generated clips the face, the voice and the words always tell the same emotion, so a model learns to
trust whichever is easiest. In the clips people bring, and in the real-ish set, a face is often context (a
smiling presenter reading sad news, a neutral vlogger) and a calm voice says angry words. Pairing one clip's
words and labels with another clip's frames and audio gives training items where only the words are right,
so the fused model learns when to lean on them (issue #25's "face/word disagreement" lever).

The pairing is fixed by a seed: item k takes the media of clip `media[k]` and the transcript and target of clip
`words[k]`, two different clips drawn without replacement from the split. `swap="face"` takes only the frames from
the other clip and keeps the clip's own voice (generated voices follow the labels as words do; a face is the part
that most often tells another story). `swap="photo"` keeps the clip's own words, voice and labels and shows one of
the training photographs instead of its frames (merclip.data.training_photos): a real face that says nothing about
the label, where a swapped cartoon's face still speaks for another clip's emotion.
"""
from __future__ import annotations

import numpy as np
from torch.utils.data import Dataset

from ..media.decoded import ClipInputs
from . import training_photos

SWAPS = ("face+voice", "face", "photo")


class MismatchedClips(Dataset):
    """round(fraction x len(clips)) items of a CachedClipDataset, each one clip's words with another's media (or, for
    `swap="photo"`, with a training photograph)."""

    def __init__(self, clips, fraction: float, seed: int = 0, swap: str = "face+voice"):
        if not 0 < fraction <= 1:
            raise ValueError(f"the mismatched fraction must be in (0, 1], got {fraction!r}")
        if swap not in SWAPS:
            raise ValueError(f"swap must be one of {SWAPS}, got {swap!r}")
        self.clips, self.swap = clips, swap
        n = len(clips)
        rng = np.random.default_rng(seed)
        count = min(n, round(fraction * n)) if n > 1 else 0
        self.media = rng.permutation(n)[:count]
        shift = rng.integers(1, n, size=count) if count else np.zeros(0, dtype=int)  # never the clip itself
        self.words = (self.media + shift) % n  # unused by "photo", but drawn for it too: the photos' draws follow
        if swap == "photo":  # the clip keeps its own words and voice; only its frames become a photograph
            self.photo = rng.integers(0, len(training_photos.variants()), size=count)

    def __len__(self) -> int:
        return len(self.media)

    def __getitem__(self, k: int):
        if self.swap == "photo":
            return self._with_photo(k)
        media, _, media_id = self.clips[int(self.media[k])]
        words, target, words_id = self.clips[int(self.words[k])]
        inputs = ClipInputs(frames=media.frames, audio=media.audio if self.swap == "face+voice" else words.audio,
                            transcript=words.transcript, duration=media.duration)
        return inputs, target, f"{words_id}+media:{media_id}"

    def _with_photo(self, k: int):
        """Clip `media[k]` with a training photograph for its frames (a clip without frames stays as it is)."""
        clip, target, clip_id = self.clips[int(self.media[k])]
        frames = clip.frames  # (T, 3, S, S) uint8: the cached clip's face crops give the photographs' shape
        if frames is not None:
            pool = training_photos.photo_frames(frames.shape[0], frames.shape[-1])  # (P, T, 1, S, S)
            frames = pool[int(self.photo[k])].expand_as(frames)
        inputs = ClipInputs(frames=frames, audio=clip.audio, transcript=clip.transcript, duration=clip.duration)
        return inputs, target, f"{clip_id}+photo:{self.photo[k]}"
