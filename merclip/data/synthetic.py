"""A generated talking-clip dataset in the CMU-MOSEI raw layout, for tests and the offline demo model.

    python -m merclip.data.synthetic --out data/synthetic --n 600
    python -m merclip.data.synthetic --out data/speech --n 1000 --style speech   # espeak-ng speech

Each clip is a short mp4 (a rendered face-like picture, 8 fps, 112x112) with a synthesised
voice-like audio track, a separate 16 kHz WAV, a transcript line, and MOSEI-format labels
(sentiment in [-3, 3]; happy, sad, anger, surprise, disgust, fear intensities in [0, 3]).
Everything is seeded and deterministic: the same --seed and --n give the same bytes of labels.

How each modality carries the labels (each alone is informative but incomplete):
  vision    happy    -> the mouth curves up into a smile (flat otherwise)
            sad      -> the eyebrows slant down at the outer ends, and a blue tear under the left eye
            surprise -> eyes drawn about twice as large
  audio     angry    -> loud, buzzy voice (many strong harmonics, 1.8x amplitude)
            fear     -> 9 Hz tremolo on the loudness and a higher pitch
            surprise -> pitch glides upwards by an octave over the clip
  language  disgust  -> a disgust phrase ("that smell was revolting", ...)
            fear     -> with probability 0.5, a fear phrase ("it was terrifying", ...)
            sentiment-> with probability 0.8, an opinion phrase whose polarity is the sign of the
                        sentiment score ("I loved it" / "I hated it"); otherwise a neutral filler
The faces and tones are drawn by merclip.data.synthetic_render.
Style "speech" keeps the faces but replaces the words and the voice: a sentence from
merclip.data.phrasebook naming up to two of the clip's emotions (feeling word + situation, ~20 forms; a neutral
statement when none), spoken by espeak-ng in one of ten voices with emotion-dependent pitch, rate, loudness
and pauses (merclip.data.speech); the clip is as long as the speech.
Nuisance variation that carries no label: face position and skin tone, background colour,
blinking, the speaker's base pitch (120-220 Hz), syllable rhythm, clip length (2-4 s), filler words.
So vision alone can get happy/sad/surprise, audio angry/fear/surprise, language disgust and most of
the sentiment: the three together are needed for the whole label set.

Sentiment score = clip(1.5*happy + 0.5*surprise - sad - angry - disgust - fear + noise, -3, 3),
using 0/1 presence, so it correlates with the visible smile and with the words.
"""
from __future__ import annotations

import argparse
import csv
import json
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
from tqdm import tqdm

from ..arguments import positive_int, user_errors_exit
from ..files import check_folder_writable
from ..labels import MELD_LABELS
from .erc import MELD_SPLITS
from .mosi_mosei import SPLITS
from .synthetic_render import SAMPLE_RATE, SIZE, render_frames, synthesise_voice
from .writer import write_in_processes, write_video, write_wav

EMOTIONS = ("happy", "sad", "anger", "surprise", "disgust", "fear")  # MOSEI column names
PRIORS = (0.45, 0.3, 0.25, 0.2, 0.2, 0.15)
FPS = 8

POSITIVE = ("I loved it", "it was great", "what a wonderful time", "this is fantastic", "I really enjoyed that")
NEGATIVE = ("I hated it", "it was awful", "what a terrible time", "this is horrible", "I really regret that")
DISGUST = ("that smell was revolting", "it looked gross", "the food was disgusting", "so nasty and vile")
FEAR = ("it was terrifying", "I was scared stiff", "that frightened me")
FILLERS = ("so yesterday", "you know", "well honestly", "anyway", "the other day", "at the office", "after lunch")
NEUTRAL = ("I went there", "we talked about the plan", "it happened on monday", "there were many people")


@dataclass
class Segment:
    video_id: str
    index: int
    start: float
    end: float
    text: str
    labels: np.ndarray  # (7,) [sentiment, happy, sad, anger, surprise, disgust, fear]
    speech: np.ndarray | None = None  # style "speech": the espeak-ng rendering of `text` (its length sets the clip's)

    @property
    def clip_id(self) -> str:
        return f"{self.video_id}_{self.index}"


def sample_labels(rng: np.random.Generator) -> np.ndarray:
    present = rng.random(6) < np.array(PRIORS)
    intensity = np.where(present, rng.choice([1 / 3, 2 / 3, 1.0, 4 / 3, 2.0, 3.0], 6), 0.0)
    h, s, a, su, d, f = present.astype(float)
    score = np.clip(1.5 * h + 0.5 * su - s - a - d - f + rng.normal(0, 0.5), -3, 3)
    score = float(np.round(score * 3) / 3)  # MOSEI averages three annotators: multiples of 1/3
    return np.concatenate([[score], intensity]).astype(np.float32)


def transcript(labels: np.ndarray, rng: np.random.Generator) -> str:
    parts = [rng.choice(FILLERS)]
    if rng.random() < 0.8 and labels[0] != 0:
        parts.append(rng.choice(POSITIVE if labels[0] > 0 else NEGATIVE))
    else:
        parts.append(rng.choice(NEUTRAL))
    if labels[5] > 0:
        parts.append(rng.choice(DISGUST))
    if labels[6] > 0 and rng.random() < 0.5:
        parts.append(rng.choice(FEAR))
    return " ".join(parts)


STYLES = ("tones", "speech")
SPOKEN_NAMES = {"anger": "angry"}  # MOSEI's column name -> the word the phrasebook and the labels use


def present_emotions(labels: np.ndarray) -> list[str]:
    """The emotion words present in a (7,) label vector, in MOSEI's column order."""
    return [SPOKEN_NAMES.get(e, e) for e, v in zip(EMOTIONS, labels[1:]) if v > 0]


def speech_plan(labels: np.ndarray, rng: np.random.Generator):
    """Style "speech": a phrasebook sentence and its `speech.Prosody` (one of many voices, emotion-dependent). Only
    drawing uses `rng`, so a dataset's sentences are drawn in order and then spoken in parallel (`speech.speak_all`)."""
    from .phrasebook import sentence
    from .speech import TRAINING_VOICES, Prosody

    emotions = present_emotions(labels)
    text = sentence(emotions, rng)
    voice = TRAINING_VOICES[rng.integers(len(TRAINING_VOICES))]
    return text, Prosody.for_emotions(emotions, voice, rng)


def make_segments(n: int, seed: int, style: str = "tones") -> list[Segment]:
    """n labelled segments grouped into videos of 1-3 segments (folds are video-level, as in MOSEI).

    style "tones" (the shipped demo's data): template phrases and harmonic-tone voices, 2-4 s clips;
    "speech": phrasebook sentences spoken by espeak-ng with emotion-dependent prosody, clips as long as the speech
    (drawn first, in one order, then spoken in threads: the same waves)."""
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; styles: {', '.join(STYLES)}")
    rng = np.random.default_rng(seed)
    planned = []  # (video id, index, labels, text, prosody or the tones' length)
    video = 0
    while len(planned) < n:
        for index in range(int(rng.integers(1, 4))):
            if len(planned) == n:
                break
            labels = sample_labels(rng)
            if style == "speech":
                text, how = speech_plan(labels, rng)
            else:
                how = float(np.round(rng.uniform(2.0, 4.0), 2))
                text = transcript(labels, rng)
            planned.append((f"synth{video:05d}", index, labels, text, how))
        video += 1
    from .speech import speak_all

    speeches = speak_all([(text, how) for *_, text, how in planned]) if style == "speech" else [None] * n
    segments: list[Segment] = []
    start = 0.0
    for (vid, index, labels, text, how), speech in zip(planned, speeches):
        start = 0.0 if index == 0 else start
        length = how if speech is None else float(np.round(len(speech) / SAMPLE_RATE, 2))  # clips as long as speech
        speech = None if speech is None else speech[: int(round(length * SAMPLE_RATE))]
        segments.append(Segment(vid, index, start, start + length, text, labels, speech))
        start += length + 0.5
    return segments


def split_videos(video_ids: list[str], seed: int, fractions=(0.7, 0.1, 0.2)) -> dict[str, list[str]]:
    rng = np.random.default_rng(seed + 1)
    ids = sorted(set(video_ids))
    order = [ids[i] for i in rng.permutation(len(ids))]
    n_train = int(round(fractions[0] * len(ids)))
    n_valid = max(1, int(round(fractions[1] * len(ids))))
    return {"train": sorted(order[:n_train]), "valid": sorted(order[n_train : n_train + n_valid]),
            "test": sorted(order[n_train + n_valid :])}


def write_labels_csd(path: Path, segments: list[Segment]) -> None:
    """CMU-MultimodalSDK computational sequence: <root>/data/<vid>/{features,intervals}, <root>/metadata."""
    path.parent.mkdir(parents=True, exist_ok=True)
    by_video: dict[str, list[Segment]] = {}
    for s in segments:
        by_video.setdefault(s.video_id, []).append(s)
    with h5py.File(path, "w") as f:
        root = f.create_group("All Labels")
        data = root.create_group("data")
        for vid, segs in by_video.items():
            g = data.create_group(vid)
            g.create_dataset("features", data=np.stack([s.labels for s in segs]))
            g.create_dataset("intervals", data=np.array([[s.start, s.end] for s in segs], dtype=np.float64))
        meta = root.create_group("metadata")
        for key, value in {
            "root name": "All Labels",
            "computational sequence description": "MER-CLIP Studio generated dataset (not real data)",
            "dimension names": json.dumps(["sentiment", *EMOTIONS]),
            "computational sequence version": "1.0",
        }.items():
            meta.create_dataset(key, data=value)


def _render(s: Segment, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A segment's frames (T, H, W, 3) uint8 and its voice, seeded by (seed, video, segment)."""
    rng = np.random.default_rng([seed, int(s.video_id[5:]), s.index])
    seconds = s.end - s.start
    frames = render_frames(s.labels, max(2, int(round(seconds * FPS))), rng)
    return frames, (s.speech if s.speech is not None else synthesise_voice(s.labels, seconds, rng))


def write_folder(out: str | Path, n: int, seed: int = 0, kind: str = "csv", nested: bool = False,
                 progress: bool = True) -> Path:
    """Write n clips in the folder format (merclip.data.folder): mp4s beside metadata.<kind> with transcript, emotions,
    sentiment and split columns; `nested`: one subfolder per video. The clips are `write_dataset`'s."""
    from .folder import write_metadata

    out = Path(out)
    segments = make_segments(n, seed)
    split_of = {v: split for split, videos in split_videos([s.video_id for s in segments], seed).items() for v in videos}
    rows = []
    for s in tqdm(segments, desc="writing clips", disable=not progress):
        name = f"{s.video_id}/{s.index}.mp4" if nested else f"{s.clip_id}.mp4"
        frames, voice = _render(s, seed)
        write_video(out / name, frames, fps=FPS, audio=voice, sample_rate=SAMPLE_RATE)
        rows.append({"file_name": name, "transcript": s.text, "emotions": ";".join(present_emotions(s.labels)),
                     "sentiment": round(float(s.labels[0]), 4), "split": split_of[s.video_id]})
    write_metadata(out, rows, kind)
    return out


def _write_clip(s: Segment, seed: int, videos: Path, wavs: Path) -> None:
    """Render one segment and write its video and WAV (one task of `write_in_processes`)."""
    frames, voice = _render(s, seed)
    write_video(videos / f"{s.clip_id}.mp4", frames, fps=FPS, audio=voice, sample_rate=SAMPLE_RATE)
    write_wav(wavs / f"{s.clip_id}.wav", voice, SAMPLE_RATE)


def write_dataset(out: str | Path, n: int, seed: int = 0, progress: bool = True, style: str = "tones",
                  splits: tuple[str, ...] | None = None, workers: int = 1) -> Path:
    """Write n clips under `out` in the CMU-MOSEI raw layout and return `out` (style: see make_segments).

    `splits` (e.g. ("test",)) renders only those splits' clips, the same clips a full write gives them (labels,
    transcripts and folds still cover all n): a test can read the demo's generated test split without the rest.
    `workers` > 1 renders clips in that many processes; the files are the same."""
    out = Path(out)
    segments = make_segments(n, seed, style)
    folds = split_videos(list(dict.fromkeys(s.video_id for s in segments)), seed)
    videos = out / "Videos" / "Segmented" / "Combined"
    wavs = out / "Audio" / "Segmented" / "Combined" / "WAV_16000"
    transcripts = out / "Transcript" / "Segmented" / "Combined"
    transcripts.mkdir(parents=True, exist_ok=True)
    wanted = {v for split in (splits or folds) for v in folds[split]}
    write_in_processes(_write_clip, [s for s in segments if s.video_id in wanted], seed, videos, wavs,
                       workers=workers, progress=progress)
    by_video: dict[str, list[Segment]] = {}
    for s in segments:
        by_video.setdefault(s.video_id, []).append(s)
    for vid, segs in by_video.items():
        lines = [f"{vid}___{s.index}___{s.start:.3f}___{s.end:.3f}___{s.text}" for s in segs]
        (transcripts / f"{vid}.txt").write_text("\n".join(lines) + "\n")
    write_labels_csd(out / "Labels" / "CMU_MOSEI_Labels.csd", segments)
    (out / "folds.json").write_text(json.dumps(folds, indent=1))
    (out / "README.txt").write_text(
        f"Generated by merclip.data.synthetic (n={n}, seed={seed}, style={style}). Not real data: see the module "
        "docstring.\n"
    )
    return out


MELD_HEADER = ["Sr No.", "Utterance", "Speaker", "Emotion", "Sentiment", "Dialogue_ID", "Utterance_ID", "Season",
               "Episode", "StartTime", "EndTime"]
MELD_EMOTION_CUES = {  # MELD emotion -> MOSEI-style label vector driving the face and voice renderers
    "neutral": (0, 0, 0, 0, 0, 0), "joy": (1, 0, 0, 0, 0, 0), "sadness": (0, 1, 0, 0, 0, 0),
    "anger": (0, 0, 1, 0, 0, 0), "surprise": (0, 0, 0, 1, 0, 0), "fear": (0, 0, 0, 0, 0, 1),
    "disgust": (0, 0, 0, 0, 1, 0)}
MELD_SENTIMENT = {"neutral": "neutral", "joy": "positive", "surprise": "positive"}


def meld_transcript(emotion: str, rng: np.random.Generator) -> str:
    """Text carries joy / sadness / disgust; anger, fear, surprise and neutral get neutral words."""
    phrase = {"joy": POSITIVE, "sadness": NEGATIVE, "disgust": DISGUST}.get(emotion, NEUTRAL)
    return f"{rng.choice(FILLERS)} {rng.choice(phrase)}"


def write_meld(out: str | Path, n: int, seed: int = 0, progress: bool = True) -> Path:
    """n single-label utterances in the MELD layout (CSVs + dia{D}_utt{U}.mp4), for LSGMER.

    Audio carries anger (buzzy), fear (tremolo) and surprise (rising pitch); text carries joy, sadness and
    disgust; neutral has neither. Dialogues of 1-3 utterances are split 70/10/20 into train/dev/test.
    """
    out = Path(out)
    rng = np.random.default_rng(seed)
    rows: dict[str, list] = {"train": [], "valid": [], "test": []}
    made, dialogue = 0, 0
    split_cycle = ["train"] * 7 + ["valid"] + ["test"] * 2
    bar = tqdm(total=n, desc="writing MELD-layout clips", disable=not progress)
    while made < n:
        split = split_cycle[dialogue % 10]
        d = len({r[5] for r in rows[split]})
        for u in range(int(rng.integers(1, 4))):
            if made == n:
                break
            emotion = MELD_LABELS[int(rng.integers(0, len(MELD_LABELS)))]
            cues = np.array([0.0, *MELD_EMOTION_CUES[emotion]], np.float32)
            seconds = float(np.round(rng.uniform(1.5, 3.0), 2))
            folder = out / MELD_SPLITS[split][1]
            write_video(folder / f"dia{d}_utt{u}.mp4", render_frames(cues, max(2, int(seconds * FPS)), rng), fps=FPS,
                        audio=synthesise_voice(cues, seconds, rng))
            sentiment = MELD_SENTIMENT.get(emotion, "negative")
            rows[split].append([len(rows[split]) + 1, meld_transcript(emotion, rng), f"speaker{dialogue % 5}", emotion,
                                sentiment, d, u, 1, 1, "00:00:00,000", f"00:00:0{int(seconds)},000"])
            made += 1
            bar.update()
        dialogue += 1
    bar.close()
    out.mkdir(parents=True, exist_ok=True)
    for split, split_rows in rows.items():
        with open(out / MELD_SPLITS[split][0], "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(MELD_HEADER)
            writer.writerows(split_rows)
    return out


EXAMPLES = {
    # name: (labels [sentiment, happy, sad, anger, surprise, disgust, fear], transcript)
    "happy_surprised": ([2.0, 2.0, 0, 0, 1.0, 0, 0], "well honestly what a wonderful time"),
    "sad_afraid": ([-1.67, 0, 2.0, 0, 0, 0, 1.0], "the other day I really regret that it was terrifying"),
    "angry_disgusted": ([-2.0, 0, 0, 2.0, 0, 1.33, 0], "after lunch it was awful the food was disgusting"),
    "neutral": ([0.0, 0, 0, 0, 0, 0, 0], "anyway we talked about the plan"),
}


SPOKEN_EXAMPLES = {  # style "speech": natural sentences in neither the phrasebook nor the real-ish set; short
    # enough (< 60 characters) for gradio to show them whole on the example buttons
    "happy_surprised": "No way, a surprise party for me? I'm so happy!",
    "sad_afraid": "I miss her so much, and I'm scared of what's next.",
    "angry_disgusted": "The meat was spoiled and the manager yelled at us.",
    "neutral": "I'm taking the train to the office at nine tomorrow.",
}


def write_examples(out: str | Path, seed: int = 0, style: str = "tones") -> list[Path]:
    """The app's example clips: one mp4 + .txt transcript per entry of EXAMPLES (generated, labelled by name);
    style "speech": the SPOKEN_EXAMPLES sentences, spoken by espeak-ng with the labels' prosody."""
    from .speech import Prosody, speak, with_silence

    out = Path(out)
    paths = []
    for i, (name, (labels, text)) in enumerate(EXAMPLES.items()):
        rng = np.random.default_rng([seed, 99, i])
        labels = np.array(labels, dtype=np.float32)
        if style == "speech":
            text = SPOKEN_EXAMPLES[name]
            spoken = speak(text, Prosody.for_emotions(present_emotions(labels), "en-us+m3", rng))
            audio = np.clip(with_silence(spoken), -1.0, 1.0)
        else:
            audio = synthesise_voice(labels, 3.0, rng)
        frames = render_frames(labels, max(2, int(round(len(audio) / SAMPLE_RATE * FPS))), rng)
        paths.append(write_video(out / f"{name}.mp4", frames, fps=FPS, audio=audio))
        (out / f"{name}.txt").write_text(text + "\n")
    return paths


def split_names(text: str) -> tuple[str, ...]:
    """`--splits test,valid`: known split names (an unknown one was a KeyError after the output folder was made)."""
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [n for n in names if n not in SPLITS]  # split_videos' splits
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"must be split names from {', '.join(SPLITS)} (comma-separated), got {text!r}")
    return names


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="output folder (CMU-MOSEI raw layout)")
    parser.add_argument("--n", type=positive_int, default=600, help="number of clips (segments)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--splits", type=split_names,
                        help="render only these splits' clips, e.g. test (labels and folds cover all)")
    parser.add_argument("--workers", type=positive_int, default=1, help="processes rendering clips (default 1)")
    parser.add_argument("--examples", action="store_true", help="write the app's example clips to --out instead")
    parser.add_argument("--style", default="tones", choices=list(STYLES),
                        help="tones: template phrases and tone voices (the first demo's data); speech: varied "
                             "phrasebook sentences spoken by espeak-ng with emotional prosody")
    parser.add_argument("--layout", default="mosei", choices=["mosei", "meld", "folder"],
                        help="mosei: multi-label MER-CLIP data; meld: single-label audio+text data for LSGMER; "
                             "folder: clips beside a metadata.csv (merclip.data.folder)")
    args = parser.parse_args(argv)
    with user_errors_exit(parser.prog):  # an --out that is a file, or under one, failed with a traceback
        check_folder_writable(args.out, "generated dataset")
    if args.layout == "folder":
        print(f"wrote {args.n} clips and metadata.csv to {write_folder(args.out, args.n, args.seed)}")
        return
    if args.layout == "meld":
        print(f"wrote {args.n} utterances to {write_meld(args.out, args.n, args.seed)}")
        return
    if args.examples:
        print(f"wrote {len(write_examples(args.out, args.seed, args.style))} example clips to {args.out}")
        return
    path = write_dataset(args.out, args.n, args.seed, style=args.style,
                         splits=args.splits, workers=args.workers)
    print(f"wrote {args.n} clips to {path}")


if __name__ == "__main__":
    main()
