#!/usr/bin/env bash
# Rebuild the shipped LSGMER demo model (CPU, ~15 min on 2 cores): generated MELD-layout audio+text data ->
# the lsgmer ablation grid (LSGMER, w/o APC, w/o LSE, w/o both) -> checkpoint (float16).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=data/synthetic_meld
RUNS=runs/lsgmer
COMMON=(--model lsgmer --dataset meld --root "$DATA" --clip-model merclip-tiny --batch-size 16 --lr 1e-3 --epochs 15)
[ -f "$DATA/train_sent_emo.csv" ] || python -m merclip.data.synthetic --layout meld --out "$DATA" --n 1000 --seed 0
python -m merclip.ablate --grid lsgmer --cells LSGMER "${COMMON[@]}" --out "$RUNS"
python - <<'PY'
import json
import torch
from merclip.checkpoint import load_checkpoint, save_checkpoint
row = next(r for r in json.load(open("runs/lsgmer/lsgmer.json")) if r["model"] == "LSGMER")
save_checkpoint(load_checkpoint(f"{row['run_dir']}/best"), "checkpoints/lsgmer-tiny-synthetic", dtype=torch.float16,
                extra={"trained_on": "merclip.data.synthetic --layout meld n=1000 seed=0", "not_for_real_world_use": True})
PY
python -m merclip.ablate --grid lsgmer "${COMMON[@]}" --out "$RUNS"
