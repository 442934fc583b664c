#!/usr/bin/env bash
# Every GPU measurement of issue #7 in one call of the device tool; results and logs land in $OUT.
#
#   bash bench/gpu_all.sh [inference|training|scaling|all|train|session|machine]  (default: all; each part fits a 10-minute call)
#
# Every Python step runs $PYTHON (default python3 from PATH): callers from a virtualenv that is not activated pass
# PYTHON="$(which python)" (the test suite passes sys.executable). `machine` only writes machine.txt.
#
# `session` is everything in one device call under one deadline (SESSION_SECONDS, default 540): the training data for
# `train` is generated in the background on CPU cores of its own (taskset) while the benchmarks run on the others, then
# inference, training (with a torch.profiler table), scaling and the train run follow, each cut off by `timeout` so
# that a slow part cannot take the others' results with it.
#
# `train` (not in `all`) is a real training run on generated data: ViT-B-32 from random init, --compile, bf16;
# TRAIN_N clips, TRAIN_EPOCHS epochs; TRAIN_MODEL, TRAIN_DEVICE, TRAIN_WORKERS (media decoding), TRAIN_ARGS (train only) and TRAIN_COMPILE ("" for
# eager) override (the test suite runs it tiny and eager on a CPU); EVAL_FAST ("" for an eager evaluation; `session` defaults
# to that) likewise.
#
# The device machine's image has torch but not open_clip, and it cannot reach PyPI. Once per checkout, here:
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux2014_x86_64 -d .whl open_clip_torch==3.3.0 ftfy==6.3.1 wcwidth==0.2.13
# and, for `train` (it decodes media: ~38 MB more), into .whl-train (also excluded) with -d .whl-train and
#   --platform manylinux_2_28_x86_64:  av==18.1.0 librosa==0.11.0 soundfile soxr audioread pooch decorator platformdirs
#   threadpoolctl==3.6.0 (merclip.media's log-mel step needs it)
# then call the device tool with: command "bash bench/gpu_all.sh", carry [".whl"] (plus ".whl-train" for train).
# Back here, draw the scaling sweep:  python bench/plot_scaling.py <files_at>/scaling.json --out docs/
# and copy the printed lines into docs/benchmarks.md with the machine (machine.txt).
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
OUT=${OUT:-bench-out}
PART=${1:-all}
mkdir -p "$OUT"
install_carried() {  # wheels carried in a folder, installed only where the image lacks the package
    ls "$1"/*.whl >/dev/null 2>&1 || { echo "missing $2 and no wheels in $1 (see this script's header)" >&2; exit 1; }
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$1"/*.whl \
        || { echo "installing the wheels in $1 failed" >&2; exit 1; }
    export PYTHONPATH=/tmp/site:${PYTHONPATH:-}
}
"$PYTHON" -c "import open_clip" 2>/dev/null || install_carried .whl open_clip
if [[ $PART == train || $PART == session ]]; then "$PYTHON" -c "import av, librosa, threadpoolctl" 2>/dev/null || install_carried .whl-train "av/librosa/threadpoolctl"; fi
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD:${PYTHONPATH:-}
{ nvidia-smi || true; "$PYTHON" -c "import sys, torch, open_clip; print(sys.executable); print('torch', torch.__version__, 'open_clip', open_clip.__version__,
  torch.cuda.get_device_name() if torch.cuda.is_available() else 'no GPU')"; } > "$OUT/machine.txt" 2>&1
status=0
# BENCH_ARGS (e.g. "--smoke --device cpu") is passed to every benchmark in bench/: the test suite runs this script that way.
# LIMIT (seconds, set per part by `session`) cuts a part off with `timeout`; CPUS pins it to some cores (taskset).
run() {
    echo "== $*" | tee -a "$OUT/log.txt"
    local pre=()
    [[ -n ${LIMIT:-} ]] && pre+=(timeout -k 5 "$LIMIT")
    [[ -n ${CPUS:-} ]] && command -v taskset >/dev/null && pre+=(taskset -c "$CPUS")
    local extra=()
    [[ $1 == bench/* ]] && extra=(${BENCH_ARGS:-})
    "${pre[@]}" "$PYTHON" "$@" "${extra[@]}" 2>&1 | tee -a "$OUT/log.txt" || { status=1; echo "!! failed or cut off: $*" | tee -a "$OUT/log.txt"; }
}
left() { echo $(( DEADLINE - SECONDS )); }  # seconds left of the session's budget
if [[ $PART == session ]]; then
    DEADLINE=${SESSION_SECONDS:-540}
    DATA=${TRAIN_DATA:-/tmp/merclip-synthetic}
    NCPU=$(nproc)
    BENCH_CPUS=0-$(( NCPU > 4 ? NCPU - 5 : NCPU - 1 )); GEN_CPUS=$(( NCPU > 4 ? NCPU - 4 : 0 ))-$(( NCPU - 1 ))
    # the train run's data, made on cores of its own while the benchmarks run
    ( CPUS=$GEN_CPUS LIMIT=$(( DEADLINE / 2 )) run -m merclip.data.synthetic --out "$DATA" --n "${TRAIN_N:-800}" --seed 0 ) \
        > /tmp/merclip-generate.log 2>&1 &  # (a file outside $OUT: the device tool brings back at most 8)
    gen=$!
    # SESSION_PARTS picks a subset (a rerun of what an earlier session cut off); THROUGHPUT_ARGS adds options
    SESSION_PARTS=${SESSION_PARTS:-inference training scaling train}
    if [[ $SESSION_PARTS == *inference* ]]; then
        CPUS=$BENCH_CPUS LIMIT=$(( $(left) * 25 / 100 )) run bench/batched_inference.py --check --out "$OUT/batched.json"; fi
    if [[ $SESSION_PARTS == *training* ]]; then
        CPUS=$BENCH_CPUS LIMIT=$(( $(left) * ${THROUGHPUT_SHARE:-50} / 100 )) run bench/throughput.py --out "$OUT/throughput.json" \
            --profile-out "$OUT/profile.txt" --workers "$(( NCPU > 4 ? NCPU - 4 : 0 ))" ${THROUGHPUT_ARGS:-}; fi
    if [[ $SESSION_PARTS == *scaling* ]]; then
        CPUS=$BENCH_CPUS LIMIT=$(( $(left) * 40 / 100 )) run bench/scaling.py --out "$OUT/scaling.json" --min-seconds 0.5; fi
    wait $gen || status=1
    tail -n 3 /tmp/merclip-generate.log | tee -a "$OUT/log.txt"
    PART=train
    TRAIN_EPOCHS=${TRAIN_EPOCHS:-6}
    LIMIT=$(( $(left) * 80 / 100 ))  # the rest is the evaluation's
    (( LIMIT > 30 )) || { echo "!! no time left for the train run" | tee -a "$OUT/log.txt"; exit 1; }
    TRAIN_COMPILE=${TRAIN_COMPILE-}  # eager bf16: clip lengths vary per batch, and recompiling would eat the budget
    EVAL_FAST=${EVAL_FAST-}  # eager evaluation: a cold compile costs more than a small test split takes
fi
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
    [[ -n ${LIMIT:-} ]] && LIMIT=$(( $(left) - 5 ))
    run -m merclip.evaluate --checkpoint "$RUN/best" --dataset synthetic --root "$DATA" --workers "${TRAIN_WORKERS:-8}" ${EVAL_FAST---fast} \
        ${TRAIN_DEVICE:+--device $TRAIN_DEVICE} --out "$OUT/train_eval.json"
    cp "$RUN/metrics.csv" "$OUT/train_metrics.csv" || status=1
fi
exit $status
