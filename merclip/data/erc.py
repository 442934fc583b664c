"""IEMOCAP and MELD (single-label, conversational emotion recognition), for the LSGMER model.

IEMOCAP_full_release layout (under `root`):
  Session{1..5}/dialog/EmoEvaluation/<dialog>.txt    utterance lines  "[start - end]\\t<utt>\\t<emo>\\t[v, a, d]"
  Session{1..5}/dialog/transcriptions/<dialog>.txt   lines            "<utt> [start-end]: text"
  Session{1..5}/sentences/wav/<dialog>/<utt>.wav     utterance audio
  Session{1..5}/dialog/avi/DivX/<dialog>.avi         whole-dialogue video (utterance = [start, end] of it)
Setups: 4-class (neutral, happy incl. excited, sad, angry) and 6-class (happy, sad, neutral, angry,
excited, frustrated); other labels are dropped. Folds: leave-one-session-out (fold k tests on session k).

MELD layout:
  {train,dev,test}_sent_emo.csv   columns Sr No., Utterance, Speaker, Emotion, Sentiment, Dialogue_ID,
                                  Utterance_ID, Season, Episode, StartTime, EndTime
  train_splits/dia{D}_utt{U}.mp4, dev_splits_complete/..., output_repeated_splits_test/...
7 emotions (neutral, joy, sadness, anger, surprise, fear, disgust), 3 sentiments.
"""
from __future__ import annotations

import csv
import io
import random
import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from ..labels import MELD_LABELS
from .mosi_mosei import DatasetFormatError, DatasetNotFoundError

IEMOCAP_SETUPS: dict[str, dict[str, str]] = {
    "4class": {"neu": "neutral", "hap": "happy", "exc": "happy", "sad": "sad", "ang": "angry"},
    "6class": {"hap": "happy", "sad": "sad", "neu": "neutral", "ang": "angry", "exc": "excited", "fru": "frustrated"},
}
MELD_SPLITS = {"train": ("train_sent_emo.csv", "train_splits"),
               "valid": ("dev_sent_emo.csv", "dev_splits_complete"),
               "test": ("test_sent_emo.csv", "output_repeated_splits_test")}
MELD_COLUMNS = ("Utterance", "Speaker", "Emotion", "Sentiment", "Dialogue_ID", "Utterance_ID")

_EMO_LINE = re.compile(r"^\[(\d+\.?\d*) - (\d+\.?\d*)\]\t(\S+)\t(\S+)\t\[.*\]$")
_TRANS_LINE = re.compile(r"^(\S+) \[(\d+\.?\d*)-(\d+\.?\d*)\]:\s*(.*)$")


@dataclass
class Utterance:
    clip_id: str
    dialogue_id: str
    split: str  # train / valid / test (MELD) or the session name (IEMOCAP)
    speaker: str
    transcript: str
    label: str
    video: Path | None
    audio: Path | None
    start: float | None = None  # within `video` when it is a whole dialogue (IEMOCAP)
    end: float | None = None
    sentiment: str | None = None


def load_iemocap(root: str | Path, setup: Literal["4class", "6class"] = "4class") -> list[Utterance]:
    """Every utterance of the setup's labels. One with no line in its dialogue's transcription gets an empty
    transcript (language absent), counted and named on stderr."""
    root = Path(root)
    mapping = IEMOCAP_SETUPS[setup]
    sessions = sorted(p for p in root.glob("Session[1-5]") if p.is_dir())
    if not sessions:
        raise DatasetNotFoundError(f"'{root}' does not look like IEMOCAP_full_release: no Session1..Session5 folders")
    out, untranscribed = [], []
    for session in sessions:
        texts = _iemocap_transcripts(session)
        for path in sorted((session / "dialog" / "EmoEvaluation").glob("*.txt")):
            dialog = path.stem
            for start, end, utt, emo in _iemocap_evaluations(path):
                if emo not in mapping:
                    continue
                wav = session / "sentences" / "wav" / dialog / f"{utt}.wav"
                avi = session / "dialog" / "avi" / "DivX" / f"{dialog}.avi"
                if utt not in texts:
                    untranscribed.append(utt)
                out.append(Utterance(utt, dialog, session.name, utt.split("_")[-1][0], texts.get(utt, ""),
                                     mapping[emo], avi if avi.is_file() else None, wav if wav.is_file() else None, start, end))
    _report(f"IEMOCAP: {len(untranscribed)} utterance(s) have no transcription line; their transcript is empty "
            "(language absent)", untranscribed)
    return out


def _iemocap_transcripts(session: Path) -> dict[str, str]:
    """{utterance id: text} from a session's dialog/transcriptions files."""
    texts: dict[str, str] = {}
    for path in sorted((session / "dialog" / "transcriptions").glob("*.txt")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            m = _TRANS_LINE.match(line.strip())
            if m:
                texts[m.group(1)] = m.group(4).strip()
    return texts


def _iemocap_evaluations(path: Path):
    """(start, end, utterance id, emotion code) for each utterance line of an EmoEvaluation file."""
    for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.startswith("["):
            continue
        m = _EMO_LINE.match(line.strip())
        if not m:
            raise DatasetFormatError(f"'{path.name}' line {n}: expected '[start - end]\\tutt\\temo\\t[v, a, d]', got {line[:80]!r}")
        yield float(m.group(1)), float(m.group(2)), m.group(3), m.group(4)


def _report(head: str, names: list[str]) -> None:
    """`head`, then the first ten names, on stderr when there are any: nothing is dropped or emptied silently."""
    if names:
        print(f"{head}: {', '.join(names[:10])}" + (" ..." if len(names) > 10 else ""), file=sys.stderr)


def iemocap_split(root: str | Path, setup: Literal["4class", "6class"], fold: int, valid_fraction: float = 0.1,
                  seed: int = 0) -> list[Utterance]:
    """Leave-one-session-out: Session<fold> is the test split; 10% of the other dialogues (seeded) validate.

    Utterances are audio + text (the dialogue videos hold both speakers), so the utterance WAV is the media file;
    utterances without one are left out, counted and named on stderr.
    """
    every = load_iemocap(root, setup)
    utterances = [u for u in every if u.audio is not None]
    no_wav = [u.clip_id for u in every if u.audio is None]
    _report(f"IEMOCAP: left out {len(no_wav)} utterance(s) with no WAV file under sentences/wav/", no_wav)
    test_session = f"Session{fold}"
    dialogues = sorted({u.dialogue_id for u in utterances if u.split != test_session})
    n_valid = max(1, int(len(dialogues) * valid_fraction)) if len(dialogues) >= 2 else 0  # keep training data
    valid = set(random.Random(seed).sample(dialogues, n_valid))

    def split_of(u: Utterance) -> str:
        return "test" if u.split == test_session else ("valid" if u.dialogue_id in valid else "train")

    return [replace(u, split=split_of(u), video=u.audio, audio=None) for u in utterances]


def _read_meld_csv(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")  # MELD's CSVs mix in Windows-1252 quotes
    reader = csv.DictReader(io.StringIO(text))
    rows = list(reader)
    missing = [c for c in MELD_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise DatasetFormatError(f"'{path.name}' lacks MELD columns {missing}")
    return rows


def load_meld(root: str | Path, splits=("train", "valid", "test")) -> list[Utterance]:
    """MELD utterances with a media file. Utterances whose mp4 is absent (the official release lacks at least one)
    are skipped and counted on stderr with their names, instead of failing later inside the decoder."""
    root = Path(root)
    out = []
    absent: list[str] = []
    for split in splits:
        csv_name, folder = MELD_SPLITS[split]
        path = root / csv_name
        if not path.is_file():
            raise DatasetNotFoundError(f"MELD file '{csv_name}' not found in '{root}'")
        for n, row in enumerate(_read_meld_csv(path), 2):
            emotion = row["Emotion"].strip().lower()
            if emotion not in MELD_LABELS:
                raise DatasetFormatError(f"'{csv_name}' row {n}: unknown emotion {row['Emotion']!r}")
            d, u = row["Dialogue_ID"].strip(), row["Utterance_ID"].strip()
            video = root / folder / f"dia{d}_utt{u}.mp4"
            if not video.is_file():
                absent.append(f"{folder}/{video.name}")
                continue
            out.append(Utterance(f"{split}_dia{d}_utt{u}", f"{split}_dia{d}", split, row["Speaker"].strip(),
                                 " ".join(row["Utterance"].split()), emotion, video, None,
                                 sentiment=row["Sentiment"].strip().lower()))
    _report(f"MELD: skipped {len(absent)} utterance(s) with no media file", absent)
    return out
