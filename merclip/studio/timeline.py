"""The Timeline panel: a long clip's utterances found (step 1), edited by the user, then each one scored (step 2);
re-drawn for another task, or one utterance shown in the main panels, from the kept result.

Scored timelines stay server-side under a random token the page holds (the page keeps no gr.State, whose session
heartbeat would hold a connection open for as long as the page is). Their CSV and JSON downloads live in one
working folder per Studio, a folder per token, removed when the timeline leaves the kept ones, when it has not been
used for an hour, and at exit.
"""
from __future__ import annotations

import secrets
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import plotly.graph_objects as go

from ..arguments import check_choice
from ..files import reason, write_text_atomic
from ..serving import figures
from ..serving.timeline import (
    Timeline,
    TimelineConfig,
    Utterance,
    analyse,
    predict_timeline,
    segment,
)
from ..serving.timeline_figure import timeline_figure
from .analysis import summary_markdown
from .panel import Panel
from .requests import StudioError, md_text

TIMELINES_KEPT = 4  # each holds its utterances' results, thumbnails included (~30 MB for 120 utterances x 12 frames)
TIMELINE_MAX_AGE_S = 3600.0  # a timeline unused for an hour is let go (its visitor has most likely left)
UTTERANCES_FROM = {"srt": "the .srt's cues", "vad": "voice activity detection (silero-vad)",
                   "windows": "fixed windows"}


@dataclass
class TimelineView:
    """What the Timeline tab shows for one scored clip."""

    timeline: Timeline  # kept for re-drawing and for picking an utterance
    figure: go.Figure
    headers: list[str]
    rows: list[list]
    csv_path: str
    json_path: str
    summary: str
    choices: list[str]
    token: str = ""  # what the page keeps to find this timeline again (TimelineStore.get)


def timeline_choices(tl: Timeline) -> list[str]:
    """Dropdown entries, one per utterance: "3 · 12.0–16.5 s · the first words"."""
    return [f"{r.index} · {r.start:.1f}–{r.end:.1f} s · {' '.join(r.text.split()[:8]) or '(no words)'}" for r in tl.rows]


def timeline_headers(tl: Timeline, task: str) -> list[str]:
    return ["#", "start (s)", "end (s)", "words", "predicted", *tl.labels[task]]


def timeline_summary(tl: Timeline) -> str:
    took = tl.timings.get("timeline_total", 0.0)
    lines = [f"**{len(tl.rows)} utterances** over {tl.duration:.1f} s · utterances from **{tl.source}** · words: "
             f"**{md_text(tl.engine)}** · scored in {took:.1f} s"] + [f"- {md_text(n)}" for n in tl.notes]
    return "\n\n".join(lines)


def table_rows(table) -> list[list]:
    """Rows of an edited utterance table (a list of lists, or a pandas DataFrame from gr.Dataframe); blank rows
    dropped."""
    if table is None:
        return []
    if hasattr(table, "values") and hasattr(table, "columns"):
        table = table.values.tolist()
    if isinstance(table, dict):  # gradio's {"headers": ..., "data": ...}
        table = table.get("data") or []
    return [list(r) for r in table if r is not None and any(str(c).strip() for c in r if c is not None)]


def given_utterances(rows: list[list]) -> list[Utterance]:
    """Utterances from table rows [start, end, words] (words may be missing)."""
    try:
        return [Utterance(float(r[0]), float(r[1]), "" if len(r) < 3 or r[2] is None else str(r[2])) for r in rows]
    except (TypeError, ValueError, IndexError):
        raise StudioError("each utterance row needs a start and an end in seconds, then its words") from None


def progress_callback(progress):
    """gr.Progress (or None) as the timeline's progress(fraction, description) callback."""
    if progress is None:
        return None
    return lambda fraction, desc: progress(fraction, desc=desc)


class TimelineStore:
    """The last `kept` scored timelines (shared by all users) by token, each with its CSV and JSON in a folder named
    by the token. A timeline goes, with its folder, when it leaves the kept ones or when no one has used it for
    `max_age_s` (checked on every use and by `sweep`, which the app also runs on a timer). The working folder is made
    on first use under the system temp folder (where gradio may read returned files from) and removed at exit."""

    def __init__(self, kept: int = TIMELINES_KEPT, max_age_s: float = TIMELINE_MAX_AGE_S,
                 clock: Callable[[], float] = time.monotonic):
        self.kept, self.max_age_s, self._clock = kept, max_age_s, clock
        self._timelines: OrderedDict[str, tuple[Timeline, float]] = OrderedDict()  # token -> (timeline, last used)
        self._lock = threading.Lock()  # one user of the timelines and their folders at a time
        self._workdir: tempfile.TemporaryDirectory | None = None

    def add(self, tl: Timeline) -> tuple[str, Path, Path]:
        """Keep `tl` and write its downloads, each whole or not at all; returns (token, CSV path, JSON path).
        Downloads that cannot be written (disk full, read-only) are a StudioError and nothing is kept."""
        token = secrets.token_hex(12)
        stem = Path(tl.video).stem or "clip"
        with self._lock:
            try:
                folder = self.workdir / token
                folder.mkdir()
                csv_path = write_text_atomic(folder / f"{stem}-timeline.csv", tl.to_csv())
                json_path = write_text_atomic(folder / f"{stem}-timeline.json", tl.to_json())
            except OSError as exc:
                if self._workdir is not None:
                    shutil.rmtree(self.workdir / token, ignore_errors=True)
                raise StudioError(f"could not write the timeline files (disk full or read-only: {reason(exc)}); "
                                  "the app still serves: score the clip again once there is room") from exc
            self._timelines[token] = (tl, self._clock())
            self._prune()
        return token, csv_path, json_path

    def get(self, token) -> Timeline:
        """A timeline kept earlier (now the most recently used); a Timeline object passes through. Anything else that
        is not a token (a list or a number from a hand-made request) is a message, not an AttributeError below."""
        if isinstance(token, Timeline):
            return token
        if token is not None and not isinstance(token, str):
            raise StudioError("that timeline is no longer in memory: score the clip again")
        with self._lock:
            self._prune()
            found = self._timelines.pop(token, None) if token else None
            if found is not None:
                self._timelines[token] = (found[0], self._clock())
        if found is None:
            raise StudioError("that timeline is no longer in memory: score the clip again")
        return found[0]

    def sweep(self) -> None:
        """Let go of the timelines no one has used for `max_age_s`, and of their files."""
        with self._lock:
            self._prune()

    def _prune(self) -> None:
        """(Under the lock.) Drop the timelines unused for `max_age_s` and the least recently used beyond `kept`,
        each with its folder."""
        now = self._clock()
        fresh = [token for token, (_, used) in self._timelines.items() if now - used <= self.max_age_s]
        gone = [token for token in self._timelines if token not in fresh] + fresh[:max(0, len(fresh) - self.kept)]
        for token in gone:
            del self._timelines[token]
            shutil.rmtree(self.workdir / token, ignore_errors=True)

    @property
    def workdir(self) -> Path:
        """The working folder (made on first use; called under the lock)."""
        if self._workdir is None:
            self._workdir = tempfile.TemporaryDirectory(prefix="merclip-studio-")
        return Path(self._workdir.name)

    def close(self) -> None:
        """Remove the working folder now (it goes at exit otherwise)."""
        with self._lock:
            if self._workdir is not None:
                self._workdir.cleanup()
                self._workdir = None
            self._timelines.clear()


@dataclass
class TimelinePanel(Panel):
    max_seconds: float = TimelineConfig.max_duration  # longer clips are refused from their header
    kept: int = TIMELINES_KEPT

    def __post_init__(self):
        self.cfg = TimelineConfig(max_duration=self.max_seconds)
        self.store = TimelineStore(self.kept)

    def utterances(self, video, srt_file=None, progress=None) -> tuple[list[list], str]:
        """Step 1: where the utterances of a long clip are and their words, as editable rows [start, end, words],
        and a line saying where both came from (the .srt, silero-vad, which transcription engine)."""
        video, srt_file = self.guard.video(video), self.guard.allowed(srt_file)
        seg = segment(video, srt_file, self.cfg, self.models.media_cfg, progress=progress_callback(progress))
        rows = [[round(u.start, 3), round(u.end, 3), u.text] for u in seg.utterances]
        found = (f"**{len(rows)} utterances** from {UTTERANCES_FROM[seg.source]}; **words:** {md_text(seg.engine)}. "
                 "Edit the words (or the times) below, then score the timeline.")
        return rows, "\n\n".join([found, *[f"- {md_text(n)}" for n in seg.notes]])

    def score(self, video, srt_file=None, utterances=None, task="emotion", progress=None) -> TimelineView:
        """Step 2: every utterance scored (emotion and sentiment), from the given rows [start, end, words] (as edited
        in the page), or, without rows, from the .srt / VAD + offline transcription."""
        video = self.guard.video(video)
        if task not in ("emotion", "sentiment"):
            raise StudioError("task must be 'emotion' or 'sentiment'")
        srt_file, rows = self.guard.allowed(srt_file), table_rows(utterances)
        predictor, progress = self.models.predictor, progress_callback(progress)
        if rows:
            tl = predict_timeline(predictor, video, given_utterances(rows), cfg=self.cfg, progress=progress)
            tl.source, tl.engine = "given", "edited in the page"
        else:
            tl = analyse(predictor, video, srt_file, self.cfg, progress=progress)
        token, csv_path, json_path = self.store.add(tl)
        return TimelineView(tl, timeline_figure(tl, task, self.models.threshold), timeline_headers(tl, task),
                            tl.table(task), str(csv_path), str(json_path), timeline_summary(tl), timeline_choices(tl),
                            token)

    def redraw(self, token, task: str) -> tuple[go.Figure, dict]:
        """(figure, table) of a scored timeline for another task (emotion / sentiment): nothing is scored again."""
        tl = self.store.get(token)
        return (timeline_figure(tl, task, self.models.threshold),
                {"headers": timeline_headers(tl, task), "data": tl.table(task)})

    def pick(self, token, choice, task="emotion"):
        """One utterance of a scored timeline in the main panels: (bars, summary, probabilities, similarity,
        attention), from the timeline's own results (nothing is decoded again)."""
        if not token:
            raise StudioError("score a timeline first")
        tl = self.store.get(token)
        try:
            index = int(str(choice).split("·")[0].strip().lstrip("#"))
            if index < 1:
                raise IndexError(index)
            row = tl.rows[index - 1]
        except (ValueError, IndexError):
            raise StudioError(f"no utterance {choice!r} in this timeline") from None
        result = tl.results[check_choice(task, list(tl.results), "task")][index - 1]
        head = (f"**Utterance {row.index}** ({row.start:.1f}–{row.end:.1f} s of {md_text(tl.video)}): "
                f"“{md_text(row.text) or '(no words)'}”")
        return (figures.prediction_bars(result, self.models.threshold),
                head + "\n\n" + summary_markdown(result, self.models.config.task), result.probabilities,
                figures.modality_similarity(result), figures.attention_maps(result, "mean"))
