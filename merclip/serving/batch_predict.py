"""Predict every clip of a folder or manifest into one table: the command behind `python -m merclip.predict`.

    python -m merclip.predict DIR_OR_MANIFEST --out predictions.csv [--checkpoint DIR] [--labels "calm, tense"]
        [--query-word W] [--task emotion|sentiment] [--batch-size N] [--embeddings emb.npz] [--resume]
    torchrun --nproc_per_node N -m merclip.predict DIR --out predictions.csv

The input is a folder dataset (merclip.data.folder: clips beside metadata.csv / metadata.jsonl), a folder of clips
without metadata (each clip found in it; a .srt / .txt of the same name is its transcript), or a metadata file
anywhere (its paths relative to its own folder). Each clip is one row of the table (merclip.serving.prediction_table);
a clip that fails (a bad metadata row, an undecodable file) is a row with its error, never the end of the run.
`--embeddings` also writes the per-modality and fused embeddings in the export format, for the Studio's projections.

Under torchrun (WORLD_SIZE > 1) rank r takes rows r, r + N, r + 2N, ... of the manifest, decodes and predicts them
on its own device (cuda:LOCAL_RANK, else the CPU; NCCL or gloo joins the ranks), and journals them; once every rank
is done, rank 0 writes the one table, in the manifest's order: the rows a single process writes.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from tqdm import tqdm

from ..arguments import exit_on_user_error, positive_int
from ..config import DEFAULT_QUERY_WORD
from ..data.folder import ClipRow, FolderRead, read_folder
from ..device import select_device
from ..errors import UserError
from ..labels import label_set, validate_labels
from ..models.merclip import USE_CONFIG
from ..shipped import DEFAULT_CHECKPOINT
from ..training.export import load_embeddings, save_embeddings
from .prediction_table import (Journal, check_output, error_row, read_journal, read_table, result_row,
                               split_embeddings, stack_embeddings, table_columns, write_table)
from .predictor import PredictionResult, Predictor

RANKS_WAIT = timedelta(hours=12)  # how long a rank that finished waits for the slowest at the final barrier


@dataclass
class BatchOptions:
    source: Path  # a folder, or a metadata .csv / .jsonl
    out: Path  # .csv, .jsonl or .parquet
    checkpoint: Path = DEFAULT_CHECKPOINT
    labels: str | None = None  # "calm, tense, excited"; default: the folder's own labels, else the model's
    query_word: str | None = None  # 'none': no word; default: the model's (the task's, for another task)
    task: str | None = None  # default: the model's
    batch_size: int = 16
    embeddings: Path | None = None  # .npz in the export format
    resume: bool = False
    device: str | None = None
    progress: bool = True


@dataclass
class Settings:
    """What every clip is asked, resolved against the model and the input."""

    labels: list[str]
    query_word: object  # a word, None (no word) or USE_CONFIG
    task: str
    truth: bool  # the embeddings' targets are the metadata's emotions (else the model's decisions)


@dataclass
class Summary:
    clips: int  # predicted in this run, over every rank
    errors: int
    seconds: float  # the slowest rank's time from its first batch to its last
    ranks: int
    bad_rows: int = 0  # metadata rows refused before prediction (in the table with their error too)

    @property
    def clips_per_second(self) -> float:
        return self.clips / self.seconds if self.seconds > 0 else 0.0


@dataclass
class _Ranks:
    """This process among the torchrun ranks (one rank without torchrun)."""

    device: torch.device
    rank: int = 0
    world: int = 1

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def gather(self, value) -> list:
        if self.world == 1:
            return [value]
        out: list = [None] * self.world
        dist.all_gather_object(out, value)
        return out


def _join(device: str | None) -> _Ranks:
    """The device; under torchrun also the process group (NCCL between GPUs, gloo on CPUs)."""
    chosen = select_device(device)
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return _Ranks(chosen)
    if chosen.type == "cuda":
        chosen = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(chosen)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if chosen.type == "cuda" else "gloo", timeout=RANKS_WAIT)
    return _Ranks(chosen, dist.get_rank(), dist.get_world_size())


def parse_labels(text: str) -> list[str]:
    """Labels written as in the app: comma-separated, or one a line."""
    return [part.strip() for part in re.split(r"[,\n]", text) if part.strip()]


def resolve_settings(opts: BatchOptions, cfg, read: FolderRead) -> Settings:
    task = opts.task or cfg.task
    if opts.labels:
        labels = list(validate_labels(parse_labels(opts.labels), task))
    elif task == cfg.task == "emotion" and len(read.label_names) > 1 and cfg.use_label_encoder:
        labels = list(validate_labels(read.label_names, task))  # the folder names its own labels
    else:
        labels = list(cfg.labels if task == cfg.task else label_set(task))
    if labels != list(cfg.labels) and not cfg.use_label_encoder:
        raise UserError(f"this model's FC classifier scores only {list(cfg.labels)}; other labels need a model with "
                        "the label encoder")
    if opts.query_word is None:
        query = USE_CONFIG if task == cfg.task else DEFAULT_QUERY_WORD[task]
    else:
        query = None if opts.query_word.lower() == "none" else opts.query_word
    truth = task == "emotion" and bool(read.label_names) and set(read.label_names) <= set(labels)
    return Settings(labels, query, task, truth)


def predict_rows(predictor: Predictor, rows: list[ClipRow], s: Settings) -> list[PredictionResult | str]:
    """Each row's prediction, or why it has none: the batch at once, and clip by clip when something in it fails."""
    try:
        return predictor.predict_batch([r.video for r in rows], [r.transcript for r in rows], batch_size=len(rows),
                                       audios=[r.audio for r in rows], labels=s.labels, query_word=s.query_word,
                                       task=s.task)
    except Exception as exc:  # a clip that fails is a row with its error: find which one
        if len(rows) == 1:
            return [str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"]
        return [predict_rows(predictor, [r], s)[0] for r in rows]


def _vectors(rows: list[ClipRow], outcomes: list, s: Settings) -> dict[str, np.ndarray]:
    """The export format's per-clip arrays for the rows that have a prediction (their ids: file names)."""
    done = [(r, o) for r, o in zip(rows, outcomes) if isinstance(o, PredictionResult)]
    data: dict[str, np.ndarray] = {"ids": np.array([r.file_name for r, _ in done], dtype=str)}
    if not done:
        return data
    for name in done[0][1].embeddings:
        data[name] = np.stack([o.embeddings[name] for _, o in done])
    data["fused"] = np.stack([o.fused for _, o in done])
    data["probs"] = np.array([[o.probabilities[label] for label in s.labels] for _, o in done], dtype=np.float32)
    if s.task == "sentiment":
        data["targets"] = data["probs"].argmax(1)  # the predicted class: the metadata's are not in these labels
    else:
        data["targets"] = np.array([[label in (r.emotions if s.truth else o.predicted) for label in s.labels]
                                    for r, o in done], dtype=np.float32)
    data["sentiment"] = np.array([r.sentiment for r, _ in done], dtype=np.float32)
    return data


def _predict_share(predictor: Predictor, rows: list[ClipRow], s: Settings, journal: Journal, opts: BatchOptions,
                   ranks: _Ranks) -> tuple[int, int, float]:
    """Predict this rank's rows batch by batch into its journal: (clips, errors, seconds)."""
    bar = tqdm(total=len(rows), desc="predicting" + (f" (rank 0 of {ranks.world})" if ranks.world > 1 else ""),
               unit="clip", disable=not opts.progress or ranks.rank != 0)
    errors, t0 = 0, time.perf_counter()
    for start in range(0, len(rows), opts.batch_size):
        chunk = rows[start : start + opts.batch_size]
        outcomes = predict_rows(predictor, chunk, s)
        table = [error_row(r.file_name, o, s.labels) if isinstance(o, str) else result_row(r.file_name, o)
                 for r, o in zip(chunk, outcomes)]
        journal.add(table, _vectors(chunk, outcomes, s) if opts.embeddings else None)
        errors += sum(isinstance(o, str) for o in outcomes)
        bar.update(len(chunk))
    bar.close()
    journal.close()
    return len(rows), errors, time.perf_counter() - t0


def journal_dir(out: Path) -> Path:
    return out.with_name(out.name + ".parts")


def _same_columns(found: list[str], columns: list[str], where: str) -> None:
    if found != columns:
        raise UserError(f"--resume: {where} has the columns {found}, this run writes {columns} (other labels?): run "
                        "without --resume to start afresh")


def _written(opts: BatchOptions, columns: list[str]) -> tuple[dict[str, dict], dict[str, dict]]:
    """--resume: the rows a previous run wrote (its table, then its journal) and their embeddings, by file name."""
    rows, vectors = {}, {}
    if opts.out.is_file():
        found, old = read_table(opts.out)
        _same_columns(found, columns, f"'{opts.out.name}'")
        rows = {r["file_name"]: r for r in old}
        if opts.embeddings is not None and opts.embeddings.is_file():
            vectors = split_embeddings(load_embeddings(opts.embeddings))
    journalled, journal_vectors = read_journal(journal_dir(opts.out))
    for row in journalled.values():
        _same_columns(list(row), columns, f"the journal '{journal_dir(opts.out).name}'")
    return rows | journalled, vectors | journal_vectors


def _done(rows: dict[str, dict], vectors: dict[str, dict], opts: BatchOptions) -> set[str]:
    """The rows a resumed run skips: written without an error (and, for --embeddings, with their embeddings)."""
    return {n for n, r in rows.items() if not r["error"] and (opts.embeddings is None or n in vectors)}


def _label_embeddings(predictor: Predictor, labels: list[str]) -> np.ndarray:
    with torch.inference_mode():
        model = predictor.model
        weights = model.label_embeddings(labels) if predictor.cfg.use_label_encoder else model.classifier.weight
        return weights.float().cpu().numpy()  # (C, D)


def _assemble(read: FolderRead, opts: BatchOptions, s: Settings, columns: list[str], predictor: Predictor) -> None:
    """Rank 0, once every rank is done: the table in the manifest's order, and the embeddings of its good rows."""
    rows, vectors = _written(opts, columns) if opts.resume else read_journal(journal_dir(opts.out))
    table = [error_row(name, entry, s.labels) if isinstance(entry, str) else rows[entry.file_name]
             for name, entry in read.entries]
    write_table(opts.out, table, columns)
    if opts.embeddings is not None:
        ids = [r["file_name"] for r in table if not r["error"]]
        extra = {"label_names": np.array(s.labels), "label_embeddings": _label_embeddings(predictor, s.labels),
                 "task": np.array(s.task), "targets_from": np.array("metadata" if s.truth else "predictions")}
        save_embeddings(opts.embeddings, stack_embeddings(ids, vectors, extra))
    shutil.rmtree(journal_dir(opts.out), ignore_errors=True)


def run(opts: BatchOptions) -> Summary:
    """Predict every clip of `opts.source` into `opts.out` (on this rank's share under torchrun)."""
    check_output(opts.out)
    if opts.embeddings is not None and opts.embeddings.suffix != ".npz":
        raise UserError(f"--embeddings '{opts.embeddings.name}': the embeddings file is an .npz")
    ranks = _join(opts.device)
    try:
        read = read_folder(opts.source, check_media=False, scan=True)
        predictor = Predictor.from_checkpoint(opts.checkpoint, device=ranks.device)
        settings = resolve_settings(opts, predictor.cfg, read)
        columns = table_columns(settings.labels)
        if ranks.rank == 0 and not opts.resume:
            shutil.rmtree(journal_dir(opts.out), ignore_errors=True)
        ranks.barrier()
        done = _done(*_written(opts, columns), opts) if opts.resume else set()
        ranks.barrier()  # every rank has read what is done before any rank journals more
        todo = [e for _, e in read.entries if isinstance(e, ClipRow) and e.file_name not in done]
        counts = _predict_share(predictor, todo[ranks.rank :: ranks.world], settings,
                                Journal(journal_dir(opts.out), ranks.rank), opts, ranks)
        gathered = ranks.gather(counts)
        summary = Summary(sum(g[0] for g in gathered), sum(g[1] for g in gathered), max(g[2] for g in gathered),
                          ranks.world, len(read.problems))
        ranks.barrier()  # every journal is complete
        if ranks.rank == 0:
            _assemble(read, opts, settings, columns, predictor)
        return summary
    finally:
        if ranks.world > 1 and dist.is_initialized():
            dist.destroy_process_group()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m merclip.predict", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="a folder of clips (with or without metadata.csv / .jsonl), or a "
                                                  "metadata file")
    parser.add_argument("--out", type=Path, required=True, help="the table: .csv, .jsonl or .parquet (needs pyarrow)")
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT, help="default: the shipped demo")
    parser.add_argument("--labels", help='"calm, tense, excited" (default: the folder\'s own labels, else the model\'s)')
    parser.add_argument("--query-word", help="'none' for no word (default: the model's)")
    parser.add_argument("--task", choices=["emotion", "sentiment"], help="default: the model's")
    parser.add_argument("--batch-size", type=positive_int, default=16)  # 0 was range()'s traceback mid-run
    parser.add_argument("--embeddings", type=Path, help="also write the embeddings (.npz, export format) for the Studio")
    parser.add_argument("--resume", action="store_true", help="skip the rows a previous run wrote without an error")
    parser.add_argument("--device", help="cpu, cuda (default: cuda when available; under torchrun cuda:LOCAL_RANK)")
    args = parser.parse_args(argv)
    try:
        summary = run(BatchOptions(**vars(args)))
    except UserError as exc:  # one line and exit 2, as every command ends (a missing dataset is one too)
        exit_on_user_error(parser.prog, exc)
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"predicted {summary.clips} clip(s), {summary.errors} with an error, in {summary.seconds:.2f} s on "
              f"{summary.ranks} rank(s): {summary.clips_per_second:.2f} clips/s; {summary.bad_rows} bad metadata "
              f"row(s); wrote {args.out}")
