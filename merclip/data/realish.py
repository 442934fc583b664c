"""A real-ish evaluation set: real photos, espeak-ng voices and natural sentences, none of them seen in training.

Why: the generated training clips (cartoon faces, synthetic voices, template sentences) say nothing about how a
model does on the clips people bring. This set is built from material that is independent of the generator:

* **words**: 66 sentences written for this set, 11 per emotion, 14 of them with a second intended emotion, in
  everyday words that avoid the generator's vocabulary (`merclip.data.synthetic`'s POSITIVE / NEGATIVE / DISGUST /
  FEAR phrases; tests/test_realish.py checks that no sentence contains one of them). The intended emotions
  are the ground truth.
* **faces**: the two real photographs that scikit-image ships (`astronaut`, Eileen Collins, smiling; `camera`, the
  cameraman, neutral), each also mirrored, shown as a still with a slow zoom. Their expressions do not follow the
  sentence (a still photo rarely does): the face is context here, as in many vlogs, not the label's source.
* **voices**: espeak-ng (Debian package) in five English voices and three speaking rates; espeak-ng has no
  emotional prosody, so the voice carries no label either.

So this set measures mostly how well a model reads the words, and whether vision and audio mislead it. The clips
and a manifest (`realish.json`: id, file, transcript, intended emotions, photo, voice) are written to a folder;
`merclip.serving.realish_eval` scores models on them.

    python -m merclip.data.realish --out data/realish
"""
from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .speech import SAMPLE_RATE, Prosody, speak, with_silence
from .writer import write_video

EMOTIONS = ("happy", "sad", "angry", "surprise", "disgust", "fear")  # the demo model's label words
FPS = 8
SIZE = 224
VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-029", "en-gb-x-rp")
RATES = (150, 165, 180)  # words per minute
PHOTOS = ("astronaut", "camera", "astronaut-mirrored", "camera-mirrored")

# (sentence, intended emotions): written for this set, independently of the generator's phrases
SENTENCES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("My sister just had her baby and everyone is doing well.", ("happy",)),
    ("We finally moved into our own place and I can't stop smiling.", ("happy",)),
    ("The kids made me breakfast this morning, it made my whole week.", ("happy",)),
    ("I passed the exam, all those late nights paid off.", ("happy",)),
    ("Honestly this is the best vacation we've had in years.", ("happy",)),
    ("Our team won the final in the last minute.", ("happy",)),
    ("It feels so good to see all my old friends again.", ("happy",)),
    ("The garden is blooming and the weather is perfect.", ("happy",)),
    ("She said yes when I asked her to marry me.", ("happy", "surprise")),
    ("I got the job offer and the pay is better than I hoped.", ("happy", "surprise")),
    ("Dinner with my parents tonight was really lovely.", ("happy",)),
    ("My grandfather passed away last week and I still miss him.", ("sad",)),
    ("Nobody came to my birthday party this year.", ("sad",)),
    ("I had to give away my dog because we moved.", ("sad",)),
    ("The house feels so empty since the kids left for college.", ("sad",)),
    ("I tried my best but I still failed the course.", ("sad",)),
    ("We broke up after six years together.", ("sad",)),
    ("I haven't talked to anyone in days and I feel so alone.", ("sad",)),
    ("My best friend is moving to another country next month.", ("sad",)),
    ("I lost my job today and I don't know how to tell my family.", ("sad", "fear")),
    ("Looking at old photos just makes me cry.", ("sad",)),
    ("The doctor said there is nothing more they can do.", ("sad", "fear")),
    ("They cancelled my flight again without any explanation.", ("angry",)),
    ("I'm furious that he took credit for my work.", ("angry",)),
    ("Stop interrupting me every time I try to speak!", ("angry",)),
    ("The landlord ignored our complaints for three months.", ("angry",)),
    ("How dare you read my private messages?", ("angry",)),
    ("I waited two hours and they still got my order wrong.", ("angry",)),
    ("This is the fourth time the printer broke today, I've had enough.", ("angry",)),
    ("He lied to my face and expected me to just accept it.", ("angry",)),
    ("Somebody scratched my car and just drove off.", ("angry",)),
    ("The company charged me twice and refuses to give the money back.", ("angry",)),
    ("I am so mad at myself for missing that deadline.", ("angry",)),
    ("Wait, you're telling me she's been here the whole time?", ("surprise",)),
    ("I opened the door and all my friends jumped out.", ("surprise", "happy")),
    ("I never expected the results to come back so fast.", ("surprise",)),
    ("Whoa, I had no idea you could play the piano.", ("surprise",)),
    ("Out of nowhere a deer ran across the road.", ("surprise", "fear")),
    ("They announced the merger this morning, nobody saw it coming.", ("surprise",)),
    ("Really? The test was today? I thought it was next week.", ("surprise",)),
    ("I can't believe it snowed in the middle of June.", ("surprise",)),
    ("My old teacher recognised me after twenty years.", ("surprise", "happy")),
    ("The quiet new guy turned out to be the band's singer.", ("surprise",)),
    ("Suddenly the lights went out in the whole building.", ("surprise",)),
    ("There was mold all over the bread in the fridge.", ("disgust",)),
    ("He chewed with his mouth open the entire dinner.", ("disgust",)),
    ("The bathroom at the station was filthy, I couldn't go in.", ("disgust",)),
    ("Someone left old fish in the office microwave.", ("disgust",)),
    ("I found a hair in my soup and lost my appetite.", ("disgust",)),
    ("The way they treat their workers makes me sick.", ("disgust", "angry")),
    ("The milk had gone sour and lumpy.", ("disgust",)),
    ("There were cockroaches crawling under the sink.", ("disgust", "fear")),
    ("He spat on the sidewalk right in front of us.", ("disgust",)),
    ("The trash hadn't been collected for weeks and it stank.", ("disgust",)),
    ("Watching that politician cheat and lie turns my stomach.", ("disgust", "angry")),
    ("I heard footsteps downstairs in the middle of the night.", ("fear",)),
    ("The plane started shaking and the lights flickered.", ("fear",)),
    ("I'm afraid the test results will be bad.", ("fear",)),
    ("My hands are trembling, I have to speak in front of a thousand people.", ("fear",)),
    ("There's a huge spider on the wall next to my bed.", ("fear", "disgust")),
    ("I'm worried something will happen to my kids on the trip.", ("fear",)),
    ("The storm is getting closer and the power is out.", ("fear",)),
    ("Someone has been following me home from work.", ("fear",)),
    ("I panic every time I have to drive on the highway.", ("fear",)),
    ("The ice cracked under my feet in the middle of the lake.", ("fear",)),
    ("What if they find out and I lose everything?", ("fear",)),
)


@dataclass(frozen=True)
class RealishClip:
    clip_id: str
    video: str  # file name inside the set's folder
    transcript: str
    emotions: tuple[str, ...]  # intended, a subset of EMOTIONS
    photo: str
    voice: str


def photos() -> dict[str, np.ndarray]:
    """The real photographs that scikit-image ships, as (H, W, 3) uint8 squares centred on the face, and mirrored."""
    try:
        from skimage import data
    except ImportError as exc:
        raise ImportError("the real-ish set's photos come from scikit-image: pip install -r requirements-dev.txt") from exc

    astronaut = data.astronaut()[0:300, 100:400]  # (300, 300, 3): the face and shoulders
    camera = np.repeat(data.camera()[40:340, 150:450, None], 3, axis=2)  # (300, 300, 3) from greyscale
    return {"astronaut": astronaut, "astronaut-mirrored": astronaut[:, ::-1].copy(),
            "camera": camera, "camera-mirrored": camera[:, ::-1].copy()}


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


def plan(n: int | None = None) -> list[RealishClip]:
    """Which photo and voice each sentence gets (fixed, round-robin), without writing anything."""
    clips = []
    for i, (text, emotions) in enumerate(SENTENCES[:n]):
        voice = VOICES[i % len(VOICES)]
        clips.append(RealishClip(f"realish_{i:02d}", f"realish_{i:02d}.mp4", text, emotions,
                                 PHOTOS[(i // len(VOICES)) % len(PHOTOS)], f"{voice}@{RATES[i % len(RATES)]}"))
    return clips


def build(out: str | Path, n: int | None = None, progress: bool = True) -> Path:
    """Write the set's clips and `realish.json` into `out`; returns the manifest's path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    pictures = photos()
    clips = plan(n)
    for clip in tqdm(clips, desc="real-ish clips", disable=not progress):
        voice, rate = clip.voice.split("@")
        speech = speak(clip.transcript, Prosody(voice, rate=int(rate)))  # espeak's default pitch and loudness
        audio = with_silence(speech)
        n_frames = max(2, int(np.ceil(len(audio) / SAMPLE_RATE * FPS)))
        write_video(out / clip.video, still_with_zoom(pictures[clip.photo], n_frames), fps=FPS, audio=audio,
                    sample_rate=SAMPLE_RATE)
    manifest = out / "realish.json"
    manifest.write_text(json.dumps([asdict(c) for c in clips], indent=1))
    return manifest


def load(manifest: str | Path) -> list[RealishClip]:
    data = json.loads(Path(manifest).read_text())
    return [RealishClip(**{**d, "emotions": tuple(d["emotions"])}) for d in data]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the real-ish evaluation set (real photos, espeak-ng voices, "
                                                 "66 natural sentences with their intended emotions).")
    parser.add_argument("--out", required=True, help="folder for the clips and realish.json")
    parser.add_argument("--limit", type=int, help="only the first N sentences (quick runs)")
    args = parser.parse_args(argv)
    print(f"wrote {build(args.out, args.limit)}")


if __name__ == "__main__":
    main()
