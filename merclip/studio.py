"""The service behind the MER-CLIP Studio app: one method per panel, inputs as plain values, figures out.

Kept free of Gradio so it is testable on its own and reusable from notebooks; `app.py` only lays
out components and wires them to these methods. Models load lazily into a shared, locked cache;
every per-request choice (query word, labels, dropped modalities) is an argument, never shared state.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import plotly.graph_objects as go

from . import viz
from .checkpoint import read_config, read_metadata
from .config import DEFAULT_QUERY_WORD, MODALITY_NAMES
from .labels import LABEL_SETS, PAPER_LABEL_SETS, validate_labels
from .predict import PredictionResult, Predictor

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CHECKPOINT = REPO_ROOT / "checkpoints" / "merclip-tiny-synthetic"
DEFAULT_EMBEDDINGS = REPO_ROOT / "assets" / "synthetic_test_embeddings.npz"
DEFAULT_LSGMER = REPO_ROOT / "checkpoints" / "lsgmer-tiny-synthetic"
EXAMPLES_DIR = REPO_ROOT / "assets" / "examples"
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


class StudioError(ValueError):
    """A user-facing problem with the request (shown in the page as-is)."""


@dataclass
class Analysis:
    result: PredictionResult
    bars: go.Figure
    similarity: go.Figure
    attention: go.Figure
    summary: str


def parse_labels(text: str) -> list[str]:
    """Custom labels, one per line (blank lines ignored)."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


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

    # -- lazy, shared models ------------------------------------------------------------------------
    @property
    def predictor(self) -> Predictor:
        with self._lock:
            if self._predictor is None:
                from .config import MediaConfig

                self._predictor = Predictor.from_checkpoint(self.checkpoint, device=self.device,
                                                            media_cfg=MediaConfig(max_seconds=self.max_seconds,
                                                                                      max_file_mb=self.max_file_mb))
            return self._predictor

    def warm_up(self, projections: bool = True) -> None:
        """Pay one-off costs before the first user does: model load, the built-in label sets' and query words'
        embeddings, librosa's first STFT, numba JIT of UMAP."""
        import numpy as np

        from .config import MediaConfig
        from .media import log_mel_images

        self.predictor.warm_up_text()  # loads the model, then embeds the built-in label sets and query words
        log_mel_images(np.zeros(16000, np.float32), MediaConfig())
        if projections and self.embeddings is not None:
            from .projection import METHODS, fit

            for method in METHODS:
                fit(str(self.embeddings), "fused", method)

    def zero_shot_source(self) -> str | None:
        from .zeroshot import real_weights_source

        return real_weights_source(self.zero_shot_weights, self.zero_shot_arch)

    # -- request parsing -----------------------------------------------------------------------------
    def labels_for(self, task: str, kind: str, custom: str = "") -> list[str]:
        if kind == "custom":
            labels = parse_labels(custom)
            if not labels:
                raise StudioError("the custom label set is empty: write one label per line")
        else:
            labels = list(LABEL_SETS[task][kind])
        try:
            return list(validate_labels(labels, task))
        except ValueError as exc:
            raise StudioError(str(exc)) from None

    def _check_allowed(self, path) -> None:
        if self.allowed_roots is None or not path:
            return
        resolved = Path(path).resolve()
        if not any(resolved.is_relative_to(root) for root in self.allowed_roots):
            raise StudioError(f"'{Path(path).name}' is not an uploaded file: only uploads and the app's examples can be read")

    def _clip_args(self, video, transcript: str | None, transcript_file, audio) -> dict:
        if not video:
            raise StudioError("upload or record a video clip first")
        for path in (video, transcript_file, audio):
            self._check_allowed(path)
        text = transcript_file if transcript_file else (transcript or "")
        return {"video": video, "transcript": text, "audio": audio or None}

    def _predict(self, clip: dict, task: str, labels: Sequence[str], query_word, dropped: Sequence[str] = ()) -> PredictionResult:
        return self.predictor.predict(clip["video"], clip["transcript"], labels=labels, query_word=query_word, task=task,
                                      drop_modalities=list(dropped), audio=clip["audio"])

    # -- panels --------------------------------------------------------------------------------------
    def analyse(self, video, transcript=None, transcript_file=None, audio=None, task="emotion", label_kind="word",
                custom_labels="", query_word=None, dropped: Sequence[str] = (), head="mean", progress=None) -> Analysis:
        """Main panel: prediction bars, per-modality similarities, CMD attention, timings and notes."""
        clip = self._clip_args(video, transcript, transcript_file, audio)
        labels = self.labels_for(task, label_kind, custom_labels)
        if progress:
            progress(0.1, desc="decoding and encoding the clip")
        dropped_letters = [m for m, name in MODALITY_NAMES.items() if name in dropped or m in dropped]
        result = self._predict(clip, task, labels, parse_query_word(query_word) if query_word is not None
                               else DEFAULT_QUERY_WORD[task], dropped_letters)
        if progress:
            progress(0.9, desc="drawing")
        return Analysis(result, viz.prediction_bars(result, self.config.emotion_threshold), viz.modality_similarity(result),
                        viz.attention_maps(result, head), self.summary(result))

    def summary(self, result: PredictionResult) -> str:
        present = ", ".join(f"{k} {'✓' if v else '✗ absent'}" for k, v in result.present.items())
        timing = " · ".join(f"{k} {1000 * v:.0f} ms" for k, v in result.timings.items())
        lines = [
            f"**Predicted:** {', '.join(result.predicted) or 'none above threshold'}",
            f"**Query word:** {result.query_word or '(none)'} · **Modalities:** {present}",
            f"**Timings:** {timing}" + (" (modality features from cache)" if result.features_cached else ""),
        ]
        if self.config.task != result.task:
            lines.append(f"_Note: this model was trained for {self.config.task}; {result.task} labels are scored zero-shot "
                         "through its label encoder._")
        lines += [f"- {n}" for n in result.notes]
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
        return viz.query_word_comparison(results)

    def compare_label_sets(self, video, transcript=None, transcript_file=None, audio=None, task="emotion",
                           kind_a="word", custom_a="", kind_b="sentence", custom_b="", query_word=None) -> go.Figure:
        clip = self._clip_args(video, transcript, transcript_file, audio)
        word = parse_query_word(query_word) if query_word is not None else DEFAULT_QUERY_WORD[task]
        results = {}
        for name, kind, custom in (("A", kind_a, custom_a), ("B", kind_b, custom_b)):
            labels = self.labels_for(task, kind, custom)
            source = " (paper)" if (task, kind) in PAPER_LABEL_SETS else ""
            results[f"{name}: {kind}{source}"] = self._predict(clip, task, labels, word)
        return viz.label_set_comparison(results, self.config.emotion_threshold)

    def projection(self, video, transcript=None, transcript_file=None, audio=None, space="fused", method="UMAP",
                   progress=None) -> go.Figure:
        """Test-set embeddings (t-SNE or UMAP) coloured by label, with this clip placed among them."""
        from .projection import fit

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
        return viz.projection_scatter(proj.coords, proj.groups, clip_xy, title, note)

    def lsgmer(self, video, transcript=None, transcript_file=None, audio=None) -> tuple[go.Figure, go.Figure, str]:
        """The second model family on the same clip: audio + transcript only, label-signal attention, APC."""
        if self.lsgmer_checkpoint is None:
            raise StudioError("no LSGMER checkpoint is loaded (start the app with --lsgmer-checkpoint DIR)")
        clip = self._clip_args(video, transcript, transcript_file, audio)
        with self._lock:
            if self._lsgmer is None:
                from .config import MediaConfig
                from .predict_lsgmer import LSGMERPredictor

                self._lsgmer = LSGMERPredictor.from_checkpoint(
                    self.lsgmer_checkpoint, device=self.device,
                    media_cfg=MediaConfig(max_seconds=self.max_seconds, max_file_mb=self.max_file_mb))
        r = self._lsgmer.predict(clip["video"], clip["transcript"], audio=clip["audio"])
        timing = " · ".join(f"{k} {1000 * v:.0f} ms" for k, v in r.timings.items())
        summary = "\n\n".join([f"**LSGMER predicts:** {r.predicted} · **APC:** {r.apc:.3f} "
                                 f"(0 when the attribution agrees with the prediction)",
                                 f"**Timings:** {timing}", f"Checkpoint: `{self.lsgmer_checkpoint.name}` "
                                 "(audio + transcript; the frames are not used)", *[f"- {n}" for n in r.notes]])
        return viz.lsgmer_bars(r), viz.label_signal_maps(r), summary

    def zero_shot(self, video, transcript=None, transcript_file=None, task="emotion", label_kind="word",
                  custom_labels="") -> tuple[go.Figure, str]:
        source = self.zero_shot_source()
        if source is None:
            return viz.message_figure("zero-shot CLIP needs real weights"), (
                f"Zero-shot CLIP needs real {self.zero_shot_arch} weights, which are not on this machine: put open_clip's "
                f"`openai` weights in the Hugging Face cache, or start the app with `--clip-weights FILE` "
                f"(or set `MERCLIP_CLIP_WEIGHTS`).")
        from .zeroshot import ZeroShotCLIP

        clip = self._clip_args(video, transcript, transcript_file, None)
        labels = self.labels_for(task, label_kind, custom_labels)
        with self._lock:
            if self._zero_shot is None:
                self._zero_shot = ZeroShotCLIP(self.zero_shot_arch, source, device=self.predictor.device)
        zs = self._zero_shot.predict(clip["video"], clip["transcript"], labels)
        fig = go.Figure()
        fig.add_trace(go.Bar(name="vision", x=labels, y=[zs.vision[l] for l in labels]))
        if zs.language:
            fig.add_trace(go.Bar(name="language", x=labels, y=[zs.language[l] for l in labels]))
        fig.add_trace(go.Bar(name="combined", x=labels, y=[zs.combined[l] for l in labels]))
        fig.update_layout(barmode="group", title=f"zero-shot CLIP {self.zero_shot_arch} (no training)", height=360)
        return fig, f"Zero-shot CLIP from `{source}`: label prompts scored against the frames and the transcript."

    def about(self) -> str:
        cfg = self.config
        meta = read_metadata(self.checkpoint)
        extra = json.loads(meta.get("extra", "{}") or "{}")
        card = self.checkpoint / "MODEL_CARD.md"
        demo = cfg.clip_model == "merclip-tiny"
        lines = [
            f"**Checkpoint:** `{self.checkpoint.name}` · **backbone:** open_clip `{cfg.clip_model}`"
            f" ({'random init, tiny' if cfg.clip_pretrained is None else cfg.clip_pretrained})",
            f"**Task:** {cfg.task} · **labels:** {', '.join(cfg.labels)} · **query word:** {cfg.query_word}",
            f"**CMD:** {cfg.num_cmd_layers} layers, hidden {cfg.cmd_hidden}, {cfg.cmd_heads} heads, order "
            f"{''.join(cfg.modality_order)}, {cmd_keys_description(cfg)} · **frames:** {cfg.num_frames}",
            f"**Device:** {self._predictor.device if self._predictor else 'loads on first request'}",
        ]
        if extra.get("trained_on"):
            lines.append(f"**Trained on:** {extra['trained_on']}")
        if demo:
            lines.insert(0, "> ⚠️ **Demo model.** This checkpoint was trained by this project's own code on its own "
                            "*generated* clips (cartoon faces, synthetic voices, template sentences). It is **not** a "
                            "real-world emotion detector: its predictions on real people mean nothing. Load a model "
                            "trained on CMU-MOSEI with `--checkpoint` for real use.")
        if card.is_file():
            lines.append(f"Model card: `{card.relative_to(REPO_ROOT) if card.is_relative_to(REPO_ROOT) else card}`")
        lines.append("Docs: `README.md`, `docs/datasets.md`, `docs/results.md`, `docs/benchmarks.md`; paper: MER-CLIP "
                     "(seeds/001).")
        return "\n\n".join(lines)

    def examples(self) -> list[list]:
        """[video, transcript] rows for the examples under assets/examples (transcript from the .txt sidecar)."""
        rows = []
        for video in sorted(EXAMPLES_DIR.glob("*.mp4")):
            sidecar = video.with_suffix(".txt")
            rows.append([str(video), sidecar.read_text().strip() if sidecar.is_file() else ""])
        return rows


def app_allowed_roots() -> list[Path]:
    """What the served app may read: gradio's upload folder and this repo's assets (the examples)."""
    from gradio.utils import get_upload_folder

    return [Path(get_upload_folder()), REPO_ROOT / "assets"]
