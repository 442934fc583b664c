#!/usr/bin/env bash
# Every GPU measurement of issue #7 in one call of the device tool; results and logs land in $OUT.
#
#   bash bench/gpu_all.sh [inference|training|scaling|all|train]  (default: all; each part fits a 10-minute call)
#
# `train` (not in `all`) is a real training run on generated data: ViT-B-32 from random init, --compile, bf16;
# TRAIN_N clips, TRAIN_EPOCHS epochs; TRAIN_MODEL, TRAIN_DEVICE, TRAIN_WORKERS (media decoding), TRAIN_ARGS (train only) and TRAIN_COMPILE ("" for
# eager) override (the test suite runs it tiny and eager on a CPU).
#
# The device machine's image has torch but not open_clip, and it cannot reach PyPI. Once per checkout, here:
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux2014_x86_64 -d .whl open_clip_torch==3.3.0 ftfy==6.3.1 wcwidth==0.2.13
# and, for `train` (it decodes media: ~38 MB more), into .whl-train (also excluded) with -d .whl-train and
#   --platform manylinux_2_28_x86_64:  av==18.1.0 librosa==0.11.0 soundfile soxr audioread pooch decorator platformdirs
# then call the device tool with: command "bash bench/gpu_all.sh", carry [".whl"] (plus ".whl-train" for train).
# Back here, draw the scaling sweep:  python bench/plot_scaling.py <files_at>/scaling.json --out docs/
# and copy the printed lines into docs/benchmarks.md with the machine (machine.txt).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-bench-out}
PART=${1:-all}
mkdir -p "$OUT"
install_carried() {  # wheels carried in a folder, installed only where the image lacks the package
    ls "$1"/*.whl >/dev/null 2>&1 || { echo "missing $2 and no wheels in $1 (see this script's header)" >&2; exit 1; }
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$1"/*.whl \
        || { echo "installing the wheels in $1 failed" >&2; exit 1; }
    export PYTHONPATH=/tmp/site:${PYTHONPATH:-}
}
python3 -c "import open_clip" 2>/dev/null || install_carried .whl open_clip
if [[ $PART == train ]]; then python3 -c "import av, librosa" 2>/dev/null || install_carried .whl-train "av/librosa"; fi
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD:${PYTHONPATH:-}
{ nvidia-smi || true; python3 -c "import torch, open_clip; print('torch', torch.__version__, 'open_clip', open_clip.__version__,
  torch.cuda.get_device_name() if torch.cuda.is_available() else 'no GPU')"; } > "$OUT/machine.txt" 2>&1
status=0
# BENCH_ARGS (e.g. "--smoke --device cpu") is passed to every benchmark: the test suite runs this script that way.
run() { echo "== $*" | tee -a "$OUT/log.txt"; python3 "$@" ${BENCH_ARGS:-} 2>&1 | tee -a "$OUT/log.txt" || status=1; }
if [[ $PART == all || $PART == inference ]]; then run bench/batched_inference.py --check --out "$OUT/batched.json"; fi
if [[ $PART == all || $PART == training ]]; then run bench/throughput.py --out "$OUT/throughput.json"; fi
if [[ $PART == all || $PART == scaling ]]; then run bench/scaling.py --out "$OUT/scaling.json"; fi
if [[ $PART == train ]]; then
    DATA=${TRAIN_DATA:-/tmp/merclip-synthetic}
    RUN=${TRAIN_RUN:-/tmp/merclip-run}
    [[ -f $DATA/folds.json ]] || run -m merclip.data.synthetic --out "$DATA" --n "${TRAIN_N:-1000}" --seed 0
    run -m merclip.train --dataset synthetic --root "$DATA" --clip-model "${TRAIN_MODEL:-ViT-B-32}" \
        --clip-pretrained none --epochs "${TRAIN_EPOCHS:-10}" --lr 1e-4 --batch-size 32 --workers "${TRAIN_WORKERS:-8}" \
        ${TRAIN_COMPILE---compile} ${TRAIN_DEVICE:+--device $TRAIN_DEVICE} --out "$RUN" ${TRAIN_ARGS:-}
    run -m merclip.evaluate --checkpoint "$RUN/best" --dataset synthetic --root "$DATA" --workers "${TRAIN_WORKERS:-8}" --fast \
        ${TRAIN_DEVICE:+--device $TRAIN_DEVICE} --out "$OUT/train_eval.json"
    cp "$RUN/metrics.csv" "$OUT/train_metrics.csv" || status=1
fi
exit $status
