"""The About text (which checkpoint, backbone, CMD and device the page runs on) and the shipped examples."""
from __future__ import annotations

import json
from pathlib import Path

from ..models.checkpoint import read_metadata
from ..shipped import EXAMPLES_DIR, REPO_ROOT

# The page's one-line banner above the tabs; DEMO_WARNING below is the About tab's longer version.
DEMO_BANNER = ("> ⚠️ **Demo model trained on generated clips** (cartoon faces, espeak-ng voices), short spoken "
               "sentences and a few real face photos, with pretrained word and face parts: not a real-world emotion "
               "detector. On real-ish clips it reads about as well as the *Zero-shot* tab's word reference (a little "
               "above it), and its fusion about as well as its words alone. See *About*.")


def is_demo_model(cfg) -> bool:
    """Whether a checkpoint is built on the tiny towers (merclip-tiny, merclip-tiny-256) that only the demo uses: such
    a model never learned from real recordings, and the page says so."""
    return cfg.clip_model.startswith("merclip-tiny")


DEMO_WARNING = ("> ⚠️ **Demo model.** This checkpoint was trained by this project's own code on its own *generated* "
                "clips (cartoon faces; sentences spoken by espeak-ng) and short sentences in spoken forms. Its word and "
                "face parts are pretrained (wordllama, FER2013) and its fusion starts from the word-similarity reading of "
                "the *Zero-shot* tab, so it reads plain sentences well above chance, but it is **not** a real-world "
                "emotion detector: it never learned an emotion from a real person's face or voice (the only real faces "
                "in its training, 30 still photographs, stood in for generated clips' cartoons to teach it that such a "
                "face does not tell the emotion). Load a model trained on CMU-MOSEI with `--checkpoint` for real use.")
# The demo's scores on the real-ish test split beside the offline reference's, written next to the checkpoint by
# scripts/make_demo_model.sh (python -m merclip.eval_realish --out): the About tab shows the file, not a copy.
REALISH_RESULTS = "realish_test.json"


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


def _backbone_line(checkpoint: Path, cfg) -> str:
    """The checkpoint's name and its pretrained parts."""
    return (f"**Checkpoint:** `{checkpoint.name}` · **backbone:** open_clip `{cfg.clip_model}`"
            f" ({'random init, tiny' if cfg.clip_pretrained is None else cfg.clip_pretrained})"
            + (" · **text and label encoder:** wordllama's pretrained word embeddings (frozen)"
               if getattr(cfg, "text_backbone", "clip") == "wordllama" else "")
            + (" · **vision:** the FER2013 face network (pretrained, frozen) on face crops"
               if getattr(cfg, "vision_backbone", "clip") == "fer" else ""))


def _model_card_line(checkpoint: Path) -> str | None:
    """Where the model card is: named within the repository; a checkpoint elsewhere is named by its folder only."""
    card = checkpoint / "MODEL_CARD.md"
    if not card.is_file():
        return None
    resolved = card.resolve()
    shown = resolved.relative_to(REPO_ROOT) if resolved.is_relative_to(REPO_ROOT) else f"{checkpoint.name}/{card.name}"
    return f"Model card: `{shown}`"


def realish_line(checkpoint: Path) -> str | None:
    """How the checkpoint compares with the offline reference on the real-ish test split, when it was measured."""
    path = checkpoint / REALISH_RESULTS
    if not path.is_file():
        return None
    rows = json.loads(path.read_text())
    ours = next(m for name, m in rows.items() if name.startswith("MER-CLIP") and ", " not in name)
    reference = {name.rsplit(", ", 1)[-1]: m for name, m in rows.items() if name.startswith("offline zero-shot")}
    chance = next(m for name, m in rows.items() if name.startswith("chance"))
    best = max(reference, key=lambda part: reference[part]["micro_f1"])
    pct = lambda m: f"{100 * m['micro_f1']:.1f} micro-F1, {100 * m['top1_hit_rate']:.1f} % top-1"  # noqa: E731
    words = next((m for name, m in rows.items() if name.startswith("MER-CLIP") and name.endswith(", L only")), None)
    return ("**Against the reference:** on the real-ish test split (natural sentences written apart from the "
            "generator, real photographs, espeak-ng voices; read once for this checkpoint) this model scores "
            f"{pct(ours)}" + (f" (its words alone: {pct(words)})" if words else "") + "; the offline word-similarity "
            f"reference of the *Zero-shot* tab, in its best mode ({best}), {pct(reference[best])}; chance "
            f"{pct(chance)} (docs/results.md).")


def about_markdown(checkpoint: Path, cfg, device_name: str) -> str:
    """The About tab: what runs, on what, trained on what; the demo model says loudly what it is not."""
    extra = json.loads(read_metadata(checkpoint).get("extra", "{}") or "{}")
    lines = [
        _backbone_line(checkpoint, cfg),
        f"**Task:** {cfg.task} · **labels:** {', '.join(cfg.labels)} · **query word:** {cfg.query_word}",
        f"**CMD:** {cfg.num_cmd_layers} layers, hidden {cfg.cmd_hidden}, {cfg.cmd_heads} heads, order "
        f"{''.join(cfg.modality_order)}, {cmd_keys_description(cfg)} · **frames:** {cfg.num_frames}",
        f"**Device:** {device_name}",
    ]
    if extra.get("trained_on"):
        lines.append(f"**Trained on:** {extra['trained_on']}")
    if compared := realish_line(checkpoint):
        lines.append(compared)
    if is_demo_model(cfg):
        lines.insert(0, DEMO_WARNING)
    if card := _model_card_line(checkpoint):
        lines.append(card)
    lines.append("Docs: `README.md`, `docs/datasets.md`, `docs/results.md`, `docs/benchmarks.md` (the paper, MER-CLIP, "
                 "is cited in the README).")
    return "\n\n".join(lines)


def example_rows() -> list[list]:
    """[video, transcript] rows for the examples under assets/examples (transcript from the .txt sidecar)."""
    rows = []
    for video in sorted(EXAMPLES_DIR.glob("*.mp4")):
        sidecar = video.with_suffix(".txt")
        rows.append([str(video), sidecar.read_text().strip() if sidecar.is_file() else ""])
    return rows
