"""The service behind the MER-CLIP Studio app: one method per panel, inputs as plain values, figures out.

Free of Gradio, so it is testable on its own and usable from notebooks; `app.py` lays out components and wires
them to these methods. `Studio` is a facade: each panel is a small service of its own (analysis, comparisons,
projection, lsgmer, zero_shot, timeline), and all share one lazy model cache (`models.ModelCache`) and one request
guard (`requests.RequestGuard`, the file allow-list). Every per-request choice (query word, labels, dropped
modalities) is an argument, never shared state.
"""
from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import plotly.graph_objects as go

from ..config import MediaConfig
from ..serving.predictor import PredictionResult, Predictor
from ..shipped import DEFAULT_CHECKPOINT, DEFAULT_EMBEDDINGS, DEFAULT_LSGMER, REALISH_EMBEDDINGS
from .about import about_markdown, cmd_keys_description, example_rows
from .analysis import Analysis, AnalysisPanel
from .comparisons import ComparisonPanels
from .jobs import BusyError, JobGate, LongJobs
from .lsgmer import LSGMERPanel
from .models import ModelCache
from .projection import ProjectionPanel
from .requests import (
    DEFAULT_MAX_FILE_MB,
    DEFAULT_MAX_SECONDS,
    DEFAULT_TIMELINE_MINUTES,
    NO_WORD,
    EmptyLabelSetError,
    RequestGuard,
    StudioError,
    parse_labels,
    public_message,
)
from .timeline import TimelinePanel, TimelineView
from .warm_up import WARMING_UP, warm_up
from .zero_shot import ZeroShotPanel

__all__ = ["Analysis", "BusyError", "DEFAULT_MAX_FILE_MB", "DEFAULT_MAX_SECONDS", "DEFAULT_TIMELINE_MINUTES",
           "EmptyLabelSetError", "JobGate", "LongJobs", "NO_WORD", "Studio", "StudioError", "TimelineView",
           "cmd_keys_description", "parse_labels", "public_message"]


def _file_or_none(path: str | Path | None) -> Path | None:
    """A shipped file the Studio can do without (an embeddings .npz): its path when it exists, else None, and the
    panel that needs it says so when asked."""
    return Path(path) if path and Path(path).is_file() else None


class Studio:
    """Every panel of the app as one method, over one model cache and one request guard."""

    def __init__(self, checkpoint: str | Path = DEFAULT_CHECKPOINT, embeddings: str | Path | None = DEFAULT_EMBEDDINGS,
                 device: str | None = None, zero_shot_weights: str | None = None, zero_shot_arch: str = "ViT-B-32",
                 max_seconds: float = DEFAULT_MAX_SECONDS, allowed_roots: Sequence[str | Path] | None = None,
                 max_file_mb: float = DEFAULT_MAX_FILE_MB, lsgmer_checkpoint: str | Path | None = DEFAULT_LSGMER,
                 timeline_max_seconds: float = 60 * DEFAULT_TIMELINE_MINUTES,
                 realish_embeddings: str | Path | None = REALISH_EMBEDDINGS):
        """`allowed_roots`: the only folders a request's files may come from (None: any path, for library use).
        A missing `embeddings` / `realish_embeddings` file or `lsgmer_checkpoint` folder leaves that panel saying so."""
        self.media_cfg = MediaConfig(max_seconds=max_seconds, max_file_mb=max_file_mb)
        self.models = ModelCache(checkpoint, self.media_cfg, device, lsgmer_checkpoint, zero_shot_weights,
                                 zero_shot_arch)  # reads the checkpoint's config: a bad one fails before serving
        self.config = self.models.config
        self.zero_shot_arch = zero_shot_arch
        self.embeddings = _file_or_none(embeddings)
        self.timeline_max_seconds = timeline_max_seconds
        self.guard = RequestGuard(self.config, self.media_cfg, allowed_roots)
        self._analysis = AnalysisPanel(self.models, self.guard)
        self._comparisons = ComparisonPanels(self.models, self.guard)
        self._projection = ProjectionPanel(self.models, self.guard, self.embeddings, _file_or_none(realish_embeddings))
        self._lsgmer = LSGMERPanel(self.models, self.guard)
        self._zero_shot = ZeroShotPanel(self.models, self.guard)
        self._timeline = TimelinePanel(self.models, self.guard, timeline_max_seconds)
        self.ready = threading.Event()  # set by warm_up(): the page says "warming up" until then

    @property
    def predictor(self) -> Predictor:
        return self.models.predictor

    @property
    def threshold(self) -> float:
        return self.models.threshold

    # -- requests ------------------------------------------------------------------------------------
    def labels_for(self, task: str, kind: str, custom: str = "") -> list[str]:
        return self.guard.labels(task, kind, custom)

    def head_choices(self) -> list[tuple[str, str]]:
        return self.guard.head_choices()

    def transcript_file_text(self, transcript_file) -> str:
        """The words of an uploaded transcript file, for the app to put into the transcript box: what is analysed
        is then what the user sees and can edit, never a hidden file's text."""
        return self.guard.transcript_file_text(transcript_file)

    # -- panels --------------------------------------------------------------------------------------
    def analyse(self, video, transcript=None, transcript_file=None, audio=None, task="emotion", label_kind="word",
                custom_labels="", query_word=None, dropped: Sequence[str] = (), head="mean", progress=None) -> Analysis:
        return self._analysis.analyse(video, transcript, transcript_file, audio, task, label_kind, custom_labels,
                                     query_word, dropped, head, progress)

    def summary(self, result: PredictionResult) -> str:
        return self._analysis.summary(result)

    def sweep_query_words(self, video, transcript=None, transcript_file=None, audio=None, task="emotion",
                          label_kind="word", custom_labels="", words: Sequence[str] = ("Emotion",),
                          extra_word="") -> go.Figure:
        return self._comparisons.sweep_query_words(video, transcript, transcript_file, audio, task, label_kind,
                                                  custom_labels, words, extra_word)

    def compare_label_sets(self, video, transcript=None, transcript_file=None, audio=None, task="emotion",
                           kind_a="word", custom_a="", kind_b="sentence", custom_b="", query_word=None) -> go.Figure:
        return self._comparisons.compare_label_sets(video, transcript, transcript_file, audio, task, kind_a, custom_a,
                                                   kind_b, custom_b, query_word)

    def projection(self, video, transcript=None, transcript_file=None, audio=None, space="fused", method="UMAP",
                   progress=None, embeddings_file=None, shipped_set="generated") -> go.Figure:
        """`embeddings_file`: an uploaded export .npz to project instead of a shipped set; `shipped_set`: which one,
        "generated" (the generated test split) or "realish" (the real-ish test split)."""
        return self._projection.projection(video, transcript, transcript_file, audio, space, method, progress,
                                           embeddings_file, shipped_set)

    def lsgmer(self, video, transcript=None, transcript_file=None, audio=None) -> tuple[go.Figure, go.Figure, str]:
        return self._lsgmer.lsgmer(video, transcript, transcript_file, audio)

    def zero_shot(self, video, transcript=None, transcript_file=None, task="emotion", label_kind="word",
                  custom_labels="") -> tuple[go.Figure, str]:
        return self._zero_shot.zero_shot(video, transcript, transcript_file, task, label_kind, custom_labels)

    def zero_shot_source(self) -> str | None:
        return self.models.zero_shot_source()

    def timeline_utterances(self, video, srt_file=None, progress=None) -> tuple[list[list], str]:
        return self._timeline.utterances(video, srt_file, progress)

    def timeline(self, video, srt_file=None, utterances=None, task="emotion", progress=None) -> TimelineView:
        return self._timeline.score(video, srt_file, utterances, task, progress)

    def timeline_redraw(self, token, task: str):
        return self._timeline.redraw(token, task)

    def timeline_pick(self, token, choice, task="emotion"):
        return self._timeline.pick(token, choice, task)

    def sweep(self) -> None:
        """Let go of what no visitor has used for an hour (scored timelines and their downloads); the served app
        also runs this on a timer."""
        self._timeline.store.sweep()

    # -- page text and start-up ----------------------------------------------------------------------
    def about(self) -> str:
        return about_markdown(self.models.checkpoint, self.config, self.models.device_name())

    def examples(self) -> list[list]:
        return example_rows()

    def status(self) -> str:
        """What the page shows about start-up: a warming-up line until `warm_up` has run, then nothing."""
        return "" if self.ready.is_set() else WARMING_UP

    def warm_up(self, projections: bool = True) -> None:
        warm_up(self, projections)
