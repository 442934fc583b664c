#!/usr/bin/env bash
# Rebuild the shipped demo model from scratch (CPU, ~45 min on 2 cores): generated data -> training ->
# Table 3/4-style results -> checkpoint (float16) + test-split embeddings for the app.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=data/synthetic
RUNS=runs/demo
# --cmd-mode sequence: the demo uses this project's extension of the CMD (keys over frames, audio segments and
# tokens) so the app can draw attention maps; the paper's CMD is the default, --cmd-mode pooled.
COMMON=(--dataset synthetic --root "$DATA" --clip-model merclip-tiny --num-frames 4 --batch-size 16 --lr 5e-4 --epochs 30
        --cmd-mode sequence)
[ -f "$DATA/folds.json" ] || python -m merclip.data.synthetic --out "$DATA" --n 1000 --seed 0
python -m merclip.ablate --grid modalities --cells LVA "${COMMON[@]}" --out "$RUNS"   # the demo model itself
python - <<'PY'
import json
import torch
from merclip.checkpoint import load_checkpoint, save_checkpoint
lva = next(r for r in json.load(open("runs/demo/modalities.json")) if r["model"] == "LVA")
model = load_checkpoint(f"{lva['run_dir']}/best")
save_checkpoint(model, "checkpoints/merclip-tiny-synthetic", dtype=torch.float16,
                extra={"trained_on": "merclip.data.synthetic n=1000 seed=0", "not_for_real_world_use": True})
PY
python -m merclip.export --checkpoint checkpoints/merclip-tiny-synthetic --dataset synthetic --root "$DATA" \
    --split test --out assets/synthetic_test_embeddings.npz
# Table 3 / Table 4 style results for docs/results.md (the LVA cell above is reused, not retrained)
python -m merclip.ablate --grid modalities --cells LVA,V,A,L "${COMMON[@]}" --out "$RUNS"
python -m merclip.ablate --grid components "${COMMON[@]}" --out "$RUNS"
