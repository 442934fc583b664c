"""A real-ish evaluation set: real photos, espeak-ng voices and natural sentences, none of them seen in training.

Why: the generated training clips (cartoon faces, synthetic voices, template sentences) say nothing about how a
model does on the clips people bring. This set is built from material that is independent of the generator:

* **words**: 756 sentences written for this set (merclip.data.realish_sentences), every emotion in at least
  60 of them, some with a second intended emotion, in everyday words that avoid the generator's vocabulary (the
  tests check that none contains or shares a 5-word sequence with a phrase of merclip.data.phrasebook or
  merclip.data.synthetic). The intended emotions are the ground truth.
* **split**: every clip is "dev" or "test". The first 396 sentences are dev (every choice of recipe and epoch is
  made on them); the 360 after them, written by helpers that had read nothing of the project, 60 per emotion, are
  the test split, read once per shipped model. The split is fixed in the data module, never drawn at run time.
* **faces**: real photographs that ship inside scikit-image, so no download is needed:
  - `astronaut` (Eileen Collins, smiling; NASA, public domain) and `camera` (the cameraman, in profile; CC0 by the
    photographer, Lav Varshney), each also mirrored: sample images of scikit-image (BSD-3 licence);
  - 70 of the 100 face images of `skimage.data.lfw_subset()` (`lfw-000` .. `lfw-069`): 25x25 grey crops from Labeled
    Faces in the Wild (University of Massachusetts, Amherst; released for research use), upscaled with PIL bicubic
    to half the frame on a plain grey ground of their own mean level, the rendering at which OpenCV's frontal
    cascade finds the most of them (98 of 100 in the first frame, 97 after the zoom; measured on this set). The
    other 30 (`TRAINING_LFW`) are the demo's training photos, so no face of this set is seen in training.
  The first 66 clips keep the four scikit-image photos they always had, so their numbers stay comparable; the later
  clips of each split go through the 70 LFW faces and then the four photos in turn, so a split sees ~74 faces.
  A photo is shown as a still with a slow zoom. Its expression does not follow the sentence (a still photo rarely
  does): the face is context here, as in many vlogs, not the label's source.
* **voices**: espeak-ng (Debian package) in five English voices and three speaking rates; espeak-ng has no
  emotional prosody, so the voice carries no label either.

So this set measures mostly how well a model reads the words, and whether vision and audio mislead it. The clips
and a manifest (`realish.json`: id, file, transcript, intended emotions, photo, voice, split) are written to a
folder; `merclip.serving.realish_eval` scores models on them.

    python -m merclip.data.realish --out data/realish --workers 2               # every clip
    python -m merclip.data.realish --out data/realish-test --split test       # only the test split
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..arguments import positive_int, user_errors_exit
from ..errors import UserError
from ..files import check_folder_writable
from .realish_sentences import ORIGINAL, PHOTO_CYCLES, SENTENCES, SPLITS
from .speech import SAMPLE_RATE, Prosody, speak, with_silence
from .writer import write_in_processes, write_video

EMOTIONS = ("happy", "sad", "angry", "surprise", "disgust", "fear")  # the demo model's label words
SPLIT_CHOICES = ("dev", "test", "all")
FPS = 8
SIZE = 224
VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-029", "en-gb-x-rp")
RATES = (150, 165, 180)  # words per minute
PHOTOS = ("astronaut", "camera", "astronaut-mirrored", "camera-mirrored")  # scikit-image's sample photos
LFW_FACES = 100  # lfw_subset(): the first 100 of its 200 images are faces, the rest background patches
TRAINING_LFW = tuple(range(70, LFW_FACES))  # kept out of this set: training photos (merclip.data.training_photos)
LFW_PHOTOS = tuple(f"lfw-{k:03d}" for k in range(LFW_FACES) if k not in TRAINING_LFW)
NEW_PHOTOS = LFW_PHOTOS + PHOTOS  # the cycle of photos for the sentences after the first ORIGINAL
LFW_FACE_FRACTION = 0.5  # the face's side over the frame's: the cascade finds the most faces at 0.4-0.6


@dataclass(frozen=True)
class RealishClip:
    clip_id: str
    video: str  # file name inside the set's folder
    transcript: str
    emotions: tuple[str, ...]  # intended, a subset of EMOTIONS
    photo: str
    voice: str
    split: str = "dev"  # "dev" or "test"; manifests written before the split existed hold only dev sentences


def _skimage_data():
    try:
        from skimage import data
    except ImportError as exc:
        raise ImportError("the real-ish set's photos come from scikit-image: pip install -r requirements-dev.txt") from exc
    return data


@lru_cache(maxsize=1)
def photos() -> dict[str, np.ndarray]:
    """scikit-image's two real photographs as (300, 300, 3) uint8 squares centred on the person, and mirrored."""
    data = _skimage_data()
    astronaut = data.astronaut()[0:300, 100:400]  # (300, 300, 3): the face and shoulders
    camera = np.repeat(data.camera()[40:340, 150:450, None], 3, axis=2)  # (300, 300, 3) from greyscale
    return {"astronaut": astronaut, "astronaut-mirrored": astronaut[:, ::-1].copy(),
            "camera": camera, "camera-mirrored": camera[:, ::-1].copy()}


@lru_cache(maxsize=1)
def lfw_faces() -> np.ndarray:
    """(100, 25, 25) uint8: the face images of scikit-image's LFW subset (it ships in the package: no download)."""
    return np.round(_skimage_data().lfw_subset()[:LFW_FACES] * 255).astype(np.uint8)


def render_lfw(face: np.ndarray, size: int = SIZE, fraction: float = LFW_FACE_FRACTION) -> np.ndarray:
    """(size, size, 3) uint8: a tight 25x25 grey face crop upscaled (PIL bicubic) to `fraction` of the frame, centred
    on its own mean grey. Why a margin: the Haar cascade was trained on faces with some surroundings and misses
    many that fill the frame edge to edge (83 of 100 found at full size, 98 at half)."""
    from PIL import Image

    side = round(size * fraction)
    big = np.asarray(Image.fromarray(face).resize((side, side), Image.BICUBIC))
    frame = np.full((size, size), round(float(face.mean())), np.uint8)
    top = (size - side) // 2
    frame[top:top + side, top:top + side] = big
    return np.repeat(frame[..., None], 3, axis=2)


def picture(name: str) -> np.ndarray:
    """A square RGB uint8 photo by its manifest name: one of PHOTOS or `lfw-NNN`."""
    if name.startswith("lfw-"):
        return render_lfw(lfw_faces()[int(name[4:])])
    return photos()[name]


def still_with_zoom(photo: np.ndarray, n_frames: int, size: int = SIZE, zoom: float = 0.1) -> np.ndarray:
    """(n_frames, size, size, 3) uint8: the photo, slowly zooming in by `zoom` of its side (a still, but a video)."""
    from PIL import Image

    image = Image.fromarray(photo)
    side = photo.shape[0]
    frames = []
    for i in range(n_frames):
        crop = side * (1 - zoom * i / max(1, n_frames - 1))
        off = (side - crop) / 2
        frames.append(np.asarray(image.resize((size, size), Image.BILINEAR, box=(off, off, off + crop, off + crop))))
    return np.stack(frames)


def _photo_for(i: int, j: int) -> str:
    """Sentence i's photo; j counts the sentences after the first ORIGINAL in i's photo cycle before it
    (realish_sentences.PHOTO_CYCLES). The original clips keep their old rule (their numbers stay comparable); later
    ones go through NEW_PHOTOS per cycle, so each split sees every face rather than every other one."""
    if i < ORIGINAL:
        return PHOTOS[(i // len(VOICES)) % len(PHOTOS)]
    return NEW_PHOTOS[j % len(NEW_PHOTOS)]


def plan(n: int | None = None, split: str = "all") -> list[RealishClip]:
    """Which photo and voice each sentence gets (fixed), without writing anything: the first `n` clips of `split`
    ("dev", "test" or "all"), in the order of SENTENCES. A clip's id, photo and voice do not depend on n or split."""
    if split not in SPLIT_CHOICES:
        raise ValueError(f"split must be one of {SPLIT_CHOICES}; got {split!r}")
    clips, later = [], dict.fromkeys(PHOTO_CYCLES, 0)
    for i, ((text, emotions), part, cycle) in enumerate(zip(SENTENCES, SPLITS, PHOTO_CYCLES)):
        photo_name = _photo_for(i, later[cycle])
        later[cycle] += int(i >= ORIGINAL)
        if split in ("all", part):
            voice = f"{VOICES[i % len(VOICES)]}@{RATES[i % len(RATES)]}"
            name = f"realish_{i:03d}"
            clips.append(RealishClip(name, f"{name}.mp4", text, emotions, photo_name, voice, part))
    return clips[:n]


def write_clip(clip: RealishClip, out: Path) -> None:
    """Speak the clip's sentence and write it over its photo to `out / clip.video` (one process-pool task)."""
    voice, rate = clip.voice.split("@")
    speech = speak(clip.transcript, Prosody(voice, rate=int(rate)))  # espeak's default pitch and loudness
    audio = with_silence(speech)
    n_frames = max(2, int(np.ceil(len(audio) / SAMPLE_RATE * FPS)))
    write_video(out / clip.video, still_with_zoom(picture(clip.photo), n_frames), fps=FPS, audio=audio,
                sample_rate=SAMPLE_RATE)


def build(out: str | Path, n: int | None = None, progress: bool = True, split: str = "all",
          workers: int = 1) -> Path:
    """Write the clips of `plan(n, split)` and their `realish.json` (only those) into `out`; returns the manifest's
    path. `workers` > 1 writes clips in that many processes: espeak-ng and the H.264 encoder each use one core."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    clips = plan(n, split)
    write_in_processes(write_clip, clips, out, workers=workers, desc="real-ish clips", progress=progress)
    manifest = out / "realish.json"
    manifest.write_text(json.dumps([asdict(c) for c in clips], indent=1))
    write_folder_metadata(clips, out)
    return manifest


FOLDER_SPLITS = {"dev": "valid", "test": "test"}  # the folder format's names (merclip.data.folder)


def write_folder_metadata(clips: list[RealishClip], out: Path) -> Path:
    """`metadata.csv` in the folder format beside the manifest, so the set is also a folder dataset: every command's
    `--dataset folder --root DIR` reads it (export its embeddings for the Projection tab, evaluate a checkpoint)."""
    path = out / "metadata.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["file_name", "transcript", "emotions", "split"])
        for c in clips:
            writer.writerow([c.video, c.transcript, ";".join(c.emotions), FOLDER_SPLITS[c.split]])
    return path


def load(manifest: str | Path, split: str | None = None) -> list[RealishClip]:
    """The clips a manifest lists, or only those of `split` ("dev" / "test"; None or "all": every one). Manifests
    written before the split existed read as dev; one whose clips carry another split than SPLITS is refused."""
    if split not in (None, *SPLIT_CHOICES):
        raise ValueError(f"split must be one of {SPLIT_CHOICES} or None; got {split!r}")
    rows = _manifest_rows(Path(manifest))
    for row in rows:  # a folder built before the split moved (session 9) would score the retired clips as test
        k = _index(row["clip_id"])
        if "split" in row and k is not None and k < len(SPLITS) and row["split"] != SPLITS[k]:
            raise UserError(f"the real-ish set in {Path(manifest).parent.name} was built with an older split "
                            f"({row['clip_id']} is {row['split']} there, {SPLITS[k]} now): rebuild it with "
                            f"python -m merclip.data.realish --out <folder>")
    clips = [RealishClip(**{**d, "emotions": tuple(d["emotions"])}) for d in rows]
    return [c for c in clips if split in (None, "all", c.split)]


def _manifest_rows(manifest: Path) -> list[dict]:
    """The rows of a realish.json, or a UserError naming what is wrong: a missing, unreadable or damaged manifest
    was a FileNotFoundError, JSONDecodeError or KeyError traceback in eval_realish and train_demo."""
    rebuild = f"build it with python -m merclip.data.realish --out {manifest.parent}"
    if not manifest.is_file():
        raise UserError(f"no real-ish set at '{manifest.parent}' (no {manifest.name} in it): {rebuild}")
    try:
        rows = json.loads(manifest.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"'{manifest}' is not valid JSON ({exc}): {rebuild}") from None
    fields = {f.name for f in dataclasses.fields(RealishClip)}
    required = {f.name for f in dataclasses.fields(RealishClip) if f.default is dataclasses.MISSING}  # not split
    if not isinstance(rows, list) or not all(isinstance(r, dict) and required <= set(r) <= fields for r in rows):
        raise UserError(f"'{manifest}' is not a real-ish manifest (a list of clips with the fields "
                        f"{', '.join(sorted(fields))}): {rebuild}")
    return rows


def _index(clip_id: str) -> int | None:
    """The sentence index of a clip id this module wrote ("realish_042" -> 42), None for any other id."""
    head, _, number = clip_id.rpartition("_")
    return int(number) if head == "realish" and number.isdigit() else None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the real-ish evaluation set (real photos, espeak-ng voices, "
                                                 f"{len(SENTENCES)} natural sentences with their intended emotions, "
                                                 "split into dev and test).")
    parser.add_argument("--out", required=True, help="folder for the clips and realish.json")
    parser.add_argument("--split", choices=SPLIT_CHOICES, default="all", help="build only this split (default: all)")
    parser.add_argument("--limit", type=positive_int, help="only the first N clips of the split (quick runs)")
    parser.add_argument("--workers", type=positive_int, default=1, help="processes writing clips (default 1)")
    args = parser.parse_args(argv)
    with user_errors_exit(parser.prog):  # an --out that is a file, or under one, failed with a traceback
        check_folder_writable(args.out, "real-ish set")
    print(f"wrote {build(args.out, args.limit, split=args.split, workers=args.workers)}")


if __name__ == "__main__":
    main()
